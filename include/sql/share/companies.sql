-- Companies of the share, one row per company, as text: the account identifiers (the external id and the
-- domain as entered; normalised, and free e-mail domains dropped, by hubspot_pipeline.identity.accounts)
-- and the create date (the Hook export's active accounts). HubSpot dates come as ISO-8601 or epoch
-- milliseconds and are parsed by the pipeline; unreadable dates stay null.
SELECT
    TO_VARCHAR(OBJECTID) AS COMPANY_ID,
    TO_VARCHAR(PROPERTY_EXTERNAL_ID) AS EXTERNAL_ID,
    TO_VARCHAR(PROPERTY_DOMAIN) AS DOMAIN,
    TO_VARCHAR(PROPERTY_CREATEDATE) AS CREATEDATE
FROM {{ share }}."OBJECTS_COMPANIES"
ORDER BY OBJECTID
