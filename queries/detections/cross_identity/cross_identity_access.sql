/*---
id = "cross_identity_access"
title = "An identity touched another identity's data"
category = "cross_identity"
severity = "medium"
description = """
Apps keep each user's data under their identity id: S3 keys `private/<id>/…` or
`protected/<id>/…`, DynamoDB items whose partition key is the id, confined by the policy
variable `${cognito-identity.amazonaws.com:sub}`. A call made with one identity's credentials
on a key, prefix, item key, key condition value, PartiQL literal or API path that carries
**another** identity's id (URL-encoded or not) is a cross-identity access: denied = an attempt
(someone is walking other users' ids; medium), succeeded = the policy variable is missing or
wrong (high for reads, critical for writes). A read is `is_read` of `identity_activity` (an
API Gateway `GET` in any case is one); the source of an S3 copy (`x-amz-copy-source`) is read,
not written. Data shared by design may be read by anyone: S3 keys matching
`shared_read_pattern` (Amplify's `protected/` and `public/`), DynamoDB tables matching
`shared_read_tables` and API paths matching `shared_read_paths` (public profiles, say);
writes there are still findings. Not an attack either: reading the data of an identity merged
into the caller's (a guest who signed in with a login already linked to another identity —
the `linked_identity` of `identity_profile`). Only pool credentials are in scope
(`identity_activity`): backend roles reading many users' items are not. One finding per
identity and day.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html#access-policies",
  "https://docs.amplify.aws/gen1/javascript/build-a-backend/storage/configure-access/",
  "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html",
]
attack = ["T1530", "T1565.001", "T1078.004"]
false_positives = """
Data shared by design under another identity's id that the shared-read tunables do not name (a
public profile table with another name, a shared API path); identity merges that Cognito logged
outside the lake. Name the shared data in the tunables.
"""
[tunables]
shared_read_pattern = "^(protected|public)/"
shared_read_tables = "(?i)(public|shared)"
shared_read_paths = "(?i)^(/[^/]+)?/(public|profiles?)/"
---*/
WITH touched AS (
    SELECT a.*, unnest(a.target_identity_ids) AS target
    FROM identity_activity a
    WHERE a.identity_id IS NOT NULL AND array_length(a.target_identity_ids) > 0
),
foreign_targets AS (
    SELECT *,
           error_code IS NULL AS succeeded,
           -- The copy source of CopyObject/UploadPartCopy is read; the key written is the caller's.
           is_read OR (event_name IN ('CopyObject', 'UploadPartCopy')
                       AND strpos(lower(coalesce(s3_key, '')), target) = 0) AS target_read
    FROM touched
    WHERE target <> identity_id
),
linked AS (
    SELECT identity_id, value AS linked_id FROM identity_profile WHERE attribute = 'linked_identity'
    UNION ALL
    SELECT value AS identity_id, identity_id AS linked_id FROM identity_profile WHERE attribute = 'linked_identity'
),
suspicious AS (
    SELECT f.*, f.target_read AS is_read_target
    FROM foreign_targets f
    LEFT JOIN linked l ON l.identity_id = f.identity_id AND l.linked_id = f.target
    WHERE l.linked_id IS NULL
      AND NOT (f.target_read
               AND (regexp_like(coalesce(f.s3_key, f.s3_prefix, ''), {{shared_read_pattern}})
                    OR (f.dynamodb_table IS NOT NULL AND regexp_like(f.dynamodb_table, {{shared_read_tables}}))
                    OR (f.http_path IS NOT NULL AND regexp_like(f.http_path, {{shared_read_paths}}))))
)
SELECT identity_id,
       first_value(identity_pool_id) AS identity_pool_id,
       first_value(access_key_id) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(DISTINCT event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN count(*) FILTER (WHERE succeeded AND NOT is_read_target) > 0 THEN 'critical'
            WHEN count(*) FILTER (WHERE succeeded) > 0 THEN 'high'
            ELSE 'medium' END AS severity,
       concat('Identity ', identity_id, ' touched data of ', count(DISTINCT target), ' other identit',
              CASE WHEN count(DISTINCT target) = 1 THEN 'y' ELSE 'ies' END, ' in ',
              count(DISTINCT event_id), ' call(s) (', count(DISTINCT event_id) FILTER (WHERE succeeded), ' succeeded',
              CASE WHEN count(*) FILTER (WHERE succeeded AND NOT is_read_target) > 0 THEN ', including writes' ELSE '' END,
              '): ', array_to_string(array_sort(array_agg(DISTINCT split_part(event_source, '.', 1) || ':' || event_name)), ', '),
              '; targets ', array_to_string(array_sort(array_agg(DISTINCT target)), ', ')) AS summary,
       concat(identity_id, '|', CAST(date_trunc('day', min(event_time)) AS VARCHAR)) AS finding_key
FROM suspicious
GROUP BY identity_id, date_trunc('day', event_time)
