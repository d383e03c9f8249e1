/*---
id = "excessive_permission"
title = "Identity-pool credentials let through a sensitive or never-seen action"
category = "excessive_permission"
severity = "high"
description = """
A denied probe is `access_denial`'s; this catches the roles that let it through. Every call made
with pool credentials that **succeeded** is checked two ways:
- **sensitive actions**, whatever the history (`sensitive_actions`, a regular expression on
  `service:Action`): IAM, Organizations and CloudTrail reads, secrets and parameters
  (`secretsmanager:GetSecretValue`, `ssm:GetParameter*`), `s3:ListBuckets` (ListAllMyBuckets),
  Lambda listing and updates, KMS outside the app's keys (`app_kms_keys`), EC2 and logs
  reconnaissance, and a whole-table DynamoDB `Scan` (or a PartiQL `SELECT` without `WHERE`). A
  read is high (a confidentiality breach), a write critical. One finding per identity.
- **actions new to the role**: an action that, before the hour of the call, the (pool, role,
  auth type) never called (`role_actions`), once that role has called at least
  `min_known_actions` actions: medium, one finding per (pool, role, auth type, action) naming
  the identities; only for roles seen at least `min_role_age_hours` before (a new app's
  first day teaches its roles). A role doing something new is either a release or someone using the role for
  what the app never does.
`sts:AssumeRole` is `pool_role_chaining`'s and Cognito Identity administration
`pool_identity_sweep`'s; calls of chained sessions are left to `pool_role_chaining`.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1580/",
  "https://attack.mitre.org/techniques/T1555/006/",
]
attack = ["T1078.004", "T1580", "T1555.006", "T1552.007", "T1619"]
false_positives = """
A release that adds a feature calls actions the role never called before: one medium finding
per new action (not per user) the first hour; suppress after review. Apps that read parameters
or secrets with pool credentials by design (they should not: anyone can) — narrow
`sensitive_actions`, and fix the role.
"""
[tunables]
sensitive_actions = "^(iam|organizations|cloudtrail|sso|account):|^(secretsmanager:(GetSecretValue|ListSecrets|BatchGetSecretValue)|ssm:(GetParameter|GetParameters|GetParametersByPath|DescribeParameters)|s3:(ListBuckets|GetBucketPolicy|GetBucketAcl)|lambda:(List|Get|Update|Create|Delete|Add|Put)|kms:|ec2:(Describe|Get)|logs:(Describe|Get|FilterLogEvents|StartQuery)|dynamodb:(ListTables|DescribeTable|ListBackups|ExportTableToPointInTime)|cognito-idp:(Admin|List)|sts:GetSessionToken|sts:GetFederationToken|sns:List|sqs:List)"
app_kms_keys = "^$"
min_known_actions = 3
min_role_age_hours = 24
---*/
WITH succeeded AS (
    SELECT identity_id, identity_pool_id, access_key_id, auth_type, role_arn, event_id, event_time,
           source_ip, action, is_read, whole_table, resource, chain_depth,
           date_trunc('hour', event_time) AS hour
    FROM identity_activity
    WHERE error_code IS NULL AND identity_id IS NOT NULL
      AND action NOT IN ('sts:AssumeRole', 'sts:GetCallerIdentity')
      AND event_source <> 'cognito-identity.amazonaws.com'
),
sensitive AS (
    SELECT * FROM succeeded
    WHERE chain_depth = 0
      AND ((regexp_like(action, {{sensitive_actions}})
            AND NOT (action LIKE 'kms:%' AND regexp_like(coalesce(resource, ''), {{app_kms_keys}}) AND resource IS NOT NULL))
           OR whole_table)
),
sensitive_findings AS (
    SELECT identity_id,
           first_value(identity_pool_id) AS identity_pool_id,
           first_value(access_key_id) AS access_key_id,
           min(event_time) AS first_seen, max(event_time) AS last_seen,
           array_agg(event_id) AS event_ids,
           array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
           CASE WHEN bool_or(NOT is_read) THEN 'critical' ELSE 'high' END AS severity,
           concat('Identity ', identity_id, ' (', coalesce(first_value(auth_type), 'auth type unknown'), ', role ',
                  coalesce(first_value(role_arn), 'unknown'), ') succeeded at ', count(*), ' sensitive call(s): ',
                  array_to_string(array_sort(array_agg(DISTINCT CASE WHEN whole_table THEN concat(action, ' (whole table)') ELSE action END)), ', ')) AS summary,
           concat('sensitive|', identity_id) AS finding_key
    FROM sensitive
    GROUP BY identity_id
),
-- Actions new to their (pool, role, auth type), against what the role did before the hour.
candidates AS (
    SELECT DISTINCT identity_pool_id, role_arn, coalesce(auth_type, '') AS auth_type, action, hour
    FROM succeeded
    WHERE chain_depth = 0 AND identity_pool_id IS NOT NULL AND role_arn IS NOT NULL
),
known AS (
    SELECT c.identity_pool_id, c.role_arn, c.auth_type, c.action, c.hour,
           count(*) AS known_actions,
           bool_or(r.action = c.action) AS known_action,
           min(r.first_seen) AS role_first_seen
    FROM candidates c
    JOIN role_actions r ON r.identity_pool_id = c.identity_pool_id AND r.role_arn = c.role_arn
                       AND r.auth_type = c.auth_type AND r.first_seen < c.hour
    GROUP BY c.identity_pool_id, c.role_arn, c.auth_type, c.action, c.hour
),
new_actions AS (
    SELECT * FROM known
    WHERE NOT known_action AND known_actions >= {{min_known_actions}}
      AND role_first_seen < to_timestamp_micros(CAST(hour AS BIGINT) - {{min_role_age_hours}} * 3600000000)
),
new_action_findings AS (
    SELECT n.identity_pool_id, n.role_arn, n.auth_type, n.action,
           array_agg(DISTINCT s.identity_id) AS identities,
           first_value(s.access_key_id) AS access_key_id,
           min(s.event_time) AS first_seen, max(s.event_time) AS last_seen,
           array_agg(s.event_id) AS event_ids,
           array_agg(DISTINCT s.source_ip) FILTER (WHERE s.source_ip IS NOT NULL) AS source_ips,
           max(n.known_actions) AS known_actions
    FROM new_actions n
    JOIN succeeded s ON s.identity_pool_id = n.identity_pool_id AND s.role_arn = n.role_arn
                    AND coalesce(s.auth_type, '') = n.auth_type AND s.action = n.action AND s.hour = n.hour
                    AND s.chain_depth = 0
    LEFT JOIN (SELECT DISTINCT event_id FROM sensitive) x ON x.event_id = s.event_id
    WHERE x.event_id IS NULL
    GROUP BY n.identity_pool_id, n.role_arn, n.auth_type, n.action
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       severity, summary, finding_key
FROM sensitive_findings
UNION ALL
SELECT CASE WHEN cardinality(identities) = 1 THEN identities[1] END, identity_pool_id,
       CASE WHEN cardinality(identities) = 1 THEN access_key_id END,
       first_seen, last_seen, event_ids, source_ips, 'medium',
       concat('Role ', role_arn, ' (', CASE WHEN auth_type = '' THEN 'auth type unknown' ELSE auth_type END,
              ' identities of pool ', identity_pool_id, ') succeeded at ', action,
              ', which it never called before (', known_actions, ' actions known), by ',
              array_to_string(array_sort(identities), ', ')),
       concat('new_action|', identity_pool_id, '|', role_arn, '|', auth_type, '|', action)
FROM new_action_findings
