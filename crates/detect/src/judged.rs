//! `is_judged(timestamp) -> boolean`: whether an event time falls in what
//! the running detection judges. Detections with a `history` read events
//! they must not judge again; they keep only `is_judged(event_time)`.
//!
//! The function carries its spans, and [`encode`]/[`decode`] turn them into
//! bytes and back: on a cluster, executors rebuild the very function the
//! client planned with (looked up by name, it would judge everything).

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::plan::Span;

/// The function's name in SQL.
pub const NAME: &str = "is_judged";

/// Marks the bytes of an encoded `is_judged`.
const MAGIC: &[u8] = b"poolsight-is-judged-v1\n";

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsJudged {
    /// `None`: everything is judged.
    spans: Option<Vec<Span>>,
    signature: Signature,
}

impl IsJudged {
    pub fn new(spans: Option<Vec<Span>>) -> Self {
        Self {
            spans,
            signature: Signature::exact(
                vec![DataType::Timestamp(
                    TimeUnit::Microsecond,
                    Some("UTC".into()),
                )],
                Volatility::Immutable,
            ),
        }
    }
}

/// The function judging `spans` (`None`: everything).
pub fn udf(spans: Option<Vec<Span>>) -> ScalarUDF {
    ScalarUDF::new_from_impl(IsJudged::new(spans))
}

impl ScalarUDFImpl for IsJudged {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let micros = arrow::compute::cast(&arrays[0], &DataType::Int64)?;
        let micros = micros
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .ok_or_else(|| DataFusionError::Internal("is_judged: not a timestamp".into()))?;
        let out: arrow::array::BooleanArray = micros
            .iter()
            .map(|t| {
                t.map(|t| match &self.spans {
                    None => true,
                    Some(spans) => spans.iter().any(|s| s.contains(t)),
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The bytes of `udf` when it is `is_judged` (`None` otherwise): the
/// spans as pairs of little-endian microseconds, or nothing for "all".
pub fn encode(udf: &ScalarUDF) -> Result<Option<Vec<u8>>> {
    let Some(judged) = udf.inner().downcast_ref::<IsJudged>() else {
        return Ok(None);
    };
    let mut bytes = MAGIC.to_vec();
    match &judged.spans {
        None => bytes.push(0),
        Some(spans) => {
            bytes.push(1);
            for span in spans {
                bytes.extend_from_slice(&span.from.to_le_bytes());
                bytes.extend_from_slice(&span.to.to_le_bytes());
            }
        }
    }
    Ok(Some(bytes))
}

/// `is_judged` from [`encode`]'s bytes; `None` for another function.
pub fn decode(name: &str, bytes: &[u8]) -> Result<Option<ScalarUDF>> {
    if name != NAME {
        return Ok(None);
    }
    let bad = || DataFusionError::Internal("is_judged: damaged encoding".into());
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(bad)?;
    let (kind, pairs) = rest.split_first().ok_or_else(bad)?;
    match kind {
        0 if pairs.is_empty() => Ok(Some(udf(None))),
        1 if pairs.len() % 16 == 0 => {
            let spans = pairs
                .chunks_exact(16)
                .map(|pair| {
                    let from = i64::from_le_bytes(pair[..8].try_into().expect("8 bytes"));
                    let to = i64::from_le_bytes(pair[8..].try_into().expect("8 bytes"));
                    Span::new(from, to)
                })
                .collect();
            Ok(Some(udf(Some(spans))))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spans_survive_the_wire() {
        for spans in [
            None,
            Some(vec![]),
            Some(vec![Span::new(10, 20), Span::new(-5, 3)]),
        ] {
            let original = udf(spans.clone());
            let bytes = encode(&original).unwrap().expect("is_judged");
            let decoded = decode(NAME, &bytes).unwrap().expect("is_judged");
            let inner = decoded.inner().downcast_ref::<IsJudged>().unwrap();
            assert_eq!(inner.spans, spans);
        }
        assert!(decode("other", b"").unwrap().is_none());
        assert!(decode(NAME, b"junk").is_err());
        let other = datafusion::functions::math::abs();
        assert!(encode(&other).unwrap().is_none());
    }
}
