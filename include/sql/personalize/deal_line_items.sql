-- Deals of the configured pipelines in the add-to-cart or closed-won stages, one row per line item
-- (a deal without line items gives one row with empty line item columns, so it is counted, not lost).
-- The deal's contact is its lowest associated contact id, so the choice is deterministic.
SELECT
    deals.OBJECTID AS DEAL_ID,
    line_items.OBJECTID AS LINE_ITEM_ID,
    deal_contacts.CONTACT_ID AS CONTACT_ID,
    TO_VARCHAR(deals.PROPERTY_DEALSTAGE) AS DEAL_STAGE,
    TO_VARCHAR(deals.PROPERTY_CREATEDATE) AS CREATEDATE,
    TO_VARCHAR(deals.PROPERTY_CLOSEDATE) AS CLOSEDATE,
    TO_VARCHAR(line_items.PROPERTY_HS_PRODUCT_ID) AS PRODUCT_ID,
    TO_VARCHAR(products.PROPERTY_EXTERNAL_ID) AS ITEM_ID,
    TO_VARCHAR(line_items.PROPERTY_PRICE) AS UNIT_PRICE
FROM {{ share }}."OBJECTS_DEALS" AS deals
LEFT JOIN {{ share }}."ASSOCIATIONS_LINE_ITEMS_TO_DEALS" AS deal_line_items
    ON deal_line_items.DEAL_OBJECTID = deals.OBJECTID
LEFT JOIN {{ share }}."OBJECTS_LINE_ITEMS" AS line_items
    ON line_items.OBJECTID = deal_line_items.LINE_ITEM_OBJECTID
LEFT JOIN {{ share }}."OBJECTS_PRODUCTS" AS products
    ON TO_VARCHAR(products.OBJECTID) = TO_VARCHAR(line_items.PROPERTY_HS_PRODUCT_ID)
LEFT JOIN (
    SELECT DEAL_OBJECTID, MIN(CONTACT_OBJECTID) AS CONTACT_ID
    FROM {{ share }}."ASSOCIATIONS_DEALS_TO_CONTACTS"
    GROUP BY DEAL_OBJECTID
) AS deal_contacts
    ON deal_contacts.DEAL_OBJECTID = deals.OBJECTID
WHERE TO_VARCHAR(deals.PROPERTY_PIPELINE) IN (%(pipelines)s)
    AND TO_VARCHAR(deals.PROPERTY_DEALSTAGE) IN (%(stages)s)
ORDER BY DEAL_ID, LINE_ITEM_ID
