//! The terminal dashboard (`poolsight dash`), gitui-style: layouts as data
//! ([`layout`], the TOML files of `dashboards/`), state and what actions do
//! to it ([`app`]), keys and mouse to actions ([`input`], from the one key
//! table [`keymap`]), where things are on screen ([`geometry`], shared by
//! drawing and hit-testing), drawing ([`render`], [`theme`]), queries on their own thread ([`engine`]) over
//! the detect crate's DataFusion session, the terminal runner
//! ([`terminal`]), and layout checks for `poolsight lint` ([`lint`]).

pub mod app;
pub mod data;
pub mod engine;
pub mod geometry;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod lint;
pub mod render;
pub mod terminal;
pub mod theme;
pub mod window;

use std::path::Path;

pub use app::{Action, App};
pub use engine::{Engine, EngineConfig};
pub use layout::{Layouts, QuerySource};
pub use theme::Theme;
pub use window::TimeWindow;

/// Errors of the dashboard.
#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error(transparent)]
    Lake(#[from] poolsight_lake::LakeError),
    #[error("the lake at {0} holds no events yet: fill it with `poolsight ingest PATH --lake {0}`, `poolsight collect` or `poolsight demo`")]
    EmptyLake(String),
    #[error("terminal: {0}")]
    Terminal(std::io::Error),
    #[error("could not start the query thread: {0}")]
    Runtime(std::io::Error),
    #[error("the dashboard did not finish loading within {0:?}")]
    Timeout(std::time::Duration),
}

/// A clear error when `lake` is missing, not a lake, or empty.
pub fn check_lake(lake: &Path) -> Result<(), DashError> {
    let opened = poolsight_lake::Lake::open(lake)?;
    // A lake in S3 keeps its events there: an empty one shows empty panels.
    if opened.remote().is_none() && opened.event_files()?.is_empty() {
        return Err(DashError::EmptyLake(lake.display().to_string()));
    }
    Ok(())
}
