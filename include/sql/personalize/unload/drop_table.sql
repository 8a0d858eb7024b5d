-- Drop a warehouse-unload export's result table once published (or when its validation failed).
DROP TABLE IF EXISTS {{ result_table }}
