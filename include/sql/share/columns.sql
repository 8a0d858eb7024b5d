-- The share's tables and the type of each column, read once per session before any data query: the
-- queries are rendered for these types (hubspot_pipeline.share.columns), and a table or column the
-- configuration names but the share lacks is reported before anything runs.
SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE
FROM {{ database }}."INFORMATION_SCHEMA"."COLUMNS"
WHERE TABLE_SCHEMA = %(schema)s
ORDER BY TABLE_NAME, ORDINAL_POSITION
