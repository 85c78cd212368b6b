//! The HTTP front: accepts connections on 127.0.0.1, authenticates, applies injected faults,
//! routes to the verb handlers and logs every request.

mod auth;
mod body;
mod discovery;
pub(crate) mod log;
mod openapi;
mod read;
mod route;
mod sim;
mod table;
mod write;

pub use body::Body;

use crate::control::{AdmissionHook, Control, Controllers, FaultAction, LoggedRequest};
use crate::scenario::{Rule, Scenario};
use crate::status::Status;
use crate::store::Store;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Who a token belongs to and what they may do (`None`: everything).
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub name: String,
    pub rules: Option<Vec<Rule>>,
}

/// Everything the handlers share.
pub(crate) struct Server {
    pub store: Store,
    pub control: Arc<Control>,
    pub controllers: Arc<Controllers>,
    pub hooks: Vec<AdmissionHook>,
    pub tokens: HashMap<String, Identity>,
    pub git_version: String,
    pub major: String,
    pub minor: String,
    pub address: String,
}

/// One parsed request.
pub(crate) struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub user: Identity,
    /// Set by the router for the request log.
    pub verb: String,
    /// An injected "close the watch after N events".
    pub close_watch_after: Option<u32>,
}

impl Ctx {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    /// `dryRun=All`: in the query, or for a delete also in its DeleteOptions body (where
    /// kube-rs and client-go put it).
    pub fn dry_run(&self) -> bool {
        let in_body = || {
            serde_json::from_slice::<Value>(&self.body).is_ok_and(|b| {
                b["dryRun"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == "All"))
            })
        };
        self.param("dryRun") == Some("All") || (self.method == Method::DELETE && in_body())
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The field manager of a write: `?fieldManager=`, else the User-Agent's program name.
    pub fn field_manager(&self) -> String {
        if let Some(m) = self.param("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        let agent = self.header("user-agent");
        let program = agent.split('/').next().unwrap_or_default().trim();
        if program.is_empty() {
            "unknown".into()
        } else {
            program.chars().take(128).collect()
        }
    }

    /// The object of a create or update, in the media types kube-sim decodes (JSON, YAML); any
    /// other (kubectl's typed clients send protobuf) is a 415, as the real server answers a
    /// type it cannot decode.
    pub fn object_body(&self) -> Result<Value, Status> {
        let content_type = self.header("content-type");
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match media {
            "" | "application/json" | "*/*" => self.json_body(),
            "application/yaml" => serde_saphyr::from_slice(&self.body).map_err(|e| {
                Status::bad_request(format!(
                    "the body of the request could not be decoded as YAML: {e}"
                ))
            }),
            _ => Err(Status::new(
                415,
                Some("UnsupportedMediaType"),
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (kube-sim does not decode {media})"
                ),
            )),
        }
    }

    pub fn json_body(&self) -> Result<Value, Status> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Status::bad_request(format!(
                "the body of the request could not be decoded as JSON: {e}"
            ))
        })
    }
}

pub(crate) type Reply = Response<Body>;

fn base(code: u16) -> hyper::http::response::Builder {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("cache-control", "no-cache, private")
        .header("audit-id", crate::meta::new_uid())
}

pub(crate) fn json_reply(code: u16, value: &Value) -> Reply {
    json_reply_typed(code, value, "application/json")
}

pub(crate) fn json_reply_typed(code: u16, value: &Value, content_type: &str) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_default();
    base(code)
        .header("content-type", content_type)
        .body(Body::full(body))
        .expect("static headers are valid")
}

pub(crate) fn status_reply(status: &Status) -> Reply {
    let mut reply = json_reply(status.code, &status.to_json());
    if let Some(secs) = status
        .details
        .as_ref()
        .and_then(|d| d.get("retryAfterSeconds"))
        .and_then(Value::as_u64)
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        reply.headers_mut().insert("retry-after", value);
    }
    reply
}

/// The 404 for a path that names no resource (unknown group, version or kind).
pub(crate) fn no_such_resource() -> Reply {
    status_reply(&Status::no_such_resource())
}

/// An error written by Go's `http.Error` before the request reaches the API handlers (the
/// priority-and-fairness filter, the aggregator's proxy): plain text, not a `Status`.
fn plain_error(code: u16, message: &str, retry_after: Option<u32>) -> Reply {
    let mut builder = base(code)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-content-type-options", "nosniff");
    if let Some(secs) = retry_after {
        builder = builder.header("retry-after", secs);
    }
    builder
        .body(Body::full(format!("{message}\n").into_bytes()))
        .expect("static headers are valid")
}

