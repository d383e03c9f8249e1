/*---
id = "cross_account_roles"
title = "Identity pool hands out roles of another account"
category = "posture"
severity = "info"
description = """
An identity pool may name roles of any account in its settings and rules. Credentials for such a
role are issued by the other account's STS, its calls land in **that** account's CloudTrail, and
its permissions are managed there: this inventory cannot read the role's policies, and this
account's trail does not see what the pool's users do with it. One finding per pool naming the
roles and their accounts; add the account to `[[inventory.accounts]]` and collect its trail.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_aws-accounts.html",
]
attack = ["T1199", "T1078.004"]
false_positives = """
Deliberate designs (a shared services account owning the roles) fire; suppress with a reason.
"""
---*/
WITH roles AS (
    SELECT identity_pool_id, account_id, snapshot_time, unnest(role_arns) AS role_arn
    FROM identity_pools
)
SELECT 'Pool ' || identity_pool_id || ' in account ' || account_id || ' hands out roles of other accounts: '
         || string_agg(DISTINCT role_arn, ', ')
         || '. Their calls are logged in those accounts'' trails and their policies are not in this inventory.' AS summary,
       identity_pool_id,
       identity_pool_id AS finding_key,
       min(snapshot_time) AS first_seen, max(snapshot_time) AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM roles
WHERE split_part(role_arn, ':', 5) <> account_id
GROUP BY identity_pool_id, account_id
