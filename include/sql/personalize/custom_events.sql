-- Custom behavioural events in a time range of the export window (the whole window, or one chunk of a
-- streamed export), in time order. ID is the event's own unique id (OBJECTID is the contact the event
-- belongs to). Events without OCCURREDAT come with `undated` (the last chunk) and are quarantined later
-- (TIMESTAMP: missing), never dropped unseen.
SELECT
    TO_VARCHAR(ID) AS EVENT_ID,
    OBJECTID AS CONTACT_ID,
    DATE_PART(EPOCH_SECOND, OCCURREDAT) AS OCCURRED_EPOCH,
    {{ read.text("events", "event_type") }} AS EVENT_TYPE,
    {{ read.text("events", "item_id") }} AS ITEM_ID,
    {{ read.text("events", "item_price") }} AS ITEM_PRICE
FROM {{ read.table("events") }}
WHERE (OCCURREDAT < %(window_end)s AND (%(window_start)s IS NULL OR OCCURREDAT >= %(window_start)s))
    OR (%(undated)s AND OCCURREDAT IS NULL)
ORDER BY OCCURRED_EPOCH, EVENT_ID, CONTACT_ID
