//! Request bodies: JSON and YAML decode; protobuf (kubectl's typed clients) is a 415.

use http_body_util::BodyExt;
use serde_json::Value;

mod common;
use common::{client_for, runtime};

async fn post(client: &kube::Client, content_type: &str, body: &[u8]) -> (u16, Value) {
    let request = http::Request::builder()
        .method("POST")
        .uri("/api/v1/namespaces/default/configmaps")
        .header("content-type", content_type)
        .body(kube::client::Body::from(body.to_vec()))
        .unwrap();
    let response = client.send(request).await.expect("request is sent");
    let code = response.status().as_u16();
    let raw = response.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&raw).expect("a JSON answer"))
}

#[test]
fn yaml_bodies_decode_and_protobuf_is_an_unsupported_media_type() {
    let scenario = kube_sim::Scenario::from_yaml("objects: []\n").unwrap();
    let sim = kube_sim::SimBuilder::new(scenario).spawn().unwrap();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let yaml =
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}\ndata: {a: '1'}\n";
        let (code, created) = post(&admin, "application/yaml", yaml).await;
        assert_eq!(code, 201, "{created}");
        assert_eq!(created["data"]["a"], "1");

        let (code, status) = post(
            &admin,
            "application/vnd.kubernetes.protobuf",
            b"k8s\0\n\x02v1",
        )
        .await;
        assert_eq!(code, 415, "{status}");
        assert_eq!(status["reason"], "UnsupportedMediaType");
        let message = status["message"].as_str().unwrap();
        assert!(
            message.starts_with("the body of the request was in an unknown format"),
            "{message}"
        );
    });
}
