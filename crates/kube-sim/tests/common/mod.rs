//! Helpers shared by kube-sim's integration tests.
#![allow(dead_code)]

use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;
use std::path::PathBuf;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub async fn client_for(sim: &kube_sim::SimHandle, user: &str) -> kube::Client {
    kube::Client::try_from(config_for(sim, user).await).expect("client")
}

/// The client configuration of `user`'s generated kubeconfig.
pub async fn config_for(sim: &kube_sim::SimHandle, user: &str) -> kube::Config {
    let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig_yaml(user)).expect("kubeconfig parses");
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config from kubeconfig")
}

/// A client that does not retry 429/503 by itself, so a test sees the server's first answer.
pub async fn client_without_retries(sim: &kube_sim::SimHandle, user: &str) -> kube::Client {
    let mut config = config_for(sim, user).await;
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

/// A raw answer: status code, Content-Type, body (JSON when it parses, else a string).
pub struct Answer {
    pub code: u16,
    pub headers: http::HeaderMap,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

/// Sends one request as `client` sees it and returns the raw answer.
pub async fn call(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&Value>,
    user_agent: Option<&str>,
) -> Answer {
    let mut headers = Vec::new();
    if !content_type.is_empty() {
        headers.push(("content-type", content_type));
    }
    if let Some(agent) = user_agent {
        headers.push(("user-agent", agent));
    }
    call_with(client, method, path, &headers, body).await
}

/// `call` with any request headers (`accept` for Tables, for instance).
pub async fn call_with(
    client: &kube::Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    call_bytes(client, method, path, headers, bytes).await
}

/// `call_with` with a body sent as it is (YAML, a JSON text Go would read differently).
pub async fn call_bytes(
    client: &kube::Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    bytes: Vec<u8>,
) -> Answer {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(kube::client::Body::from(bytes)).unwrap();
    let response = client.send(request).await.expect("request is sent");
    let code = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let raw = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::String(text.clone()));
    Answer {
        code,
        headers,
        content_type,
        body,
        text,
    }
}

/// A scenario of `tests/fixtures/clusters/` (the ones lbctl's tests use too).
pub fn fixture(name: &str) -> kube_sim::Scenario {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "tests",
        "fixtures",
        "clusters",
        name,
    ]
    .iter()
    .collect();
    kube_sim::Scenario::from_file(&path).expect("the fixture loads")
}

/// A recording of the real API server, or `None` (with a note on stderr) when `../shared` is
/// absent.
pub fn reference(name: &str) -> Option<String> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "..",
        "shared",
        "reference",
        "kube-api-v1.36",
        name,
    ]
    .iter()
    .collect();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            // Straight to the process's stderr: the harness captures `println!`/`eprintln!` of
            // passing tests, and a skip must be visible.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: reference {} is absent",
                path.display()
            );
            None
        }
    }
}

pub fn reference_json(name: &str) -> Option<Value> {
    reference(name).map(|t| serde_json::from_str(&t).expect("reference is JSON"))
}

/// Several recordings at once, or `None` when any is absent.
pub fn references<const N: usize>(names: [&str; N]) -> Option<[Value; N]> {
    let values: Option<Vec<Value>> = names.iter().map(|n| reference_json(n)).collect();
    values.map(|v| v.try_into().expect("one value per name"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences in shape: keys present on one side only and JSON types that differ,
/// recursively (array elements pairwise up to the shorter length). Values may differ.
pub fn shape_diff(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys() {
                match a.get(key) {
                    Some(av) => shape_diff(&e[key], av, &format!("{path}.{key}"), out),
                    None => out.push(format!("{path}.{key}: missing")),
                }
            }
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{key}: unexpected"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a.iter()).enumerate() {
                shape_diff(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (e, a) if type_name(e) != type_name(a) => out.push(format!(
            "{path}: {} instead of {}",
            type_name(a),
            type_name(e)
        )),
        _ => {}
    }
}

pub fn assert_same_shape(expected: &Value, actual: &Value) {
    let mut diffs = Vec::new();
    shape_diff(expected, actual, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "shape differs from the recording:\n{}\nactual: {}",
        diffs.join("\n"),
        serde_json::to_string_pretty(actual).unwrap()
    );
}
