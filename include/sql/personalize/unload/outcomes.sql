-- The aggregates the worker validates before a warehouse-unload export is published: rows per source
-- (events, deal interactions), outcome and reason, and the event values corrected, by correction.
SELECT
    IS_EVENT,
    OUTCOME,
    REASON,
    CORRECTION,
    COUNT(*) AS ROW_COUNT
FROM {{ result_table }}
GROUP BY IS_EVENT, OUTCOME, REASON, CORRECTION
ORDER BY IS_EVENT, OUTCOME, REASON, CORRECTION
