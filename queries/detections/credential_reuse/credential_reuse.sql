/*---
id = "credential_reuse"
title = "Pool credentials used from another network than the one they were issued to"
category = "credential_reuse"
severity = "medium"
description = """
Credentials from `GetCredentialsForIdentity` / `AssumeRoleWithWebIdentity` live up to an hour
(or longer for the basic flow) and work from anywhere. The app that got them uses them from
the same device, so from the same network: calls with an access key from another autonomous
system or another country than the address it was issued to mean the key was copied out of
the app (malware, a leaked log, a proxy). With GeoLite2 databases (`[geoip] asn_db`,
`country_db`) the rule is: a different ASN (medium) or a different country (high); a change of
address inside one ASN (a phone moving between cells, a carrier NAT) is not a finding.
Without databases the rule is coarse — a different /16 (IPv4) or /64 (IPv6: one subnet; a
device's privacy addresses rotate inside it, however the address is written) network — and the
finding says so. ASNs in `allowed_asns` (a comma-separated list: a corporate VPN, a relay
service the app's users go through) never count as another network. One finding per access
key; every call from the other network is evidence, with the issuance. The identity-level
version of this (tokens stolen and used to get credentials elsewhere) is
`identity_issuance_travel`.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/getting-credentials.html",
  "https://dev.maxmind.com/geoip/geolite2-free-geolocation-data",
  "https://attack.mitre.org/techniques/T1550/001/",
]
attack = ["T1550.001", "T1528"]
false_positives = """
A device switching between Wi-Fi and mobile data, or a VPN coming up, while a key is live:
another ASN within minutes. `allowed_asns` takes the VPN's and relay services' ASNs; without
GeoIP databases the coarse network rule fires more often.
"""
[tunables]
allowed_asns = ""
---*/
WITH issued AS (
    SELECT access_key_id, identity_id, identity_pool_id, issuing_ip, issued_at, issue_event_id
    FROM issued_keys
    WHERE issuing_ip IS NOT NULL
),
used AS (
    SELECT event_id, event_time, access_key_id, source_ip, user_agent, identity_id
    FROM identity_activity
    WHERE access_key_id IS NOT NULL AND source_ip IS NOT NULL
),
addresses AS (
    SELECT ip, asn, org, country, network,
           CASE WHEN asn IS NULL AND country IS NULL THEN ''
                ELSE concat(' (', concat_ws(', ', CASE WHEN asn IS NOT NULL THEN concat('AS', CAST(asn AS VARCHAR), coalesce(' ' || org, '')) END, country), ')') END AS label
    FROM (
    SELECT ip, ip_asn(ip) AS asn, ip_as_org(ip) AS org, ip_country(ip) AS country,
           ip_network(ip, 16, 64) AS network
    FROM (SELECT issuing_ip AS ip FROM issued UNION SELECT source_ip AS ip FROM used)
    )
),
pairs AS (
    SELECT i.access_key_id, i.identity_id, i.identity_pool_id, i.issuing_ip, i.issue_event_id,
           u.event_id, u.event_time, u.source_ip, u.user_agent,
           a.asn AS issued_asn, a.country AS issued_country, a.network AS issued_network, a.label AS issued_label,
           b.asn AS used_asn, b.country AS used_country, b.network AS used_network, b.label AS used_label
    FROM issued i
    JOIN used u ON u.access_key_id = i.access_key_id
    JOIN addresses a ON a.ip = i.issuing_ip
    JOIN addresses b ON b.ip = u.source_ip
    WHERE u.source_ip <> i.issuing_ip
),
judged AS (
    SELECT p.*,
           g.asn_available OR g.country_available AS enriched,
           issued_country IS NOT NULL AND used_country IS NOT NULL AND issued_country <> used_country AS other_country,
           issued_asn IS NOT NULL AND used_asn IS NOT NULL AND issued_asn <> used_asn AS other_asn,
           (issued_asn IS NULL OR used_asn IS NULL) AND (issued_country IS NULL OR used_country IS NULL)
               AND issued_network <> used_network AS other_network
    FROM pairs p CROSS JOIN geoip_status g
),
moved AS (
    SELECT * FROM judged
    WHERE (other_country OR other_asn OR other_network)
      AND (used_asn IS NULL
           OR NOT array_has(string_to_array({{allowed_asns}}, ','), CAST(used_asn AS VARCHAR)))
)
SELECT identity_id,
       first_value(identity_pool_id) AS identity_pool_id,
       access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_append(array_agg(DISTINCT event_id), first_value(issue_event_id)) AS event_ids,
       array_append(array_agg(DISTINCT source_ip), first_value(issuing_ip)) AS source_ips,
       CASE WHEN bool_or(other_country) THEN 'high' ELSE 'medium' END AS severity,
       concat('Access key ', access_key_id, ' of ', identity_id, ' was issued to ', first_value(issuing_ip),
              first_value(issued_label), ' and used ', count(DISTINCT event_id), ' time(s) from ',
              array_to_string(array_sort(array_agg(DISTINCT concat(source_ip, used_label))), ', '),
              CASE WHEN bool_or(enriched) THEN '' ELSE '; no GeoIP databases are configured ([geoip]): coarse rule, another /16 (IPv4) or /64 (IPv6) network' END,
              CASE WHEN bool_or(other_network) AND bool_or(enriched) THEN '; some addresses are not in the GeoIP databases: compared by /16 or /64 network' ELSE '' END) AS summary,
       access_key_id AS finding_key
FROM moved
GROUP BY identity_id, access_key_id
