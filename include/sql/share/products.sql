-- The product catalogue, one row per product: the source of the Personalize items dataset (every
-- product, whether or not it has events). Properties are named by properties.products.*, read as text
-- for the share's column types (`read`); the optional ones a portal lacks read as NULL.
SELECT
    OBJECTID AS PRODUCT_ID,
    {{ read.text("products", "external_id") }} AS EXTERNAL_ID,
    {{ read.text("products", "price") }} AS PRICE,
    {{ read.text("products", "category_level_1") }} AS CATEGORY_L1,
    {{ read.text("products", "category_level_2") }} AS CATEGORY_L2,
    {{ read.text("products", "description") }} AS DESCRIPTION,
    {{ read.text("products", "gender") }} AS GENDER,
    {{ read.text("products", "promoted") }} AS PROMOTED,
    {{ read.text("products", "createdate") }} AS CREATEDATE,
    DATE_PART(EPOCH_SECOND, UPDATEDAT) AS UPDATED_EPOCH
FROM {{ read.table("products") }}
ORDER BY PRODUCT_ID
