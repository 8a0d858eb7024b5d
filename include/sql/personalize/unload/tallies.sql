-- What Personalize's minimums need from the rows a warehouse-unload export writes: rows per EVENT_TYPE
-- and per USER_ID (bounded by the users, not the history), and how many unique keys repeat (none should).
SELECT 'EVENT_TYPE' AS TALLY, EVENT_TYPE AS VALUE, COUNT(*) AS ROW_COUNT
FROM {{ result_table }} WHERE OUTCOME = 'written' GROUP BY EVENT_TYPE
UNION ALL
SELECT 'USER_ID', USER_ID, COUNT(*)
FROM {{ result_table }} WHERE OUTCOME = 'written' GROUP BY USER_ID
UNION ALL
SELECT 'REPEATED_KEYS', NULL, COUNT(*)
FROM (
    SELECT TIMESTAMP FROM {{ result_table }} WHERE OUTCOME = 'written'
    GROUP BY TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE HAVING COUNT(*) > 1
) AS repeated
