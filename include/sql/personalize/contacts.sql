-- Contacts of the share, one row per contact: identifiers (the anonymous-id columns of the
-- configuration's identity.anonymous_ids, e.g. VISITOR_ID) and the user attributes, as text.
-- Property values are loosely typed in HubSpot; they are read as text and cast (or rejected) by the
-- pipeline, so one bad value never fails the query.
SELECT
    OBJECTID AS CONTACT_ID,
    TO_VARCHAR(PROPERTY_EXTERNAL_ID) AS EXTERNAL_ID,
    TO_VARCHAR(PROPERTY_EMAIL) AS EMAIL,
{%- for source, alias in aliases %}
    TO_VARCHAR({{ source }}) AS {{ alias }},
{%- endfor %}
    TO_VARCHAR(PROPERTY_AGE) AS AGE,
    TO_VARCHAR(PROPERTY_GENDER) AS GENDER
FROM {{ share }}."OBJECTS_CONTACTS"
ORDER BY CONTACT_ID
