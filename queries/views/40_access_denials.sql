/*---
name = "access_denials"
description = """
Calls made with identity-pool credentials that IAM, a resource policy or API Gateway refused:
`AccessDenied*`, `*UnauthorizedOperation`, authorization errors, `NotAuthorizedException`,
API Gateway 403s. A GetObject/HeadObject of the caller's own key is left out (a missing object
under `private/<own id>/` answers 403 when the role may not list the bucket). Rows of
`identity_activity`; the access_denial detection and the dashboards count these.
"""
---*/
SELECT *
FROM identity_activity
WHERE error_code IS NOT NULL
  AND (error_code LIKE 'AccessDenied%'
       OR error_code LIKE '%UnauthorizedOperation'
       OR error_code LIKE '%AuthorizationError%'
       OR error_code IN ('NotAuthorizedException', 'Forbidden', 'ACCESS_DENIED', 'UNAUTHORIZED',
                         'HTTP 403', 'UnauthorizedException'))
  AND NOT (event_name IN ('GetObject', 'HeadObject')
           AND array_has(target_identity_ids, identity_id))
