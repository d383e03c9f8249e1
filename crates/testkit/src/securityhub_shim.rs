//! Security Hub in front of moto: every request goes to moto, except
//! `BatchUpdateFindings` (`PATCH /findings/batchupdate`), which moto lacks.
//! The shim does what Security Hub does with it — sets the findings'
//! `Workflow.Status` and `Note` — on moto's copy: it reads the findings
//! with `GetFindings` and writes them back with `BatchImportFindings`
//! (moto stores what it is given). `GetFindings` on moto then shows the
//! workflow a real hub would. The update calls are counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::http::{full, serve, ResponseBody, Running};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A running shim; stopped on drop.
pub struct SecurityHubShim {
    running: Running,
    workflow_updates: Arc<AtomicU64>,
    /// Findings per `BatchImportFindings` call, in order.
    imports: Arc<std::sync::Mutex<Vec<usize>>>,
}

impl SecurityHubShim {
    /// Forwards to moto at `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> Self {
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.trim_end_matches('/').to_string();
        let workflow_updates = Arc::new(AtomicU64::new(0));
        let imports = Arc::new(std::sync::Mutex::new(Vec::new()));
        let running = {
            let workflow_updates = Arc::clone(&workflow_updates);
            let imports = Arc::clone(&imports);
            serve(move |request| {
                let client = client.clone();
                let upstream = upstream.clone();
                let workflow_updates = Arc::clone(&workflow_updates);
                let imports = Arc::clone(&imports);
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let headers: Vec<(String, String)> = parts
                        .headers
                        .iter()
                        .filter(|(name, _)| {
                            *name != hyper::header::HOST && *name != hyper::header::CONTENT_LENGTH
                        })
                        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
                        .collect();
                    if parts.method == Method::PATCH && parts.uri.path() == "/findings/batchupdate"
                    {
                        workflow_updates.fetch_add(1, Ordering::Relaxed);
                        return batch_update(&client, &upstream, &headers, &body).await;
                    }
                    if parts.uri.path() == "/findings/import" {
                        let count = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| v["Findings"].as_array().map(Vec::len))
                            .unwrap_or(0);
                        imports.lock().expect("imports").push(count);
                    }
                    let path = parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into());
                    match send(&client, &upstream, parts.method, &path, &headers, body).await {
                        Ok((status, body)) => json_response(status, body),
                        Err(e) => json_response(
                            StatusCode::BAD_GATEWAY,
                            Bytes::from(format!("{{\"message\":\"moto unreachable: {e}\"}}")),
                        ),
                    }
                }
            })
        };
        Self {
            running,
            workflow_updates,
            imports,
        }
    }

    /// Findings per `BatchImportFindings` call received, in order.
    pub fn imports(&self) -> Vec<usize> {
        self.imports.lock().expect("imports").clone()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.running.address)
    }

    /// `BatchUpdateFindings` calls received.
    pub fn workflow_updates(&self) -> u64 {
        self.workflow_updates.load(Ordering::Relaxed)
    }
}

fn json_response(status: StatusCode, body: Bytes) -> Response<ResponseBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(body))
        .expect("valid response")
}

async fn send(
    client: &HttpClient,
    upstream: &str,
    method: Method,
    path: &str,
    headers: &[(String, String)],
    body: Bytes,
) -> Result<(StatusCode, Bytes), String> {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{upstream}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

async fn batch_update(
    client: &HttpClient,
    upstream: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Response<ResponseBody> {
    let Ok(update) = serde_json::from_slice::<Value>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            Bytes::from_static(b"{\"message\":\"not JSON\"}"),
        );
    };
    let ids: Vec<Value> = update["FindingIdentifiers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let listed = send(
        client,
        upstream,
        Method::POST,
        "/findings",
        headers,
        Bytes::from_static(b"{}"),
    )
    .await;
    let findings: Vec<Value> = match listed {
        Ok((status, body)) if status.is_success() => serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["Findings"].as_array().cloned())
            .unwrap_or_default(),
        _ => {
            return json_response(
                StatusCode::BAD_GATEWAY,
                Bytes::from_static(b"{\"message\":\"GetFindings failed\"}"),
            )
        }
    };
    let mut processed = Vec::new();
    let mut unprocessed = Vec::new();
    let mut changed = Vec::new();
    for identifier in ids {
        let found = findings
            .iter()
            .find(|f| f["Id"] == identifier["Id"] && f["ProductArn"] == identifier["ProductArn"]);
        match found {
            Some(finding) => {
                let mut finding = finding.clone();
                if let Some(status) = update.pointer("/Workflow/Status") {
                    finding["Workflow"] = json!({ "Status": status });
                }
                if let Some(note) = update.get("Note") {
                    finding["Note"] = json!({
                        "Text": note["Text"],
                        "UpdatedBy": note["UpdatedBy"],
                        "UpdatedAt": chrono::Utc::now().to_rfc3339(),
                    });
                }
                changed.push(finding);
                processed.push(identifier);
            }
            None => unprocessed.push(json!({
                "FindingIdentifier": identifier,
                "ErrorCode": "FindingNotFound",
                "ErrorMessage": "no such finding",
            })),
        }
    }
    if !changed.is_empty() {
        let import = serde_json::to_vec(&json!({ "Findings": changed })).unwrap_or_default();
        if send(
            client,
            upstream,
            Method::POST,
            "/findings/import",
            headers,
            Bytes::from(import),
        )
        .await
        .is_err()
        {
            return json_response(
                StatusCode::BAD_GATEWAY,
                Bytes::from_static(b"{\"message\":\"import failed\"}"),
            );
        }
    }
    json_response(
        StatusCode::OK,
        Bytes::from(
            serde_json::to_vec(&json!({
                "ProcessedFindings": processed,
                "UnprocessedFindings": unprocessed,
            }))
            .unwrap_or_default(),
        ),
    )
}
