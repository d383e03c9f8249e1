/*---
id = "token_check_off"
title = "Identity pool does not check user pool tokens with the user pool"
category = "posture"
severity = "low"
description = """
For a Cognito user pool provider, `ServerSideTokenCheck` makes the identity pool ask the user
pool whether a token is still valid before issuing credentials. Off (the default), a token
revoked by a global sign-out or an admin keeps getting AWS credentials until it expires (up to
a day for an ID token). One finding per pool naming the providers; it resolves when a later
inventory shows the check on.
"""
references = [
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_CognitoIdentityProvider.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-with-identity-providers.html",
]
attack = ["T1550.001", "T1078.004"]
false_positives = """
Pools whose user pool never revokes tokens (no sign-out, no admin disable) lose little; the
check adds a call to the user pool per issuance.
"""
---*/
SELECT 'Pool ' || identity_pool_id || ' (' || identity_pool_name || ') issues credentials for tokens of '
         || array_to_string(unchecked_token_providers, ', ')
         || ' without asking the user pool whether they were revoked. Fix: set ServerSideTokenCheck = true on those providers (aws cognito-identity update-identity-pool … --cognito-identity-providers ProviderName=…,ClientId=…,ServerSideTokenCheck=true).' AS summary,
       identity_pool_id,
       identity_pool_id AS finding_key,
       snapshot_time AS first_seen, snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM identity_pools
WHERE array_length(unchecked_token_providers) > 0
