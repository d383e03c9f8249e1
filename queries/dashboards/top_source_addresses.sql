-- Overview: the addresses that called with pool credentials, busiest first,
-- with network and country when [geoip] databases are configured.
SELECT source_ip AS address,
       calls,
       identities,
       denied,
       coalesce(ip_as_org(source_ip), CAST(ip_asn(source_ip) AS VARCHAR)) AS network,
       ip_country(source_ip) AS country
FROM (
    SELECT source_ip,
           count(*) AS calls,
           count(DISTINCT identity_id) AS identities,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS denied
    FROM identity_activity
    WHERE source_ip IS NOT NULL
    GROUP BY source_ip
)
ORDER BY calls DESC, address
LIMIT 200
