//! GET, LIST (selectors, pagination), WATCH, and the pod log.

use super::body::Body;
use super::route::Target;
use super::table;
use super::{Ctx, Reply, Server, json_reply, text_reply};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::Status;
use crate::store::{EventType, WatchEvent};
use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// An object as the client asked for it: in the requested version.
pub(crate) fn present(target: &Target, obj: &Value) -> Value {
    let mut out = obj.clone();
    out["apiVersion"] = json!(target.api_version());
    out["kind"] = json!(target.rt.kind);
    out
}

pub(crate) fn get(server: &Server, ctx: &Ctx, target: &Target) -> Result<Reply, Status> {
    let obj = server
        .store
        .get_typed(&target.rt, target.ns(), target.name())
        .ok_or_else(|| Status::not_found(&target.rt.group, &target.rt.plural, target.name()))?;
    match target.subresource.as_deref() {
        Some("log") => {
            let node_name = obj
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let node = server.store.get("v1", "Node", None, node_name);
            let previous = ctx.param("previous") == Some("true");
            let answer = super::log::answer(&obj, node.as_ref(), ctx.param("container"), previous)?;
            // A pod on no node: kube-apiserver answers 204 No Content (live_fidelity.rs).
            if answer == super::log::LogAnswer::Nothing {
                return Ok(text_reply(204, String::new()));
            }
            let text = match previous {
                true => server.store.previous_pod_log(target.ns(), target.name()),
                false => server.store.pod_log(target.ns(), target.name()),
            }
            .unwrap_or_default();
            let text = match ctx.param("tailLines").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => {
                    let lines: Vec<&str> = text.lines().collect();
                    let start = lines.len().saturating_sub(n);
                    lines[start..].iter().map(|l| format!("{l}\n")).collect()
                }
                None => text,
            };
            Ok(text_reply(200, text))
        }
        _ => match table::requested(ctx) {
            Some(request) => {
                let metadata = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
                let printer = table::printer(server, target);
                let now = server.store.now();
                let presented = |o: &Value| present(target, o);
                let answer =
                    table::table(&request, &printer, [&*obj], metadata, true, now, &presented);
                Ok(table::reply(&request, &answer))
            }
            None => Ok(json_reply(200, &present(target, &obj))),
        },
    }
}

fn selectors(ctx: &Ctx, kind: &str) -> Result<(LabelSelector, FieldSelector), Status> {
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or_default(), kind)?;
    Ok((labels, fields))
}

