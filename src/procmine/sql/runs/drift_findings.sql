-- The run summary's drift section: the changes of marts.drift, latest and strongest first.
WITH drift AS (
    SELECT * FROM marts.drift
),
final AS (
    SELECT week, kind, series, before_value, after_value, score,
           coalesce(contributor_detail, '') AS contributors
    FROM drift
)
SELECT * FROM final
ORDER BY week DESC, score DESC
LIMIT $limit
