//! How far each detection has judged the lake: `_state/detect_progress.json`.
//!
//! Per detection: the arrival time (`ingested_at`) up to which its rows
//! have been judged, and a fingerprint of what judged them (its SQL with
//! tunables, its timing, the views). A detection whose fingerprint changed
//! — edited, re-tuned, or new — judges the whole lake once more.

use std::collections::BTreeMap;
use std::path::PathBuf;

use poolsight_lake::{Lake, LakeError, LakeLock};
use serde::{Deserialize, Serialize};

use crate::DetectError;

const FILE: &str = "detect_progress.json";

/// One detection's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionProgress {
    /// What judged the lake (SQL, tunables, timing, views).
    pub fingerprint: String,
    /// Rows that arrived at or before this time (µs) have been judged.
    pub judged_through: i64,
    /// When it last ran (RFC 3339).
    pub last_run: String,
}

/// Every detection's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub detections: BTreeMap<String, DetectionProgress>,
}

fn path(lake: &Lake) -> PathBuf {
    lake.state_dir().join(FILE)
}

impl Progress {
    /// The stored progress; none stored yet: empty (every detection runs in full).
    pub fn load(lake: &Lake) -> Result<Self, DetectError> {
        let path = path(lake);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| DetectError::Path {
                path: path.clone(),
                reason: format!(
                    "detection progress is damaged ({e}); delete it and the next detect judges the whole lake again"
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(e) => Err(LakeError::io(&path, e).into()),
        }
    }

    /// Writes it atomically, under the writer lock.
    pub fn save(&self, lake: &Lake, _lock: &LakeLock) -> Result<(), DetectError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| DetectError::Path {
            path: path(lake),
            reason: e.to_string(),
        })?;
        poolsight_lake::write_atomically(&path(lake), &bytes)?;
        Ok(())
    }

    /// Where `detection` stands, if it was judged with `fingerprint`.
    pub fn judged_through(&self, detection: &str, fingerprint: &str) -> Option<i64> {
        self.detections
            .get(detection)
            .filter(|p| p.fingerprint == fingerprint)
            .map(|p| p.judged_through)
    }
}
