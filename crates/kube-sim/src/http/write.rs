//! POST, PUT, PATCH, DELETE and deletecollection, with admission, managedFields and dry-run.

use super::read::present;
use super::route::Target;
use super::{Ctx, Reply, Server, auth, json_reply};
use crate::cluster::serviceaccounts;
use crate::control::{AdmissionRequest, Operation};
use crate::crd_rules;
use crate::deletion::Propagation;
use crate::endpoint_rules;
use crate::field_error;
use crate::fields;
use crate::go_types;
use crate::meta;
use crate::object_rules;
use crate::patch;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::Status;
use crate::store::Part;
use crate::typed_decode;
use crate::validation::{self, BodyScan, Directive, Findings};
use hyper::header::HeaderValue;
use serde_json::{Value, json};

fn admission(
    ctx: &Ctx,
    target: &Target,
    operation: Operation,
    name: &str,
    object: Option<&Value>,
    old: Option<&Value>,
) -> AdmissionRequest {
    AdmissionRequest {
        operation,
        group: target.rt.group.clone(),
        version: target.version.clone(),
        resource: target.rt.plural.clone(),
        subresource: target.subresource.clone(),
        kind: target.rt.kind.clone(),
        namespace: target.ns().to_string(),
        name: name.to_string(),
        object: object.cloned(),
        old_object: old.cloned(),
        dry_run: ctx.dry_run(),
        user: ctx.user.name.clone(),
    }
}

/// Rejects bodies whose kind/apiVersion or namespace disagree with the URL, and fills them in.
fn check_body(target: &Target, obj: &mut Value) -> Result<(), Status> {
    if !obj.is_object() {
        return Err(Status::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    if let Some(api_version) = obj.get("apiVersion").and_then(Value::as_str)
        && api_version != target.api_version()
    {
        return Err(Status::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            target.api_version()
        )));
    }
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && kind != target.rt.kind
    {
        return Err(Status::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            target.rt.kind
        )));
    }
    obj["apiVersion"] = json!(target.api_version());
    obj["kind"] = json!(target.rt.kind);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    meta::drop_empty_metadata(obj);
    if let Some(ns) = &target.namespace {
        match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
            Some(given) if !given.is_empty() && given != ns => {
                return Err(Status::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = json!(ns),
        }
    }
    Ok(())
}

/// Typed decoding of a built-in kind's create or update body ([`typed_decode`]): a value of
/// the wrong JSON type is a 400 before anything else is looked at.
fn decode_typed(ctx: &Ctx, target: &Target, obj: &Value) -> Result<(), Status> {
    if target.rt.custom {
        return Ok(());
    }
    let Some(root) = go_types::kind(&target.rt.group, &target.rt.plural) else {
        return Ok(());
    };
    let yaml = ctx.header("content-type").starts_with("application/yaml");
    let node = match yaml {
        true => None,
        false => typed_decode::Node::parse(&ctx.body),
    }
    .unwrap_or_else(|| typed_decode::Node::from_value(obj));
    match typed_decode::check(&root, &node) {
        None => Ok(()),
        Some(why) => Err(Status::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {why}",
            kind = target.rt.kind,
            version = target.version
        ))),
    }
}

