//! `-vv`: one stderr line per API request, written when the response headers arrive (so a
//! watch shows up when it starts, not when it ends), like kubectl `-v=6`:
//! `GET https://10.0.0.1:6443/api/v1/nodes?limit=500 200 OK in 12 milliseconds`.
//! The layer sits outside kube's stack: the Authorization header is added further in and
//! never seen here, and bodies are never read.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{Request, Response};
use tower::{Layer, Service};

use crate::verbose;

/// The URL as kubectl shows it. kube sends path and query only (the base URL is added
/// further in) and writes `nodes?` and `pods?&watch=true`: drop the empty parts.
fn shown_url(server: &str, uri: &http::Uri) -> String {
    let base = match (uri.scheme(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => server.to_string(),
    };
    let query = uri.query().unwrap_or_default().trim_start_matches('&');
    if query.is_empty() {
        format!("{base}{}", uri.path())
    } else {
        format!("{base}{}?{query}", uri.path())
    }
}

#[derive(Clone)]
pub struct RequestLogLayer {
    /// The API server URL without a trailing slash; requests carry only path and query.
    pub server: String,
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog {
            inner,
            server: self.server.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestLog<S> {
    inner: S,
    server: String,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let line = format!("{} {}", req.method(), shown_url(&self.server, req.uri()));
        let start = Instant::now();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            let took = verbose::millis(start.elapsed());
            match &result {
                Ok(r) => verbose::say(2, || format!("{line} {} in {took}", r.status())),
                Err(e) => verbose::say(2, || format!("{line} failed in {took}: {e}")),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn urls_read_like_kubectl() {
        let server = "https://10.0.0.1:6443";
        let cases = [
            ("/api/v1/nodes?", "https://10.0.0.1:6443/api/v1/nodes"),
            ("/version", "https://10.0.0.1:6443/version"),
            (
                "/api/v1/pods?&watch=true&limit=5",
                "https://10.0.0.1:6443/api/v1/pods?watch=true&limit=5",
            ),
            ("https://other:1/api?x=1", "https://other:1/api?x=1"),
        ];
        for (uri, want) in cases {
            assert_eq!(shown_url(server, &uri.parse().unwrap()), want, "{uri}");
        }
    }
}
