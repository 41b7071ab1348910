-- Helper macros every connection that normalises or validates data gets (temp: not stored).

-- A raw cell, or NULL when it is one of the source's null tokens. A NULL cell needs no test of
-- its own (trim gives NULL either way); with one (`v IS NULL OR ...`) the macro cost ~1.7x
-- the CPU (8 columns x 1.28M rows: 1.45 -> 0.85 s), and the normaliser calls it ~10^8 times
-- on a 10M-event load.
CREATE OR REPLACE TEMP MACRO pm_null(v, tokens) AS
    CASE WHEN list_contains(tokens, trim(v)) THEN NULL ELSE trim(v) END;

-- A raw timestamp in UTC: an explicit strptime format wins; ISO-8601 with an offset keeps
-- it; naive values are read in the source's time zone. Unparseable -> NULL (quarantined).
CREATE OR REPLACE TEMP MACRO pm_parse_ts(v, fmt, tz) AS
    CASE
        WHEN v IS NULL THEN NULL
        WHEN fmt <> '' THEN timezone(tz, try_strptime(v, coalesce(nullif(fmt, ''), '%Y')))
        WHEN regexp_matches(v, '(Z|[+-]\d\d(:?\d\d)?)$') THEN try_cast(v AS TIMESTAMPTZ)
        ELSE timezone(tz, try_cast(v AS TIMESTAMP))
    END;

-- The deterministic event key (README "Event identity"): the source and the fields that
-- identify the event in the source (extra1, extra2: adapter-specific fields, or NULL),
-- encoded as a JSON list before hashing, so that no two different field lists share a text
-- (a '|'-joined text did: ['a|b', 'c'] and ['a', 'b|c']). One flat list: building it by
-- list_concat cost ~50% more at 3M rows. Identical rows of one file get the same key here;
-- validation numbers their occurrences (validation/occurrences.sql).
CREATE OR REPLACE TEMP MACRO pm_event_id(source, case_id, activity, ts_raw, extra1, extra2) AS
    md5(to_json([source, case_id, activity, ts_raw, extra1, extra2]));

-- A boolean in any of the usual export dialects (TRUE/FALSE, true/false, T/F, Y/N, yes/no,
-- 1/0); anything else -> NULL.
CREATE OR REPLACE TEMP MACRO pm_bool(v) AS
    CASE WHEN lower(trim(v)) IN ('true', 't', 'yes', 'y', '1') THEN true
         WHEN lower(trim(v)) IN ('false', 'f', 'no', 'n', '0') THEN false END;

-- A number written with a decimal point or a decimal comma ('3,5' -> 3.5); NULL if neither.
CREATE OR REPLACE TEMP MACRO pm_number(v) AS
    coalesce(try_cast(trim(v) AS DOUBLE),
             CASE WHEN regexp_matches(trim(v), '^[+-]?[0-9]*,[0-9]+$')
                  THEN try_cast(replace(trim(v), ',', '.') AS DOUBLE) END);
