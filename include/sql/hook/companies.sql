-- Companies of the share: the accounts of the Hook files. The create date stays text (HubSpot dates
-- come as ISO-8601 or epoch milliseconds) and is parsed by the pipeline; unreadable dates stay null.
SELECT
    TO_VARCHAR(OBJECTID) AS ACCOUNT_ID,
    TO_VARCHAR(PROPERTY_CREATEDATE) AS CREATEDATE
FROM {{ share }}."OBJECTS_COMPANIES"
