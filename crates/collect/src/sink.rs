//! The collectors' end of the ingest pipeline: hands downloaded payloads
//! and records to the pipeline's (blocking) workers on Tokio's blocking
//! pool, several at once, and flushes them before a checkpoint moves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use poolsight_ingest::{IngestError, PayloadCounts, PayloadSource, Pipeline, RecordInput, Worker};
use tokio::task::JoinHandle;

use crate::progress::SourceProgress;
use crate::CollectError;

/// Worker ids name Parquet files; they are unique within a run.
static NEXT_WORKER_ID: AtomicUsize = AtomicUsize::new(0);

/// A downloaded object: in memory when small, spooled to a temporary file
/// in the lake's `_state/spool/` when large, so that memory stays bounded
/// whatever the object's size (the file is removed when ingested).
#[derive(Debug)]
pub enum Payload {
    Memory(Vec<u8>),
    Spooled(tempfile::TempPath),
}

impl Payload {
    /// Its size in bytes, as stored.
    pub fn len(&self) -> u64 {
        match self {
            Payload::Memory(bytes) => bytes.len() as u64,
            Payload::Spooled(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A record owned, for the trip to a worker thread.
#[derive(Debug, Clone)]
pub struct OwnedRecord {
    pub text: String,
    pub format: &'static str,
    pub position: String,
    pub fallback_time: Option<i64>,
}

type Running = JoinHandle<(Worker, Result<(), IngestError>)>;

/// A small pool of pipeline workers owned by one source.
pub struct Sink {
    pipeline: Arc<Pipeline>,
    kind: &'static str,
    idle: Vec<Worker>,
    running: FuturesUnordered<Running>,
    progress: Arc<SourceProgress>,
    flushed: PayloadCounts,
}

impl Sink {
    pub fn new(
        pipeline: &Arc<Pipeline>,
        workers: usize,
        kind: &'static str,
        progress: Arc<SourceProgress>,
    ) -> Result<Self, CollectError> {
        let mut idle = Vec::new();
        for _ in 0..workers.max(1) {
            let id = NEXT_WORKER_ID.fetch_add(1, Ordering::Relaxed);
            idle.push(pipeline.worker(id)?);
        }
        Ok(Self {
            pipeline: Arc::clone(pipeline),
            kind,
            idle,
            running: FuturesUnordered::new(),
            progress,
            flushed: PayloadCounts::default(),
        })
    }

    async fn idle_worker(&mut self) -> Result<Worker, CollectError> {
        if let Some(worker) = self.idle.pop() {
            return Ok(worker);
        }
        let finished = self
            .running
            .next()
            .await
            .expect("a sink always owns its workers");
        let (worker, result) = finished.map_err(|_| CollectError::WorkerPanicked)?;
        if let Err(error) = result {
            // The worker stays: its counts are part of the sink's totals.
            self.idle.push(worker);
            return Err(error.into());
        }
        Ok(worker)
    }

    fn spawn(
        &mut self,
        mut worker: Worker,
        job: impl FnOnce(&mut Worker) -> Result<(), IngestError> + Send + 'static,
    ) {
        let progress = Arc::clone(&self.progress);
        self.running.push(tokio::task::spawn_blocking(move || {
            let before = worker.counts();
            let result = job(&mut worker);
            let after = worker.counts();
            SourceProgress::add(
                &progress.records,
                after.records.saturating_sub(before.records),
            );
            SourceProgress::add(
                &progress.written,
                after.written.saturating_sub(before.written),
            );
            (worker, result)
        }));
    }

    /// Ingests one downloaded object (gzip or not, any shape `ingest` reads).
    pub async fn payload(&mut self, payload: Payload, uri: String) -> Result<(), CollectError> {
        let worker = self.idle_worker().await?;
        let kind = self.kind;
        self.spawn(worker, move |worker| {
            let source = PayloadSource { kind, uri: &uri };
            match &payload {
                Payload::Memory(bytes) => worker.ingest_payload(bytes, &source),
                Payload::Spooled(path) => worker.ingest_file(path, &source),
            }
            .map(|_| ())
        });
        Ok(())
    }

    /// Records an object that could not be read or stored (a permanent
    /// download error) in the quarantine, with why.
    pub fn object_failed(
        &self,
        uri: &str,
        kind: &'static str,
        reason: String,
    ) -> Result<(), CollectError> {
        tracing::warn!(object = uri, kind, reason = %reason, "object quarantined");
        Ok(self.pipeline.fail_file(uri, kind, reason)?)
    }

    /// Ingests records read one by one from an API.
    pub async fn records(
        &mut self,
        records: Vec<OwnedRecord>,
        uri: String,
    ) -> Result<(), CollectError> {
        if records.is_empty() {
            return Ok(());
        }
        let worker = self.idle_worker().await?;
        let kind = self.kind;
        self.spawn(worker, move |worker| {
            let source = PayloadSource { kind, uri: &uri };
            for record in &records {
                worker.ingest_one_record(
                    &RecordInput {
                        text: &record.text,
                        format: record.format,
                        position: record.position.clone(),
                        fallback_time: record.fallback_time,
                    },
                    &source,
                )?;
            }
            Ok(())
        });
        Ok(())
    }

    /// Waits for every job, then makes everything durable. Returns what
    /// the source produced since the previous flush. A failed job does not
    /// cut the wait short: no job is left running (holding the pipeline,
    /// and with it the lake's lock) after this returns.
    pub async fn flush(&mut self) -> Result<PayloadCounts, CollectError> {
        let mut first_error = None;
        while let Some(finished) = self.running.next().await {
            match finished {
                Ok((worker, result)) => {
                    self.idle.push(worker);
                    if let Err(error) = result {
                        first_error.get_or_insert(CollectError::from(error));
                    }
                }
                Err(_) => {
                    first_error.get_or_insert(CollectError::WorkerPanicked);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        let workers = std::mem::take(&mut self.idle);
        let workers = tokio::task::spawn_blocking(move || {
            let mut workers = workers;
            let mut outcome = Ok(());
            for worker in &mut workers {
                if let Err(error) = worker.flush() {
                    outcome = Err(error);
                    break;
                }
            }
            (workers, outcome)
        })
        .await
        .map_err(|_| CollectError::WorkerPanicked)?;
        self.idle = workers.0;
        workers.1?;
        let mut total = PayloadCounts::default();
        for worker in &self.idle {
            total += worker.counts();
        }
        // Saturating: a worker lost to a panic takes its counts with it.
        let since = PayloadCounts {
            records: total.records.saturating_sub(self.flushed.records),
            written: total.written.saturating_sub(self.flushed.written),
            duplicates: total.duplicates.saturating_sub(self.flushed.duplicates),
            quarantined: total.quarantined.saturating_sub(self.flushed.quarantined),
        };
        self.flushed = total;
        Ok(since)
    }

    /// Records handed over and not flushed yet (an estimate for deciding
    /// when to flush).
    pub fn pending_records(&self) -> u64 {
        SourceProgress::get(&self.progress.records).saturating_sub(self.flushed.records)
    }

    /// Everything this sink produced (call after [`Sink::flush`]).
    pub fn totals(&self) -> PayloadCounts {
        self.flushed
    }

    /// Flushes and releases the workers.
    pub async fn close(mut self) -> Result<PayloadCounts, CollectError> {
        self.flush().await?;
        let totals = self.flushed;
        let workers = std::mem::take(&mut self.idle);
        tokio::task::spawn_blocking(move || {
            for worker in workers {
                worker.finish()?;
            }
            Ok::<_, IngestError>(())
        })
        .await
        .map_err(|_| CollectError::WorkerPanicked)??;
        Ok(totals)
    }
}
