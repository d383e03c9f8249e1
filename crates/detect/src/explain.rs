//! DataFusion errors made readable: an unknown column names itself and the
//! closest columns instead of listing all seventy of the schema.

use datafusion::error::DataFusionError;

/// The text of `error`, with "No field named x. Valid fields are …" cut to
/// the unknown name and up to three closest matches.
pub fn explain_query_error(error: &DataFusionError) -> String {
    let text = error.to_string();
    let Some(cut) = text.find("Valid fields are") else {
        return text;
    };
    let head = text[..cut].trim_end();
    let unknown = head
        .rsplit("No field named ")
        .next()
        .map(|rest| {
            let name = rest.split(". ").next().unwrap_or(rest);
            name.trim_end_matches('.').trim_matches('"')
        })
        .unwrap_or_default()
        .to_string();
    let unknown_name = unknown
        .rsplit('.')
        .next()
        .unwrap_or(&unknown)
        .to_lowercase();
    let mut valid: Vec<String> = text[cut + "Valid fields are".len()..]
        .split(',')
        .map(|field| {
            let field = field.trim().trim_end_matches('.').trim_matches('"');
            field
                .rsplit('.')
                .next()
                .unwrap_or(field)
                .trim_matches('"')
                .to_string()
        })
        .filter(|field| !field.is_empty())
        .collect();
    valid.sort();
    valid.dedup();
    let mut scored: Vec<(usize, String)> = valid
        .into_iter()
        .map(|field| (distance(&unknown_name, &field.to_lowercase()), field))
        .collect();
    scored.sort();
    let closest: Vec<String> = scored
        .iter()
        .filter(|(d, _)| *d <= unknown_name.len().max(3) / 2 + 2)
        .take(3)
        .map(|(_, field)| field.clone())
        .collect();
    let mut out = format!("no column named {unknown}");
    if closest.is_empty() {
        out.push_str(" (list the columns: DESCRIBE events, or .schema in the prompt)");
    } else {
        out.push_str(&format!("; did you mean {}?", closest.join(", ")));
    }
    out
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            current[j + 1] = (previous[j] + usize::from(ca != *cb))
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn an_unknown_column_names_itself_and_the_closest_ones() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE events (identity_id TEXT, identity_pool_id TEXT, event_name TEXT, user_agent TEXT)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let Err(error) = ctx.sql("SELECT identiy_id FROM events").await else {
            panic!("an unknown column is an error");
        };
        let text = explain_query_error(&error);
        assert!(text.contains("no column named identiy_id"), "{text}");
        assert!(text.contains("did you mean identity_id"), "{text}");
        assert!(!text.contains("user_agent"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
