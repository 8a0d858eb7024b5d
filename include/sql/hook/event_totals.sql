-- All-time custom event totals per contact before day_end (the baseline of the cumulative event
-- metrics), with the first day (UTC) the contact had an event of a configured type. Columns as in
-- event_activity.sql.
SELECT
    OBJECTID AS CONTACT_ID,
    MIN(TO_DATE({{ read.utc("events", "OCCURREDAT") }})) AS FIRST_DATE,
    COUNT(*) AS EVENTS
{%- for has_types in event_sets %},
    {% if has_types %}SUM(IFF({{ read.text("events", "event_type") }} IN (%(event_set_{{ loop.index0 }})s), 1, 0)){% else %}COUNT(*){% endif %} AS E{{ loop.index0 }}
{%- endfor %}
FROM {{ read.table("events") }}
WHERE OCCURREDAT < %(day_end)s
{%- if filter_types %}
    AND {{ read.text("events", "event_type") }} IN (%(event_types)s)
{%- endif %}
GROUP BY OBJECTID
