//! Runs panel queries off the render loop.
//!
//! The engine owns a Tokio runtime on its own thread and a DataFusion
//! session per time window. The UI sends a [`LoadRequest`] (one per
//! screen load, numbered by a generation) and keeps drawing; replies come
//! back on a channel as each panel finishes. A newer request cancels the
//! one in flight (its DataFusion streams are dropped), so changing the
//! window twice quickly never queues stale work.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use poolsight_detect::catalog::Catalog;
use poolsight_detect::window::EventBounds;
use poolsight_detect::{LakeSession, SessionOptions};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::data::PanelData;
use crate::window::{ResolvedWindow, TimeWindow};
use crate::DashError;
use poolsight_detect::template::{fill, string_literal};

/// How many panel queries run at once (DataFusion parallelises each one).
const CONCURRENT_PANELS: usize = 2;

/// What the engine needs to open sessions.
#[derive(Clone)]
pub struct EngineConfig {
    pub lake: PathBuf,
    pub catalog: Catalog,
    /// Own pools and GeoIP; `since`/`until` are set per window.
    pub session: SessionOptions,
}

/// Load the panels of one screen.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    pub generation: u64,
    pub window: TimeWindow,
    /// Re-read the lake's bounds and reopen sessions (`r`).
    pub refresh: bool,
    /// The dashboard's parameter: (placeholder name, value).
    pub param: Option<(String, String)>,
    /// (panel index, SQL template).
    pub panels: Vec<(usize, String)>,
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The window's bounds, first for every request.
    Window {
        generation: u64,
        result: Result<ResolvedWindow, String>,
    },
    Panel {
        generation: u64,
        panel: usize,
        result: Result<Arc<PanelData>, String>,
        elapsed: Duration,
    },
}

/// The query thread and its channels.
pub struct Engine {
    jobs: Option<UnboundedSender<LoadRequest>>,
    replies: mpsc::Receiver<Reply>,
    runtime: tokio::runtime::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Engine {
    /// Starts the query thread.
    pub fn start(config: EngineConfig) -> Result<Self, DashError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            )
            .thread_name("poolsight-dash-query")
            .enable_all()
            .build()
            .map_err(DashError::Runtime)?;
        let handle = runtime.handle().clone();
        let (jobs, job_receiver) = unbounded_channel();
        let (reply_sender, replies) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("poolsight-dash-engine".into())
            .spawn(move || {
                runtime.block_on(serve(config, job_receiver, reply_sender));
                runtime.shutdown_background();
            })
            .map_err(DashError::Runtime)?;
        Ok(Engine {
            jobs: Some(jobs),
            replies,
            runtime: handle,
            thread: Some(thread),
        })
    }

    /// Queues a load; a load in flight for an older generation is cancelled.
    pub fn send(&self, request: LoadRequest) {
        if let Some(jobs) = &self.jobs {
            // The receiver only goes away with the thread (shutdown).
            let _ = jobs.send(request);
        }
    }

    /// A reply if one is ready.
    pub fn try_recv(&self) -> Option<Reply> {
        self.replies.try_recv().ok()
    }

    /// Waits up to `timeout` for a reply.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Reply> {
        self.replies.recv_timeout(timeout).ok()
    }

    /// The runtime (for signal handlers).
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Closing the job channel cancels what runs and ends the thread.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    config: EngineConfig,
    mut jobs: UnboundedReceiver<LoadRequest>,
    replies: mpsc::Sender<Reply>,
) {
    let mut state = EngineState::default();
    let mut next: Option<LoadRequest> = None;
    loop {
        let mut job = match next.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        while let Ok(newer) = jobs.try_recv() {
            let refresh = job.refresh;
            job = newer;
            job.refresh |= refresh;
        }
        tokio::select! {
            biased;
            newer = jobs.recv() => match newer {
                Some(mut newer) => {
                    newer.refresh |= job.refresh;
                    tracing::debug!(cancelled = job.generation, "a newer load replaces the one in flight");
                    next = Some(newer);
                }
                None => return,
            },
            _ = state.load(&config, &job, &replies) => {}
        }
    }
}

#[derive(Default)]
struct EngineState {
    bounds: Option<EventBounds>,
    sessions: HashMap<(Option<i64>, Option<i64>), Arc<LakeSession>>,
}

