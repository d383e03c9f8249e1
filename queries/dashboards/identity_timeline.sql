-- Identity dashboard: every call of {{identity_id}}, newest first — the
-- calls that obtained credentials (Cognito, STS) and the calls made with
-- them. Failed calls have error_code set (drawn highlighted).
SELECT event_time,
       split_part(event_source, '.', 1) AS service,
       event_name,
       error_code,
       target,
       source_ip,
       user_agent,
       event_id AS _event_id,
       request_parameters AS _request_parameters
FROM (
    SELECT event_time, event_source, event_name, error_code, source_ip, user_agent, event_id,
           request_parameters,
           coalesce(
               CASE WHEN s3_bucket IS NOT NULL THEN concat('s3://', s3_bucket, '/', coalesce(s3_key, s3_prefix, '')) END,
               CASE WHEN dynamodb_table IS NOT NULL THEN concat(dynamodb_table, ' ', coalesce(dynamodb_item_key, dynamodb_statement, '')) END,
               lambda_function,
               CASE WHEN http_path IS NOT NULL THEN concat(http_method, ' ', http_path) END
           ) AS target
    FROM identity_activity
    WHERE identity_id = {{identity_id}}
    UNION ALL
    SELECT event_time, event_source, event_name, error_code, source_ip, user_agent, event_id,
           request_parameters,
           coalesce(issued_access_key_id, identity_pool_id, web_identity_audience) AS target
    FROM events
    WHERE identity_id = {{identity_id}}
      -- The calls made *for* the identity (issuance); those made *with* its credentials, Cognito
      -- ones included, are in identity_activity above.
      AND attribution_source IN ('cognito_identity_call', 'sts_web_identity')
)
ORDER BY event_time DESC, event_id
