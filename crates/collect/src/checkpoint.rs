//! Checkpoints: where each source stopped, one JSON file per source in
//! `<lake>/_state/checkpoints/`, written atomically (temporary file, fsync,
//! rename). A source saves its checkpoint only after the data it covers is
//! durable in the lake, so a crash at any point repeats work (which the
//! lake's dedup absorbs) and never skips any.

use std::path::PathBuf;

use poolsight_lake::{write_atomically, Lake};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::CollectError;

/// The checkpoint files of one lake.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    version: u32,
    source: String,
    updated_at: String,
    state: T,
}

const VERSION: u32 = 1;

impl CheckpointStore {
    pub fn new(lake: &Lake) -> Self {
        Self {
            dir: lake.state_dir().join("checkpoints"),
        }
    }

    /// The file of `source`: its name made file-safe, plus a short hash of
    /// the exact name so two names never share a file.
    pub fn path(&self, source: &str) -> PathBuf {
        let safe: String = source
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        let hash = fnv1a(source.as_bytes());
        self.dir.join(format!("{safe}-{hash:08x}.json"))
    }

    /// The saved state of `source`, or the default when it has none yet.
    pub fn load<T: DeserializeOwned + Default>(&self, source: &str) -> Result<T, CollectError> {
        let path = self.path(source);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(T::default()),
            Err(e) => {
                return Err(CollectError::Checkpoint {
                    path,
                    message: e.to_string(),
                })
            }
        };
        let envelope: Envelope<T> =
            serde_json::from_str(&text).map_err(|e| CollectError::Checkpoint {
                path: path.clone(),
                message: format!(
                    "{e}; the file is damaged: move it away to collect this source from the start (the lake's dedup keeps events unique)"
                ),
            })?;
        if envelope.version != VERSION {
            return Err(CollectError::Checkpoint {
                path,
                message: format!(
                    "version {} is not {VERSION}, written by another poolsight version",
                    envelope.version
                ),
            });
        }
        Ok(envelope.state)
    }

    /// Saves `state` for `source` atomically.
    pub fn save<T: Serialize>(&self, source: &str, state: &T) -> Result<(), CollectError> {
        let path = self.path(source);
        let envelope = Envelope {
            version: VERSION,
            source: source.to_string(),
            updated_at: chrono::Utc::now().to_rfc3339(),
            state,
        };
        let text = serde_json::to_vec_pretty(&envelope).map_err(|e| CollectError::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomically(&path, &text).map_err(|e| CollectError::Checkpoint {
            path,
            message: e.to_string(),
        })
    }
}

/// FNV-1a, 32 bits: stable across versions and platforms.
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn round_trip_default_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let store = CheckpointStore::new(&lake);
        let empty: BTreeMap<String, String> = store.load("s3:bucket/").unwrap();
        assert!(empty.is_empty());
        let mut state = BTreeMap::new();
        state.insert(
            "AWSLogs/1/CloudTrail/us-east-1/".to_string(),
            "k".to_string(),
        );
        store.save("s3:bucket/", &state).unwrap();
        assert_eq!(
            store
                .load::<BTreeMap<String, String>>("s3:bucket/")
                .unwrap(),
            state
        );
        assert_ne!(
            store.path("s3:a/b"),
            store.path("s3:a_b"),
            "names never share a file"
        );
        std::fs::write(store.path("s3:bucket/"), b"{ not json").unwrap();
        let error = store
            .load::<BTreeMap<String, String>>("s3:bucket/")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("damaged") && error.contains("checkpoints"),
            "{error}"
        );
    }
}
