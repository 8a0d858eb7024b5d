-- The events' identity outcomes of a warehouse-unload export (incoming.event.*), counted per reason.
SELECT IDENTITY_LOG, IDENTITY_REASON, COUNT(*) AS ROW_COUNT
FROM {{ result_table }}
WHERE IS_EVENT
GROUP BY IDENTITY_LOG, IDENTITY_REASON
ORDER BY IDENTITY_LOG, IDENTITY_REASON
