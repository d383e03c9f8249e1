/*---
id = "guest_writes"
title = "A guest identity made mutating calls"
category = "anomalous_guest"
severity = "medium"
description = """
Guests should read public content, not change it: a guest role that may `PutObject`,
`DeleteObject`, `PutItem`, `UpdateItem`, `Invoke` a function that writes, … lets anyone on the
internet deface the app or plant content (a phishing page in a public bucket). Any call by an
unauthenticated identity that is not read-only is a finding per identity and day: critical when
some succeeded (an integrity breach), medium when all were denied (the role held, but someone tried). A call is a
write unless it only reads (`is_read` of `identity_activity`: HTTP GET/HEAD/OPTIONS in any
case, CloudTrail's `readOnly`, else the verb).

Writes an app lets guests make on purpose are allowed by **action and resource**:
`allowed_writes` is a list of `"<action regex> <resource regex>"` (one space between; the
resource regex defaults to anything), matched against `service:Action` and the `resource`
column (`bucket/key`, table, function, API path, stream name, resource ARN). The defaults allow
analytics events (Pinpoint/Amplify Analytics `mobiletargeting:PutEvents`, legacy
`mobileanalytics`), stateless AI calls (Polly, Translate, Rekognition and Comprehend
detections), and Kinesis/Firehose records **only** to streams named like analytics,
clickstream or telemetry. Add your own intended guest writes — a guest Lambda, an upload
prefix — with their resource:

```toml
[detect.tunables.guest_writes]
allowed_writes = ["^mobiletargeting:PutEvents$", "^lambda:Invoke$ ^contact-form$",
                  "^s3:PutObject$ ^uploads-bucket/incoming/"]
```
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/identity-pools.html#unauthenticated-identities",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
]
attack = ["T1565.001", "T1491.002", "T1078.004"]
false_positives = """
Writes an app lets guests make by design that `allowed_writes` does not name yet: an upload
prefix, a guest Lambda, a stream with another name. Add them with their resource.
"""
[tunables]
allowed_writes = [
  "^mobileanalytics:",
  "^mobiletargeting:PutEvents$",
  "^(polly:SynthesizeSpeech|translate:TranslateText)$",
  "^rekognition:(Detect|Recognize|Compare)",
  "^comprehend:(BatchDetect|Detect)",
  "^(firehose:PutRecord|firehose:PutRecordBatch|kinesis:PutRecord|kinesis:PutRecords)$ (?i)(analytics|clickstream|telemetry)",
]
---*/
WITH writes AS (
    SELECT *
    FROM identity_activity
    WHERE auth_type = 'unauthenticated' AND NOT is_read
),
allowed_rules AS (
    SELECT split_part(rule, ' ', 1) AS action_pattern,
           coalesce(nullif(split_part(rule, ' ', 2), ''), '.*') AS resource_pattern
    FROM (SELECT unnest({{allowed_writes}}) AS rule)
),
allowed AS (
    SELECT DISTINCT w.event_id
    FROM writes w
    CROSS JOIN allowed_rules r
    WHERE regexp_like(w.action, r.action_pattern)
      AND regexp_like(coalesce(w.resource, ''), r.resource_pattern)
)
SELECT identity_id,
       first_value(identity_pool_id) AS identity_pool_id,
       first_value(access_key_id) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN count(*) FILTER (WHERE error_code IS NULL) > 0 THEN 'critical' ELSE 'medium' END AS severity,
       concat('Guest ', identity_id, ' made ', count(*), ' mutating call(s), ',
              count(*) FILTER (WHERE error_code IS NULL), ' succeeded: ',
              array_to_string(array_sort(array_agg(DISTINCT action)), ', '),
              coalesce(' on ' || array_to_string(array_sort(array_agg(DISTINCT resource)), ', '), '')) AS summary,
       concat(identity_id, '|', CAST(date_trunc('day', min(event_time)) AS VARCHAR)) AS finding_key
FROM writes
WHERE event_id NOT IN (SELECT event_id FROM allowed)
GROUP BY identity_id, date_trunc('day', event_time)
