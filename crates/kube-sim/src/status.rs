//! `Status` bodies: the error envelope of the Kubernetes API, shaped as kube-apiserver writes them.

use serde_json::{Map, Value, json};

/// An API answer that is not an object: an error (or a success `Status` of a delete).
///
/// `reason` and `details` are optional because some real answers (e.g. a webhook denial) carry
/// neither. Admission hooks may build any `Status` with [`Status::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub code: u16,
    pub message: String,
    pub reason: Option<String>,
    pub details: Option<Value>,
}

/// The group-qualified resource as Kubernetes prints it: `configmaps`, `daemonsets.apps`.
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(group: &str, resource: &str, name: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(resource));
    Value::Object(d)
}

fn named(group: &str, resource: &str, name: &str) -> String {
    if name.is_empty() {
        qualified(group, resource)
    } else {
        format!("{} {:?}", qualified(group, resource), name)
    }
}

impl Status {
    pub fn new(code: u16, reason: Option<&str>, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            reason: reason.map(str::to_string),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Status {
        self.details = Some(details);
        self
    }

    /// Rebuilds a `Status` from a recorded or hand-written JSON body.
    pub fn from_json(body: &Value) -> Status {
        Status {
            code: body["code"].as_u64().unwrap_or(500) as u16,
            message: body["message"].as_str().unwrap_or_default().to_string(),
            reason: body["reason"].as_str().map(str::to_string),
            details: body.get("details").cloned(),
        }
    }

    pub fn not_found(group: &str, resource: &str, name: &str) -> Status {
        Status::new(
            404,
            Some("NotFound"),
            format!("{} not found", named(group, resource, name)),
        )
        .with_details(details(group, resource, name))
    }

    /// The 404 for a path that names no resource (unknown group, version or kind).
    pub fn no_such_resource() -> Status {
        Status::new(
            404,
            Some("NotFound"),
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Status {
        Status::new(
            409,
            Some("AlreadyExists"),
            format!("{} already exists", named(group, resource, name)),
        )
        .with_details(details(group, resource, name))
    }

    /// 409 Conflict. Unlike the other errors, the real message quotes the name even when it is
    /// empty (apimachinery's `NewConflict` formats `%s %q` unconditionally).
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Status {
        Status::new(
            409,
            Some("Conflict"),
            format!(
                "Operation cannot be fulfilled on {} {name:?}: {why}",
                qualified(group, resource)
            ),
        )
        .with_details(details(group, resource, name))
    }

    /// The 409 of a PUT (or preconditioned write) carrying an outdated `resourceVersion`.
    pub fn stale(group: &str, resource: &str, name: &str) -> Status {
        Status::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn forbidden(group: &str, resource: &str, name: &str, why: &str) -> Status {
        Status::new(
            403,
            Some("Forbidden"),
            format!("{} is forbidden: {why}", named(group, resource, name)),
        )
        .with_details(details(group, resource, name))
    }

    /// 422 for an object that fails validation; `causes` are `(field, message, reason)` where
    /// the message already starts with its kind ("Invalid value: ...", "Required value: ...").
    /// The message lists each distinct `field: message` once, in order (apimachinery's
    /// `ToAggregate`), bracketed when there are several; the causes keep every entry.
    pub fn invalid(
        group: &str,
        kind: &str,
        name: &str,
        causes: &[(String, String, &str)],
    ) -> Status {
        let mut texts: Vec<String> = Vec::new();
        for (field, message, _) in causes {
            let text = format!("{field}: {message}");
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
        let joined = if texts.len() == 1 {
            texts[0].clone()
        } else {
            format!("[{}]", texts.join(", "))
        };
        let kind_q = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut d = details(group, kind, name);
        d["causes"] = causes
            .iter()
            .map(|(field, message, reason)| json!({"reason": reason, "message": message, "field": field}))
            .collect();
        Status::new(
            422,
            Some("Invalid"),
            format!("{kind_q} {name:?} is invalid: {joined}"),
        )
        .with_details(d)
    }

    pub fn bad_request(message: impl Into<String>) -> Status {
        Status::new(400, Some("BadRequest"), message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Status {
        Status::new(405, Some("MethodNotAllowed"), message)
    }

    pub fn unauthorized() -> Status {
        Status::new(401, Some("Unauthorized"), "Unauthorized")
    }

    /// A failure of an admission webhook call, as the API server wraps it (500 InternalError).
    pub fn internal(message: &str) -> Status {
        Status::new(
            500,
            Some("InternalError"),
            format!("Internal error occurred: {message}"),
        )
        .with_details(json!({"causes": [{"message": message}]}))
    }

    /// The body of an injected fault on a path that names no object (the routed answers are
    /// built in the HTTP layer from the resource and name): the real server's generic answer
    /// with that code.
    pub fn for_code(code: u16) -> Status {
        match code {
            409 => Status::new(
                409,
                Some("Conflict"),
                "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
            ),
            500 => Status::internal("injected fault"),
            404 => Status::no_such_resource(),
            _ => Status::new(code, Some("InternalError"), "injected fault"),
        }
    }

    /// The JSON body, key for key as kube-apiserver writes it.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("kind".into(), json!("Status"));
        body.insert("apiVersion".into(), json!("v1"));
        body.insert("metadata".into(), json!({}));
        body.insert("status".into(), json!("Failure"));
        body.insert("message".into(), json!(self.message));
        if let Some(reason) = &self.reason {
            body.insert("reason".into(), json!(reason));
        }
        if let Some(details) = &self.details {
            body.insert("details".into(), details.clone());
        }
        body.insert("code".into(), json!(self.code));
        Value::Object(body)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Status {}
