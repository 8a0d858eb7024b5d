-- Deals with what the deal metrics need: pipeline, stage, whether the stage is closed (from
-- PIPELINE_STAGES; a stage missing there counts as open), amount and dates as text (parsed by the
-- pipeline), the lowest associated company and the lowest associated contact (used when there is no
-- company).
SELECT
    TO_VARCHAR(deals.OBJECTID) AS DEAL_ID,
    TO_VARCHAR(deals.PROPERTY_PIPELINE) AS PIPELINE,
    TO_VARCHAR(deals.PROPERTY_DEALSTAGE) AS DEAL_STAGE,
    COALESCE(stages.ISCLOSED, FALSE) AS IS_CLOSED,
    TO_VARCHAR(deals.PROPERTY_AMOUNT) AS AMOUNT,
    TO_VARCHAR(deals.PROPERTY_CREATEDATE) AS CREATEDATE,
    TO_VARCHAR(deals.PROPERTY_CLOSEDATE) AS CLOSEDATE,
    TO_VARCHAR(deal_companies.COMPANY_ID) AS COMPANY_ID,
    TO_VARCHAR(deal_contacts.CONTACT_ID) AS CONTACT_ID
FROM {{ share }}."OBJECTS_DEALS" AS deals
LEFT JOIN {{ share }}."PIPELINE_STAGES" AS stages
    ON stages.PIPELINEID = TO_VARCHAR(deals.PROPERTY_PIPELINE)
    AND stages.STAGEID = TO_VARCHAR(deals.PROPERTY_DEALSTAGE)
LEFT JOIN (
    SELECT DEAL_OBJECTID, MIN(COMPANY_OBJECTID) AS COMPANY_ID
    FROM {{ share }}."ASSOCIATIONS_DEALS_TO_COMPANIES"
    GROUP BY DEAL_OBJECTID
) AS deal_companies
    ON deal_companies.DEAL_OBJECTID = deals.OBJECTID
LEFT JOIN (
    SELECT DEAL_OBJECTID, MIN(CONTACT_OBJECTID) AS CONTACT_ID
    FROM {{ share }}."ASSOCIATIONS_DEALS_TO_CONTACTS"
    GROUP BY DEAL_OBJECTID
) AS deal_contacts
    ON deal_contacts.DEAL_OBJECTID = deals.OBJECTID
