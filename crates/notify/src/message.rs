//! The bodies of webhook and SNS messages.
//!
//! - [`json_body`]: `{"schema": "poolsight.finding.v1", "delivery_id", "change",
//!   "finding": {…the design's finding JSON…}, "context": {…}, "attack": […]}`.
//!   `finding.event_ids` lists every evidence id up to a limit (1000 for
//!   webhooks, 100 for SNS's 256 KB messages); past it
//!   `finding.event_ids_truncated` is true and `event_count` still counts all.
//! - [`chat_body`]: `{"text": "…"}`, which Slack and Teams incoming webhooks
//!   show. Attacker-controlled text (summaries quote user agents and keys)
//!   has `&`, `<` and `>` escaped, so it cannot mention `@channel` or forge
//!   a link, and control characters are dropped.

use serde_json::{json, Value};

use crate::notice::cut;
use crate::notice::Notice;

/// The body's schema name; a receiver can check it.
pub const BODY_SCHEMA: &str = "poolsight.finding.v1";

/// The JSON body, with at most `max_event_ids` evidence ids.
pub fn json_body(notice: &Notice<'_>, max_event_ids: usize) -> Value {
    let finding = notice.finding;
    let mut finding_json = serde_json::to_value(finding).unwrap_or(Value::Null);
    if finding.event_ids.len() > max_event_ids {
        if let Some(map) = finding_json.as_object_mut() {
            map.insert(
                "event_ids".into(),
                json!(finding.event_ids[..max_event_ids]),
            );
            map.insert("event_ids_truncated".into(), json!(true));
        }
    }
    if let Some(map) = finding_json.as_object_mut() {
        map.insert("attack".into(), json!(notice.techniques()));
    }
    json!({
        "schema": BODY_SCHEMA,
        "delivery_id": notice.delivery_id,
        "version": notice.version,
        "change": notice.change.as_str(),
        "finding": finding_json,
        "context": notice.context,
    })
}

/// Text a chat shows literally: `&`, `<`, `>` escaped, control characters
/// (terminal escapes, bidi overrides aside from spaces) removed.
pub fn chat_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The chat message text (Slack `mrkdwn`; Teams shows it as Markdown).
pub fn chat_text(notice: &Notice<'_>) -> String {
    let finding = notice.finding;
    let change = match notice.change {
        crate::notice::Change::New => "new".to_string(),
        crate::notice::Change::Updated => "updated".to_string(),
        crate::notice::Change::Status => finding.status.clone(),
    };
    let mut who = Vec::new();
    if let Some(identity) = &finding.identity_id {
        who.push(format!("identity `{}`", chat_safe(identity)));
    }
    if let Some(pool) = &finding.identity_pool_id {
        who.push(format!("pool `{}`", chat_safe(pool)));
    }
    if !finding.source_ips.is_empty() {
        let shown: Vec<String> = finding
            .source_ips
            .iter()
            .take(3)
            .map(|ip| chat_safe(ip))
            .collect();
        let more = finding.source_ips.len().saturating_sub(3);
        who.push(if more > 0 {
            format!("from {} (+{more})", shown.join(", "))
        } else {
            format!("from {}", shown.join(", "))
        });
    }
    let mut text = format!(
        "*[{}] {}* ({change})\n{}\n",
        finding.severity.to_ascii_uppercase(),
        chat_safe(&finding.title),
        chat_safe(&cut(&finding.summary, 2500)),
    );
    if !who.is_empty() {
        text.push_str(&who.join(" · "));
        text.push('\n');
    }
    text.push_str(&format!(
        "{} event(s), {} → {} · `{}` · status {}",
        finding.event_count,
        chat_safe(&finding.first_seen),
        chat_safe(&finding.last_seen),
        chat_safe(&finding.finding_id),
        chat_safe(&finding.status),
    ));
    if !notice.techniques().is_empty() {
        text.push_str(&format!(
            " · ATT&amp;CK {}",
            chat_safe(&notice.techniques().join(", "))
        ));
    }
    text
}

/// The chat body.
pub fn chat_body(notice: &Notice<'_>) -> Value {
    json!({ "text": chat_text(notice) })
}

/// An SNS subject: ASCII, no line breaks, at most 100 characters.
pub fn sns_subject(notice: &Notice<'_>) -> String {
    let raw = format!(
        "poolsight {} {}: {}",
        notice.finding.severity,
        notice.change.as_str(),
        notice.finding.title
    );
    let ascii: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect();
    cut(ascii.trim(), 100)
        .chars()
        .map(|c| if c.is_ascii() { c } else { '.' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_cannot_mention_or_link_or_escape() {
        let hostile = "ua <!channel> <https://evil.example|click> \u{1b}[31mred\u{202e}";
        let safe = chat_safe(hostile);
        assert!(!safe.contains('<') && !safe.contains('>'), "{safe}");
        assert!(
            !safe.contains('\u{1b}') && !safe.contains('\u{202e}'),
            "{safe}"
        );
        assert!(safe.contains("&lt;!channel&gt;"), "{safe}");
    }
}
