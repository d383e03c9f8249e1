/*---
name = "credentials"
description = """
Every credential issuance to a Cognito identity: `GetCredentialsForIdentity` (enhanced flow)
and `AssumeRoleWithWebIdentity` through `cognito-identity.amazonaws.com` (basic/classic flow,
or a token from another pool). One row per successful issuance with the issued access key,
identity, pool, auth type, login provider, role, issuing IP and user agent, issue and expiry
time. A basic-flow issuance takes its auth type and provider from the `GetOpenIdToken` before
it (as `issued_keys` does). `requested_identity_id` is the identity the request named (a
merge answers with another). Failed attempts stay in `events` (error_code set).
"""
---*/
WITH issuances AS (
    SELECT *
    FROM events
    WHERE error_code IS NULL
      AND (
            (event_source = 'cognito-identity.amazonaws.com' AND event_name = 'GetCredentialsForIdentity')
         OR (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithWebIdentity'
             AND (identity_provider = 'cognito-identity.amazonaws.com' OR attribution_source IS NOT NULL))
      )
)
SELECT
    e.event_id,
    e.event_time AS issued_at,
    e.event_date,
    e.event_name AS issued_by,
    e.issued_access_key_id AS access_key_id,
    e.identity_id,
    -- The identity the caller asked for; Cognito answers with another when it merged them.
    lower(json_get_str(e.request_parameters, 'identityId')) AS requested_identity_id,
    coalesce(e.identity_pool_id, e.web_identity_audience) AS identity_pool_id,
    coalesce(e.auth_type, k.auth_type) AS auth_type,
    coalesce(e.login_provider, k.login_provider) AS login_provider,
    e.login_providers,
    e.role_arn,
    -- The role the caller asked for (`GetCredentialsForIdentity`'s `customRoleArn`).
    json_get_str(e.request_parameters, 'customRoleArn') AS custom_role_arn,
    e.source_ip AS issuing_ip,
    e.user_agent AS issuing_user_agent,
    e.credentials_expiration AS expires_at,
    e.web_identity_audience,
    e.aws_region,
    e.recipient_account_id,
    e.ingested_at
FROM issuances e
LEFT JOIN issued_keys k
  ON e.auth_type IS NULL AND k.access_key_id = e.issued_access_key_id
