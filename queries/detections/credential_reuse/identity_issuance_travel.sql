/*---
id = "identity_issuance_travel"
title = "One identity got credentials from two countries or networks within minutes"
category = "credential_reuse"
severity = "medium"
description = """
Stealing an identity's tokens (an OpenID token, a refresh token, a Cognito user pool session)
lets the thief ask Cognito for credentials of that identity from their own network: issuance and
use both happen there, so an access key is never seen on two networks and `credential_reuse`
stays silent. What shows is the **identity** getting credentials from two places at once: two
issuances (`GetCredentialsForIdentity`, `AssumeRoleWithWebIdentity`) for one identity within
`travel_minutes`, from different countries (high) or different autonomous systems (medium).
A phone moving between cells stays in its carrier's ASN; a trip takes hours. ASNs in
`allowed_asns` (a comma-separated list: a corporate VPN, iCloud Private Relay) never count.
Needs the GeoLite2 databases (`[geoip]`); without them it stays silent. One finding per identity
and day; the issuances on both sides are evidence.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://attack.mitre.org/techniques/T1528/",
  "https://attack.mitre.org/techniques/T1550/001/",
]
attack = ["T1528", "T1550.001"]
false_positives = """
One user signed in on two devices on different networks at once (a laptop on a VPN, a phone on
mobile data); a relay service (iCloud Private Relay) that exits in another country. Add their
ASNs to `allowed_asns`.
"""
lookback = "30m"
[tunables]
travel_minutes = 30
allowed_asns = ""
---*/
WITH issued AS (
    SELECT identity_id, identity_pool_id, access_key_id, issuing_ip, issued_at, event_id,
           ip_asn(issuing_ip) AS asn, ip_as_org(issuing_ip) AS org, ip_country(issuing_ip) AS country
    FROM credentials
    WHERE identity_id IS NOT NULL AND issuing_ip IS NOT NULL
),
placed AS (
    SELECT *
    FROM issued
    WHERE asn IS NULL
       OR NOT array_has(string_to_array({{allowed_asns}}, ','), CAST(asn AS VARCHAR))
),
pairs AS (
    SELECT later.identity_id, later.identity_pool_id,
           earlier.event_id AS earlier_event, later.event_id AS later_event,
           earlier.issued_at AS earlier_at, later.issued_at AS later_at,
           concat(earlier.issuing_ip, ' (', concat_ws(', ', 'AS' || CAST(earlier.asn AS VARCHAR), earlier.country), ')') AS earlier_place,
           concat(later.issuing_ip, ' (', concat_ws(', ', 'AS' || CAST(later.asn AS VARCHAR), later.country), ')') AS later_place,
           earlier.issuing_ip AS earlier_ip, later.issuing_ip AS later_ip,
           coalesce(earlier.country <> later.country, false) AS other_country
    FROM placed later
    JOIN placed earlier
      ON earlier.identity_id = later.identity_id
     AND earlier.issued_at <= later.issued_at
     AND CAST(later.issued_at AS BIGINT) - CAST(earlier.issued_at AS BIGINT) <= {{travel_minutes}} * 60000000
     AND earlier.event_id <> later.event_id
    WHERE is_judged(later.issued_at)
      AND ((earlier.country IS NOT NULL AND later.country IS NOT NULL AND earlier.country <> later.country)
           OR (earlier.asn IS NOT NULL AND later.asn IS NOT NULL AND earlier.asn <> later.asn))
)
SELECT identity_id,
       first_value(identity_pool_id) AS identity_pool_id,
       NULL AS access_key_id,
       min(earlier_at) AS first_seen,
       max(later_at) AS last_seen,
       array_distinct(array_concat(array_agg(earlier_event), array_agg(later_event))) AS event_ids,
       array_distinct(array_concat(array_agg(earlier_ip), array_agg(later_ip))) AS source_ips,
       CASE WHEN bool_or(other_country) THEN 'high' ELSE 'medium' END AS severity,
       concat('Identity ', identity_id, ' got credentials from ',
              array_to_string(array_sort(array_distinct(array_concat(array_agg(earlier_place), array_agg(later_place)))), ' and '),
              ' within ', {{travel_minutes}}, ' minutes: its tokens are being used from two places') AS summary,
       concat(identity_id, '|', CAST(date_trunc('day', min(later_at)) AS VARCHAR)) AS finding_key
FROM pairs
GROUP BY identity_id, date_trunc('day', later_at)
