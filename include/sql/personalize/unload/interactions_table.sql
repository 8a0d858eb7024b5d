{%- from "personalize/unload/_macros.sql" import clean -%}
-- The warehouse-unload mode's interactions, built by Snowflake with the streamed export's rules: every
-- event of the export window and every deal interaction the worker built (temporary table), one row each,
-- with its OUTCOME (written, skipped, quarantined) and REASON, and each event's identity-log line. The
-- worker checks this table's aggregates; publish unloads its rows. Values are bound: the windows, the
-- reasons, the rules' limits; the event type mapping, users and known items are temporary tables.
CREATE OR REPLACE TRANSIENT TABLE {{ result_table }} AS
WITH events AS (
    SELECT
        TO_VARCHAR(ID) AS EVENT_ID,
        OBJECTID AS RAW_CONTACT_ID,
        'event:' || {{ clean("TO_VARCHAR(ID)") }} AS SOURCE_ID,
        {{ clean("TO_VARCHAR(OBJECTID)") }} AS CONTACT_ID,
        {{ clean(read.text("events", "event_type")) }} AS RAW_EVENT_TYPE,
        {{ clean(read.text("events", "item_id")) }} AS ITEM_ID,
        DATE_PART(EPOCH_SECOND, OCCURREDAT) AS TIMESTAMP,
        {{ clean(read.text("events", "item_price")) }} AS RAW_VALUE
    FROM {{ read.table("events") }}
    WHERE (OCCURREDAT < %(window_end)s AND (%(window_start)s IS NULL OR OCCURREDAT >= %(window_start)s))
        OR OCCURREDAT IS NULL
),

repeated_ids AS (
    -- event ids with several copies in the window, and the time of the earliest (the others are skipped)
    SELECT SOURCE_ID, MIN(TIMESTAMP) AS FIRST_EPOCH
    FROM events
    WHERE SOURCE_ID IS NOT NULL
    GROUP BY SOURCE_ID
    HAVING COUNT(*) > 1
),

typed AS (
    SELECT
        events.*,
        COALESCE(NOT types.EXPORTED, FALSE) AS NOT_EXPORTED,
        COALESCE(types.EXPORTED AND types.WITHOUT_ITEM, FALSE) AND events.ITEM_ID IS NULL AS CART_LEVEL,
        COALESCE(types.TARGET_TYPE, events.RAW_EVENT_TYPE) AS EVENT_TYPE,
        -- formatting.to_number: infinite and NaN values are not numbers either
        IFF(
            TRY_TO_DOUBLE(events.RAW_VALUE) BETWEEN -%(largest_float)s AND %(largest_float)s,
            TRY_TO_DOUBLE(events.RAW_VALUE),
            NULL
        ) AS NUMBER_VALUE,
        repeated_ids.SOURCE_ID IS NOT NULL AS REPEATED_ID,
        repeated_ids.FIRST_EPOCH
    FROM events
    LEFT JOIN {{ event_types }} AS types ON types.SOURCE_TYPE = events.RAW_EVENT_TYPE
    LEFT JOIN repeated_ids ON repeated_ids.SOURCE_ID = events.SOURCE_ID
),

candidates AS (
    SELECT
        TRUE AS IS_EVENT,
        typed.EVENT_ID,
        typed.RAW_CONTACT_ID,
        typed.SOURCE_ID,
        typed.CONTACT_ID,
        typed.RAW_EVENT_TYPE,
        users.USER_ID,
        typed.ITEM_ID,
        typed.TIMESTAMP,
        typed.EVENT_TYPE,
        -- an optional value below its minimum is emptied, the row kept (rules.void_invalid_values)
        IFF(typed.NUMBER_VALUE < %(value_min)s, NULL, typed.NUMBER_VALUE) AS EVENT_VALUE,
        -- the correction of an exported event's value, counted by the worker
        CASE
            WHEN typed.NOT_EXPORTED OR typed.CART_LEVEL THEN NULL
            WHEN typed.RAW_VALUE IS NOT NULL AND typed.NUMBER_VALUE IS NULL THEN %(value_not_a_number)s
            WHEN typed.NUMBER_VALUE < %(value_min)s THEN %(value_below)s
        END AS CORRECTION,
        typed.REPEATED_ID,
        CASE
            WHEN typed.NOT_EXPORTED THEN %(not_exported)s
            WHEN typed.CART_LEVEL THEN %(cart_level)s
            -- a copy without a time is never the earliest
            WHEN typed.FIRST_EPOCH IS NOT NULL AND NOT COALESCE(typed.TIMESTAMP <= typed.FIRST_EPOCH, FALSE)
                THEN %(repeated_event)s
        END AS PRIOR_SKIP,
        'incoming.event.' || CASE
            WHEN typed.CONTACT_ID IS NULL THEN 'skip' WHEN users.USER_ID IS NULL THEN 'error' ELSE 'success'
        END AS IDENTITY_LOG,
        CASE
            WHEN typed.CONTACT_ID IS NULL THEN %(event_without_contact)s
            WHEN users.USER_ID IS NULL THEN %(unknown_contact)s
            WHEN users.RECIPIENT_ID <> typed.CONTACT_ID THEN %(repointed_from)s || typed.CONTACT_ID
        END AS IDENTITY_REASON
    FROM typed
    LEFT JOIN {{ user_map }} AS users ON users.CONTACT_ID = typed.CONTACT_ID

    UNION ALL

    SELECT
        FALSE, NULL, NULL, SOURCE_ID, CONTACT_ID, RAW_EVENT_TYPE, USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE,
        EVENT_VALUE, NULL, TRUE, NULL, NULL, NULL
    FROM {{ deal_candidates }}
),

