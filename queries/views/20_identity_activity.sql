/*---
name = "identity_activity"
description = """
Every call made with identity-pool credentials (not the calls that obtain them), attributed
to its identity: from the record itself (`webIdFederationData`, an API Gateway access log
line) or, when the record carries only an access key, through the issuance of that key
(`issued_keys`, up to 12 hours earlier; `attribution_source = 'issued_access_key'`).
"""
---*/
SELECT
    e.event_id,
    e.event_time,
    e.event_date,
    e.event_source,
    e.event_name,
    e.error_code,
    e.error_message,
    e.read_only,
    e.source_ip,
    e.user_agent,
    e.aws_region,
    e.recipient_account_id,
    e.access_key_id,
    coalesce(e.role_arn, i.role_arn) AS role_arn,
    coalesce(e.identity_id, i.identity_id) AS identity_id,
    coalesce(e.identity_pool_id, i.identity_pool_id) AS identity_pool_id,
    coalesce(e.auth_type, i.auth_type) AS auth_type,
    coalesce(e.login_provider, i.login_provider) AS login_provider,
    CASE WHEN e.identity_id IS NOT NULL THEN e.attribution_source ELSE 'issued_access_key' END AS attribution_source,
    e.s3_bucket,
    e.s3_key,
    e.s3_prefix,
    e.dynamodb_table,
    e.dynamodb_item_key,
    e.dynamodb_key_values,
    e.dynamodb_statement,
    e.lambda_function,
    e.target_identity_ids,
    e.http_method,
    e.http_path,
    e.http_status,
    CAST(json_get_float(e.additional_event_data, 'bytesTransferredIn') AS BIGINT) AS bytes_in,
    CAST(json_get_float(e.additional_event_data, 'bytesTransferredOut') AS BIGINT) AS bytes_out,
    e.request_parameters,
    e.ingested_at
FROM events e
LEFT JOIN issued_keys i ON e.identity_id IS NULL AND e.access_key_id = i.access_key_id
WHERE NOT (e.event_source = 'cognito-identity.amazonaws.com')
  AND NOT (e.event_source = 'sts.amazonaws.com' AND e.event_name = 'AssumeRoleWithWebIdentity')
  AND (e.identity_id IS NOT NULL OR i.identity_id IS NOT NULL)
