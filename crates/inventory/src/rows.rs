//! A small row-at-a-time builder for the inventory tables: a table is a
//! list of typed columns, a row a list of [`Cell`]s, turned into one Arrow
//! batch. The tables are small (pools, roles, statements, trails), so
//! clarity wins over columnar speed here.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Flag,
    Number,
    Time,
    TextList,
}

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Flag(Option<bool>),
    Number(Option<i64>),
    /// Microseconds since the epoch, UTC.
    Time(Option<i64>),
    TextList(Vec<String>),
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Cell::Text(Some(value.to_string()))
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Cell::Text(Some(value))
    }
}

impl From<&String> for Cell {
    fn from(value: &String) -> Self {
        Cell::Text(Some(value.clone()))
    }
}

impl From<Option<String>> for Cell {
    fn from(value: Option<String>) -> Self {
        Cell::Text(value)
    }
}

impl From<Option<&str>> for Cell {
    fn from(value: Option<&str>) -> Self {
        Cell::Text(value.map(str::to_string))
    }
}

impl From<bool> for Cell {
    fn from(value: bool) -> Self {
        Cell::Flag(Some(value))
    }
}

impl From<Option<bool>> for Cell {
    fn from(value: Option<bool>) -> Self {
        Cell::Flag(value)
    }
}

impl From<Vec<String>> for Cell {
    fn from(value: Vec<String>) -> Self {
        Cell::TextList(value)
    }
}

/// The Arrow schema of `columns` (every column nullable but lists' items).
pub fn schema(columns: &[(&str, Kind)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, kind)| {
                let data_type = match kind {
                    Kind::Text => DataType::Utf8,
                    Kind::Flag => DataType::Boolean,
                    Kind::Number => DataType::Int64,
                    Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    Kind::TextList => {
                        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
                    }
                };
                Field::new(*name, data_type, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// One batch of `rows` in `columns`' layout. A cell of the wrong kind is
/// a programming error reported as an Arrow error, not a panic.
pub fn batch(columns: &[(&str, Kind)], rows: &[Vec<Cell>]) -> Result<RecordBatch, ArrowError> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (index, (name, kind)) in columns.iter().enumerate() {
        let wrong = || {
            ArrowError::InvalidArgumentError(format!(
                "inventory column {name}: a cell of another type"
            ))
        };
        let cells = rows.iter().map(|row| row.get(index));
        let array: ArrayRef = match kind {
            Kind::Text => {
                let mut builder = StringBuilder::new();
                for cell in cells {
                    match cell {
                        Some(Cell::Text(value)) => builder.append_option(value.as_deref()),
                        _ => return Err(wrong()),
                    }
                }
                Arc::new(builder.finish())
            }
            Kind::Flag => {
                let mut builder = BooleanBuilder::new();
                for cell in cells {
                    match cell {
                        Some(Cell::Flag(value)) => builder.append_option(*value),
                        _ => return Err(wrong()),
                    }
                }
                Arc::new(builder.finish())
            }
            Kind::Number => {
                let mut builder = Int64Builder::new();
                for cell in cells {
                    match cell {
                        Some(Cell::Number(value)) => builder.append_option(*value),
                        _ => return Err(wrong()),
                    }
                }
                Arc::new(builder.finish())
            }
            Kind::Time => {
                let mut builder = TimestampMicrosecondBuilder::new().with_timezone("UTC");
                for cell in cells {
                    match cell {
                        Some(Cell::Time(value)) => builder.append_option(*value),
                        _ => return Err(wrong()),
                    }
                }
                Arc::new(builder.finish())
            }
            Kind::TextList => {
                let mut builder = ListBuilder::new(StringBuilder::new());
                for cell in cells {
                    match cell {
                        Some(Cell::TextList(values)) => {
                            for value in values {
                                builder.values().append_value(value);
                            }
                            builder.append(true);
                        }
                        _ => return Err(wrong()),
                    }
                }
                Arc::new(builder.finish())
            }
        };
        arrays.push(array);
    }
    RecordBatch::try_new(schema(columns), arrays)
}
