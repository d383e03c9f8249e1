//! moto's server (`python -m moto.server`) started from the test venv.
//!
//! The Python comes from `POOLSIGHT_PYTHON` (scripts/test sets it to the
//! venv holding the pinned `moto[server]`); without it, or when the server
//! does not answer, [`MotoServer::start`] panics: a test that needs the
//! emulator fails, it never passes silently.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; killed on drop. Its state is its own: every test
/// starts a fresh one.
pub struct MotoServer {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl MotoServer {
    /// Starts a server on a free port and waits (up to 60 s) until it answers.
    pub fn start() -> Self {
        let python = std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| {
            panic!(
                "POOLSIGHT_PYTHON is not set: run the tests through scripts/test, which creates \
                 the venv with moto[server] and points POOLSIGHT_PYTHON at it"
            )
        });
        let port = crate::free_port();
        let log = std::env::temp_dir().join(format!("poolsight-moto-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("cannot create the moto log file");
        let stderr = log_file
            .try_clone()
            .expect("cannot clone the moto log file");
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto with {python}: {e}"));
        let mut server = Self { child, port, log };
        server.wait_until_ready(Duration::from_secs(60));
        server
    }

    /// The SDK config of a client of this server in `region`, with the
    /// test credentials ([`crate::aws_test_env`]).
    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        crate::aws_test_env();
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(self.endpoint())
            .load()
            .await
    }

    /// An S3 client of this server (us-east-1, path-style addressing).
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = self.sdk_config("us-east-1").await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        )
    }

    /// An S3 client of this server ([`Self::s3_client`]) with `bucket`
    /// created (use a fresh name: moto keeps its buckets between tests).
    pub async fn s3_with_bucket(&self, bucket: &str) -> aws_sdk_s3::Client {
        let s3 = self.s3_client().await;
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
        s3
    }

    /// The `[aws]` section of a poolsight.toml that reaches this server
    /// (us-east-1), ending in a newline: put top-level keys before it and
    /// further sections after it.
    pub fn aws_toml(&self) -> String {
        format!(
            "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n",
            self.endpoint()
        )
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn wait_until_ready(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "moto's server exited ({status}) before answering; is moto[server] installed \
                     in the venv of POOLSIGHT_PYTHON? Its output:\n{log}"
                );
            }
            if self.answers() {
                return;
            }
            if started.elapsed() > limit {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "moto's server did not answer on port {} within {limit:?}; its output:\n{log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /moto-api/data.json HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
