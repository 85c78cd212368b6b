//! Why MetalLB's webhook does not serve yet: its ready endpoints, and what a failed webhook call
//! tells. (When the controller and speaker count as rolled out is `crate::k8s_status::rollout`.)

use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::Serialize;

/// Ready endpoints behind the webhook Service, over all its EndpointSlices.
pub fn ready_endpoints(slices: &[EndpointSlice]) -> usize {
    slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .map(|e| e.addresses.len().max(1))
        .sum()
}

/// Why the API server could not call the webhook, from its error message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "message")]
pub enum WebhookFailure {
    /// The Service has no ready endpoint: the controller pod is not ready.
    NoEndpoints,
    /// A pod is ready but nothing answers on the webhook port, or packets are dropped.
    Unreachable(String),
    /// The API server does not trust the webhook's certificate yet.
    Certificate(String),
    /// Any other failure to call the webhook.
    Other(String),
}

impl WebhookFailure {
    /// Classifies an API error message; `None` when it is not a failure to call a webhook
    /// (a webhook that answered and denied the request, for one).
    pub fn classify(message: &str) -> Option<WebhookFailure> {
        if !message.contains("failed calling webhook") {
            return None;
        }
        let detail = message
            .rsplit_once("\": ")
            .map(|(_, d)| d.to_string())
            .unwrap_or_else(|| message.to_string());
        Some(if message.contains("no endpoints available") {
            WebhookFailure::NoEndpoints
        } else if message.contains("x509") || message.contains("certificate") {
            WebhookFailure::Certificate(detail)
        } else if [
            "connection refused",
            "i/o timeout",
            "deadline exceeded",
            "no route to host",
            "connection reset",
        ]
        .iter()
        .any(|p| message.contains(p))
        {
            WebhookFailure::Unreachable(detail)
        } else {
            WebhookFailure::Other(detail)
        })
    }
}

/// The explanation of a webhook that never became ready: what was seen, and where to look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub summary: String,
    pub hint: String,
}

/// Builds the diagnosis from the last failure, the webhook endpoints and the problems of the
/// controller pods (one line per pod that is not ready, see `k8s_status::pod_problem`).
pub fn diagnose(
    last: Option<&WebhookFailure>,
    endpoints: usize,
    pod_problems: &[String],
    namespace: &str,
) -> Diagnosis {
    let pods_text = if pod_problems.is_empty() {
        "its pods are ready".to_string()
    } else {
        pod_problems.join("; ")
    };
    let look = format!(
        "kubectl -n {namespace} get pods -l component=controller -o wide; kubectl -n {namespace} logs deploy/controller; kubectl -n {namespace} get endpointslices -l kubernetes.io/service-name=metallb-webhook-service"
    );
    let (summary, fix) = match last {
        _ if endpoints == 0 => (
            format!("the webhook Service has no ready endpoints: the controller is not ready ({pods_text})"),
            "find out why the controller pod is not ready (image pull, scheduling, crash)".to_string(),
        ),
        Some(WebhookFailure::Unreachable(detail)) => (
            format!("the API server cannot connect to the webhook pod ({detail}); controller: {pods_text}"),
            "check firewalls and the CNI between the control-plane nodes and the pod network (TCP 9443 to the controller pod)".to_string(),
        ),
        Some(WebhookFailure::Certificate(detail)) => (
            format!("the API server does not trust the webhook certificate yet ({detail})"),
            format!(
                "the controller injects the CA into the webhook configuration at start-up; check `kubectl get validatingwebhookconfiguration metallb-webhook-configuration -o jsonpath='{{.webhooks[0].clientConfig.caBundle}}'` and the Secret metallb-webhook-cert in {namespace}"
            ),
        ),
        Some(WebhookFailure::NoEndpoints) => (
            format!("the API server still saw no webhook endpoints; controller: {pods_text}"),
            "the endpoints appeared only at the end; re-run the same command".to_string(),
        ),
        Some(WebhookFailure::Other(detail)) => (
            format!("calling the webhook failed: {detail}; controller: {pods_text}"),
            "read the controller's log".to_string(),
        ),
        None => (
            format!("the webhook endpoints are ready but no pool check could be made; controller: {pods_text}"),
            "re-run with a longer --timeout".to_string(),
        ),
    };
    Diagnosis {
        summary,
        hint: format!("{fix}; look further with: {look}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> Option<serde_json::Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/kube-api-v1.36")
            .join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).unwrap()),
            Err(_) => {
                eprintln!("skipping: {} is absent", path.display());
                None
            }
        }
    }

    #[test]
    fn recorded_errors_are_classified() {
        if let Some(v) = reference("error-500-webhook-no-endpoints.json") {
            let msg = v["message"].as_str().unwrap();
            assert_eq!(
                WebhookFailure::classify(msg),
                Some(WebhookFailure::NoEndpoints)
            );
        }
        if let Some(v) = reference("error-500-webhook-connection-refused.json") {
            let msg = v["message"].as_str().unwrap();
            assert!(matches!(
                WebhookFailure::classify(msg),
                Some(WebhookFailure::Unreachable(d)) if d.contains("connection refused")
            ));
        }
        if let Some(v) = reference("error-403-webhook-denied-wrong-namespace.json") {
            assert_eq!(
                WebhookFailure::classify(v["message"].as_str().unwrap()),
                None
            );
        }
        let x509 = "failed calling webhook \"x\": failed to call webhook: Post \"https://s\": tls: failed to verify certificate: x509: certificate signed by unknown authority";
        assert!(matches!(
            WebhookFailure::classify(x509),
            Some(WebhookFailure::Certificate(_))
        ));
    }

    #[test]
    fn recorded_webhook_endpoints_are_ready() {
        if let Some(v) = reference("metallb-webhook-endpointslices.json") {
            let slices: Vec<EndpointSlice> = serde_json::from_value(v["items"].clone()).unwrap();
            assert!(ready_endpoints(&slices) >= 1);
        }
    }

    #[test]
    fn diagnosis_names_the_cause_and_commands() {
        let pods = vec!["pod controller-1 on w1: ImagePullBackOff".to_string()];
        let d = diagnose(
            Some(&WebhookFailure::NoEndpoints),
            0,
            &pods,
            "metallb-system",
        );
        assert!(
            d.summary.contains("no ready endpoints") && d.summary.contains("ImagePullBackOff"),
            "{}",
            d.summary
        );
        assert!(
            d.hint
                .contains("kubectl -n metallb-system logs deploy/controller")
        );
        let d = diagnose(
            Some(&WebhookFailure::Unreachable("dial tcp: i/o timeout".into())),
            1,
            &pods,
            "lb",
        );
        assert!(d.hint.contains("CNI"), "{}", d.hint);
        let d = diagnose(
            Some(&WebhookFailure::Certificate("x509".into())),
            1,
            &pods,
            "lb",
        );
        assert!(d.summary.contains("certificate"));
    }
}
