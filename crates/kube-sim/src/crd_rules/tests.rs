//! One test per rule, with the findings a real kube-apiserver v1.36.2 answered for the same CRD
//! (`tests/crd_validation.rs` replays the whole recording over HTTP).

use super::*;

/// A valid single-version CRD; `edit` changes its schema.
fn widget(edit: impl FnOnce(&mut Value)) -> Value {
    let mut crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                    "spec": {"type": "object", "properties": {"a": {"type": "string"}}}}}}}]}});
    edit(&mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    crd
}

/// The CRD with `field` of `spec` set to `schema`.
fn with_field(schema: Value) -> Value {
    widget(|s| s["properties"]["spec"]["properties"]["a"] = schema)
}

/// `field: message` of every finding.
fn found(crd: &Value) -> Vec<String> {
    validate(crd, None).iter().map(FieldError::text).collect()
}

const ROOT: &str = "spec.validation.openAPIV3Schema";
const A: &str = "spec.validation.openAPIV3Schema.properties[spec].properties[a]";

#[test]
fn a_valid_crd_passes() {
    assert_eq!(found(&widget(|_| {})), Vec::<String>::new());
    assert!(check(&widget(|_| {}), None).is_ok());
}

#[test]
fn the_root_metadata_may_only_restrict_name_and_generate_name() {
    let forbidden = format!(
        "{ROOT}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
    );
    let described =
        widget(|s| s["properties"]["metadata"]["description"] = json!("Standard object metadata."));
    assert_eq!(found(&described), std::slice::from_ref(&forbidden));
    let labels = widget(|s| {
        s["properties"]["metadata"]["properties"] = json!({"labels": {"type": "object"}})
    });
    assert_eq!(found(&labels), [forbidden]);
    let name = widget(|s| {
        s["properties"]["metadata"]["properties"] =
            json!({"name": {"type": "string", "maxLength": 10}})
    });
    assert!(found(&name).is_empty());
    let string = widget(|s| s["properties"]["metadata"]["type"] = json!("string"));
    assert_eq!(
        found(&string),
        [format!(
            "{ROOT}.properties[metadata].type: Invalid value: \"string\": must be object"
        )]
    );
    let kind = widget(|s| s["properties"]["kind"]["type"] = json!("integer"));
    assert_eq!(
        found(&kind),
        [format!(
            "{ROOT}.properties[kind].type: Invalid value: \"integer\": must be string"
        )]
    );
    let nested = with_field(
        json!({"type": "object", "properties": {"metadata": {"type": "object", "description": "fine"}}}),
    );
    assert!(
        found(&nested).is_empty(),
        "only the root's metadata is restricted"
    );
}

#[test]
fn the_status_answers_the_way_the_server_words_it() {
    let crd = widget(|s| s["properties"]["metadata"]["description"] = json!("x"));
    let status = check(&crd, None).unwrap_err();
    assert_eq!(status.code, 422);
    assert_eq!(
        status.to_json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: {ROOT}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"),
            "reason": "Invalid",
            "details": {"name": "widgets.example.com", "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition",
                "causes": [{"reason": "FieldValueForbidden",
                    "message": "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
                    "field": format!("{ROOT}.properties[metadata]")}]},
            "code": 422})
    );
}

