//! The detections on a Ballista cluster: `poolsight cluster scheduler` and
//! two `poolsight cluster executor`s started as child processes, the lake
//! in moto's S3. A lake detected on the cluster stores the same findings
//! (ids and evidence) as one detected in process, and `sql` gives the
//! same answers.
//!
//! Every detection runs, `identity_id_enumeration` included: its sort-merge
//! joins with filters needed `poolsight_cluster::pushdown` (a DataFusion 55
//! projection pushdown bug; the sample has one of its findings).

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{command, finding_evidence, poolsight, sample, stdout, text};
use poolsight_testkit::MotoServer;
use serde_json::Value;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Child processes killed when the test ends, whatever happens.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(args: &[&str], cwd: &Path, log: &str) -> Child {
    let file = std::fs::File::create(cwd.join(log)).expect("log");
    // Killed with SIGKILL at the end: their temporary folders (the read
    // cache, shuffle files) go with the test's.
    let temporary = cwd.join("tmp");
    std::fs::create_dir_all(&temporary).expect("tmp");
    let temporary = temporary.to_str().expect("utf-8");
    command(
        args,
        cwd,
        &[("POOLSIGHT_LOG", "info"), ("TMPDIR", temporary)],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::from(file))
    .spawn()
    .expect("spawn")
}

#[test]
fn detections_on_a_ballista_cluster_find_what_they_find_in_process() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(moto.s3_with_bucket("cluster-lake"));
    let work = tempfile::tempdir().expect("tempdir");
    let cwd = work.path();
    std::fs::write(cwd.join("poolsight.toml"), moto.aws_toml()).expect("config");
    let sample = sample();
    let sample = sample.to_str().expect("utf-8");
    let (in_process, on_cluster) = ("s3://cluster-lake/local", "s3://cluster-lake/cluster");
    for lake in [in_process, on_cluster] {
        stdout(&poolsight(&["ingest", sample, "--lake", lake], cwd));
    }

    let scheduler_port = free_port();
    let scheduler = format!("127.0.0.1:{scheduler_port}");
    let mut processes = Processes(vec![spawn(
        &[
            "cluster",
            "scheduler",
            "--bind",
            &scheduler,
            "--external-host",
            "127.0.0.1",
        ],
        cwd,
        "scheduler.log",
    )]);
    for index in 0..2 {
        let (port, grpc_port) = (free_port().to_string(), free_port().to_string());
        let mut args = vec![
            "cluster",
            "executor",
            "--scheduler",
            &scheduler,
            "--bind-host",
            "127.0.0.1",
            "--external-host",
            "127.0.0.1",
            "--port",
            &port,
            "--grpc-port",
            &grpc_port,
            "--vcores",
            "2",
        ];
        if index == 0 {
            // One executor's operators share a bounded pool (and spill).
            args.extend(["--memory-limit-mib", "256"]);
        }
        processes
            .0
            .push(spawn(&args, cwd, &format!("executor{index}.log")));
    }
    let engine = format!("df://{scheduler}");
    // The cluster answers once the scheduler is up and an executor registered.
    let started = Instant::now();
    let counted = loop {
        let output = poolsight(
            &[
                "sql",
                "--lake",
                on_cluster,
                "--engine",
                &engine,
                "--format",
                "json",
                "SELECT count(*) AS n, count(DISTINCT event_key) AS k FROM events",
            ],
            cwd,
        );
        if output.status.success() {
            break output;
        }
        let logs: String = ["scheduler.log", "executor0.log", "executor1.log"]
            .iter()
            .map(|log| std::fs::read_to_string(cwd.join(log)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n");
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the cluster never answered: {}\n{logs}",
            text(&output)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let rows: Value = serde_json::from_str(&stdout(&counted)).expect("json");
    assert_eq!(
        (rows[0]["n"].as_u64(), rows[0]["k"].as_u64()),
        (Some(5000), Some(5000))
    );

    // Every detection: in process on one lake, on the cluster on the other.
    stdout(&poolsight(
        &["detect", "--lake", in_process, "--engine", "local"],
        cwd,
    ));
    let clustered = poolsight(&["detect", "--lake", on_cluster, "--engine", &engine], cwd);
    assert!(clustered.status.success(), "{}", text(&clustered));
    let local = finding_evidence(cwd, &["--lake", in_process]);
    let remote = finding_evidence(cwd, &["--lake", on_cluster]);
    assert!(local.len() > 20, "{local:?}");
    assert!(
        stdout(&clustered).contains("identity_id_enumeration"),
        "the sample's enumeration finding, found on the cluster: {}",
        text(&clustered)
    );
    assert_eq!(local, remote, "same finding ids and evidence");

    // Both executors ran tasks.
    for log in ["executor0.log", "executor1.log"] {
        let text = std::fs::read_to_string(cwd.join(log)).unwrap_or_default();
        assert!(
            text.matches("Execute task").count() > 10,
            "{log} ran no tasks:\n{text}"
        );
    }
}
