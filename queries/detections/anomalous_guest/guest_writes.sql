/*---
id = "guest_writes"
title = "A guest identity made mutating calls"
category = "anomalous_guest"
severity = "medium"
description = """
Guests should read public content, not change it: a guest role that may `PutObject`,
`DeleteObject`, `PutItem`, `UpdateItem`, `Invoke` a function that writes, … lets anyone on the
internet deface the app or plant content (a phishing page in a public bucket). Any call by an
unauthenticated identity that is not read-only is a finding per identity and day: high when
some succeeded, medium when all were denied (the role held, but someone tried). Writes that an
app lets guests make on purpose (analytics events, say) are allowed by `allowed_pattern`,
matched against `service:Action`.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/identity-pools.html#unauthenticated-identities",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
]
[tunables]
allowed_pattern = "^(mobileanalytics|pinpoint|firehose):"
---*/
WITH writes AS (
    SELECT *, split_part(event_source, '.', 1) || ':' || event_name AS action
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
      AND NOT coalesce(read_only, event_name LIKE 'Get%' OR event_name LIKE 'List%'
                       OR event_name LIKE 'Describe%' OR event_name LIKE 'Head%'
                       OR event_name IN ('Query', 'Scan', 'BatchGetItem', 'GET', 'HEAD'))
      AND coalesce(http_method, 'POST') NOT IN ('GET', 'HEAD', 'OPTIONS')
)
SELECT identity_id,
       first_value(identity_pool_id) AS identity_pool_id,
       first_value(access_key_id) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN count(*) FILTER (WHERE error_code IS NULL) > 0 THEN 'high' ELSE 'medium' END AS severity,
       concat('Guest ', identity_id, ' made ', count(*), ' mutating call(s), ',
              count(*) FILTER (WHERE error_code IS NULL), ' succeeded: ',
              array_to_string(array_sort(array_agg(DISTINCT action)), ', '),
              coalesce(' on ' || array_to_string(array_sort(array_agg(DISTINCT coalesce(s3_key, dynamodb_table, lambda_function, http_path))), ', '), '')) AS summary,
       concat(identity_id, '|', CAST(date_trunc('day', min(event_time)) AS VARCHAR)) AS finding_key
FROM writes
WHERE NOT regexp_like(action, {{allowed_pattern}})
GROUP BY identity_id, date_trunc('day', event_time)
