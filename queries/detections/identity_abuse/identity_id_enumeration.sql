/*---
id = "identity_id_enumeration"
title = "Identity or pool ids guessed from one source"
category = "identity_abuse"
severity = "medium"
description = """
Guest credentials need nothing but an identity id, and a pool id is all `GetId` needs: both
are worth guessing or replaying from a list (leaked logs, analytics exports). Guesses show as
bursts of failures that name many ids: `ResourceNotFoundException` (no such identity or pool)
and `NotAuthorizedException` (an id that needs a login, or a guest id of a pool without guest
access) on `GetCredentialsForIdentity` and `GetOpenIdToken`, and `ResourceNotFoundException`
on `GetId` (pool ids). Counted per source address and per network (the /24, or the IPv6 /64)
in windows of `window` (bins and bins shifted by half): at least `min_failures` failures
naming at least `min_targets` distinct ids. High when the same source also got credentials or
a token for an identity it did not create in the window (a guess that hit a live identity),
medium otherwise.
"""
references = [
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/CommonErrors.html",
  "https://attack.mitre.org/techniques/T1110/",
]
attack = ["T1110", "T1589", "T1078.004"]
false_positives = """
An app release that sends a stale cached identity id after the pool was recreated fails for
every install, but from many networks (each source a few failures); a carrier NAT puts many
such installs behind one address — raise `min_targets` for it, or add its network to your
review list.
"""
window = "15m"
lookback = "8m"
[tunables]
min_failures = 20
min_targets = 10
---*/
WITH calls AS (
    SELECT event_id, event_time, CAST(event_time AS BIGINT) AS t_us, source_ip, user_agent, event_name,
           identity_pool_id, error_code,
           coalesce(identity_id, lower(json_get_str(request_parameters, 'identityId')),
                    json_get_str(request_parameters, 'identityPoolId'), identity_pool_id) AS target,
           error_code IS NOT NULL AS failed
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND source_ip IS NOT NULL
      AND ((event_name IN ('GetCredentialsForIdentity', 'GetOpenIdToken')
            AND (error_code IS NULL OR error_code IN ('ResourceNotFoundException', 'NotAuthorizedException')))
        OR (event_name = 'GetId' AND (error_code IS NULL OR error_code = 'ResourceNotFoundException')))
),
keyed AS (
    SELECT c.*, k.kind,
           CASE k.kind WHEN 'address' THEN c.source_ip ELSE ip_network(c.source_ip, 24, 64) END AS actor
    FROM calls c
    CROSS JOIN (VALUES ('address'), ('network')) AS k(kind)
),
placed AS (
    SELECT kind, actor, target, event_name, failed, source_ip,
           (t_us - s.shift * {{window_minutes}} * 30000000) / ({{window_minutes}} * 60000000)
               * ({{window_minutes}} * 60000000) + s.shift * {{window_minutes}} * 30000000 AS window_us
    FROM keyed
    CROSS JOIN (VALUES (0), (1)) AS s(shift)
    WHERE actor IS NOT NULL
),
-- Per target first (plain GROUP BYs), then per window.
targets AS (
    SELECT kind, actor, window_us, target,
           count(*) FILTER (WHERE failed) AS failures,
           bool_or(failed) AS guessed,
           bool_or(NOT failed AND event_name <> 'GetId') AS got_credentials,
           bool_or(NOT failed AND event_name = 'GetId') AS created
    FROM placed
    WHERE target IS NOT NULL
    GROUP BY kind, actor, window_us, target
),
-- A network counts only when the guesses came from more than one of its addresses (one
-- address is already that address's finding).
network_addresses AS (
    SELECT actor, window_us, count(*) AS addresses
    FROM (SELECT actor, window_us, source_ip FROM placed WHERE kind = 'network' GROUP BY actor, window_us, source_ip)
    GROUP BY actor, window_us
),
windows AS (
    SELECT t.kind, t.actor, t.window_us,
           sum(t.failures) AS failures,
           count(*) FILTER (WHERE t.guessed) AS targets,
           count(*) FILTER (WHERE t.got_credentials AND NOT t.created) AS hits
    FROM targets t
    LEFT JOIN network_addresses n ON t.kind = 'network' AND n.actor = t.actor AND n.window_us = t.window_us
    WHERE t.kind = 'address' OR n.addresses > 1
    GROUP BY t.kind, t.actor, t.window_us
    HAVING sum(t.failures) >= {{min_failures}} AND count(*) FILTER (WHERE t.guessed) >= {{min_targets}}
),
-- The ids that hit: credentials for an identity the source did not create.
hit_targets AS (
    SELECT t.kind, t.actor, t.window_us, t.target
    FROM targets t
    JOIN windows w ON w.kind = t.kind AND w.actor = t.actor AND w.window_us = t.window_us
    WHERE t.got_credentials AND NOT t.created
),
evidence AS (
    SELECT w.kind, w.actor, w.window_us, w.failures, w.targets, w.hits,
           first_value(k.identity_pool_id) FILTER (WHERE k.identity_pool_id IS NOT NULL) AS identity_pool_id,
           min(k.event_time) AS first_seen,
           max(k.event_time) AS last_seen,
           array_agg(k.event_id) AS event_ids,
           array_agg(DISTINCT k.source_ip) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT k.error_code) FILTER (WHERE k.error_code IS NOT NULL)), ', ') AS errors,
           array_to_string(array_sort(array_agg(DISTINCT coalesce(k.user_agent, ''))), ' | ') AS agents
    FROM windows w
    JOIN keyed k ON k.kind = w.kind AND k.actor = w.actor
                AND k.t_us >= w.window_us
                AND k.t_us < w.window_us + {{window_minutes}} * 60000000
    LEFT JOIN hit_targets h ON h.kind = k.kind AND h.actor = k.actor AND h.window_us = w.window_us
                           AND h.target = k.target AND NOT k.failed AND k.event_name <> 'GetId'
    WHERE k.failed OR h.target IS NOT NULL
    GROUP BY w.kind, w.actor, w.window_us, w.failures, w.targets, w.hits
)
SELECT CAST(NULL AS VARCHAR) AS identity_id, identity_pool_id, CAST(NULL AS VARCHAR) AS access_key_id,
       first_seen, last_seen, event_ids, source_ips,
       CASE WHEN hits > 0 THEN 'high' ELSE 'medium' END AS severity,
       concat(CASE kind WHEN 'address' THEN 'Address ' ELSE 'Network ' END, actor, ' failed ', failures,
              ' time(s) (', errors, ') on ', targets, ' distinct identity or pool ids within ',
              {{window_minutes}}, ' minutes',
              CASE WHEN hits > 0 THEN concat(' and got credentials or tokens for ', hits,
                                             ' identities it did not create (live ids found)')
                   ELSE '' END,
              ' (user agent: ', agents, ')') AS summary,
       concat(kind, '|', actor, '|', CAST(window_us AS VARCHAR)) AS finding_key,
       concat(kind, '|', actor) AS group_key
FROM evidence
