-- Preflight: events per contact in the export window (the window of personalize/event_days.sql) of the
-- HubSpot event types bound as `event_types` (those personalize.event_types maps to a Personalize type),
-- counted by the warehouse: the estimate of users with two interactions, before any validation.
SELECT
    TO_VARCHAR(OBJECTID) AS CONTACT_ID,
    COUNT(*) AS EVENTS
FROM {{ read.table("events") }}
WHERE ((OCCURREDAT < %(window_end)s AND (%(window_start)s IS NULL OR OCCURREDAT >= %(window_start)s))
    OR (%(undated)s AND OCCURREDAT IS NULL))
    AND TRIM({{ read.text("events", "event_type") }}) IN (%(event_types)s)
GROUP BY OBJECTID
