/*---
id = "guest_identity_flood"
title = "Many guest identities created from one address, network or autonomous system"
category = "anomalous_guest"
severity = "medium"
description = """
Each `GetId` without logins creates a new guest identity (and `GetCredentialsForIdentity` /
`GetOpenIdToken` hand it credentials). A script minting identities in a loop — to spread
requests over many identities, dodge per-identity limits or inflate the pool — shows as many
new guest identities from one source within minutes. Every such call counts (an identity
obtained elsewhere and given credentials here is counted too), by four sources: one address
(`min_identities`), one /24 or IPv6 /64 (`min_identities_network`: a farm that takes one
address per identity), one autonomous system (`min_identities_asn`, with the `[geoip]` ASN
database) and the pool as a whole (`min_identities_pool`). People behind one NAT (a café, a
carrier) also share an address, but they arrive minutes apart and use their credentials; the
summary says how many of the identities ever made a call with their credentials (high when
almost none did). Windows of `window` start every quarter of one, so a burst up to three
quarters of a window long is seen whole; the windows of one pool that overlap are one finding.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/limits.html",
]
attack = ["T1136.003", "T1078.004"]
false_positives = """
Load tests and synthetic monitoring that create guest identities in a loop; many users behind
one carrier NAT or corporate proxy at a peak. Load tests come from known addresses; real users
use their credentials, and the summary counts how many did.
"""
window = "10m"
lookback = "10m"
[tunables]
min_identities = 25
min_identities_network = 40
min_identities_asn = 150
min_identities_pool = 400
---*/
WITH minted AS (
    SELECT event_id, event_time, CAST(event_time AS BIGINT) AS t_us,
           identity_id, identity_pool_id, source_ip, user_agent
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('GetId', 'GetCredentialsForIdentity', 'GetOpenIdToken')
      AND auth_type = 'unauthenticated'
      -- A failed call created nothing (guessed ids are identity_id_enumeration's).
      AND error_code IS NULL
      AND source_ip IS NOT NULL
      AND identity_id IS NOT NULL
),
-- Each call under four sources: its address, its /24 (IPv6: /64), its ASN, its pool.
keyed AS (
    SELECT m.*, k.kind,
           CASE k.kind WHEN 'address' THEN m.source_ip
                       WHEN 'network' THEN ip_network(m.source_ip, 24, 64)
                       WHEN 'asn' THEN 'AS' || CAST(ip_asn(m.source_ip) AS VARCHAR)
                       ELSE m.identity_pool_id END AS source_key
    FROM minted m
    CROSS JOIN (VALUES ('address'), ('network'), ('asn'), ('pool')) AS k(kind)
),
-- Windows of `window` that start every quarter of one (times in microseconds): a burst up
-- to three quarters of a window long is whole in one of them.
placed AS (
    SELECT kind, source_key, identity_id,
           (t_us - h.step * {{window_minutes}} * 15000000) / ({{window_minutes}} * 60000000)
               * ({{window_minutes}} * 60000000) + h.step * {{window_minutes}} * 15000000 AS window_us
    FROM keyed
    CROSS JOIN (VALUES (0), (1), (2), (3)) AS h(step)
    WHERE source_key IS NOT NULL
),
-- Distinct identities in two plain steps (a count(DISTINCT …) per group keeps a hash set
-- for each of the many (source, window) groups).
minted_in_window AS (
    SELECT kind, source_key, window_us, identity_id
    FROM placed
    GROUP BY kind, source_key, window_us, identity_id
),
windows AS (
    SELECT kind, source_key, window_us, count(*) AS new_identities
    FROM minted_in_window
    GROUP BY kind, source_key, window_us
),
flooded AS (
    SELECT * FROM windows
    WHERE new_identities >= CASE kind WHEN 'address' THEN {{min_identities}}
                                      WHEN 'network' THEN {{min_identities_network}}
                                      WHEN 'asn' THEN {{min_identities_asn}}
                                      ELSE {{min_identities_pool}} END
),
evidence AS (
    SELECT f.kind, f.source_key, f.window_us, f.new_identities,
           first_value(k.identity_pool_id) FILTER (WHERE k.identity_pool_id IS NOT NULL) AS identity_pool_id,
           array_agg(DISTINCT k.identity_id) AS identities,
           min(k.event_time) AS first_seen,
           max(k.event_time) AS last_seen,
           array_agg(k.event_id) AS event_ids,
           array_agg(DISTINCT k.source_ip) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT k.user_agent)), ' | ') AS agents
    FROM flooded f
    JOIN keyed k ON k.kind = f.kind AND k.source_key = f.source_key
                AND k.t_us >= f.window_us
                AND k.t_us < f.window_us + {{window_minutes}} * 60000000
    GROUP BY f.kind, f.source_key, f.window_us, f.new_identities
),
minted_identities AS (
    SELECT kind, source_key, window_us, unnest(identities) AS minted_identity
    FROM evidence
),
used AS (
    SELECT DISTINCT identity_id FROM identity_activity WHERE auth_type = 'unauthenticated'
),
usage AS (
    SELECT m.kind, m.source_key, m.window_us, count(u.identity_id) AS used_identities
    FROM minted_identities m
    LEFT JOIN used u ON m.minted_identity = u.identity_id
    GROUP BY m.kind, m.source_key, m.window_us
),
flagged AS (
    SELECT e.*, coalesce(usage.used_identities, 0) AS used_identities
    FROM evidence e
    LEFT JOIN usage ON e.kind = usage.kind AND e.source_key = usage.source_key AND e.window_us = usage.window_us
)
SELECT NULL AS identity_id, identity_pool_id, NULL AS access_key_id, first_seen, last_seen, event_ids,
       source_ips,
       CASE WHEN used_identities * 10 < new_identities THEN 'high' ELSE 'medium' END AS severity,
       concat(CASE kind WHEN 'address' THEN concat('Address ', source_key)
                        WHEN 'network' THEN concat('Network ', source_key)
                        WHEN 'asn' THEN concat('Autonomous system ', source_key)
                        ELSE concat('Pool ', source_key, ' as a whole') END,
              ' created ', new_identities, ' guest identities within ', {{window_minutes}}, ' minutes from ',
              array_length(source_ips), ' address(es); ', used_identities,
              ' of them used their credentials (user agent: ', agents, ')') AS summary,
       concat(kind, '|', source_key, '|', CAST(window_us AS VARCHAR)) AS finding_key,
       coalesce(identity_pool_id, source_key) AS group_key
FROM flagged
-- A wider source says more than its addresses only when it spans several of them.
WHERE kind = 'address' OR array_length(source_ips) > 1
