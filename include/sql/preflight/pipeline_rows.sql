-- Preflight: the rows of PIPELINES or PIPELINE_STAGES (`table`, a SHARE_TABLES key) with only the columns
-- the share has (`columns`: quoted names found in INFORMATION_SCHEMA, since these tables' columns are not
-- confirmed for every portal), as text, so deal pipelines and stages can be listed and picked by label.
SELECT
{%- for column in columns %}
    TO_VARCHAR({{ column }}) AS {{ column }}{{ "," if not loop.last }}
{%- endfor %}
FROM {{ read.table(table) }}
