/*---
name = "access_denials"
description = """
Calls made with identity-pool credentials that IAM, a resource policy or API Gateway refused:
`AccessDenied*`, `*UnauthorizedOperation`, authorization errors, `NotAuthorizedException`,
API Gateway 403s. A GetObject/HeadObject of the caller's own key is left out **in the pool's
own buckets** — those where the pool's identities read or wrote their own keys successfully in
the events read: a missing object under `private/<own id>/` answers 403 when the role may not
list the bucket. The same 403 in any other bucket is a denial (a key shaped like the caller's
own path is not a pass elsewhere). Rows of `identity_activity`; the access_denial detection,
the state tables and the dashboards count these.
"""
---*/
-- The pool's buckets: where an identity of the pool succeeded on a key naming itself. Read from
-- `events` (only S3 rows with a bucket), small: one row per pool and bucket.
WITH own_key_buckets AS (
    SELECT identity_pool_id, s3_bucket
    FROM events
    WHERE s3_bucket IS NOT NULL
      AND error_code IS NULL
      AND identity_id IS NOT NULL
      AND identity_pool_id IS NOT NULL
      AND array_has(target_identity_ids, identity_id)
    GROUP BY identity_pool_id, s3_bucket
),
refused AS (
    SELECT *
    FROM identity_activity
    WHERE error_code IS NOT NULL
      AND (error_code LIKE 'AccessDenied%'
           OR error_code LIKE '%UnauthorizedOperation'
           OR error_code LIKE '%AuthorizationError%'
           OR error_code IN ('NotAuthorizedException', 'Forbidden', 'ACCESS_DENIED', 'UNAUTHORIZED',
                             'HTTP 403', 'UnauthorizedException'))
)
SELECT r.*
FROM refused r
LEFT JOIN own_key_buckets b
  ON b.identity_pool_id = r.identity_pool_id AND b.s3_bucket = r.s3_bucket
 AND r.event_name IN ('GetObject', 'HeadObject')
 AND array_has(r.target_identity_ids, r.identity_id)
WHERE b.s3_bucket IS NULL