#[test]
fn schemas_shared_by_every_version_are_reported_at_the_top() {
    let mut two = widget(|s| s["properties"]["metadata"]["description"] = json!("x"));
    let mut v2 = two["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    v2["storage"] = json!(false);
    two["spec"]["versions"]
        .as_array_mut()
        .unwrap()
        .push(v2.clone());
    let forbidden = "properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified";
    assert_eq!(found(&two), [format!("{ROOT}.{forbidden}")]);
    two["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] =
        json!({"type": "object"});
    assert_eq!(
        found(&two),
        [format!(
            "spec.versions[1].schema.openAPIV3Schema.{forbidden}"
        )]
    );
}

#[test]
fn every_node_needs_a_type_unless_int_or_string_or_preserved() {
    assert_eq!(
        found(&widget(|s| {
            s.as_object_mut().unwrap().remove("type");
        })),
        [format!(
            "{ROOT}.type: Required value: must not be empty at the root"
        )]
    );
    assert_eq!(
        found(&widget(|s| s["type"] = json!("string"))),
        [format!(
            "{ROOT}.type: Invalid value: \"string\": must be object at the root"
        )]
    );
    assert_eq!(
        found(&with_field(json!({"description": "no type"}))),
        [format!(
            "{A}.type: Required value: must not be empty for specified object fields"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": {"description": "x"}})
        )),
        [format!(
            "{A}.items.type: Required value: must not be empty for specified array items"
        )]
    );
    assert_eq!(
        found(&with_field(json!({"type": "array"}))),
        [format!("{A}.items: Required value: must be specified")]
    );
    assert!(found(&with_field(json!({"x-kubernetes-int-or-string": true}))).is_empty());
    assert!(
        found(&with_field(json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]})))
            .is_empty()
    );
    assert!(
        found(&with_field(
            json!({"x-kubernetes-preserve-unknown-fields": true})
        ))
        .is_empty()
    );
    assert_eq!(
        found(&with_field(
            json!({"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true})
        )),
        [format!(
            "{A}.x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true"
        )]
    );
}

#[test]
fn types_must_be_openapi_types() {
    let supported =
        "supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"";
    assert_eq!(
        found(&with_field(json!({"type": "strin"}))),
        [format!(
            "{A}.type: Unsupported value: \"strin\": {supported}"
        )]
    );
    assert_eq!(
        found(&with_field(json!({"type": "null"}))),
        [
            format!("{A}.type: Unsupported value: \"null\": {supported}"),
            format!(
                "{A}.type: Forbidden: type cannot be set to null, use nullable as an alternative"
            ),
        ]
    );
    let reasons: Vec<&str> = validate(&with_field(json!({"type": "strin"})), None)
        .iter()
        .map(FieldError::reason)
        .collect();
    assert_eq!(reasons, ["FieldValueNotSupported"]);
}

#[test]
fn properties_and_additional_properties_exclude_each_other() {
    let spec = "spec.validation.openAPIV3Schema.properties[spec]";
    let both =
        widget(|s| s["properties"]["spec"]["additionalProperties"] = json!({"type": "string"}));
    assert_eq!(
        found(&both),
        [format!(
            "{spec}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
        )]
    );
    let closed = widget(|s| s["properties"]["spec"]["additionalProperties"] = json!(false));
    assert_eq!(found(&closed).len(), 1);
    let open = widget(|s| s["properties"]["spec"]["additionalProperties"] = json!(true));
    assert!(found(&open).is_empty());
    let root = widget(|s| {
        s.as_object_mut().unwrap().remove("properties");
        s["additionalProperties"] = json!({"type": "string"});
    });
    assert_eq!(
        found(&root),
        [format!(
            "{ROOT}.additionalProperties: Forbidden: must not be used at the root"
        )]
    );
}

#[test]
fn kubernetes_extensions_go_where_they_mean_something() {
    let spec = "spec.validation.openAPIV3Schema.properties[spec]";
    assert_eq!(
        found(&widget(
            |s| s["properties"]["spec"]["x-kubernetes-list-type"] = json!("atomic")
        )),
        [format!(
            "{spec}.type: Invalid value: \"object\": must be array if x-kubernetes-list-type is specified"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"})
        )),
        [format!(
            "{A}.x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", \"map\""
        )]
    );
    let item = json!({"type": "object", "properties": {"k": {"type": "string"}}});
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": item, "x-kubernetes-list-map-keys": ["k"]})
        )),
        [format!(
            "{A}.x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is non-empty"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": item, "x-kubernetes-list-type": "map"})
        )),
        [format!(
            "{A}.x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": item, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"]})
        )),
        [format!(
            "{A}.items.properties[k].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
        )]
    );
    let required =
        json!({"type": "object", "required": ["k"], "properties": {"k": {"type": "string"}}});
    assert!(
        found(&with_field(json!({"type": "array", "items": required, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"]})))
            .is_empty()
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": required, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k", "z"]})
        )),
        [format!(
            "{A}.x-kubernetes-list-map-keys: Invalid value: [\"k\",\"z\"]: entries must all be names of item properties"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "array", "items": item, "x-kubernetes-list-type": "set"})
        )),
        [format!(
            "{A}.items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "string", "x-kubernetes-map-type": "atomic"})
        )),
        [format!(
            "{A}.type: Invalid value: \"string\": must be object if x-kubernetes-map-type is specified"
        )]
    );
    assert_eq!(
        found(&widget(
            |s| s["properties"]["spec"]["x-kubernetes-map-type"] = json!("fine")
        )),
        [format!(
            "{spec}.x-kubernetes-map-type: Unsupported value: \"fine\": supported values: \"atomic\", \"granular\""
        )]
    );
    assert_eq!(
        found(&widget(
            |s| s["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"] = json!(false)
        )),
        [format!(
            "{spec}.x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "object", "x-kubernetes-embedded-resource": true})
        )),
        [format!(
            "{A}.properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"
        )]
    );
}

#[test]
fn value_validations_only_restrict_values() {
    assert_eq!(
        found(&with_field(
            json!({"type": "string", "anyOf": [{"type": "string"}, {"description": "d"}]})
        )),
        [
            format!("{A}.anyOf[0].type: Forbidden: must be empty to be structural"),
            format!("{A}.anyOf[1].description: Forbidden: must be empty to be structural"),
        ]
    );
    let root_clause = widget(|s| s["anyOf"] = json!([{"properties": {"zz": {"maxLength": 3}}}]));
    assert_eq!(
        found(&root_clause),
        [format!(
            "{ROOT}.properties[zz]: Required value: because it is defined in {ROOT}.anyOf[0].properties[zz]"
        )]
    );
}

