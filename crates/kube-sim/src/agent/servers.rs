//! The HTTPS endpoints a real API server calls on nodes and pods: each kubelet's
//! `/containerLogs` (at the node's loopback address) and MetalLB's webhook (at the controller
//! pod's address), served from the agent's cache.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::cache::Cache;
use crate::cluster::meta;
use crate::cluster::metallb::webhook;
use crate::http::log::{LogAnswer, answer};

/// A TLS server configuration from PEM texts.
pub fn tls_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A self-signed certificate, as a kubelet serves by default (the API server does not verify it).
pub fn self_signed(ip: std::net::IpAddr) -> Result<Arc<rustls::ServerConfig>, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![rcgen::SanType::IpAddress(ip)];
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    tls_config(&cert.pem(), &key.serialize_pem())
}

type Handler = Arc<dyn Fn(Request<Bytes>) -> Response<Full<Bytes>> + Send + Sync>;

/// Serves `handler` over TLS on `listener` until the task is aborted (dropping the listener:
/// connections are refused again, as to a process that stopped).
pub fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    handler: Handler,
) -> JoinHandle<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            Ok::<_, Infallible>(handler(Request::from_parts(parts, body)))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn text(code: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

fn json_response(body: &Value) -> Response<Full<Bytes>> {
    let mut response = text(200, body.to_string());
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The query parameter `key` of a request.
fn query(req: &Request<Bytes>, key: &str) -> Option<String> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A kubelet's `GET /containerLogs/NAMESPACE/POD/CONTAINER` (`tailLines`, `limitBytes`).
pub fn kubelet_logs(
    cache: Arc<Cache>,
    logs: Arc<Mutex<HashMap<(String, String), String>>>,
) -> Handler {
    Arc::new(move |req| {
        let path: Vec<&str> = req
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        let ["containerLogs", namespace, pod_name, container] = path[..] else {
            return text(404, "404 page not found\n".into());
        };
        let Some(pod) = cache.get("Pod", namespace, pod_name) else {
            return text(404, format!("pod {namespace}/{pod_name} not found"));
        };
        let node = cache.get("Node", "", meta::str_at(&pod, &["spec", "nodeName"]));
        let previous = query(&req, "previous").as_deref() == Some("true");
        match answer(&pod, node.as_deref(), Some(container), previous) {
            Err(status) => text(status.code, status.message),
            Ok(LogAnswer::Nothing) => text(200, String::new()),
            // The agent keeps no log of ended containers: a previous one's log is empty.
            Ok(LogAnswer::Log) if previous => text(200, String::new()),
            Ok(LogAnswer::Log) => {
                let log = logs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&(namespace.to_string(), pod_name.to_string()))
                    .cloned()
                    .unwrap_or_default();
                let mut log = match query(&req, "tailLines").and_then(|n| n.parse::<usize>().ok()) {
                    Some(n) => {
                        let lines: Vec<&str> = log.lines().collect();
                        let start = lines.len().saturating_sub(n);
                        lines[start..].iter().map(|l| format!("{l}\n")).collect()
                    }
                    None => log,
                };
                if let Some(limit) = query(&req, "limitBytes").and_then(|n| n.parse::<usize>().ok())
                {
                    let mut cut = limit.min(log.len());
                    while !log.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    log.truncate(cut);
                }
                text(200, log)
            }
        }
    })
}

/// MetalLB's webhook server: `AdmissionReview`s answered by MetalLB's validation rules over the
/// cache, and `ConversionReview`s (BGPPeer versions) answered with the objects at the wanted
/// version.
pub fn metallb_webhook(cache: Arc<Cache>, metallb_namespace: String) -> Handler {
    Arc::new(move |req| {
        let Ok(review) = serde_json::from_slice::<Value>(req.body()) else {
            return text(400, "the body is not a review".into());
        };
        if review["kind"] == "ConversionReview" {
            return json_response(&convert(&review));
        }
        let request = &review["request"];
        let object = request.get("object").filter(|o| !o.is_null());
        let call = webhook::Call {
            group: meta::str_at(request, &["resource", "group"]),
            version: meta::str_at(request, &["resource", "version"]),
            resource: meta::str_at(request, &["resource", "resource"]),
            operation: meta::str_at(request, &["operation"]),
            namespace: meta::str_at(request, &["namespace"]),
            object,
        };
        let world = cache.world();
        let mut response = json!({"uid": request["uid"], "allowed": true});
        if let Err(reason) = webhook::validate(&world, &call, &metallb_namespace) {
            // controller-runtime's admission.Denied: 403 with the reason as the message.
            response["allowed"] = json!(false);
            response["status"] = json!({"metadata": {}, "message": reason, "code": 403});
        }
        json_response(&json!({
            "apiVersion": review["apiVersion"],
            "kind": "AdmissionReview",
            "response": response,
        }))
    })
}

/// Every object at the desired version: MetalLB's BGPPeer versions differ only in fields lbctl
/// does not write, so the apiVersion is what changes.
fn convert(review: &Value) -> Value {
    let request = &review["request"];
    let desired = request["desiredAPIVersion"].clone();
    let objects: Vec<Value> = request["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let mut o = o.clone();
            o["apiVersion"] = desired.clone();
            o
        })
        .collect();
    json!({
        "apiVersion": review["apiVersion"],
        "kind": "ConversionReview",
        "response": {"uid": request["uid"], "convertedObjects": objects, "result": {"status": "Success"}},
    })
}

/// Binds `addr`, or None while another process holds it.
pub async fn bind(addr: SocketAddr) -> Option<TcpListener> {
    TcpListener::bind(addr).await.ok()
}
