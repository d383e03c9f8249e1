/*---
name = "identity_activity"
description = """
Every call made with identity-pool credentials (not the calls that obtain them), attributed
to its identity: from the record itself (`webIdFederationData`, an API Gateway access log
line) or, when the record carries only an access key, through the issuance of that key
(`issued_keys`, up to 12 hours earlier; `attribution_source = 'issued_access_key'`). Calls
made with pool credentials on Cognito Identity itself (`ListIdentities`, `DeleteIdentities`,
`SetIdentityPoolRoles`, …) and `sts:AssumeRole` are activity too; the issuance calls that
Cognito and STS attribute to the identity they are **for** (`GetId`, `GetCredentialsForIdentity`,
`GetOpenIdToken`, `AssumeRoleWithWebIdentity`) are not. A key chained from pool credentials
by `sts:AssumeRole` is the identity's too: `chain_depth` (0 = the pool's own role, 1 = one
AssumeRole away, 2 = two) and `via_role_arn` (the pool role the chain started from).
`whole_table` marks a DynamoDB `Scan` or a PartiQL `SELECT` without `WHERE`; `action` is
`service:Action`, `is_read` says whether the call only read (HTTP methods compared without
case), `resource` names what it acted on.
"""
---*/
-- Two kinds of rows: those the record attributes itself, and those attributed through the
-- issuance of their access key. The key join keeps the (few) issued keys in memory and
-- streams the events past them; one LEFT JOIN from the events would hold every event.
WITH attributed AS (
    SELECT e.*,
           e.role_arn AS attributed_role_arn,
           e.identity_id AS attributed_identity_id,
           e.identity_pool_id AS attributed_identity_pool_id,
           e.auth_type AS attributed_auth_type,
           e.login_provider AS attributed_login_provider,
           e.attribution_source AS attributed_source,
           CAST(0 AS INT) AS chain_depth,
           CAST(NULL AS VARCHAR) AS via_role_arn
    FROM events e
    WHERE e.identity_id IS NOT NULL
      -- Issuance calls name the identity they are for, not a caller.
      AND coalesce(e.attribution_source, '') NOT IN ('cognito_identity_call', 'sts_web_identity')
    UNION ALL
    SELECT e.*,
           coalesce(e.role_arn, i.role_arn) AS attributed_role_arn,
           i.identity_id AS attributed_identity_id,
           coalesce(e.identity_pool_id, i.identity_pool_id) AS attributed_identity_pool_id,
           coalesce(e.auth_type, i.auth_type) AS attributed_auth_type,
           coalesce(e.login_provider, i.login_provider) AS attributed_login_provider,
           'issued_access_key' AS attributed_source,
           i.chain_depth,
           i.via_role_arn
    FROM issued_keys i
    JOIN events e ON e.access_key_id = i.access_key_id
    WHERE e.identity_id IS NULL
)
SELECT
    -- `events` already falls back to the key; DataFusion 55 loses that computed column
    -- through this UNION ALL, so it is said again here.
    coalesce(a.event_id, a.event_key) AS event_id,
    a.event_time,
    a.event_date,
    a.event_source,
    a.event_name,
    -- `service:Action` (`apigateway:GET /notes/{id}` for an API Gateway line).
    concat(split_part(a.event_source, '.', 1), ':', a.event_name) AS action,
    -- A read: an HTTP GET/HEAD/OPTIONS (any case), else CloudTrail's readOnly, else the
    -- action's verb.
    coalesce(CASE WHEN a.http_method IS NOT NULL THEN upper(a.http_method) IN ('GET', 'HEAD', 'OPTIONS') END,
             a.read_only,
             a.event_name LIKE 'Get%' OR a.event_name LIKE 'List%' OR a.event_name LIKE 'Describe%'
             OR a.event_name LIKE 'Head%' OR a.event_name IN ('Query', 'Scan', 'BatchGetItem')) AS is_read,
    -- What it acted on, in one column: `bucket/key`, a table, a function, an API path, a
    -- stream, else the first resource ARN of the record.
    coalesce(CASE WHEN a.s3_bucket IS NOT NULL THEN concat(a.s3_bucket, '/', coalesce(a.s3_key, a.s3_prefix, '')) END,
             a.dynamodb_table, a.lambda_function, a.http_path,
             json_get_str(a.request_parameters, 'deliveryStreamName'),
             json_get_str(a.request_parameters, 'streamName'),
             a.resource_arns[1]) AS resource,
    a.error_code,
    a.error_message,
    a.read_only,
    a.source_ip,
    a.user_agent,
    a.aws_region,
    a.recipient_account_id,
    a.access_key_id,
    a.attributed_role_arn AS role_arn,
    a.attributed_identity_id AS identity_id,
    a.attributed_identity_pool_id AS identity_pool_id,
    a.attributed_auth_type AS auth_type,
    a.attributed_login_provider AS login_provider,
    a.attributed_source AS attribution_source,
    a.chain_depth,
    a.via_role_arn,
    a.s3_bucket,
    a.s3_key,
    a.s3_prefix,
    a.dynamodb_table,
    a.dynamodb_item_key,
    a.dynamodb_key_values,
    a.dynamodb_statement,
    (a.event_source = 'dynamodb.amazonaws.com'
     AND (a.event_name = 'Scan'
          OR (a.event_name IN ('ExecuteStatement', 'BatchExecuteStatement')
              AND upper(trim(a.dynamodb_statement)) LIKE 'SELECT%'
              AND NOT upper(a.dynamodb_statement) LIKE '% WHERE %'))) AS whole_table,
    a.lambda_function,
    a.target_identity_ids,
    a.http_method,
    a.http_path,
    a.http_status,
    CAST(json_get_float(a.additional_event_data, 'bytesTransferredIn') AS BIGINT) AS bytes_in,
    CAST(json_get_float(a.additional_event_data, 'bytesTransferredOut') AS BIGINT) AS bytes_out,
    a.request_parameters,
    a.ingested_at
FROM attributed a
