//! `/_sim/` control endpoints, mirroring `SimHandle`: faults, request log, pause/resume/advance,
//! settings.

use super::{Reply, Server, json_reply, status_reply};
use crate::control::Fault;
use crate::status::Status;
use hyper::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) fn handle(
    server: &Server,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Reply {
    match (method, path.trim_end_matches('/')) {
        (&Method::GET, "requests") => json_reply(200, &json!(server.control.requests())),
        (&Method::DELETE, "requests") => {
            server.control.clear_requests();
            json_reply(200, &json!({}))
        }
        (&Method::POST, "faults") => match serde_json::from_slice::<Fault>(body) {
            Ok(fault) => {
                server.control.inject(fault.clone());
                json_reply(201, &json!(fault))
            }
            Err(e) => status_reply(&Status::bad_request(format!("invalid fault: {e}"))),
        },
        (&Method::DELETE, "faults") => {
            server.control.clear_faults();
            json_reply(200, &json!({}))
        }
        (&Method::GET, "settings") => {
            json_reply(200, &crate::settings_json(&server.store.settings()))
        }
        (&Method::PATCH, "settings") => {
            let patch = match serde_json::from_slice::<Value>(body) {
                Ok(patch) => patch,
                Err(e) => {
                    return status_reply(&Status::bad_request(format!(
                        "invalid settings patch: {e}"
                    )));
                }
            };
            match crate::patch_settings(&server.store, &patch) {
                Ok(settings) => json_reply(200, &settings),
                Err(e) => status_reply(&Status::bad_request(e.to_string())),
            }
        }
        (&Method::POST, "pause") => {
            crate::pause(&server.store, &server.controllers);
            json_reply(200, &json!({"paused": true}))
        }
        (&Method::POST, "resume") => {
            crate::resume(&server.store, &server.controllers);
            json_reply(200, &json!({"paused": false}))
        }
        (&Method::POST, "advance") => {
            let by = query.get("by").map(String::as_str).unwrap_or("0s");
            match humantime::parse_duration(by) {
                Ok(duration) => {
                    crate::advance(&server.store, &server.controllers, duration);
                    json_reply(200, &json!({"now": server.store.now_string()}))
                }
                Err(e) => status_reply(&Status::bad_request(format!(
                    "invalid duration {by:?}: {e}"
                ))),
            }
        }
        _ => status_reply(
            &Status::new(
                404,
                Some("NotFound"),
                format!("no control endpoint /_sim/{path}"),
            )
            .with_details(json!({})),
        ),
    }
}