fn continue_token(rv: u64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

/// The etcd-style key a continue token carries, relative to the listed prefix.
fn start_key(target: &Target, key: &(String, String)) -> String {
    if target.rt.namespaced && target.namespace.is_none() {
        format!("/{}/{}", key.0, key.1)
    } else {
        format!("/{}", key.1)
    }
}

fn parse_continue(target: &Target, token: &str) -> Result<(String, String), Status> {
    let invalid = || Status::bad_request(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    let start = value["start"].as_str().ok_or_else(invalid)?;
    let start = start.trim_end_matches('\u{0}').trim_start_matches('/');
    if target.rt.namespaced && target.namespace.is_none() {
        let (ns, name) = start.split_once('/').ok_or_else(invalid)?;
        Ok((ns.to_string(), name.to_string()))
    } else {
        Ok((target.ns().to_string(), start.to_string()))
    }
}

pub(crate) fn list(server: &Server, ctx: &Ctx, target: &Target) -> Result<Reply, Status> {
    let (labels, fields) = selectors(ctx, &target.rt.kind)?;
    let limit = ctx
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let after = ctx
        .param("continue")
        .filter(|c| !c.is_empty())
        .map(|c| parse_continue(target, c))
        .transpose()?;
    let filter = |obj: &Value| labels.matches(obj) && fields.matches(obj);
    let page = server.store.list_page(
        &target.rt,
        target.namespace.as_deref(),
        after.as_ref(),
        limit,
        &filter,
    );
    let mut metadata = json!({"resourceVersion": page.rv.to_string()});
    if let Some(next) = &page.next {
        metadata["continue"] = json!(continue_token(page.rv, &start_key(target, next)));
        if labels.is_empty() && fields.is_empty() {
            metadata["remainingItemCount"] = json!(page.remaining);
        }
    }
    if let Some(request) = table::requested(ctx) {
        let printer = table::printer(server, target);
        let now = server.store.now();
        let presented = |o: &Value| present(target, o);
        let objects = page.items.iter().map(|o| &**o);
        let answer = table::table(&request, &printer, objects, metadata, true, now, &presented);
        return Ok(table::reply(&request, &answer));
    }
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|obj| {
            let mut item = present(target, obj);
            // Built-in kinds' list items carry no kind/apiVersion on the wire.
            if !target.rt.custom
                && let Some(map) = item.as_object_mut()
            {
                map.remove("kind");
                map.remove("apiVersion");
            }
            item
        })
        .collect();
    Ok(json_reply(
        200,
        &json!({
            "kind": format!("{}List", target.rt.kind),
            "apiVersion": target.api_version(),
            "metadata": metadata,
            "items": items,
        }),
    ))
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

/// Turns a store event into what this watcher sees (selector moves become ADDED/DELETED).
fn visible(
    event: &WatchEvent,
    target: &Target,
    labels: &LabelSelector,
    fields: &FieldSelector,
) -> Option<(&'static str, Value)> {
    let in_scope =
        |obj: &Value| {
            target.namespace.as_deref().is_none_or(|ns| {
                obj.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
            }) && labels.matches(obj)
                && fields.matches(obj)
        };
    let now = in_scope(&event.object);
    let kind = match event.event_type {
        EventType::Added if now => "ADDED",
        EventType::Deleted if now => "DELETED",
        EventType::Modified => {
            let before = event.previous.as_deref().is_some_and(in_scope);
            match (before, now) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return None,
            }
        }
        _ => return None,
    };
    Some((kind, present(target, &event.object)))
}

fn bookmark(target: &Target, rv: u64, initial_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": target.rt.kind, "apiVersion": target.api_version(), "metadata": metadata})
}

fn streaming(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Reply {
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .header("audit-id", crate::meta::new_uid())
        .body(Body::Stream(rx))
        .expect("static headers are valid")
}

pub(crate) fn watch(server: &Arc<Server>, ctx: &Ctx, target: &Target) -> Reply {
    let (labels, fields) = match selectors(ctx, &target.rt.kind) {
        Ok(s) => s,
        Err(status) => return super::status_reply(&status),
    };
    let since = match ctx
        .param("resourceVersion")
        .filter(|rv| !rv.is_empty() && *rv != "0")
    {
        None => None,
        Some(rv) => match rv.parse::<u64>() {
            Ok(rv) => Some(rv),
            Err(_) => {
                return super::status_reply(&Status::bad_request(format!(
                    "invalid resource version: {rv:?}"
                )));
            }
        },
    };
    let streaming_list = ctx.flag("sendInitialEvents");
    let initial = since.is_none() || streaming_list;
    let bookmarks = ctx.flag("allowWatchBookmarks");
    let timeout = ctx
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let close_after = ctx.close_watch_after;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let subscription = if initial {
        server.store.watch(&target.rt, None)
    } else {
        server.store.watch(&target.rt, since)
    };
    let target = target.clone();
    // `kubectl get -w` watches in Tables: one row per event, the columns with the first.
    let as_table = table::requested(ctx).map(|r| (r, table::printer(server, &target)));
    let store = server.store.clone();
    let mut headers = true;
    let mut encode = move |kind: &str, object: Value| match &as_table {
        Some((request, printer)) => {
            let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
            let answer = table::table(
                request,
                printer,
                [&object],
                metadata,
                headers,
                store.now(),
                &|o: &Value| o.clone(),
            );
            headers = false;
            line(kind, answer)
        }
        None => line(kind, object),
    };
    let mut subscription = match subscription {
        Ok(s) => s,
        Err(status) => {
            // An expired resourceVersion is reported inside a 200 stream, as the real server does.
            let _ = tx.try_send(line("ERROR", status.to_json()));
            drop(tx);
            return streaming(rx);
        }
    };
    tokio::spawn(async move {
        let mut sent = 0u32;
        let limit_reached = |sent: u32| close_after.is_some_and(|n| sent >= n);
        let mut last_rv = subscription.rv;
        for event in std::mem::take(&mut subscription.backlog) {
            if let Some((kind, object)) = visible(&event, &target, &labels, &fields) {
                if tx.send(encode(kind, object)).await.is_err() {
                    return;
                }
                sent += 1;
                if limit_reached(sent) {
                    return;
                }
            }
        }
        // Only a streaming list (`sendInitialEvents=true`) is told where the initial state ends;
        // the synthetic ADDED events of a watch from resourceVersion 0 or unset are not.
        if streaming_list && bookmarks {
            let mark = bookmark(&target, subscription.rv, true);
            if tx.send(line("BOOKMARK", mark)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        ticker.tick().await;
        loop {
            tokio::select! {
                event = subscription.receiver.recv() => {
                    let Some(event) = event else { return };
                    last_rv = event.rv;
                    if let Some((kind, object)) = visible(&event, &target, &labels, &fields) {
                        if tx.send(encode(kind, object)).await.is_err() {
                            return;
                        }
                        sent += 1;
                        if limit_reached(sent) {
                            return;
                        }
                    }
                }
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(line("BOOKMARK", bookmark(&target, last_rv, false))).await.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
            }
        }
    });
    streaming(rx)
}