/// Field validation of a write's object (`?fieldValidation=`): fields the kind's schema lacks are
/// dropped from `obj`, and with `duplicates_in_body` the JSON body is checked for fields set
/// twice; Strict refuses a write with findings, Warn returns them as `Warning` header values,
/// Ignore returns nothing. A server-side apply (`apply`) is checked as the server makes its
/// typed object: keys the YAML body repeats follow the directive (in the YAML decoder's words),
/// undeclared fields are refused whatever it says (500, structured-merge-diff's words).
fn validate_fields(
    server: &Server,
    ctx: &Ctx,
    target: &Target,
    obj: &mut Value,
    duplicates_in_body: bool,
    apply: bool,
) -> Result<Vec<String>, Status> {
    let directive = Directive::from_query(ctx.param("fieldValidation"))?;
    let schema = if target.rt.custom {
        let crd_name = format!("{}.{}", target.rt.plural, target.rt.group);
        server
            .store
            .get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                &crd_name,
            )
            .and_then(|crd| validation::crd_schema(&crd, &target.version))
    } else {
        validation::builtin_schema(&target.rt.group, &target.rt.plural)
    };
    if apply {
        let repeated = validation::yaml_duplicates(&ctx.body);
        let warnings = match directive {
            Directive::Strict if !repeated.is_empty() => {
                return Err(validation::yaml_strict_error(&repeated));
            }
            Directive::Warn => validation::yaml_warnings(&repeated),
            _ => Vec::new(),
        };
        if let Some(schema) = &schema {
            let unknown = validation::apply_unknown(schema, obj);
            if !unknown.is_empty() {
                return Err(validation::typed_patch_error(
                    obj,
                    &target.api_version(),
                    &target.rt.kind,
                    &unknown,
                ));
            }
        }
        return Ok(warnings);
    }
    let unknown = schema
        .map(|schema| validation::prune_unknown(&schema, obj))
        .unwrap_or_default();
    let scan = if duplicates_in_body {
        BodyScan::of(&ctx.body)
    } else {
        BodyScan::default()
    };
    let findings = Findings::ordered(unknown, &scan, target.rt.custom);
    match directive {
        Directive::Strict if !findings.is_empty() => {
            Err(findings.strict_error(&target.rt.kind, &target.version))
        }
        Directive::Warn => Ok(findings.warnings()),
        _ => Ok(Vec::new()),
    }
}

/// The kind's validation of the object a write would store (`old`: the object it replaces):
/// names for every kind, CustomResourceDefinitions by [`crd_rules`], workloads by
/// [`object_rules`]. A CRD's status is only checked for its name.
fn validate_object(target: &Target, new: &Value, old: Option<&Value>) -> Result<(), Status> {
    let rt = &target.rt;
    let crd = rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions";
    if crd && target.subresource.is_none() {
        return crd_rules::check(new, old);
    }
    meta::validate(&rt.group, &rt.kind, new)?;
    let errors = match (
        rt.group.as_str(),
        rt.plural.as_str(),
        target.subresource.as_deref(),
    ) {
        ("discovery.k8s.io", "endpointslices", None) => endpoint_rules::endpoint_slice(new),
        ("", "pods", Some("status")) => old
            .map(|old| object_rules::pod_status(new, old))
            .unwrap_or_default(),
        (group, plural, None) => object_rules::workload(group, plural, new, old),
        _ => Vec::new(),
    };
    if !errors.is_empty() {
        let name = new
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(field_error::invalid(&rt.group, &rt.kind, name, &errors));
    }
    Ok(())
}

/// Adds `Warning` headers (field validation's findings) to an answer.
fn with_warnings(mut reply: Reply, warnings: &[String]) -> Reply {
    for warning in warnings {
        if let Ok(value) = HeaderValue::from_str(warning) {
            reply.headers_mut().append("warning", value);
        }
    }
    reply
}

/// What each kind's create strategy does to `status` (client-sent status is not accepted).
fn reset_status(target: &Target, obj: &mut Value) {
    let rt = &target.rt;
    if !rt.has_status() || rt.plural == "nodes" || rt.plural == "namespaces" {
        return;
    }
    let fresh = match (rt.group.as_str(), rt.plural.as_str()) {
        ("apps", "daemonsets") => Some(json!({
            "currentNumberScheduled": 0, "numberMisscheduled": 0,
            "desiredNumberScheduled": 0, "numberReady": 0})),
        ("apps", "replicasets") => Some(json!({"replicas": 0})),
        ("", "services") => Some(json!({"loadBalancer": {}})),
        // qosClass is computed from the spec by the pod admission (defaults::on_create).
        ("", "pods") => Some(json!({"phase": "Pending"})),
        _ if rt.custom => None,
        _ => Some(json!({})),
    };
    match (fresh, obj.as_object_mut()) {
        (Some(status), Some(map)) => {
            map.insert("status".into(), status);
        }
        (None, Some(map)) => {
            map.remove("status");
        }
        _ => {}
    }
}

