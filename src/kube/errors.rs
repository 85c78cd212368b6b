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
pub fn api_error(err: kube::Error, req: Request<'_>, server: &str, context: &str) -> Error {
    match err {
        kube::Error::Api(status) => {
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
        kube::Error::HyperError(e) => Error::Unreachable {
            server: server.to_string(),
            reason: e.to_string(),
        },
        kube::Error::Service(e) => Error::Unreachable {
            server: server.to_string(),
            reason: flatten_source(e.as_ref()),
        },
        other => Error::Api {
            action: describe(&req),
            code: 0,
            message: other.to_string(),
        },
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
