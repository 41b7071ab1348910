-- Helper macros every connection that normalises or validates data gets (temp: not stored).

-- A raw cell, or NULL when it is one of the source's null tokens.
CREATE OR REPLACE TEMP MACRO pm_null(v, tokens) AS
    CASE WHEN v IS NULL OR list_contains(tokens, trim(v)) THEN NULL ELSE trim(v) END;

-- A raw timestamp in UTC: an explicit strptime format wins; ISO-8601 with an offset keeps
-- it; naive values are read in the source's time zone. Unparseable -> NULL (quarantined).
CREATE OR REPLACE TEMP MACRO pm_parse_ts(v, fmt, tz) AS
    CASE
        WHEN v IS NULL THEN NULL
        WHEN fmt <> '' THEN timezone(tz, try_strptime(v, coalesce(nullif(fmt, ''), '%Y')))
        WHEN regexp_matches(v, '(Z|[+-]\d\d(:?\d\d)?)$') THEN try_cast(v AS TIMESTAMPTZ)
        ELSE timezone(tz, try_cast(v AS TIMESTAMP))
    END;

-- The deterministic event key: source + the fields that identify the event in the source.
CREATE OR REPLACE TEMP MACRO pm_event_id(source, case_id, activity, ts_raw, extra) AS
    md5(concat_ws('|', source, case_id, activity, ts_raw, coalesce(extra, '')));
