-- Identity dashboard: who {{identity_id}} is, as field/value rows, from its
-- credential issuances and its calls.
WITH issued AS (
    SELECT * FROM credentials WHERE identity_id = {{identity_id}}
),
calls AS (
    SELECT * FROM identity_activity WHERE identity_id = {{identity_id}}
),
cognito AS (
    SELECT * FROM events WHERE identity_id = {{identity_id}}
)
SELECT field, value FROM (
    SELECT 1 AS o, 'pool' AS field,
           coalesce((SELECT max(identity_pool_id) FROM issued), (SELECT max(identity_pool_id) FROM calls),
                    (SELECT max(identity_pool_id) FROM cognito)) AS value
    UNION ALL
    SELECT 2, 'auth type',
           coalesce((SELECT string_agg(DISTINCT auth_type, ', ') FROM issued),
                    (SELECT string_agg(DISTINCT auth_type, ', ') FROM calls))
    UNION ALL
    SELECT 3, 'login providers',
           (SELECT string_agg(DISTINCT login_provider, ', ') FROM cognito WHERE login_provider IS NOT NULL)
    UNION ALL
    SELECT 4, 'roles',
           (SELECT string_agg(DISTINCT regexp_replace(role_arn, '^arn:aws:iam::[0-9]+:role/', ''), ', ')
            FROM (SELECT role_arn FROM issued UNION ALL SELECT role_arn FROM calls) WHERE role_arn IS NOT NULL)
    UNION ALL
    SELECT 5, 'seen',
           concat(to_char((SELECT min(event_time) FROM cognito), '%Y-%m-%d %H:%M:%S'), ' → ',
                  to_char(greatest((SELECT max(event_time) FROM cognito), (SELECT max(event_time) FROM calls)),
                          '%Y-%m-%d %H:%M:%S'))
)
ORDER BY o
