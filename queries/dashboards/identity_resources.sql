-- Identity dashboard: the S3 keys and DynamoDB items {{identity_id}}
-- touched, with how often and whether it was refused.
SELECT kind, resource, calls, failed, last_call
FROM (
    SELECT 's3' AS kind,
           concat(s3_bucket, '/', coalesce(s3_key, s3_prefix, '')) AS resource,
           count(*) AS calls,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
           max(event_time) AS last_call
    FROM identity_activity
    WHERE identity_id = {{identity_id}} AND s3_bucket IS NOT NULL
    GROUP BY 1, 2
    UNION ALL
    SELECT 'dynamodb' AS kind,
           concat(dynamodb_table, ' ', coalesce(dynamodb_item_key, dynamodb_statement,
                  array_to_string(dynamodb_key_values, ','), '')) AS resource,
           count(*) AS calls,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
           max(event_time) AS last_call
    FROM identity_activity
    WHERE identity_id = {{identity_id}} AND dynamodb_table IS NOT NULL
    GROUP BY 1, 2
)
ORDER BY failed DESC, calls DESC, resource
