-- Events per day and HubSpot event type in the export window, counted by the warehouse: the plan of the
-- streamed export (chunks of whole days) and the counts behind its early check of Personalize's minimums,
-- so a share far below them fails before any event row leaves the warehouse.
SELECT
    CAST({{ read.utc("events", "OCCURREDAT") }} AS DATE) AS EVENT_DAY,
    {{ read.text("events", "event_type") }} AS EVENT_TYPE,
    COUNT(*) AS EVENTS
FROM {{ read.table("events") }}
WHERE (OCCURREDAT < %(window_end)s AND (%(window_start)s IS NULL OR OCCURREDAT >= %(window_start)s))
    OR (%(undated)s AND OCCURREDAT IS NULL)
GROUP BY EVENT_DAY, EVENT_TYPE
ORDER BY EVENT_DAY, EVENT_TYPE
