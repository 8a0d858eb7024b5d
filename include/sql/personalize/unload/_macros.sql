{#- Macros of the warehouse-unload queries: text cleaning as the worker does it, and CSV lines as the
    worker writes them. Imported, never run on its own. -#}

{#- formatting.clean_text in SQL: control characters become spaces (the pattern is bound), the text is
    trimmed of whitespace (the characters are bound), empty text is null. -#}
{% macro clean(expression) -%}
NULLIF(TRIM(REGEXP_REPLACE({{ expression }}, %(control_characters)s, ' '), %(whitespace)s), '')
{%- endmacro %}

{#- One CSV line of `columns` ((expression, header, kind) triples; kind text, integer or float), as
    personalize.files.csv_bytes writes it: text double-quoted with quotes doubled, numbers bare, nulls
    empty, whole floats below 1e10 as plain digits (Arrow writes 1e10 and up as 1e+10). Other floats are
    the warehouse's float text: the shortest round trip, like Arrow, on DuckDB; Snowflake may write fewer
    digits of a value with more than 15 significant ones. The line's column name, the headers joined, is
    the header line. -#}
{% macro csv_line(columns) -%}
{%- for value, _, kind in columns %}
    {%- if kind == "text" %}
    IFF({{ value }} IS NULL, '', '"' || REPLACE({{ value }}, '"', '""') || '"')
    {%- elif kind == "integer" %}
    COALESCE(TO_VARCHAR({{ value }}), '')
    {%- else %}
    IFF({{ value }} IS NULL, '', IFF({{ value }} = FLOOR({{ value }}) AND ABS({{ value }}) < 1e10,
        TO_VARCHAR(CAST({{ value }} AS NUMBER(38, 0))), TO_VARCHAR({{ value }})))
    {%- endif %}{{ " || ',' ||" if not loop.last }}
{%- endfor %} AS "{% for _, header, _ in columns %}{{ header }}{{ "," if not loop.last }}{% endfor %}"
{%- endmacro %}

{#- When `paged`, only the rows of one page of the result, in time order (the worker's stand-in for COPY INTO
    reads the result a page at a time): times in [page_start, page_end), either end open when null, and
    with `undated` the rows without a time; appended to the query's WHERE condition. -#}
{% macro in_page(paged) -%}
{%- if paged %}
    AND ((TIMESTAMP >= %(page_start)s OR %(page_start)s IS NULL)
        AND (TIMESTAMP < %(page_end)s OR %(page_end)s IS NULL) OR (%(undated)s AND TIMESTAMP IS NULL))
{%- endif %}
{%- endmacro %}
