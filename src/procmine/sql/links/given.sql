-- core.links, part 1: the given links, one per reference a record's field makes
-- (intermediate/d2c_references.sql; placeholders such as '#MULTIVALUE' make none). A link to
-- a record not in the store is kept, flagged (to_exists / from_exists false).
-- Reads _d2c_ref.
WITH refs AS (
    SELECT * FROM _d2c_ref
),
final AS (
    SELECT CASE WHEN carrier_is_from THEN carrier_type ELSE other_type END AS from_type,
           CASE WHEN carrier_is_from THEN carrier_id ELSE value END AS from_id,
           CASE WHEN carrier_is_from THEN other_type ELSE carrier_type END AS to_type,
           CASE WHEN carrier_is_from THEN value ELSE carrier_id END AS to_id,
           kind, 'given' AS origin, rule,
           carrier_type || ' ' || carrier_id || ' names ' || rule || ' = ' || value
               || CASE WHEN status = 'not_in_store' THEN ' (not in the store)' ELSE '' END
               AS evidence,
           NOT carrier_is_from OR status = 'linked' AS to_exists,
           carrier_is_from OR status = 'linked' AS from_exists
    FROM refs
    WHERE status <> 'placeholder'
)
SELECT * FROM final
