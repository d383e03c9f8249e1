//! The short lake report `poolsight demo` prints: what is in the lake, who
//! holds pool credentials, and who is being denied.

use arrow::record_batch::RecordBatch;

use crate::{DetectError, LakeSession};

/// One section of the report: a title and the SQL that fills it.
pub struct Section {
    pub title: &'static str,
    pub sql: &'static str,
}

/// The sections, in order.
pub const SECTIONS: &[Section] = &[
    Section {
        title: "Events per source",
        sql: "SELECT event_source, count(*) AS events, \
              count(DISTINCT identity_id) AS identities, \
              sum(CASE WHEN error_code IS NOT NULL THEN 1 ELSE 0 END) AS errors \
              FROM events GROUP BY event_source ORDER BY events DESC, event_source",
    },
    Section {
        title: "Identities by pool and auth type",
        sql: "SELECT identity_pool_id, coalesce(auth_type, 'unknown') AS auth_type, \
              count(DISTINCT identity_id) AS identities, count(*) AS events \
              FROM events WHERE identity_pool_id IS NOT NULL \
              GROUP BY identity_pool_id, auth_type ORDER BY identity_pool_id, auth_type",
    },
    Section {
        title: "Denials by identity",
        sql: "SELECT identity_id, coalesce(auth_type, 'unknown') AS auth_type, count(*) AS denials, \
              count(DISTINCT event_source) AS services, \
              array_to_string(array_agg(DISTINCT error_code), ',') AS error_codes \
              FROM events WHERE identity_id IS NOT NULL AND error_code IS NOT NULL \
              AND (error_code LIKE 'AccessDenied%' OR error_code LIKE '%UnauthorizedOperation' \
                   OR error_code IN ('NotAuthorizedException', 'AccessDeniedException', 'Forbidden')) \
              GROUP BY identity_id, auth_type ORDER BY denials DESC, identity_id LIMIT 20",
    },
];

/// Runs every section.
pub async fn run(
    session: &LakeSession,
) -> Result<Vec<(&'static str, Vec<RecordBatch>)>, DetectError> {
    let mut out = Vec::new();
    for section in SECTIONS {
        out.push((section.title, session.query(section.sql).await?));
    }
    Ok(out)
}