#[test]
fn defaults_must_be_pruned_and_valid() {
    assert_eq!(
        found(&with_field(json!({"type": "integer", "default": "x"}))),
        [format!(
            "{A}.default: Invalid value: \"string\":  in body must be of type integer: \"string\""
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "object", "properties": {"b": {"type": "string"}}, "default": {"b": "x", "c": "y"}})
        )),
        [format!(
            "{A}.default: Invalid value: {{\"b\":\"x\",\"c\":\"y\"}}: must not have unknown fields"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "integer", "maximum": 5, "default": 7})
        )),
        [format!(
            "{A}.default: Invalid value: 7:  in body should be less than or equal to 5"
        )]
    );
    assert_eq!(
        found(&with_field(
            json!({"type": "string", "enum": ["x", "y"], "default": "z"})
        )),
        [format!(
            "{A}.default: Unsupported value: \"z\": supported values: \"x\", \"y\""
        )]
    );
    assert_eq!(
        found(&widget(
            |s| s["properties"]["kind"]["default"] = json!("Widget")
        )),
        [format!(
            "{ROOT}.properties[kind].default: Forbidden: must not be set in top-level kind"
        )]
    );
    assert!(
        found(&with_field(
            json!({"type": "integer", "minimum": 1, "maximum": 16384, "default": 179})
        ))
        .is_empty()
    );
}

#[test]
fn spec_fields_names_and_versions() {
    let mut crd = widget(|_| {});
    crd["spec"]["scope"] = json!("Global");
    assert_eq!(
        found(&crd),
        [
            "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""
        ]
    );
    crd["spec"].as_object_mut().unwrap().remove("scope");
    assert_eq!(found(&crd), ["spec.scope: Required value"]);

    let mut crd = widget(|_| {});
    crd["metadata"]["name"] = json!("gadgets.example.com");
    assert_eq!(
        found(&crd),
        [
            "metadata.name: Invalid value: \"gadgets.example.com\": must be spec.names.plural+\".\"+spec.group"
        ]
    );
    assert!(
        validate(&crd, Some(&widget(|_| {}))).is_empty(),
        "an update keeps its name"
    );

    let mut crd = widget(|_| {});
    crd["spec"]["names"] = json!({"plural": "widgets", "kind": "Widget"});
    assert!(
        found(&crd).is_empty(),
        "singular and listKind are defaulted"
    );
    crd["spec"]["names"] = json!({"plural": "widgets"});
    assert_eq!(
        found(&crd),
        [
            "spec.names.singular: Required value",
            "spec.names.kind: Required value",
            "spec.names.listKind: Required value"
        ]
    );

    let mut crd = widget(|_| {});
    crd["spec"]["versions"][0]
        .as_object_mut()
        .unwrap()
        .remove("schema");
    assert_eq!(
        found(&crd),
        ["spec.versions[0].schema.openAPIV3Schema: Required value"]
    );

    let mut crd = widget(|_| {});
    crd["spec"]["versions"][0]["storage"] = json!(false);
    assert_eq!(
        found(&crd),
        [
            "spec.versions: Invalid value: [{\"Name\":\"v1\",\"Served\":true,\"Storage\":false,\"Deprecated\":false,\"DeprecationWarning\":null,\"Schema\":null,\"Subresources\":null,\"AdditionalPrinterColumns\":null,\"SelectableFields\":null}]: must have exactly one version marked as storage version",
            "status.storedVersions: Invalid value: null: must have at least one stored version",
        ]
    );

    let mut crd = widget(|_| {});
    crd["spec"]["versions"][0]["additionalPrinterColumns"] =
        json!([{"name": "A", "type": "str", "jsonPath": ".spec.a"}]);
    assert_eq!(
        found(&crd),
        [
            "spec.additionalPrinterColumns[0].type: Invalid value: \"str\": must be one of boolean,date,integer,number,string"
        ]
    );
}

#[test]
fn an_update_keeps_what_identifies_the_stored_objects() {
    let mut old = widget(|_| {});
    let mut new = old.clone();
    new["spec"]["scope"] = json!("Cluster");
    assert!(validate(&new, Some(&old)).is_empty(), "not yet Established");
    old["status"] = json!({"conditions": [{"type": "Established", "status": "True"}], "storedVersions": ["v1"]});
    new["status"] = old["status"].clone();
    assert_eq!(
        validate(&new, Some(&old))
            .iter()
            .map(FieldError::text)
            .collect::<Vec<_>>(),
        ["spec.scope: Invalid value: \"Cluster\": field is immutable"]
    );
    new["spec"]["group"] = json!("other.com");
    assert_eq!(validate(&new, Some(&old)).len(), 2);
}

#[test]
fn stored_versions_accumulate() {
    let v1 = widget(|_| {});
    assert_eq!(stored_versions(&v1, None), ["v1"]);
    let mut v2 = v1.clone();
    v2["spec"]["versions"][0]["name"] = json!("v2");
    let mut old = v1.clone();
    old["status"] = json!({"storedVersions": ["v1"]});
    assert_eq!(stored_versions(&v2, Some(&old)), ["v1", "v2"]);
    v2["status"] = old["status"].clone();
    assert_eq!(
        validate(&v2, Some(&old))
            .iter()
            .map(FieldError::text)
            .collect::<Vec<_>>(),
        [
            "status.storedVersions[0]: Invalid value: \"v1\": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions"
        ]
    );
}
