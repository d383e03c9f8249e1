/*---
id = "pool_identity_sweep"
title = "Identities of a pool listed, deleted, merged or unlinked in bulk"
category = "identity_abuse"
severity = "high"
description = """
`ListIdentities` dumps a pool's identity ids (each one worth guest credentials, and with
`LookupDeveloperIdentity` or `DescribeIdentity` the logins behind them); `DeleteIdentities`
(60 ids a call), `MergeDeveloperIdentities`, `UnlinkDeveloperIdentity` and `UnlinkIdentity`
destroy or rewire them: users lose their data's owner, or an attacker's login gets merged into
a victim's identity. Two actors:
- **pool credentials** — an app user's session has no business calling any of these; guest
  roles created with the old default policy (`cognito-identity:*`) allow it. Every such call
  counts: a destructive one that succeeded is critical, a read that succeeded high, a denied
  one medium (an attempt).
- **anyone else** (an IAM principal, or the address of unsigned calls) — per actor in windows of
  `window` (bins and bins shifted by half): at least `min_list_calls` listing/lookup calls
  (medium: a dump), or at least `min_changed_identities` identities deleted, merged or unlinked
  (high: mass deletion).
"""
references = [
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_ListIdentities.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_DeleteIdentities.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/logging-using-cloudtrail.html",
]
attack = ["T1087.004", "T1485", "T1531", "T1098"]
false_positives = """
A data-retention job deleting inactive identities in bulk, a migration merging developer
identities, an admin export. They run as a known backend role on a schedule: suppress that
principal's findings (`[[detect.suppress]]`) after review.
"""
window = "1h"
lookback = "30m"
[tunables]
min_list_calls = 20
min_changed_identities = 100
---*/
WITH sweep_calls AS (
    SELECT event_id, event_time, event_name, error_code, source_ip, user_agent, identity_id,
           identity_pool_id, access_key_id,
           coalesce(role_arn, principal_arn) AS principal,
           event_name IN ('ListIdentities', 'LookupDeveloperIdentity', 'DescribeIdentity') AS listing,
           CASE WHEN event_name = 'DeleteIdentities' THEN coalesce(cardinality(target_identity_ids), 1)
                WHEN event_name IN ('MergeDeveloperIdentities', 'UnlinkDeveloperIdentity', 'UnlinkIdentity') THEN 1
                ELSE 0 END AS changed
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('ListIdentities', 'LookupDeveloperIdentity', 'DescribeIdentity', 'DeleteIdentities',
                         'MergeDeveloperIdentities', 'UnlinkDeveloperIdentity', 'UnlinkIdentity')
),
-- Pool credentials: every call (the activity view attributes the caller).
by_pool_credentials AS (
    SELECT a.identity_id, a.identity_pool_id, a.access_key_id, a.auth_type, a.event_id, a.event_time,
           a.source_ip, a.event_name, a.error_code,
           a.event_name IN ('ListIdentities', 'LookupDeveloperIdentity', 'DescribeIdentity') AS listing
    FROM identity_activity a
    WHERE a.event_source = 'cognito-identity.amazonaws.com'
      AND a.event_name IN ('ListIdentities', 'LookupDeveloperIdentity', 'DescribeIdentity', 'DeleteIdentities',
                           'MergeDeveloperIdentities', 'UnlinkDeveloperIdentity')
      AND is_judged(a.event_time)
),
pool_credential_findings AS (
    SELECT identity_id, first_value(identity_pool_id) AS identity_pool_id,
           first_value(access_key_id) AS access_key_id,
           min(event_time) AS first_seen, max(event_time) AS last_seen,
           array_agg(event_id) AS event_ids,
           array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
           CASE WHEN bool_or(error_code IS NULL AND NOT listing) THEN 'critical'
                WHEN bool_or(error_code IS NULL) THEN 'high' ELSE 'medium' END AS severity,
           concat('Identity ', identity_id, ' (', coalesce(first_value(auth_type), 'auth type unknown'),
                  ') called Cognito Identity administration with its pool credentials: ',
                  array_to_string(array_sort(array_agg(DISTINCT event_name)), ', '), ' (',
                  count(*) FILTER (WHERE error_code IS NULL), ' of ', count(*), ' succeeded)') AS summary,
           concat('pool_credentials|', identity_id) AS finding_key,
           CAST(NULL AS VARCHAR) AS group_key
    FROM by_pool_credentials
    GROUP BY identity_id
),
-- Everyone else, per principal (or address, for unsigned calls) and window.
others AS (
    SELECT s.*, coalesce(s.principal, s.source_ip) AS actor, CAST(s.event_time AS BIGINT) AS t_us
    FROM sweep_calls s
    LEFT JOIN (SELECT DISTINCT event_id FROM by_pool_credentials) p ON p.event_id = s.event_id
    WHERE p.event_id IS NULL AND s.error_code IS NULL AND coalesce(s.principal, s.source_ip) IS NOT NULL
),
placed AS (
    SELECT actor, listing, changed,
           (t_us - sh.shift * {{window_minutes}} * 30000000) / ({{window_minutes}} * 60000000)
               * ({{window_minutes}} * 60000000) + sh.shift * {{window_minutes}} * 30000000 AS window_us
    FROM others CROSS JOIN (VALUES (0), (1)) AS sh(shift)
),
windows AS (
    SELECT actor, window_us,
           count(*) FILTER (WHERE listing) AS list_calls,
           sum(changed) AS changed
    FROM placed
    GROUP BY actor, window_us
    HAVING count(*) FILTER (WHERE listing) >= {{min_list_calls}} OR sum(changed) >= {{min_changed_identities}}
),
sweeps AS (
    SELECT w.actor, w.window_us, w.list_calls, w.changed,
           first_value(o.identity_pool_id) FILTER (WHERE o.identity_pool_id IS NOT NULL) AS identity_pool_id,
           min(o.event_time) AS first_seen, max(o.event_time) AS last_seen,
           array_agg(o.event_id) AS event_ids,
           array_agg(DISTINCT o.source_ip) FILTER (WHERE o.source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT o.event_name)), ', ') AS calls
    FROM windows w
    JOIN others o ON o.actor = w.actor
                 AND o.t_us >= w.window_us AND o.t_us < w.window_us + {{window_minutes}} * 60000000
    WHERE is_judged(to_timestamp_micros(w.window_us))
    GROUP BY w.actor, w.window_us, w.list_calls, w.changed
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       severity, summary, finding_key, group_key
FROM pool_credential_findings
UNION ALL
SELECT CAST(NULL AS VARCHAR), identity_pool_id, CAST(NULL AS VARCHAR), first_seen, last_seen, event_ids, source_ips,
       CASE WHEN changed >= {{min_changed_identities}} THEN 'high' ELSE 'medium' END,
       concat(actor, ' ', CASE WHEN changed >= {{min_changed_identities}}
                               THEN concat('deleted, merged or unlinked ', changed, ' identities')
                               ELSE concat('listed or looked up identities ', list_calls, ' times') END,
              ' within ', {{window_minutes}}, ' minutes (', calls, ')'),
       concat('sweep|', actor, '|', CAST(window_us AS VARCHAR)),
       concat('sweep|', actor)
FROM sweeps
