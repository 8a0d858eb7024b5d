-- Companies of the share with their account identifiers, one row per company, as text: the external id and
-- the domain as entered (normalised, and free e-mail domains dropped, by hubspot_pipeline.identity.resolution).
SELECT
    TO_VARCHAR(OBJECTID) AS COMPANY_ID,
    TO_VARCHAR(PROPERTY_EXTERNAL_ID) AS EXTERNAL_ID,
    TO_VARCHAR(PROPERTY_DOMAIN) AS DOMAIN
FROM {{ share }}."OBJECTS_COMPANIES"
ORDER BY OBJECTID
