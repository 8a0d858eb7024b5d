-- Contacts of the share with their identifiers, one row per contact, as text: the external id, the e-mail
-- address and the anonymous-id columns of identity.anonymous_ids (PROPERTY_<NAME> AS <NAME>). Normalised and
-- resolved into users by hubspot_pipeline.identity.resolution.resolve_users.
SELECT
    TO_VARCHAR(OBJECTID) AS CONTACT_ID,
{%- for source, alias in aliases %}
    TO_VARCHAR({{ source }}) AS {{ alias }},
{%- endfor %}
    TO_VARCHAR(PROPERTY_EXTERNAL_ID) AS EXTERNAL_ID,
    TO_VARCHAR(PROPERTY_EMAIL) AS EMAIL
FROM {{ share }}."OBJECTS_CONTACTS"
ORDER BY OBJECTID
