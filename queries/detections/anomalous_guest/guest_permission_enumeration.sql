/*---
id = "guest_permission_enumeration"
title = "A guest identity is enumerating permissions"
category = "anomalous_guest"
severity = "medium"
description = """
Guest (unauthenticated) credentials are free: anyone who finds the pool id in an app can get
them with two unauthenticated calls. Tools such as enumerate-iam, Pacu or ScoutSuite then try
operation after operation to map what the role allows. The sign: many distinct actions
(`min_actions`) on several services (`min_services`) within `window`, several distinct actions
denied (`min_denied_actions`), by one actor — one guest identity, or, for a scanner that takes a
fresh guest identity every few calls, one address and user agent, or one autonomous system and
user agent. An app's guest traffic calls the same few actions again and again, and they are
allowed. Severity says what the role let through: high when a write or a sensitive action
(`sensitive_pattern`: IAM, STS role calls, Secrets Manager, SSM, KMS, Lambda, a whole-table
Scan, listing buckets, Cognito Identity administration) succeeded, medium when every one of
them was denied. Windows are 15-minute bins and the bins shifted by half of one, so a scan that
straddles a bin edge is seen whole; the windows of one pool that overlap are one finding.
"""
references = [
  "https://github.com/andresriancho/enumerate-iam",
  "https://rhinosecuritylabs.com/aws/assume-worst-aws-assume-role-enumeration/",
  "https://attack.mitre.org/techniques/T1069/003/",
]
attack = ["T1580", "T1526", "T1069.003", "T1087.004"]
false_positives = """
An app feature that calls several services at start-up from a guest session, against a role
missing some of them; a security team's own scanner run with guest credentials. The first
repeats on every install (many identities, the same few actions); the second has a known
address and agent.
"""
window = "15m"
lookback = "8m"
[tunables]
min_actions = 8
min_services = 3
min_denied_actions = 4
sensitive_pattern = "^(iam|secretsmanager|ssm|kms|organizations|cognito-idp):|^sts:(AssumeRole|GetFederationToken|GetSessionToken)$|^lambda:(List|Get|Update|Create|Invoke)|^cognito-identity:(List|Describe|Delete|Set|Update|Merge|Unlink)|^s3:ListBuckets$|^dynamodb:(Scan|ListTables|DescribeTable)$|^ec2:Describe"
---*/
WITH guest_calls AS (
    SELECT event_id, event_time, CAST(event_time AS BIGINT) AS t_us, identity_id, identity_pool_id,
           access_key_id, source_ip, user_agent, event_source, event_name, action, error_code, is_read
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
),
-- Each call under three actors: the identity; its address and user agent; its ASN and user
-- agent. A scanner that takes a fresh guest identity every few calls is one actor by the
-- last two.
keyed AS (
    SELECT g.*, k.kind,
           CASE k.kind WHEN 'identity' THEN g.identity_id
                       WHEN 'address' THEN concat(g.source_ip, ' ', coalesce(g.user_agent, ''))
                       ELSE concat('AS', CAST(ip_asn(g.source_ip) AS VARCHAR), ' ', coalesce(g.user_agent, '')) END AS actor
    FROM guest_calls g
    CROSS JOIN (VALUES ('identity'), ('address'), ('asn')) AS k(kind)
    WHERE k.kind = 'identity'
       OR (k.kind = 'address' AND g.source_ip IS NOT NULL)
       OR (k.kind = 'asn' AND ip_asn(g.source_ip) IS NOT NULL)
),
-- Counts first, per window (bins and bins shifted by half of one; microseconds): no evidence
-- is gathered for the many windows the thresholds drop.
placed AS (
    SELECT kind, actor, event_source, event_name, error_code,
           (t_us - s.shift * {{window_minutes}} * 30000000) / ({{window_minutes}} * 60000000)
               * ({{window_minutes}} * 60000000) + s.shift * {{window_minutes}} * 30000000 AS window_us
    FROM keyed
    CROSS JOIN (VALUES (0), (1)) AS s(shift)
),
-- Distinct counts in two plain steps: a count(DISTINCT …) per group keeps a hash set for
-- each of the many (actor, window) groups.
window_actions AS (
    SELECT kind, actor, window_us, event_source, event_name,
           bool_or(error_code IS NOT NULL) AS denied
    FROM placed
    GROUP BY kind, actor, window_us, event_source, event_name
),
window_services AS (
    SELECT kind, actor, window_us, event_source,
           count(*) AS actions,
           count(*) FILTER (WHERE denied) AS denied_actions
    FROM window_actions
    GROUP BY kind, actor, window_us, event_source
),
windows AS (
    SELECT kind, actor, window_us,
           sum(actions) AS actions,
           sum(denied_actions) AS denied_actions,
           count(*) AS services
    FROM window_services
    GROUP BY kind, actor, window_us
),
passing AS (
    SELECT * FROM windows
    WHERE actions >= {{min_actions}}
      AND services >= {{min_services}}
      AND denied_actions >= {{min_denied_actions}}
),
evidence AS (
    SELECT p.kind, p.actor, p.window_us, p.actions, p.services, p.denied_actions,
           count(*) AS calls,
           count(*) FILTER (WHERE k.error_code IS NOT NULL) AS denied,
           first_value(k.identity_pool_id) AS identity_pool_id,
           first_value(k.identity_id) AS identity_id,
           first_value(k.access_key_id) AS access_key_id,
           count(DISTINCT k.identity_id) AS identities,
           min(k.event_time) AS first_seen,
           max(k.event_time) AS last_seen,
           array_agg(k.event_id) AS event_ids,
           array_agg(DISTINCT k.source_ip) FILTER (WHERE k.source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT k.user_agent)), ' | ') AS agents,
           -- What the role let through: sensitive reads and any write.
           array_sort(array_agg(DISTINCT k.action) FILTER (
               WHERE k.error_code IS NULL
                 AND (NOT k.is_read OR regexp_like(k.action, {{sensitive_pattern}})))) AS let_through
    FROM passing p
    JOIN keyed k ON k.kind = p.kind AND k.actor = p.actor
                AND k.t_us >= p.window_us
                AND k.t_us < p.window_us + {{window_minutes}} * 60000000
    GROUP BY p.kind, p.actor, p.window_us, p.actions, p.services, p.denied_actions
)
SELECT CASE WHEN identities = 1 THEN identity_id END AS identity_id,
       identity_pool_id,
       CASE WHEN identities = 1 THEN access_key_id END AS access_key_id,
       first_seen, last_seen, event_ids, source_ips,
       CASE WHEN array_length(let_through) > 0 THEN 'high' ELSE 'medium' END AS severity,
       concat(CASE WHEN identities = 1 THEN concat('Guest ', identity_id)
                   ELSE concat(identities, ' fresh guest identities of one ',
                               CASE kind WHEN 'address' THEN 'address' ELSE 'network' END,
                               ' and user agent (', actor, ')') END,
              ' called ', actions, ' distinct actions on ', services, ' services within ',
              {{window_minutes}}, ' minutes, ', denied_actions, ' action(s) denied (', denied, ' of ', calls,
              ' calls; user agent: ', agents, ')',
              CASE WHEN array_length(let_through) > 0
                   THEN concat('; the role let through: ', array_to_string(let_through, ', '))
                   ELSE '; every sensitive call was denied' END) AS summary,
       concat(kind, '|', actor, '|', CAST(window_us AS VARCHAR)) AS finding_key,
       coalesce(identity_pool_id, actor) AS group_key
FROM evidence
