-- Contacts of the share with their create date (text, parsed by the pipeline).
SELECT
    TO_VARCHAR(OBJECTID) AS CONTACT_ID,
    TO_VARCHAR(PROPERTY_CREATEDATE) AS CREATEDATE
FROM {{ share }}."OBJECTS_CONTACTS"
