{%- from "personalize/unload/_macros.sql" import csv_line -%}
-- The events' lines of the identity log of a warehouse-unload export (one per event read, success, skip
-- or error), in the order of the streamed export's log: by time (events without one last), id, contact.
SELECT {{ csv_line(columns) }}
FROM {{ result_table }}
WHERE IS_EVENT
{%- if paged %}  {#- a page of the result, in time order: the worker's stand-in for COPY INTO #}
    AND ((TIMESTAMP >= %(page_start)s OR %(page_start)s IS NULL)
        AND (TIMESTAMP < %(page_end)s OR %(page_end)s IS NULL) OR (%(undated)s AND TIMESTAMP IS NULL))
{%- endif %}
ORDER BY TIMESTAMP NULLS LAST, EVENT_ID NULLS LAST, RAW_CONTACT_ID NULLS LAST
