-- Companies of the share, one row per company, as text: the account identifiers (the external id and the
-- domain as entered; normalised, and free e-mail domains dropped, by hubspot_pipeline.identity.accounts)
-- and the create date (the Hook export's active accounts). Dates come as ISO-8601 or epoch milliseconds
-- text (a typed column as epoch milliseconds: `read`) and are parsed by the pipeline; unreadable dates stay
-- null. Properties are named by properties.companies.*; a portal without company external ids reads NULL.
SELECT
    TO_VARCHAR(OBJECTID) AS COMPANY_ID,
    {{ read.text("companies", "external_id") }} AS EXTERNAL_ID,
    {{ read.text("companies", "domain") }} AS DOMAIN,
    {{ read.text("companies", "createdate") }} AS CREATEDATE
FROM {{ read.table("companies") }}
ORDER BY OBJECTID