impl EngineState {
    async fn session(
        &mut self,
        config: &EngineConfig,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Arc<LakeSession>, String> {
        let key = (
            since.map(|t| t.timestamp_micros()),
            until.map(|t| t.timestamp_micros()),
        );
        if let Some(session) = self.sessions.get(&key) {
            return Ok(Arc::clone(session));
        }
        let options = SessionOptions {
            since,
            until,
            ..config.session.clone()
        };
        let session = LakeSession::open_with(&config.lake, &options, &config.catalog)
            .await
            .map_err(|e| e.to_string())?;
        poolsight_detect::window::cut_to_window(&session, &config.catalog, since, until)
            .await
            .map_err(|e| format!("cutting the tables to the window: {e}"))?;
        let session = Arc::new(session);
        // A handful of windows per sitting; keep the memory bounded anyway.
        if self.sessions.len() > 8 {
            self.sessions.clear();
        }
        self.sessions.insert(key, Arc::clone(&session));
        Ok(session)
    }

    async fn load(
        &mut self,
        config: &EngineConfig,
        job: &LoadRequest,
        replies: &mpsc::Sender<Reply>,
    ) {
        let generation = job.generation;
        if job.refresh {
            self.bounds = None;
            self.sessions.clear();
        }
        let resolved = match self.resolve(config, &job.window).await {
            Ok(resolved) => resolved,
            Err(error) => {
                let _ = replies.send(Reply::Window {
                    generation,
                    result: Err(error.clone()),
                });
                return fail_all(job, &error, replies);
            }
        };
        let _ = replies.send(Reply::Window {
            generation,
            result: Ok(resolved),
        });
        let session = match self.session(config, resolved.since, resolved.until).await {
            Ok(session) => session,
            Err(error) => return fail_all(job, &error, replies),
        };
        let mut values: BTreeMap<String, String> =
            resolved.placeholder_values().into_iter().collect();
        if let Some((name, value)) = &job.param {
            values.insert(name.clone(), string_literal(value));
        }
        let values = &values;
        let session = &session;
        let mut results = futures::stream::iter(job.panels.iter().cloned())
            .map(|(panel, template)| async move {
                let started = Instant::now();
                let result = match fill(&template, values) {
                    Ok(sql) => run_query(session, &sql).await.map(Arc::new),
                    Err(error) => Err(error),
                };
                Reply::Panel {
                    generation,
                    panel,
                    result,
                    elapsed: started.elapsed(),
                }
            })
            .buffer_unordered(CONCURRENT_PANELS);
        while let Some(reply) = results.next().await {
            if let Reply::Panel {
                panel,
                elapsed,
                result,
                ..
            } = &reply
            {
                tracing::debug!(
                    generation,
                    panel,
                    ms = elapsed.as_millis() as u64,
                    ok = result.is_ok(),
                    "panel query finished"
                );
            }
            if replies.send(reply).is_err() {
                return;
            }
        }
    }

    async fn resolve(
        &mut self,
        config: &EngineConfig,
        window: &TimeWindow,
    ) -> Result<ResolvedWindow, String> {
        let (oldest, newest) = match self.bounds {
            Some(bounds) => bounds,
            None => {
                refresh_state(config).await;
                let session = self.session(config, None, None).await?;
                let bounds = poolsight_detect::window::event_bounds(&session)
                    .await
                    .map_err(|e| e.to_string())?;
                self.bounds = Some(bounds);
                bounds
            }
        };
        Ok(window.resolve(oldest, newest))
    }
}

/// Brings the state tables (what the overview and pool screens read) up
/// to date with what arrived since the last `detect`, unless a writer
/// holds the lake; then they are read as they are.
async fn refresh_state(config: &EngineConfig) {
    match poolsight_detect::state::update_if_free(&config.lake, &config.session, &config.catalog)
        .await
    {
        Ok(Some(report)) => tracing::debug!(
            mode = report.mode,
            hours = report.hours,
            seconds = report.seconds,
            "state tables brought up to date"
        ),
        Ok(None) => tracing::info!("a writer holds the lake; state tables read as they are"),
        Err(error) => tracing::warn!(%error, "state tables not brought up to date"),
    }
}

/// Every panel of `job` gets `error` (the lake could not be opened).
fn fail_all(job: &LoadRequest, error: &str, replies: &mpsc::Sender<Reply>) {
    for (panel, _) in &job.panels {
        let _ = replies.send(Reply::Panel {
            generation: job.generation,
            panel: *panel,
            result: Err(error.to_string()),
            elapsed: Duration::ZERO,
        });
    }
}

/// A DataFusion error for a panel: the unknown column and the closest
/// ones, not the list of every column of the schema.
fn query_error(error: datafusion::error::DataFusionError) -> String {
    poolsight_detect::explain::explain_query_error(&error)
}

async fn run_query(session: &LakeSession, sql: &str) -> Result<PanelData, String> {
    let frame = session.context().sql(sql).await.map_err(query_error)?;
    let mut stream = frame.execute_stream().await.map_err(query_error)?;
    let mut data = PanelData::default();
    let schema = stream.schema();
    data.columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(query_error)?;
        data.push_batch(&batch).map_err(|e| e.to_string())?;
        if data.truncated {
            break;
        }
    }
    Ok(data)
}
