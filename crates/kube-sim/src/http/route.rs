//! URL parsing and dispatch to the verb handlers.

use super::{Ctx, Reply, Server, auth, discovery, openapi, read, status_reply, write};
use crate::resources::ResourceType;
use crate::status::Status;
use hyper::Method;
use std::sync::Arc;

/// A resource request: `/api/v1/namespaces/ns/pods/name/log`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub rt: Arc<ResourceType>,
    /// The version the client asked for (objects are answered in it).
    pub version: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    pub fn api_version(&self) -> String {
        if self.rt.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.rt.group, self.version)
        }
    }

    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

enum Parsed {
    Discovery(Reply),
    Resource(Target),
    NotFound,
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn parse(server: &Server, ctx: &Ctx) -> Parsed {
    let segs = segments(&ctx.path);
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Parsed::Discovery(discovery::version(server)),
        ["healthz" | "livez" | "readyz"] => {
            return Parsed::Discovery(super::text_reply(200, "ok".into()));
        }
        ["openapi", "v3"] => return Parsed::Discovery(openapi::root(server)),
        ["openapi", "v3", rest @ ..] => {
            return Parsed::Discovery(openapi::group_version(server, rest));
        }
        ["api"] => return Parsed::Discovery(discovery::api(server, ctx)),
        ["apis"] => return Parsed::Discovery(discovery::apis(server, ctx)),
        ["api", version] => {
            return Parsed::Discovery(discovery::group_version(server, "", version));
        }
        ["apis", group] => return Parsed::Discovery(discovery::group(server, group)),
        ["apis", group, version] => {
            return Parsed::Discovery(discovery::group_version(server, group, version));
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Parsed::NotFound,
    };
    let lookup = |plural: &str| server.store.resource_by_plural(group, version, plural);
    let target = |rt, namespace: Option<&str>, name: Option<&&str>, sub: Option<&&str>| Target {
        rt,
        version: version.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(|n| n.to_string()),
        subresource: sub.map(|s| s.to_string()),
    };
    let parsed = match rest {
        // `/api/v1/namespaces/<ns>[/status|/finalize]` is the Namespace itself.
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            lookup("namespaces").map(|rt| target(rt, None, Some(ns), Some(sub)))
        }
        ["namespaces", ns] if group.is_empty() => {
            lookup("namespaces").map(|rt| target(rt, None, Some(ns), None))
        }
        ["namespaces", ns, plural, more @ ..] if more.len() <= 2 => lookup(plural)
            .filter(|rt| rt.namespaced)
            .map(|rt| target(rt, Some(ns), more.first(), more.get(1))),
        [plural, more @ ..] if more.len() <= 2 => lookup(plural).and_then(|rt| {
            // A namespaced kind by name needs its namespace.
            if rt.namespaced && !more.is_empty() {
                None
            } else {
                Some(target(rt, None, more.first(), more.get(1)))
            }
        }),
        _ => None,
    };
    match parsed {
        Some(t) => match &t.subresource {
            Some(sub) if !t.rt.subresources.iter().any(|s| s.name == *sub) => Parsed::NotFound,
            _ => Parsed::Resource(t),
        },
        None => Parsed::NotFound,
    }
}

/// The `Status` of an injected fault: on a resource path, what the real server answers about
/// that object (the name comes from the path, or from the body of a create).
pub(crate) fn injected_status(server: &Server, ctx: &Ctx, code: u16) -> Status {
    let Parsed::Resource(target) = parse(server, ctx) else {
        return Status::for_code(code);
    };
    let (group, plural) = (&target.rt.group, &target.rt.plural);
    let name = match &target.name {
        Some(name) => name.clone(),
        None => ctx
            .json_body()
            .ok()
            .and_then(|b| b["metadata"]["name"].as_str().map(str::to_string))
            .unwrap_or_default(),
    };
    match code {
        409 => Status::stale(group, plural, &name),
        404 if !name.is_empty() => Status::not_found(group, plural, &name),
        _ => Status::for_code(code),
    }
}

/// The Kubernetes verb of a request (for RBAC and the request log).
pub(crate) fn verb_of(ctx: &Ctx) -> String {
    let segs = segments(&ctx.path);
    let named = match segs.as_slice() {
        ["api", _, "namespaces", _] | ["api", _, "namespaces", _, "status" | "finalize"] => true,
        ["api", _, "namespaces", _, _] | ["apis", _, _, "namespaces", _, _] => false,
        ["api", _, "namespaces", _, _, rest @ ..]
        | ["apis", _, _, "namespaces", _, _, rest @ ..] => !rest.is_empty(),
        ["api", _, _, rest @ ..] | ["apis", _, _, _, rest @ ..] => !rest.is_empty(),
        _ => return String::new(),
    };
    let verb = match (&ctx.method, named) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if ctx.flag("watch") => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "",
    };
    verb.to_string()
}

pub(crate) async fn dispatch(server: &Arc<Server>, ctx: &mut Ctx) -> Reply {
    ctx.verb = verb_of(ctx);
    let target = match parse(server, ctx) {
        Parsed::Discovery(reply) => return reply,
        Parsed::NotFound => return super::no_such_resource(),
        Parsed::Resource(t) => t,
    };
    if let Err(status) = auth::authorize(ctx, &target) {
        return status_reply(&status);
    }
    let verb = ctx.verb.clone();
    let allowed = |verbs: &[String]| verbs.contains(&verb);
    let served = match &target.subresource {
        Some(sub) => target
            .rt
            .subresources
            .iter()
            .find(|s| s.name == *sub)
            .is_some_and(|s| allowed(&s.verbs)),
        None => allowed(&target.rt.verbs),
    };
    if !served {
        return status_reply(&Status::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    if verb == "create" {
        write::await_default_service_account(server, ctx, &target).await;
    }
    let result = match verb.as_str() {
        "get" => read::get(server, ctx, &target),
        "list" => read::list(server, ctx, &target),
        "watch" => Ok(read::watch(server, ctx, &target)),
        "create" => write::create(server, ctx, &target),
        "update" => write::update(server, ctx, &target),
        "patch" => write::patch(server, ctx, &target),
        "delete" => write::delete(server, ctx, &target),
        "deletecollection" => write::delete_collection(server, ctx, &target),
        _ => Err(Status::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    };
    result.unwrap_or_else(|status| status_reply(&status))
}
