//! Turning `kube::Error` into [`crate::Error`] with the context a user needs.

use crate::Error;

/// What lbctl was doing when a request failed, so a 403 can name the exact permission.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
}

/// Maps an API error to a typed error. `server` and `context` describe the target for
/// connection and credential failures.
/// A failed `GET /version`, the first request of most commands, as an error of `target`.
pub fn version_error(target: &super::ClusterTarget, err: kube::Error) -> Error {
    let req = Request {
        verb: "get",
        resource: "/version",
        namespace: None,
    };
    api_error(err, req, &target.server, &target.context)
}

pub fn api_error(err: kube::Error, req: Request<'_>, server: &str, context: &str) -> Error {
    match err {
        kube::Error::Api(ref status) => {
            let code = status.code;
            let message = status.message.clone();
            match code {
                401 => Error::Unauthorized {
                    context: context.to_string(),
                    message,
                },
                403 => Error::Forbidden {
                    verb: req.verb.to_string(),
                    resource: req.resource.to_string(),
                    namespace: req.namespace.map(str::to_string),
                    message,
                },
                _ => Error::Api {
                    action: describe(&req),
                    code,
                    message,
                },
            }
        }
        ref e if timed_out(e) => Error::RequestTimeout {
            server: server.to_string(),
            action: describe(&req),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => Error::Unreachable {
            server: server.to_string(),
            reason: reason(&err),
        },
        other => Error::Api {
            action: describe(&req),
            code: 0,
            message: reason(&other),
        },
    }
}

/// A failed request in words a user reads: the server's message for an API status, the
/// cause for a connection failure, without kube's and hyper's type names ("ApiError:",
/// "ServiceError:", "client error (SendRequest)") or a `Status { .. }` dump.
pub fn reason(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => {
            let text = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            format!("{text} (HTTP {})", status.code)
        }
        e if timed_out(e) => "no answer within the request timeout; allow more time with --request-timeout, e.g. --request-timeout 2m".to_string(),
        kube::Error::HyperError(e) => plain(&flatten_source(e)),
        kube::Error::Service(e) => plain(&flatten_source(e.as_ref())),
        other => plain(&flatten_source(other)),
    }
}

/// Whether a request failed because it outlived its timeout (`--request-timeout`).
fn timed_out(err: &kube::Error) -> bool {
    if !matches!(err, kube::Error::HyperError(_) | kube::Error::Service(_)) {
        return false;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        let text = e.to_string();
        if text.ends_with("timed out") || text.contains("deadline has elapsed") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Drops the type names libraries put in front of their messages.
fn plain(text: &str) -> String {
    const NOISE: [&str; 8] = [
        "ApiError: ",
        "HyperError: ",
        "ServiceError: ",
        "HttpError: ",
        "client error (SendRequest): ",
        "client error (Connect): ",
        "client error (SendRequest)",
        "client error (Connect)",
    ];
    let mut text = text.to_string();
    for noise in NOISE {
        text = text.replace(noise, "");
    }
    let text = text.trim_start_matches([':', ' ']).to_string();
    if text.is_empty() {
        "the connection failed".to_string()
    } else {
        text
    }
}

fn describe(req: &Request<'_>) -> String {
    match req.namespace {
        Some(ns) => format!("{} {} in namespace {ns}", req.verb, req.resource),
        None => format!("{} {}", req.verb, req.resource),
    }
}

/// Joins an error and its sources ("client error (Connect): tcp connect error: Connection refused").
pub fn flatten_source(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}
