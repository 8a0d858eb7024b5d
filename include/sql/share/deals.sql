-- Deals, read by both products through this one query, so the deal columns and their associations are
-- written once. A deal's company and contact are its lowest associated ids, so the choice is deterministic.
-- Without `line_items` (the Hook export): every deal, one row each, with what the deal metrics need:
-- pipeline, stage, whether the stage is closed (from PIPELINE_STAGES; a stage missing there counts as open),
-- amount and dates as text (parsed by the pipeline), the lowest associated company and the lowest
-- associated contact (used when there is no company).
-- With `line_items` (the Personalize export): the deals of the bound pipelines and stages only, one row per
-- line item with the product's external id and the unit price (a deal without line items gives one row with
-- empty line item columns, so it is counted, not lost). A flag rather than a line items query joined to the
-- deals in pandas: the filter and the joins stay in the warehouse, and the rows come in id order.
{%- macro lowest_associated(table, column, name, alias) %}
LEFT JOIN (
    SELECT DEAL_OBJECTID, MIN({{ column }}) AS {{ name }}
    FROM {{ share }}."{{ table }}"
    GROUP BY DEAL_OBJECTID
) AS {{ alias }}
    ON {{ alias }}.DEAL_OBJECTID = deals.OBJECTID
{%- endmacro %}
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
{%- if line_items %},
    TO_VARCHAR(line_items.OBJECTID) AS LINE_ITEM_ID,
    TO_VARCHAR(line_items.PROPERTY_HS_PRODUCT_ID) AS PRODUCT_ID,
    TO_VARCHAR(products.PROPERTY_EXTERNAL_ID) AS ITEM_ID,
    TO_VARCHAR(line_items.PROPERTY_PRICE) AS UNIT_PRICE
{%- endif %}
FROM {{ share }}."OBJECTS_DEALS" AS deals
LEFT JOIN (  -- one row per stage, so a stage listed twice never repeats a deal
    SELECT PIPELINEID, STAGEID, MAX(IFF(ISCLOSED, 1, 0)) = 1 AS ISCLOSED
    FROM {{ share }}."PIPELINE_STAGES"
    GROUP BY PIPELINEID, STAGEID
) AS stages
    ON stages.PIPELINEID = TO_VARCHAR(deals.PROPERTY_PIPELINE)
    AND stages.STAGEID = TO_VARCHAR(deals.PROPERTY_DEALSTAGE)
{{- lowest_associated("ASSOCIATIONS_DEALS_TO_COMPANIES", "COMPANY_OBJECTID", "COMPANY_ID", "deal_companies") }}
{{- lowest_associated("ASSOCIATIONS_DEALS_TO_CONTACTS", "CONTACT_OBJECTID", "CONTACT_ID", "deal_contacts") }}
{%- if line_items %}
LEFT JOIN {{ share }}."ASSOCIATIONS_LINE_ITEMS_TO_DEALS" AS deal_line_items
    ON deal_line_items.DEAL_OBJECTID = deals.OBJECTID
LEFT JOIN {{ share }}."OBJECTS_LINE_ITEMS" AS line_items
    ON line_items.OBJECTID = deal_line_items.LINE_ITEM_OBJECTID
LEFT JOIN {{ share }}."OBJECTS_PRODUCTS" AS products
    ON TO_VARCHAR(products.OBJECTID) = TO_VARCHAR(line_items.PROPERTY_HS_PRODUCT_ID)
WHERE TO_VARCHAR(deals.PROPERTY_PIPELINE) IN (%(pipelines)s)
    AND TO_VARCHAR(deals.PROPERTY_DEALSTAGE) IN (%(stages)s)
{%- endif %}
ORDER BY deals.OBJECTID{% if line_items %}, line_items.OBJECTID{% endif %}
