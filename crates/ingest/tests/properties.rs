//! Property tests of decode → normalize over real records and hostile
//! bytes: nothing panics, and a good record next to a bad one is never lost.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default, what CI runs);
//! `bench/properties` runs many more in a release build.

use poolsight_ingest::decode::{decode, Decoded};
use poolsight_ingest::split::split_document;
use poolsight_model::{normalize, NormalizeOptions, Origin};
use proptest::prelude::*;

fn real_records() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../model/tests/fixtures/real");
    let mut records = Vec::new();
    for name in [
        "cognito_identity.jsonl",
        "sts_assume_role.jsonl",
        "data_events_s3.jsonl",
        "data_events_dynamodb.jsonl",
    ] {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        records.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    records
}

fn origin() -> Origin<'static> {
    Origin {
        source_kind: "file",
        source_format: "json_lines",
        source_uri: "property",
        position: "p",
        fallback_time: None,
    }
}

/// Every record text decoded from `text`, each normalized (its result
/// ignored: only panics matter), in order.
fn decoded_records(text: &str) -> Vec<String> {
    let mut records = Vec::new();
    decode(text, 1 << 20, |item| {
        if let Decoded::Record { text, .. } = item {
            let _ = normalize(text, &origin(), &NormalizeOptions::default());
            records.push(text.to_string());
        }
    });
    records
}

/// Bad things a record can be replaced by without breaking the structure
/// around it.
fn bad_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("42".to_string()),
        Just("\"a string\"".to_string()),
        Just("null".to_string()),
        Just("[1,2,3]".to_string()),
        Just(r#"{"eventTime":"2024-01-01T00:00:00Z"}"#.to_string()),
        Just(r#"{"eventName":"X","eventTime":{"t":1}}"#.to_string()),
        Just(r#"{"eventName":"X","eventTime":"2099-01-01T00:00:00Z"}"#.to_string()),
        Just(r#"{"detail-type":"x","detail":{"detail-type":"y","detail":{}}}"#.to_string()),
        (1usize..2000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        "[a-zA-Z0-9 ,:]{0,40}".prop_map(|s| format!("{{\"eventName\":\"{s}\"}}")),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let text = String::from_utf8_lossy(&bytes);
        decoded_records(&text);
        split_document(bytes.clone(), std::io::empty(), 512, &mut |item| {
            if let Decoded::Record { text, .. } = item {
                let _ = normalize(text, &origin(), &NormalizeOptions::default());
            }
        });
    }

    #[test]
    fn mutated_and_truncated_real_records_never_panic(
        index in 0usize..24,
        cut in 0usize..4096,
        flips in proptest::collection::vec((0usize..4096, any::<u8>()), 0..8),
    ) {
        let records = real_records();
        let mut bytes = records[index % records.len()].clone().into_bytes();
        for (at, byte) in flips {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
        }
        bytes.truncate(cut.min(bytes.len()));
        let text = String::from_utf8_lossy(&bytes);
        let _ = normalize(&text, &origin(), &NormalizeOptions::default());
        decoded_records(&format!("{{\"Records\":[{text}]}}"));
        decoded_records(&format!("{text}\n{text}\n"));
    }

    #[test]
    fn a_good_record_next_to_a_bad_one_is_never_lost(
        plan in proptest::collection::vec((0usize..24, proptest::option::of(bad_value())), 1..12),
        as_document in any::<bool>(),
    ) {
        let records = real_records();
        let mut items = Vec::new();
        let mut good = Vec::new();
        for (index, bad) in &plan {
            let record = records[index % records.len()].clone();
            good.push(record.clone());
            items.push(record);
            if let Some(bad) = bad {
                items.push(bad.clone());
            }
        }
        let text = if as_document {
            format!("{{\"Records\":[{}]}}", items.join(",\n"))
        } else {
            items.join("\n") + "\n"
        };
        let decoded = decoded_records(&text);
        let mut rest = decoded.iter();
        for record in &good {
            prop_assert!(
                rest.any(|found| found == record),
                "a good record was lost: {}", &record[..record.len().min(120)]
            );
        }
        for record in &good {
            prop_assert!(normalize(record, &origin(), &NormalizeOptions::default()).is_ok());
        }
    }

    #[test]
    fn a_records_file_cut_anywhere_keeps_every_record_before_the_cut(cut_fraction in 0.0f64..1.0) {
        let records = real_records();
        let text = format!("{{\"Records\":[{}]}}", records.join(","));
        let cut = (text.len() as f64 * cut_fraction) as usize;
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let head = &text[..cut];
        let whole_before_cut = records
            .iter()
            .scan(12usize, |end, record| {
                *end += record.len() + 1;
                Some(*end - 1)
            })
            .filter(|end| *end <= cut)
            .count();
        let decoded = decoded_records(head);
        prop_assert!(decoded.len() >= whole_before_cut, "{} of {whole_before_cut}", decoded.len());
        prop_assert_eq!(&decoded[..whole_before_cut], &records[..whole_before_cut]);
    }
}
