//! The HTTP plumbing the test servers share: a hyper HTTP/1.1 server on
//! 127.0.0.1 running on its own thread and runtime, so it serves sync and
//! async tests alike, stopped when its handle drops.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ResponseBody = BoxBody<Bytes, BoxError>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A running server; dropping it stops the accept loop.
pub struct Running {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `handler` on a free port of 127.0.0.1.
pub fn serve<H, F>(handler: H) -> Running
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<ResponseBody>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let address = listener.local_addr().expect("local address");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let handler = Arc::clone(&handler);
                        tokio::spawn(async move {
                            let service = service_fn(move |request| {
                                let handler = Arc::clone(&handler);
                                async move { Ok::<_, Infallible>(handler(request).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        runtime.shutdown_background();
    });
    Running {
        address,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// An AWS JSON 1.1 answer (`application/x-amz-json-1.1`).
pub fn aws_json_response(
    status: hyper::StatusCode,
    body: serde_json::Value,
) -> Response<ResponseBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
        .body(full(body.to_string()))
        .expect("valid response")
}

/// A server-side request rate: a bucket holding one second's worth of
/// requests (at least one), refilled continuously. `None`: no limit.
#[derive(Debug)]
pub struct TokenBucket {
    per_second: Option<f64>,
    state: std::sync::Mutex<(f64, std::time::Instant)>,
}

impl TokenBucket {
    pub fn new(per_second: Option<f64>) -> Self {
        let capacity = per_second.unwrap_or(1.0).max(1.0);
        Self {
            per_second,
            state: std::sync::Mutex::new((capacity, std::time::Instant::now())),
        }
    }

    /// Whether a request may go through now (it takes a token).
    pub fn take(&self) -> bool {
        let Some(rate) = self.per_second else {
            return true;
        };
        let mut state = self.state.lock().expect("bucket lock");
        let now = std::time::Instant::now();
        let refilled =
            (state.0 + now.duration_since(state.1).as_secs_f64() * rate).min(rate.max(1.0));
        *state = (refilled, now);
        if refilled >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}
