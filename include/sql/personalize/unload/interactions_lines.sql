{%- from "personalize/unload/_macros.sql" import csv_line, in_page -%}
-- interactions.csv of a warehouse-unload export: the written rows as CSV lines, in the streamed export's
-- order (the unique key, then the row's other values).
SELECT {{ csv_line(columns) }}
FROM {{ result_table }}
WHERE OUTCOME = 'written'{{ in_page(paged) }}
ORDER BY TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE, SOURCE_ID NULLS LAST, CONTACT_ID NULLS LAST,
    RAW_EVENT_TYPE NULLS LAST, EVENT_VALUE NULLS LAST
