-- A temporary table (dropped with the session) for rows the worker hands to the warehouse, e.g. the
-- resolved users of a warehouse-unload export. Column names are quoted identifiers, types SQL words.
CREATE OR REPLACE TEMPORARY TABLE {{ table }} (
{%- for name, type in columns %}
    {{ name }} {{ type }}{{ "," if not loop.last }}
{%- endfor %}
)
