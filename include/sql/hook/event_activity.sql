-- Custom events per contact and day (UTC) with OCCURREDAT in [day_start, day_end): EVENTS counts the
-- events of every configured type, E<n> those of the n-th event-type set of the metric definitions
-- (its types are the bound parameter event_set_<n>; a set without types counts every type). The template only sees
-- the number of sets and whether each has types: every type name is a bound value.
SELECT
    OBJECTID AS CONTACT_ID,
    TO_DATE({{ read.utc("events", "OCCURREDAT") }}) AS ACTIVITY_DATE,
    COUNT(*) AS EVENTS
{%- for has_types in event_sets %},
    {% if has_types %}SUM(IFF({{ read.text("events", "event_type") }} IN (%(event_set_{{ loop.index0 }})s), 1, 0)){% else %}COUNT(*){% endif %} AS E{{ loop.index0 }}
{%- endfor %}
FROM {{ read.table("events") }}
WHERE OCCURREDAT >= %(day_start)s
    AND OCCURREDAT < %(day_end)s
{%- if filter_types %}
    AND {{ read.text("events", "event_type") }} IN (%(event_types)s)
{%- endif %}
GROUP BY OBJECTID, TO_DATE({{ read.utc("events", "OCCURREDAT") }})
