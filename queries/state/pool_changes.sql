/*---
name = "pool_changes"
kind = "hourly"
description = """
Every administration call on an identity pool (created, updated, deleted, roles or principal
tags replaced, identities merged, deleted or unlinked), failed ones included: who made it, from
where, with what parameters. The pool screen lists these; they are few, so no raw scan is needed.
"""
---*/
SELECT date_trunc('hour', event_time) AS hour,
       event_time, event_id, event_name, error_code,
       coalesce(principal_arn, principal_name) AS who,
       source_ip,
       coalesce(identity_pool_id, json_get_str(response_elements, 'identityPoolId'),
                json_get_str(request_parameters, 'identityPoolId')) AS identity_pool_id,
       request_parameters
FROM events
WHERE event_source = 'cognito-identity.amazonaws.com'
  AND event_name IN ('CreateIdentityPool', 'UpdateIdentityPool', 'DeleteIdentityPool',
                     'SetIdentityPoolRoles', 'SetPrincipalTagAttributeMap', 'MergeDeveloperIdentities',
                     'DeleteIdentities', 'UnlinkDeveloperIdentity', 'UnlinkIdentity')
