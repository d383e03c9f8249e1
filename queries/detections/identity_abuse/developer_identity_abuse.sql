/*---
id = "developer_identity_abuse"
title = "Developer-authenticated tokens from a new backend, network or for another login's identity"
category = "identity_abuse"
severity = "high"
description = """
`GetOpenIdTokenForDeveloperIdentity` lets a backend with AWS credentials vouch for any user:
it names a developer user id and gets a token (and an identity) for it, and with `identityId`
it can attach that login to an existing identity. Whoever holds the backend's credentials can
therefore mint tokens for every user — or take over an identity that signed in another way. This
compares each successful call with the pool's developer-token history (`developer_token_callers`,
before the hour): a **principal** that never obtained developer tokens for the pool (high); a
known principal calling from a **network** (/24, /48) it never used (medium: a stolen backend key
used elsewhere, or a new deployment); and a token for an identity that signed in **only with
other providers** before (`identity_profile`) — a developer login being attached to, say, a
Google user's identity (high). Pools without developer-token history stay silent.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/developer-authenticated-identities.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetOpenIdTokenForDeveloperIdentity.html",
  "https://attack.mitre.org/techniques/T1078.004/",
]
attack = ["T1078.004", "T1550.001", "T1606"]
false_positives = """
A backend moved to a new network or a new role (a migration, a new region) raises one finding
per principal or network; users linking a developer login to the identity they already had with
a social login (account linking done on purpose). Suppress the backend's new role after review.
"""
---*/
WITH minted AS (
    SELECT event_id, event_time, date_trunc('hour', event_time) AS hour, identity_id,
           coalesce(identity_pool_id, '') AS identity_pool_id, source_ip, user_agent,
           coalesce(role_arn, principal_arn, '') AS caller,
           coalesce(ip_network(source_ip, 24, 48), '') AS network,
           coalesce(login_provider, '') AS login_provider
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name = 'GetOpenIdTokenForDeveloperIdentity'
      AND error_code IS NULL
),
callers AS (
    SELECT DISTINCT identity_pool_id, caller, network, hour FROM minted
),
history AS (
    SELECT c.identity_pool_id, c.caller, c.network, c.hour,
           count(d.caller) > 0 AS pool_has_history,
           bool_or(d.caller = c.caller) AS known_caller,
           bool_or(d.caller = c.caller AND d.network = c.network) AS known_network
    FROM callers c
    LEFT JOIN developer_token_callers d ON d.identity_pool_id = c.identity_pool_id AND d.first_seen < c.hour
    GROUP BY c.identity_pool_id, c.caller, c.network, c.hour
),
-- Identities that signed in before the hour, and with which providers.
profiles AS (
    SELECT m.identity_id, m.hour, m.login_provider,
           bool_or(p.value = m.login_provider) AS had_this_provider,
           array_to_string(array_sort(array_agg(DISTINCT p.value)), ', ') AS providers_before
    FROM (SELECT DISTINCT identity_id, hour, login_provider FROM minted WHERE identity_id IS NOT NULL) m
    JOIN identity_profile p ON p.identity_id = m.identity_id AND p.attribute = 'login_provider'
                           AND p.first_seen < m.hour
    GROUP BY m.identity_id, m.hour, m.login_provider
),
judged AS (
    SELECT m.*,
           CASE WHEN h.pool_has_history AND NOT h.known_caller THEN 'new_caller'
                WHEN h.pool_has_history AND NOT h.known_network THEN 'new_network'
                WHEN p.identity_id IS NOT NULL AND NOT p.had_this_provider THEN 'other_login'
           END AS why,
           p.providers_before
    FROM minted m
    JOIN history h ON h.identity_pool_id = m.identity_pool_id AND h.caller = m.caller
                  AND h.network = m.network AND h.hour = m.hour
    LEFT JOIN profiles p ON p.identity_id = m.identity_id AND p.hour = m.hour AND p.login_provider = m.login_provider
)
SELECT CASE WHEN count(DISTINCT identity_id) = 1 THEN first_value(identity_id) END AS identity_id,
       nullif(identity_pool_id, '') AS identity_pool_id,
       CAST(NULL AS VARCHAR) AS access_key_id,
       min(event_time) AS first_seen, max(event_time) AS last_seen,
       array_agg(event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN why = 'new_network' THEN 'medium' ELSE 'high' END AS severity,
       concat(CASE WHEN caller = '' THEN 'An unknown principal' ELSE caller END, ' obtained ', count(*),
              ' developer-authenticated token(s) for ', count(DISTINCT identity_id), ' identit(ies) of pool ',
              identity_pool_id, ': ',
              CASE why WHEN 'new_caller' THEN 'a principal that never obtained developer tokens for this pool'
                       WHEN 'new_network' THEN concat('from network ', network, ', which it never called from')
                       ELSE concat('for an identity that signed in before only with ', max(providers_before)) END) AS summary,
       concat(why, '|', identity_pool_id, '|', caller, '|',
              CASE WHEN why = 'other_login' THEN coalesce(identity_id, '') ELSE network END) AS finding_key
FROM judged
WHERE why IS NOT NULL
GROUP BY why, identity_pool_id, caller, CASE WHEN why = 'other_login' THEN coalesce(identity_id, '') ELSE network END, network