/// The answer to a request an injected fault makes fail, as the real server words it.
fn injected_reply(server: &Server, ctx: &Ctx, code: u16) -> Reply {
    match code {
        // Priority and fairness rejected the request (maxinflight.go's `tooManyRequests`).
        429 => plain_error(429, "Too many requests, please try again later.", Some(1)),
        // An aggregated API whose backing service is down (kube-aggregator's `proxyError`).
        503 => plain_error(503, "service unavailable", None),
        _ => status_reply(&route::injected_status(server, ctx, code)),
    }
}

pub(crate) fn text_reply(code: u16, text: String) -> Reply {
    base(code)
        .header("content-type", "text/plain")
        .body(Body::full(text.into_bytes()))
        .expect("static headers are valid")
}

impl Server {
    pub async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Reply, std::convert::Infallible> {
        let (parts, incoming) = request.into_parts();
        let body = incoming
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let path = parts.uri.path().to_string();
        let raw_query = parts.uri.query().unwrap_or_default().to_string();
        let query: HashMap<String, String> = form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        if let Some(rest) = path.strip_prefix("/_sim/") {
            return Ok(sim::handle(&self, &parts.method, rest, &query, &body));
        }
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(user) = token.and_then(|t| self.tokens.get(t)).cloned() else {
            let reply = status_reply(&Status::unauthorized());
            self.log(&parts.method, &path, &raw_query, 401, None);
            return Ok(reply);
        };
        let mut ctx = Ctx {
            method: parts.method.clone(),
            path: path.clone(),
            query,
            headers: parts.headers,
            body,
            user,
            verb: String::new(),
            close_watch_after: None,
        };
        let mut injected = None;
        for action in self.control.take_faults(ctx.method.as_str(), &path) {
            match action {
                FaultAction::Status(code) => injected = Some(code),
                FaultAction::LatencyMs(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                FaultAction::CloseWatchAfter(n) => ctx.close_watch_after = Some(n),
            }
        }
        let reply = match injected {
            Some(code) => {
                ctx.verb = route::verb_of(&ctx);
                injected_reply(&self, &ctx, code)
            }
            None => route::dispatch(&self, &mut ctx).await,
        };
        self.log(
            &ctx.method,
            &path,
            &raw_query,
            reply.status().as_u16(),
            Some(&ctx),
        );
        Ok(reply)
    }

    /// Records a served request; `ctx` is `None` when it was never authenticated.
    fn log(&self, method: &Method, path: &str, query: &str, status: u16, ctx: Option<&Ctx>) {
        self.control.record(LoggedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            status,
            user: ctx.map(|c| c.user.name.clone()).unwrap_or_default(),
            verb: ctx.map(|c| c.verb.clone()).unwrap_or_default(),
            dry_run: ctx.is_some_and(Ctx::dry_run),
        });
    }

    /// Runs the built-in Pod Security admission, then the admission hooks (as the API server
    /// runs its own validating plugins before webhooks); the first rejection wins.
    pub fn admit(&self, request: &crate::control::AdmissionRequest) -> Result<(), Status> {
        if request.operation == crate::control::Operation::Create
            && request.group.is_empty()
            && request.resource == "pods"
            && request.subresource.is_none()
            && let Some(pod) = &request.object
            && let Some(namespace) = self.store.get("v1", "Namespace", None, &request.namespace)
            && let Some(why) = crate::pod_security::violation(&namespace, pod)
        {
            return Err(Status::forbidden("", "pods", &request.name, &why));
        }
        for hook in &self.hooks {
            hook(request, &self.store)?;
        }
        Ok(())
    }
}

/// Builds the token table: `admin` (everything) plus the scenario's users.
pub(crate) fn identities(scenario: &Scenario) -> HashMap<String, Identity> {
    let mut tokens = HashMap::new();
    tokens.insert(
        scenario.token_of("admin"),
        Identity {
            name: "admin".into(),
            rules: None,
        },
    );
    for (name, user) in &scenario.users {
        if name == "admin" {
            continue;
        }
        tokens.insert(
            scenario.token_of(name),
            Identity {
                name: name.clone(),
                rules: Some(user.rules.clone()),
            },
        );
    }
    tokens
}

/// Serves until `shutdown` fires.
pub(crate) async fn serve(
    server: Arc<Server>,
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| server.clone().handle(req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
