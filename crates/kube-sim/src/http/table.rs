//! Table answers (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what `kubectl get`
//! asks for): `meta.k8s.io` Tables of column definitions and one row per object, the row's
//! object as `PartialObjectMetadata` unless `includeObject` says otherwise. The columns come
//! from [`crate::printers`].

use super::route::Target;
use super::{Ctx, Reply, Server, json_reply_typed};
use crate::printers::Printer;
use serde_json::{Value, json};

/// What a row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Include {
    None,
    Metadata,
    Object,
}

/// A request for a Table: the `meta.k8s.io` version asked for and what rows include.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TableRequest {
    pub version: &'static str,
    pub include: Include,
}

/// The Table the Accept header asks for, if its first media type the server can produce is one.
/// Clients list a Table first and plain JSON as the fallback.
pub(crate) fn requested(ctx: &Ctx) -> Option<TableRequest> {
    for media in ctx.header("accept").split(',') {
        let mut parts = media.split(';').map(str::trim);
        let base = parts.next().unwrap_or_default();
        if !matches!(base, "application/json" | "*/*" | "application/*" | "") {
            continue;
        }
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let version = match (param("as"), param("g"), param("v")) {
            (None, _, _) => return None,
            (Some("Table"), Some("meta.k8s.io"), Some("v1")) => "v1",
            (Some("Table"), Some("meta.k8s.io"), Some("v1beta1")) => "v1beta1",
            // Another representation (or version) this server does not produce: next choice.
            _ => continue,
        };
        let include = match ctx.param("includeObject") {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        };
        return Some(TableRequest { version, include });
    }
    None
}

/// The printer for the target's kind: the CRD's columns for custom resources.
pub(crate) fn printer(server: &Server, target: &Target) -> Printer {
    if !target.rt.custom {
        return Printer::builtin(&target.rt.group, &target.rt.plural);
    }
    let crd_name = format!("{}.{}", target.rt.plural, target.rt.group);
    match server.store.get(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        &crd_name,
    ) {
        Some(crd) => Printer::custom(&crd, &target.version),
        None => Printer::Default,
    }
}

/// A Table of `objects` (as stored; `present` puts them in the requested version). `headers`
/// false leaves the column definitions out, as in a watch's events after the first.
pub(crate) fn table<'a>(
    request: &TableRequest,
    printer: &Printer,
    objects: impl IntoIterator<Item = &'a Value>,
    metadata: Value,
    headers: bool,
    now: jiff::Timestamp,
    present: &dyn Fn(&Value) -> Value,
) -> Value {
    let rows: Vec<Value> = objects
        .into_iter()
        .map(|obj| {
            let object = match request.include {
                Include::None => Value::Null,
                Include::Metadata => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": format!("meta.k8s.io/{}", request.version),
                    "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
                }),
                Include::Object => present(obj),
            };
            let mut row = json!({"cells": printer.cells(obj, now), "object": object});
            if let Some(conditions) = printer.conditions(obj) {
                row["conditions"] = conditions;
            }
            row
        })
        .collect();
    let columns = if headers {
        Value::Array(printer.columns().iter().map(|c| c.to_json()).collect())
    } else {
        Value::Null
    };
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{}", request.version),
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

pub(crate) fn reply(request: &TableRequest, table: &Value) -> Reply {
    json_reply_typed(
        200,
        table,
        &format!(
            "application/json;as=Table;v={};g=meta.k8s.io",
            request.version
        ),
    )
}
