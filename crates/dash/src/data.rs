//! A panel's query result, turned into display text once (off the render
//! loop): every cell as text, numbers and times kept for bars, stats and
//! time series.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// At most this many rows are kept per panel (the panel says when cut).
pub const MAX_ROWS: usize = 5_000;

/// One cell: its text, and its value when it is a number or a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub number: Option<f64>,
    /// Microseconds since the epoch (timestamp columns).
    pub micros: Option<i64>,
}

/// What a panel's query returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelData {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// More rows existed than [`MAX_ROWS`].
    pub truncated: bool,
}

impl PanelData {
    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Appends the rows of `batch` (up to [`MAX_ROWS`]).
    pub fn push_batch(&mut self, batch: &RecordBatch) -> Result<(), arrow::error::ArrowError> {
        if self.columns.is_empty() {
            self.columns = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
        }
        let options = FormatOptions::new()
            .with_null("")
            .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S"))
            .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S"));
        let room = MAX_ROWS.saturating_sub(self.rows.len());
        if batch.num_rows() > room {
            self.truncated = true;
        }
        let take = batch.num_rows().min(room);
        if take == 0 {
            return Ok(());
        }
        let columns: Vec<ColumnReader> = batch
            .columns()
            .iter()
            .map(|array| ColumnReader::new(array, &options))
            .collect::<Result<_, _>>()?;
        for row in 0..take {
            self.rows
                .push(columns.iter().map(|c| c.cell(row)).collect::<Vec<_>>());
        }
        Ok(())
    }
}

struct ColumnReader<'a> {
    array: &'a ArrayRef,
    formatter: ArrayFormatter<'a>,
    numbers: Option<arrow::array::Float64Array>,
    micros: Option<arrow::array::Int64Array>,
    integer: bool,
}

impl<'a> ColumnReader<'a> {
    fn new(
        array: &'a ArrayRef,
        options: &'a FormatOptions<'a>,
    ) -> Result<Self, arrow::error::ArrowError> {
        let data_type = array.data_type();
        let integer = data_type.is_integer();
        let numbers = if data_type.is_numeric() {
            let cast = arrow::compute::cast(array, &DataType::Float64)?;
            cast.as_any()
                .downcast_ref::<arrow::array::Float64Array>()
                .cloned()
        } else {
            None
        };
        let micros = match data_type {
            DataType::Timestamp(_, tz) => {
                let cast = arrow::compute::cast(
                    array,
                    &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
                )?;
                let as_int = arrow::compute::cast(&cast, &DataType::Int64)?;
                as_int
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .cloned()
            }
            _ => None,
        };
        Ok(ColumnReader {
            array,
            formatter: ArrayFormatter::try_new(array.as_ref(), options)?,
            numbers,
            micros,
            integer,
        })
    }

    fn cell(&self, row: usize) -> Cell {
        let null = self.array.is_null(row);
        let number = self
            .numbers
            .as_ref()
            .filter(|_| !null)
            .map(|n| n.value(row));
        let micros = self.micros.as_ref().filter(|_| !null).map(|m| m.value(row));
        let text = match number {
            Some(n) if self.integer => group_thousands(n as i64),
            Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => group_thousands(n as i64),
            Some(n) => format!("{n:.2}"),
            None => self.formatter.value(row).to_string(),
        };
        Cell {
            text,
            number,
            micros,
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn cells_keep_text_numbers_and_times() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("calls", DataType::Int64, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Int64Array::from(vec![Some(1_234_567), None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        let mut data = PanelData::default();
        data.push_batch(&batch).unwrap();
        assert_eq!(data.columns, ["name", "calls", "at"]);
        assert_eq!(data.rows[0][1].text, "1,234,567");
        assert_eq!(data.rows[0][1].number, Some(1_234_567.0));
        assert_eq!(data.rows[0][2].text, "2023-11-14 22:13:20");
        assert_eq!(data.rows[0][2].micros, Some(1_700_000_000_000_000));
        assert_eq!(data.rows[1][0].text, "");
        assert_eq!(data.rows[1][1].number, None);
        assert_eq!(group_thousands(-1000), "-1,000");
        assert_eq!(group_thousands(999), "999");
    }
}