/// The ServiceAccount admission plugin (mutating admission, before validation): a pod whose
/// ServiceAccount does not exist is refused with 403 (`pods "p" is forbidden: error looking up
/// service account default/missing: serviceaccount "missing" not found`). A pod in a namespace
/// that does not exist is left to the store's 404, as namespace admission comes first.
fn service_account_admission(server: &Server, target: &Target, pod: &Value) -> Result<(), Status> {
    if !(target.rt.group.is_empty() && target.rt.plural == "pods") || target.subresource.is_some() {
        return Ok(());
    }
    let ns = target.ns();
    let account = serviceaccounts::account_of(pod);
    if server.store.get("v1", "Namespace", None, ns).is_none()
        || server
            .store
            .get("v1", "ServiceAccount", Some(ns), account)
            .is_some()
    {
        return Ok(());
    }
    let name = ["name", "generateName"]
        .iter()
        .filter_map(|k| pod["metadata"].get(*k).and_then(Value::as_str))
        .find(|n| !n.is_empty())
        .unwrap_or_default();
    Err(Status::forbidden(
        "",
        "pods",
        name,
        &serviceaccounts::lookup_error(ns, account),
    ))
}

/// Before a pod create: while the namespace's `default` ServiceAccount, which the pod runs as,
/// does not exist yet, wait for it as the admission plugin does (10 lookups 100-200 ms apart),
/// so a pod created right after its namespace finds the account the controllers create.
pub(crate) async fn await_default_service_account(server: &Server, ctx: &Ctx, target: &Target) {
    if !(target.rt.group.is_empty() && target.rt.plural == "pods") || target.subresource.is_some() {
        return;
    }
    let Ok(pod) = ctx.object_body() else {
        return;
    };
    let ns = target.ns();
    if serviceaccounts::account_of(&pod) != "default"
        || server.store.get("v1", "Namespace", None, ns).is_none()
    {
        return;
    }
    let pause = std::time::Duration::from_millis(100 + fastrand::u64(0..100));
    for _ in 0..9 {
        if server
            .store
            .get("v1", "ServiceAccount", Some(ns), "default")
            .is_some()
        {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

/// The last steps of every create: admission, then the store (which may still refuse).
fn admit_and_create(
    server: &Server,
    ctx: &Ctx,
    target: &Target,
    name: &str,
    obj: Value,
) -> Result<Reply, Status> {
    server.admit(&admission(
        ctx,
        target,
        Operation::Create,
        name,
        Some(&obj),
        None,
    ))?;
    let created = server
        .store
        .create_typed(&target.rt, obj, ctx.dry_run(), None)?;
    Ok(json_reply(201, &present(target, &created)))
}

pub(crate) fn create(server: &Server, ctx: &Ctx, target: &Target) -> Result<Reply, Status> {
    if target.subresource.is_some() || target.name.is_some() {
        return Err(Status::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let mut obj = ctx.object_body()?;
    if target.rt.virtual_only {
        return review(server, ctx, target, obj);
    }
    decode_typed(ctx, target, &obj)?;
    check_body(target, &mut obj)?;
    let warnings = validate_fields(server, ctx, target, &mut obj, true, false)?;
    service_account_admission(server, target, &obj)?;
    let meta = obj["metadata"].as_object_mut().expect("checked above");
    for server_owned in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
        "managedFields",
    ] {
        meta.remove(server_owned);
    }
    let named = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !named
        && let Some(prefix) = meta
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
    {
        let name = format!("{prefix}{}", meta::name_suffix());
        meta.insert("name".into(), json!(name));
    }
    reset_status(target, &mut obj);
    validate_object(target, &obj, None)?;
    crate::store::owned_defaults(&target.rt, &mut obj);
    let now = server.store.now_string();
    fields::record_update(
        None,
        &mut obj,
        &ctx.field_manager(),
        &target.api_version(),
        &now,
        None,
    );
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    admit_and_create(server, ctx, target, &name, obj).map(|r| with_warnings(r, &warnings))
}

fn review(server: &Server, ctx: &Ctx, target: &Target, body: Value) -> Result<Reply, Status> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let status = match target.rt.plural.as_str() {
        "selfsubjectaccessreviews" => {
            if spec.get("resourceAttributes").is_none()
                && spec.get("nonResourceAttributes").is_none()
            {
                return Err(Status::invalid(
                    &target.rt.group,
                    &target.rt.kind,
                    "",
                    &[(
                        "spec.resourceAttributes".into(),
                        "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
                        "FieldValueRequired",
                    )],
                ));
            }
            auth::access_review(&ctx.user, &spec)
        }
        _ => auth::rules_review(&ctx.user, spec["namespace"].as_str().unwrap_or_default()),
    };
    let mut out = json!({
        "kind": target.rt.kind,
        "apiVersion": target.api_version(),
        "metadata": {},
        "spec": spec,
    });
    let now = server.store.now_string();
    fields::record_update(
        None,
        &mut out,
        &ctx.field_manager(),
        &target.api_version(),
        &now,
        None,
    );
    out["status"] = status;
    Ok(json_reply(201, &out))
}

/// Makes a replacement of `old` from the client's object, keeping what the subresource
/// may not change (status for the main resource, everything but status for `/status`).
fn merge_parts(target: &Target, old: &Value, mut new: Value) -> Value {
    match target.subresource.as_deref() {
        Some("status") => {
            let mut merged = old.clone();
            match new.get("status") {
                Some(status) => merged["status"] = status.clone(),
                None => {
                    if let Some(map) = merged.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            if let Some(rv) = new.pointer("/metadata/resourceVersion") {
                merged["metadata"]["resourceVersion"] = rv.clone();
            }
            if target.rt.group.is_empty() && target.rt.plural == "pods" {
                object_rules::pod_status_backfill(&mut merged, old);
            }
            merged
        }
        _ if target.rt.has_status() => {
            match old.get("status") {
                Some(status) => new["status"] = status.clone(),
                None => {
                    if let Some(map) = new.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            new
        }
        _ => new,
    }
}

pub(crate) fn update(server: &Server, ctx: &Ctx, target: &Target) -> Result<Reply, Status> {
    let mut obj = ctx.object_body()?;
    decode_typed(ctx, target, &obj)?;
    check_body(target, &mut obj)?;
    let warnings = validate_fields(server, ctx, target, &mut obj, true, false)?;
    let name = target.name().to_string();
    match obj.pointer("/metadata/name").and_then(Value::as_str) {
        Some(given) if given != name => {
            return Err(Status::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        _ => obj["metadata"]["name"] = json!(name),
    }
    let old = server
        .store
        .get_typed(&target.rt, target.ns(), &name)
        .ok_or_else(|| Status::not_found(&target.rt.group, &target.rt.plural, &name))?;
    let old = present(target, &old);
    let mut new = merge_parts(target, &old, obj);
    validate_object(target, &new, Some(&old))?;
    let now = server.store.now_string();
    fields::record_update(
        Some(&old),
        &mut new,
        &ctx.field_manager(),
        &target.api_version(),
        &now,
        target.subresource.as_deref(),
    );
    server.admit(&admission(
        ctx,
        target,
        Operation::Update,
        &name,
        Some(&new),
        Some(&old),
    ))?;
    let stored = server
        .store
        .replace_typed(&target.rt, new, Part::All, ctx.dry_run(), None)?;
    Ok(with_warnings(
        json_reply(200, &present(target, &stored)),
        &warnings,
    ))
}

pub(crate) fn patch(server: &Server, ctx: &Ctx, target: &Target) -> Result<Reply, Status> {
    let content_type = ctx
        .header("content-type")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let kind = patch::PatchKind::from_content_type(&content_type, target.rt.custom)?;
    let name = target.name().to_string();
    let manager = ctx.field_manager();
    let force = ctx.flag("force");
    if kind == patch::PatchKind::Apply && ctx.param("fieldManager").is_none_or(str::is_empty) {
        return Err(Status::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    // Optimistic concurrency: a controller may write between our read and our write; retry
    // unless the client pinned a resourceVersion itself.
    for _ in 0..5 {
        let Some(old) = server.store.get_typed(&target.rt, target.ns(), &name) else {
            if kind == patch::PatchKind::Apply && target.subresource.is_none() {
                return apply_create(server, ctx, target, &manager);
            }
            return Err(Status::not_found(
                &target.rt.group,
                &target.rt.plural,
                &name,
            ));
        };
        let old = present(target, &old);
        let now = server.store.now_string();
        let (patched, pinned, warnings) = match kind {
            patch::PatchKind::Apply => {
                let mut config = patch::parse_apply_body(&ctx.body)?;
                let warnings = validate_fields(server, ctx, target, &mut config, true, true)?;
                let pinned = config.pointer("/metadata/resourceVersion").is_some();
                let applied = crate::apply::apply(
                    &old,
                    &config,
                    &manager,
                    force,
                    &target.api_version(),
                    &now,
                    target.subresource.as_deref(),
                )?;
                (applied, pinned, warnings)
            }
            _ => {
                let body = ctx.json_body()?;
                let pinned = body.pointer("/metadata/resourceVersion").is_some();
                let mut patched = patch::apply_patch(kind, &old, &body)?;
                patched["apiVersion"] = json!(target.api_version());
                patched["kind"] = json!(target.rt.kind);
                meta::drop_empty_metadata(&mut patched);
                let warnings = validate_fields(server, ctx, target, &mut patched, true, false)?;
                (patched, pinned, warnings)
            }
        };
        let mut new = merge_parts(target, &old, patched);
        if kind != patch::PatchKind::Apply {
            fields::record_update(
                Some(&old),
                &mut new,
                &manager,
                &target.api_version(),
                &now,
                target.subresource.as_deref(),
            );
        }
        validate_object(target, &new, Some(&old))?;
        server.admit(&admission(
            ctx,
            target,
            Operation::Update,
            &name,
            Some(&new),
            Some(&old),
        ))?;
        match server
            .store
            .replace_typed(&target.rt, new, Part::All, ctx.dry_run(), None)
        {
            Ok(stored) => {
                let reply = json_reply(200, &present(target, &stored));
                return Ok(with_warnings(reply, &warnings));
            }
            Err(status) if status.code == 409 && !pinned => continue,
            Err(status) => return Err(status),
        }
    }
    Err(Status::stale(&target.rt.group, &target.rt.plural, &name))
}

/// Server-side apply of an object that does not exist yet: a create owned by `manager`.
fn apply_create(
    server: &Server,
    ctx: &Ctx,
    target: &Target,
    manager: &str,
) -> Result<Reply, Status> {
    let mut config = patch::parse_apply_body(&ctx.body)?;
    check_body(target, &mut config)?;
    let warnings = validate_fields(server, ctx, target, &mut config, true, true)?;
    service_account_admission(server, target, &config)?;
    let name = target.name().to_string();
    match config.pointer("/metadata/name").and_then(Value::as_str) {
        Some(given) if given != name => {
            return Err(Status::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        _ => config["metadata"]["name"] = json!(name),
    }
    let now = server.store.now_string();
    let mut obj = crate::apply::apply(
        &json!({}),
        &config,
        manager,
        true,
        &target.api_version(),
        &now,
        None,
    )?;
    reset_status(target, &mut obj);
    validate_object(target, &obj, None)?;
    admit_and_create(server, ctx, target, &name, obj).map(|r| with_warnings(r, &warnings))
}

/// Delete options from the body (DeleteOptions) or the query.
fn precondition_rv(ctx: &Ctx) -> Option<u64> {
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or_default();
    body.pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|rv| rv.parse().ok())
}

/// The grace period a delete gives a pod (the pod strategy's `CheckGracefulDelete`): the
/// request's `gracePeriodSeconds` (from the DeleteOptions body, else the query), else the pod's
/// `terminationGracePeriodSeconds` (defaulted to 30); 0 for pods never bound to a node or already
/// finished; negative periods count as 1. None for every other kind (deleted at once).
fn grace_period(ctx: &Ctx, target: &Target, obj: &Value) -> Option<i64> {
    if !(target.rt.group.is_empty() && target.rt.plural == "pods") {
        return None;
    }
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or_default();
    let requested = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        ctx.param("gracePeriodSeconds")
            .and_then(|s| s.parse::<i64>().ok())
    } else {
        body["gracePeriodSeconds"].as_i64()
    };
    let unbound = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    let finished = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    let period = if unbound || finished {
        0
    } else {
        requested
            .or_else(|| {
                obj.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30)
    };
    Some(if period < 0 { 1 } else { period })
}

/// Kinds whose delete answers with the object rather than a success `Status`.
fn returns_object(target: &Target) -> bool {
    target.rt.custom || (target.rt.group.is_empty() && target.rt.plural == "pods")
}

/// The delete's propagation policy ([`Propagation`]), refused before anything else.
fn propagation(ctx: &Ctx) -> Result<Propagation, Status> {
    Propagation::from_request(&ctx.body, |key| ctx.param(key).map(str::to_string))
}

pub(crate) fn delete(server: &Server, ctx: &Ctx, target: &Target) -> Result<Reply, Status> {
    let propagation = propagation(ctx)?;
    let name = target.name().to_string();
    let old = server
        .store
        .get_typed(&target.rt, target.ns(), &name)
        .ok_or_else(|| Status::not_found(&target.rt.group, &target.rt.plural, &name))?;
    let old = present(target, &old);
    server.admit(&admission(
        ctx,
        target,
        Operation::Delete,
        &name,
        None,
        Some(&old),
    ))?;
    let (obj, gone) = server.store.delete_typed(
        &target.rt,
        target.ns(),
        &name,
        precondition_rv(ctx),
        grace_period(ctx, target, &old),
        propagation.finalizers(&old),
        ctx.dry_run(),
    )?;
    if gone && !returns_object(target) {
        let mut details = json!({"name": name, "kind": target.rt.plural});
        if !target.rt.group.is_empty() {
            details["group"] = json!(target.rt.group);
        }
        details["uid"] = obj.pointer("/metadata/uid").cloned().unwrap_or_default();
        return Ok(json_reply(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        ));
    }
    Ok(json_reply(200, &present(target, &obj)))
}

pub(crate) fn delete_collection(
    server: &Server,
    ctx: &Ctx,
    target: &Target,
) -> Result<Reply, Status> {
    let propagation = propagation(ctx)?;
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(
        ctx.param("fieldSelector").unwrap_or_default(),
        &target.rt.kind,
    )?;
    let filter = |obj: &Value| labels.matches(obj) && fields.matches(obj);
    let page = server
        .store
        .list_page(&target.rt, target.namespace.as_deref(), None, None, &filter);
    let mut items = Vec::new();
    for obj in page.items {
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut one = admission(ctx, target, Operation::Delete, name, None, Some(&obj));
        one.namespace = ns.to_string();
        server.admit(&one)?;
        if let Ok((deleted, _)) = server.store.delete_typed(
            &target.rt,
            ns,
            name,
            None,
            grace_period(ctx, target, &obj),
            propagation.finalizers(&obj),
            ctx.dry_run(),
        ) {
            let mut item = present(target, &deleted);
            if !target.rt.custom
                && let Some(map) = item.as_object_mut()
            {
                map.remove("kind");
                map.remove("apiVersion");
            }
            items.push(item);
        }
    }
    Ok(json_reply(
        200,
        &json!({
            "kind": format!("{}List", target.rt.kind),
            "apiVersion": target.api_version(),
            "metadata": {"resourceVersion": server.store.resource_version().to_string()},
            "items": items,
        }),
    ))
}
