/*---
name = "identity_profile"
kind = "accumulating"
keys = ["identity_id", "attribute", "value"]
description = """
Per identity, everything it was seen with, each with first and last seen and calls: `pool`,
`auth_type`, `login_provider`, `role`, `user_agent`, `address`, `network` (the /24 of an IPv4
address, the /48 of an IPv6 one), `asn` and `country` (with `[geoip]` databases). The calls
that obtained credentials count too. "First time from this country" reads this.
"""
---*/
WITH seen AS (
    SELECT identity_id, event_time, identity_pool_id, auth_type, login_provider, role_arn, user_agent, source_ip
    FROM identity_activity
    WHERE ingested_at > {{arrived_after}}
    UNION ALL
    SELECT identity_id, issued_at AS event_time, identity_pool_id, auth_type, login_provider, role_arn,
           issuing_user_agent AS user_agent, issuing_ip AS source_ip
    FROM credentials
    WHERE ingested_at > {{arrived_after}} AND identity_id IS NOT NULL
),
attributes AS (
    SELECT identity_id, event_time, 'pool' AS attribute, identity_pool_id AS value FROM seen
    UNION ALL SELECT identity_id, event_time, 'auth_type', auth_type FROM seen
    UNION ALL SELECT identity_id, event_time, 'login_provider', login_provider FROM seen
    UNION ALL SELECT identity_id, event_time, 'role', role_arn FROM seen
    UNION ALL SELECT identity_id, event_time, 'user_agent', user_agent FROM seen
    UNION ALL SELECT identity_id, event_time, 'address', source_ip FROM seen
    UNION ALL SELECT identity_id, event_time, 'network',
        CASE WHEN strpos(source_ip, ':') > 0
             THEN concat(split_part(source_ip, ':', 1), ':', split_part(source_ip, ':', 2), ':', split_part(source_ip, ':', 3), '::/48')
             ELSE concat(split_part(source_ip, '.', 1), '.', split_part(source_ip, '.', 2), '.', split_part(source_ip, '.', 3), '.0/24') END
        FROM seen WHERE source_ip IS NOT NULL
    UNION ALL SELECT identity_id, event_time, 'asn', CAST(ip_asn(source_ip) AS VARCHAR) FROM seen
    UNION ALL SELECT identity_id, event_time, 'country', ip_country(source_ip) FROM seen
)
SELECT identity_id, attribute, value,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       count(*) AS calls
FROM attributes
WHERE identity_id IS NOT NULL AND value IS NOT NULL AND value <> ''
GROUP BY identity_id, attribute, value
