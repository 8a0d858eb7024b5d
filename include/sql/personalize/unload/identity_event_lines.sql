{%- from "personalize/unload/_macros.sql" import csv_line, in_page -%}
-- The events' lines of the identity log of a warehouse-unload export (one per event read, success, skip
-- or error), in the order of the streamed export's log: by time (events without one last), id, contact.
SELECT {{ csv_line(columns) }}
FROM {{ result_table }}
WHERE IS_EVENT{{ in_page(paged) }}
ORDER BY TIMESTAMP NULLS LAST, EVENT_ID NULLS LAST, RAW_CONTACT_ID NULLS LAST