deduplicated AS (
    SELECT candidates.*, PRIOR_SKIP AS SKIP_REASON
    FROM candidates
    WHERE NOT REPEATED_ID

    UNION ALL

    -- copies of one id at its earliest time (and the deal interactions, few): the first in a fixed order
    -- of their values is kept
    SELECT
        candidates.*,
        COALESCE(PRIOR_SKIP, IFF(
            SOURCE_ID IS NOT NULL AND ROW_NUMBER() OVER (
                PARTITION BY PRIOR_SKIP IS NULL, SOURCE_ID
                ORDER BY TIMESTAMP NULLS LAST, CONTACT_ID NULLS LAST, ITEM_ID NULLS LAST,
                    EVENT_TYPE NULLS LAST, EVENT_VALUE NULLS LAST
            ) > 1,
            %(repeated_event)s,
            NULL
        ))
    FROM candidates
    WHERE REPEATED_ID
),

checked AS (
    -- the dataset's row rules (validation.row_rules_of), reasons joined by "; " in rule order
    SELECT
        deduplicated.*,
        IFF(SKIP_REASON IS NULL, NULLIF(SUBSTR(''
{%- for rule in rules %}
            || IFF(
            {%- if rule.check == "missing" %} deduplicated.{{ rule.column }} IS NULL
            {%- elif rule.check == "too_long" %} LENGTH(deduplicated.{{ rule.column }}) > %({{ rule.key }}_max)s
            {%- elif rule.check == "below" %} deduplicated.{{ rule.column }} < %({{ rule.key }}_min)s
            {%- elif rule.check == "not_allowed" %} deduplicated.{{ rule.column }} NOT IN (%({{ rule.key }}_values)s)
            {%- elif rule.check == "out_of_range" %}
                deduplicated.{{ rule.column }} NOT BETWEEN %({{ rule.key }}_min)s AND %({{ rule.key }}_max)s
            {%- elif rule.check == "unknown" %}
                deduplicated.{{ rule.column }} IS NOT NULL AND {{ rule.key }}.VALUE IS NULL
            {%- endif %}, %({{ rule.key }}_reason)s, '')
{%- endfor %}
        , 3), ''), NULL) AS QUARANTINE_REASON
    FROM deduplicated
{%- for rule in rules if rule.check == "unknown" %}
    LEFT JOIN {{ rule.table }} AS {{ rule.key }} ON {{ rule.key }}.VALUE = deduplicated.{{ rule.column }}
{%- endfor %}
),

repeated_keys AS (
    -- unique keys (TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE) that rows passing every rule share
    SELECT TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE
    FROM checked
    WHERE SKIP_REASON IS NULL AND QUARANTINE_REASON IS NULL
    GROUP BY TIMESTAMP, USER_ID, ITEM_ID, EVENT_TYPE
    HAVING COUNT(*) > 1
),

ranked AS (
    SELECT checked.*, FALSE AS REPEATED_KEY
    FROM checked
    LEFT JOIN repeated_keys
        ON repeated_keys.TIMESTAMP = checked.TIMESTAMP AND repeated_keys.USER_ID = checked.USER_ID
        AND repeated_keys.ITEM_ID = checked.ITEM_ID AND repeated_keys.EVENT_TYPE = checked.EVENT_TYPE
    WHERE repeated_keys.TIMESTAMP IS NULL OR SKIP_REASON IS NOT NULL OR QUARANTINE_REASON IS NOT NULL

    UNION ALL

    -- rows sharing a key: the first in output order is written
    SELECT
        checked.*,
        ROW_NUMBER() OVER (
            PARTITION BY checked.TIMESTAMP, checked.USER_ID, checked.ITEM_ID, checked.EVENT_TYPE
            ORDER BY SOURCE_ID NULLS LAST, CONTACT_ID NULLS LAST, RAW_EVENT_TYPE NULLS LAST,
                EVENT_VALUE NULLS LAST
        ) > 1
    FROM checked
    JOIN repeated_keys
        ON repeated_keys.TIMESTAMP = checked.TIMESTAMP AND repeated_keys.USER_ID = checked.USER_ID
        AND repeated_keys.ITEM_ID = checked.ITEM_ID AND repeated_keys.EVENT_TYPE = checked.EVENT_TYPE
    WHERE SKIP_REASON IS NULL AND QUARANTINE_REASON IS NULL
)

SELECT
    IS_EVENT,
    EVENT_ID,
    RAW_CONTACT_ID,
    SOURCE_ID,
    CONTACT_ID,
    RAW_EVENT_TYPE,
    USER_ID,
    ITEM_ID,
    TIMESTAMP,
    EVENT_TYPE,
    EVENT_VALUE,
    CORRECTION,
    CASE
        WHEN SKIP_REASON IS NOT NULL OR REPEATED_KEY THEN 'skipped'
        WHEN QUARANTINE_REASON IS NOT NULL THEN 'quarantined'
        ELSE 'written'
    END AS OUTCOME,
    COALESCE(SKIP_REASON, QUARANTINE_REASON, IFF(REPEATED_KEY, %(repeated_key)s, NULL)) AS REASON,
    IDENTITY_LOG,
    IDENTITY_REASON
FROM ranked
-- stored in time order: the unloads read it in time order, and a page of a time range reads its part
ORDER BY TIMESTAMP
