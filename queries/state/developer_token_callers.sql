/*---
name = "developer_token_callers"
kind = "accumulating"
keys = ["identity_pool_id", "caller", "network"]
description = """
Per pool, the backends that obtained OpenID tokens for developer-authenticated identities
(`GetOpenIdTokenForDeveloperIdentity`, successful): the calling principal (`caller`: its role,
else its ARN) and the network it called from (`network`: the /24 of an IPv4 address, the /48
of an IPv6 one; `''` for AWS-internal callers), with first and last seen and calls. What
`developer_identity_abuse` compares a new caller with.
"""
---*/
SELECT coalesce(identity_pool_id, '') AS identity_pool_id,
       coalesce(role_arn, principal_arn, '') AS caller,
       coalesce(ip_network(source_ip, 24, 48), '') AS network,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       count(*) AS calls
FROM events
WHERE ingested_at > {{arrived_after}}
  AND event_source = 'cognito-identity.amazonaws.com'
  AND event_name = 'GetOpenIdTokenForDeveloperIdentity'
  AND error_code IS NULL
GROUP BY 1, 2, 3
