-- The aggregates the worker validates before a warehouse-unload export is published: rows per source
-- (events, deal interactions), outcome and reason, with the event values that were not numbers.
SELECT
    IS_EVENT,
    OUTCOME,
    REASON,
    COUNT(*) AS ROW_COUNT,
    SUM(IFF(VALUE_NOT_A_NUMBER, 1, 0)) AS VALUES_NOT_A_NUMBER
FROM {{ result_table }}
GROUP BY IS_EVENT, OUTCOME, REASON
ORDER BY IS_EVENT, OUTCOME, REASON
