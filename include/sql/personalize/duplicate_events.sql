-- Event ids that occur more than once in the export window, found by the warehouse (the uniqueness check,
-- pushed down): the export keeps each id's earliest copy and skips the others, in whichever chunk they are.
SELECT
    TRIM(TO_VARCHAR(ID)) AS EVENT_ID,
    MIN(DATE_PART(EPOCH_SECOND, OCCURREDAT)) AS FIRST_EPOCH,
    COUNT(*) AS COPIES
FROM {{ read.table("events") }}
WHERE (OCCURREDAT < %(window_end)s AND (%(window_start)s IS NULL OR OCCURREDAT >= %(window_start)s))
    OR (%(undated)s AND OCCURREDAT IS NULL)
GROUP BY TRIM(TO_VARCHAR(ID))
HAVING COUNT(*) > 1
ORDER BY EVENT_ID
