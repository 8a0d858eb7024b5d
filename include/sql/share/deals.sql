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
-- Properties are named by properties.deals.* / line_items.* (`read`); a line item's product id is joined
-- as a number, whatever its column type. Association pairs are deduplicated: a pair can be listed once
-- per association type.
{%- macro lowest_associated(table, column, name, alias) %}
LEFT JOIN (
    SELECT DEAL_OBJECTID, MIN({{ column }}) AS {{ name }}
    FROM {{ read.table(table) }}
    GROUP BY DEAL_OBJECTID
) AS {{ alias }}
    ON {{ alias }}.DEAL_OBJECTID = deals.OBJECTID
{%- endmacro %}
SELECT
    TO_VARCHAR(deals.OBJECTID) AS DEAL_ID,
    {{ read.text("deals", "pipeline", "deals") }} AS PIPELINE,
    {{ read.text("deals", "dealstage", "deals") }} AS DEAL_STAGE,
    COALESCE(stages.ISCLOSED, FALSE) AS IS_CLOSED,
    {{ read.text("deals", "amount", "deals") }} AS AMOUNT,
    {{ read.text("deals", "createdate", "deals") }} AS CREATEDATE,
    {{ read.text("deals", "closedate", "deals") }} AS CLOSEDATE,
    TO_VARCHAR(deal_companies.COMPANY_ID) AS COMPANY_ID,
    TO_VARCHAR(deal_contacts.CONTACT_ID) AS CONTACT_ID
{%- if line_items %},
    TO_VARCHAR(line_items.OBJECTID) AS LINE_ITEM_ID,
    TO_VARCHAR({{ read.number("line_items", "product_id", "line_items") }}) AS PRODUCT_ID,
    {{ read.text("products", "external_id", "products") }} AS ITEM_ID,
    {{ read.text("line_items", "price", "line_items") }} AS UNIT_PRICE
{%- endif %}
FROM {{ read.table("deals") }} AS deals
LEFT JOIN (  -- one row per stage, so a stage listed twice never repeats a deal
    SELECT
        TO_VARCHAR(PIPELINEID) AS PIPELINEID,
        TO_VARCHAR(STAGEID) AS STAGEID,
        MAX(IFF({{ read.boolean("pipeline_stages", "ISCLOSED") }}, 1, 0)) = 1 AS ISCLOSED
    FROM {{ read.table("pipeline_stages") }}
    GROUP BY TO_VARCHAR(PIPELINEID), TO_VARCHAR(STAGEID)
) AS stages
    ON stages.PIPELINEID = {{ read.text("deals", "pipeline", "deals") }}
    AND stages.STAGEID = {{ read.text("deals", "dealstage", "deals") }}
{{- lowest_associated("deal_companies", "COMPANY_OBJECTID", "COMPANY_ID", "deal_companies") }}
{{- lowest_associated("deal_contacts", "CONTACT_OBJECTID", "CONTACT_ID", "deal_contacts") }}
{%- if line_items %}
LEFT JOIN (
    SELECT DISTINCT DEAL_OBJECTID, LINE_ITEM_OBJECTID
    FROM {{ read.table("deal_line_items") }}
) AS deal_line_items
    ON deal_line_items.DEAL_OBJECTID = deals.OBJECTID
LEFT JOIN {{ read.table("line_items") }} AS line_items
    ON line_items.OBJECTID = deal_line_items.LINE_ITEM_OBJECTID
LEFT JOIN {{ read.table("products") }} AS products
    ON products.OBJECTID = {{ read.number("line_items", "product_id", "line_items") }}
WHERE {{ read.text("deals", "pipeline", "deals") }} IN (%(pipelines)s)
    AND {{ read.text("deals", "dealstage", "deals") }} IN (%(stages)s)
{%- endif %}
ORDER BY deals.OBJECTID{% if line_items %}, line_items.OBJECTID{% endif %}
