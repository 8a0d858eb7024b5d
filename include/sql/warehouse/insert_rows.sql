-- Rows into a table made by create_temporary_table.sql: one bound JSON array of rows (each an array in
-- column order), unpacked by the warehouse. A few thousand rows per statement, far cheaper to send and
-- parse than as many VALUES tuples.
INSERT INTO {{ table }} ({% for name, _ in columns %}{{ name }}{{ ", " if not loop.last }}{% endfor %})
SELECT
{%- for _, type in columns %}
    batch.VALUE[{{ loop.index0 }}]::{{ type }}{{ "," if not loop.last }}
{%- endfor %}
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(rows)s))) AS batch
