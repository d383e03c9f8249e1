/*---
name = "identity_profile"
kind = "accumulating"
keys = ["identity_id", "attribute", "value"]
description = """
Per identity, everything it was seen with, each with first and last seen and calls: `pool`,
`auth_type`, `login_provider`, `role`, `user_agent`, `address`, `network` (the /24 of an IPv4
address, the /48 of an IPv6 one), `asn` and `country` (with `[geoip]` databases). The calls
that obtained credentials count too. "First time from this country" reads this. And
`linked_identity`: another identity merged into this one (a guest who signed in with a login
already linked elsewhere: Cognito answers the guest's `GetCredentialsForIdentity` with the
surviving identity's id), so reading the other's data is not an attack.
"""
---*/
WITH seen AS (
    SELECT identity_id, event_time, identity_pool_id, auth_type, login_provider, role_arn, user_agent, source_ip,
           CAST(NULL AS VARCHAR) AS linked_identity_id
    FROM identity_activity
    WHERE ingested_at > {{arrived_after}}
    UNION ALL
    SELECT identity_id, issued_at AS event_time, identity_pool_id, auth_type, login_provider, role_arn,
           issuing_user_agent AS user_agent, issuing_ip AS source_ip,
           CASE WHEN requested_identity_id <> identity_id THEN requested_identity_id END AS linked_identity_id
    FROM credentials
    WHERE ingested_at > {{arrived_after}} AND identity_id IS NOT NULL
),
-- One pass over `seen`: each row once per attribute.
attributes AS (
    SELECT s.identity_id, s.event_time, a.attribute,
           CASE a.attribute
               WHEN 'pool' THEN s.identity_pool_id
               WHEN 'auth_type' THEN s.auth_type
               WHEN 'login_provider' THEN s.login_provider
               WHEN 'role' THEN s.role_arn
               WHEN 'user_agent' THEN s.user_agent
               WHEN 'address' THEN s.source_ip
               WHEN 'network' THEN ip_network(s.source_ip, 24, 48)
               WHEN 'asn' THEN CAST(ip_asn(s.source_ip) AS VARCHAR)
               WHEN 'country' THEN ip_country(s.source_ip)
               WHEN 'linked_identity' THEN s.linked_identity_id
           END AS value
    FROM seen s
    CROSS JOIN (VALUES ('pool'), ('auth_type'), ('login_provider'), ('role'), ('user_agent'),
                       ('address'), ('network'), ('asn'), ('country'), ('linked_identity')) AS a(attribute)
)
SELECT identity_id, attribute, value,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       count(*) AS calls
FROM attributes
WHERE identity_id IS NOT NULL AND value IS NOT NULL AND value <> ''
GROUP BY identity_id, attribute, value
