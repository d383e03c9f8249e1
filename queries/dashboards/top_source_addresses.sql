-- Overview: the addresses that called with pool credentials, busiest first,
-- with network and country when [geoip] databases are configured. Reads the
-- activity_hourly state table, not raw events.
SELECT source_ip AS address,
       calls,
       identities,
       denied,
       coalesce(ip_as_org(source_ip), CAST(ip_asn(source_ip) AS VARCHAR)) AS network,
       ip_country(source_ip) AS country
FROM (
    -- Identities per address in two plain steps (no hash set per address).
    SELECT source_ip,
           sum(calls) AS calls,
           count(*) AS identities,
           sum(denials) AS denied
    FROM (
        SELECT source_ip, identity_id, sum(calls) AS calls, sum(denials) AS denials
        FROM activity_hourly
        WHERE source_ip <> ''
        GROUP BY source_ip, identity_id
    )
    GROUP BY source_ip
)
ORDER BY calls DESC, address
LIMIT 200
