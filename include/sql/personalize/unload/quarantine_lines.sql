{%- from "personalize/unload/_macros.sql" import csv_line, in_page -%}
-- The quarantine file of a warehouse-unload export: each quarantined row with where it came from and why,
-- in the streamed export's order (time, source id, then the other values; rows without a time last).
SELECT {{ csv_line(columns) }}
FROM {{ result_table }}
WHERE OUTCOME = 'quarantined'{{ in_page(paged) }}
ORDER BY TIMESTAMP NULLS LAST, SOURCE_ID NULLS LAST, CONTACT_ID NULLS LAST, RAW_EVENT_TYPE NULLS LAST,
    USER_ID NULLS LAST, ITEM_ID NULLS LAST, EVENT_TYPE NULLS LAST, EVENT_VALUE NULLS LAST, REASON NULLS LAST
