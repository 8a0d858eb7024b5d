{%- from "personalize/unload/_macros.sql" import csv_line -%}
-- interactions.csv of a warehouse-unload export: the written rows as CSV lines, in the streamed export's
-- order (the unique key, then the row's other values).
SELECT {{ csv_line(columns) }}
FROM {{ result_table }}
WHERE OUTCOME = 'written'
{%- if paged %}  {#- a page of the result, in time order: the worker's stand-in for COPY INTO #}
    AND ((TIMESTAMP >= %(page_start)s OR %(page_start)s IS NULL)
        AND (TIMESTAMP < %(page_end)s OR %(page_end)s IS NULL) OR (%(undated)s AND TIMESTAMP IS NULL))
{%- endif %}
ORDER BY TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE, SOURCE_ID NULLS LAST, CONTACT_ID NULLS LAST,
    RAW_EVENT_TYPE NULLS LAST, EVENT_VALUE NULLS LAST
