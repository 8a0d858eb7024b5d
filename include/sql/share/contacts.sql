-- Contacts of the share, one row per contact, read once by each product: the identifiers (the external id,
-- the e-mail address and the anonymous-id columns of identity.anonymous_ids, PROPERTY_<NAME> AS <NAME>),
-- the Personalize user attributes and the create date (the Hook export's contacts created), as text.
-- Property values are loosely typed in HubSpot; they are read as text and cast (or rejected) by the
-- pipeline, so one bad value never fails the query. Identifiers are normalised and resolved into users by
-- hubspot_pipeline.identity.users.resolve_users; each product keeps the columns it uses.
SELECT
    TO_VARCHAR(OBJECTID) AS CONTACT_ID,
    TO_VARCHAR(PROPERTY_EXTERNAL_ID) AS EXTERNAL_ID,
    TO_VARCHAR(PROPERTY_EMAIL) AS EMAIL,
{%- for source, alias in aliases %}
    TO_VARCHAR({{ source }}) AS {{ alias }},
{%- endfor %}
    TO_VARCHAR(PROPERTY_AGE) AS AGE,
    TO_VARCHAR(PROPERTY_GENDER) AS GENDER,
    TO_VARCHAR(PROPERTY_CREATEDATE) AS CREATEDATE
FROM {{ share }}."OBJECTS_CONTACTS"
ORDER BY OBJECTID
