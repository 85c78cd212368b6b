//! LB407-LB409: MetalLB's webhook really answers: its Service has ready endpoints, the API server
//! trusts its certificate (every `caBundle` equals the CA the controller keeps in Secret
//! `metallb-webhook-cert`), and a server-side dry-run create of a pool goes through it.

use k8s_openapi::ByteString;

use super::metallb_facts;
use super::workloads::named;
use crate::checks::Outcome;
use crate::checks::preflight::{list, read};
use crate::facts::doctor::DoctorFacts;
use crate::facts::metallb::PoolDryRun;
use crate::metallb::crds::WEBHOOK_SERVICE;
use crate::metallb::webhook::{CERT_SECRET, CONFIGURATION_NAME};
use crate::metallb::webhook_health::WebhookFailure;

/// The Secret key holding the CA certificate the controller generated.
const CA_KEY: &str = "ca.crt";

pub fn endpoints(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let services = read!(m.services);
    let slices = read!(m.endpoint_slices);
    let exists = services.iter().any(|s| {
        s.metadata.namespace.as_deref() == Some(ns)
            && s.metadata.name.as_deref() == Some(WEBHOOK_SERVICE)
    });
    if !exists {
        return Outcome::fail(
            format!(
                "Service {WEBHOOK_SERVICE} does not exist in namespace {ns}: the API server cannot reach MetalLB's webhook"
            ),
            crate::invocation::command_line("install"),
        );
    }
    let (mut ready, mut not_ready) = (0, 0);
    for slice in slices.iter().filter(|s| {
        s.metadata.namespace.as_deref() == Some(ns)
            && s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
                .is_some_and(|n| n == WEBHOOK_SERVICE)
    }) {
        for e in &slice.endpoints {
            let is_ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            if is_ready {
                ready += e.addresses.len();
            } else {
                not_ready += e.addresses.len();
            }
        }
    }
    if ready == 0 {
        return Outcome::fail(
            format!(
                "Service {WEBHOOK_SERVICE} has no ready endpoints ({not_ready} not ready): creating or changing pools fails with \"no endpoints available\""
            ),
            format!(
                "wait for the controller pod to be ready: kubectl -n {ns} get pods -l component=controller (or run doctor with --wait 2m)"
            ),
        );
    }
    Outcome::pass(format!(
        "Service {WEBHOOK_SERVICE} has {ready} ready endpoint{}",
        if ready == 1 { "" } else { "s" }
    ))
}

pub fn ca_bundle(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let secrets = read!(m.secrets);
    let crds = read!(m.crds);
    let Some(config) = read!(m.webhook_configuration) else {
        return Outcome::fail(
            format!(
                "ValidatingWebhookConfiguration {CONFIGURATION_NAME} does not exist: MetalLB objects are not validated"
            ),
            crate::invocation::command_line("install"),
        );
    };
    let restart = format!(
        "the controller injects the CA at start: kubectl -n {ns} logs deployment/controller | grep -i cert; kubectl -n {ns} rollout restart deployment/controller"
    );
    let ca = named(secrets, CERT_SECRET)
        .and_then(|s| s.data.as_ref())
        .and_then(|d| d.get(CA_KEY))
        .filter(|ca| !ca.0.is_empty());
    let no_ca = format!(
        "Secret {CERT_SECRET} in {ns} holds no {CA_KEY}: the controller has not generated the webhook certificate"
    );
    // Every place the API server reads the CA from: each webhook, and bgppeers' conversion.
    let mut bundles: Vec<(String, Option<&ByteString>)> = config
        .webhooks
        .iter()
        .flatten()
        .map(|w| (w.name.clone(), w.client_config.ca_bundle.as_ref()))
        .collect();
    if let Some(crd) = named(crds, "bgppeers.metallb.io") {
        let bundle = crd
            .spec
            .conversion
            .as_ref()
            .and_then(|c| c.webhook.as_ref())
            .and_then(|w| w.client_config.as_ref())
            .and_then(|c| c.ca_bundle.as_ref());
        bundles.push(("conversion of bgppeers.metallb.io".into(), bundle));
    }
    let missing: Vec<String> = bundles
        .iter()
        .filter(|(_, b)| b.is_none_or(|b| b.0.is_empty()))
        .map(|(n, _)| n.clone())
        .collect();
    if !missing.is_empty() {
        let secret = if ca.is_none() {
            format!("; {no_ca}")
        } else {
            String::new()
        };
        return Outcome::fail(
            format!(
                "caBundle missing in {} of {} webhook configurations ({}): the API server cannot verify the webhook and rejects MetalLB objects (x509){secret}",
                missing.len(),
                bundles.len(),
                list(&missing, 2)
            ),
            restart,
        );
    }
    let Some(ca) = ca else {
        return Outcome::fail(no_ca, restart);
    };
    let differs: Vec<String> = bundles
        .iter()
        .filter(|(_, b)| b.is_some_and(|b| b != ca))
        .map(|(n, _)| n.clone())
        .collect();
    if !differs.is_empty() {
        return Outcome::fail(
            format!(
                "caBundle of {} webhook configurations ({}) differs from the CA in Secret {CERT_SECRET}: the API server rejects the webhook's certificate (x509)",
                differs.len(),
                list(&differs, 2)
            ),
            restart,
        );
    }
    Outcome::pass(format!(
        "all {} caBundles equal the CA in Secret {CERT_SECRET}",
        bundles.len()
    ))
}

pub fn dry_run(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let (code, message) = match read!(m.dry_run) {
        PoolDryRun::Accepted => {
            return Outcome::pass(
                "the API server accepted a server-side dry-run create of an IPAddressPool through the webhook",
            );
        }
        PoolDryRun::Rejected { code, message } => (code, message),
    };
    let pods = format!("kubectl -n {ns} get pods -l component=controller");
    if message.contains("denied the request") {
        return Outcome::pass(format!(
            "the webhook answered a dry-run create of an IPAddressPool (and denied the test pool: {message})"
        ));
    }
    let (why, hint) = match WebhookFailure::classify(message) {
        Some(WebhookFailure::NoEndpoints) => (
            "no endpoints: the controller pod is not ready",
            format!("{pods} (or run doctor with --wait 2m)"),
        ),
        Some(WebhookFailure::Unreachable(_)) => (
            "the webhook does not answer (connection refused or timed out)",
            format!(
                "{pods}; check that a NetworkPolicy or firewall lets the API server reach port 9443"
            ),
        ),
        Some(WebhookFailure::Certificate(_)) => (
            "the API server does not trust the webhook's certificate",
            format!(
                "compare caBundle with Secret {CERT_SECRET} (LB408); kubectl -n {ns} rollout restart deployment/controller"
            ),
        ),
        Some(WebhookFailure::Other(_)) | None => (
            "the API server could not use the webhook",
            format!("kubectl -n {ns} logs deployment/controller"),
        ),
    };
    Outcome::fail(
        format!("a dry-run create of an IPAddressPool failed with HTTP {code}, {why}: {message}"),
        hint,
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{obj, secret, with};
    use super::*;
    use crate::checks::Status;
    use serde_json::json;

    #[test]
    fn endpoints_table() {
        let o = endpoints(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "Service metallb-webhook-service has 1 ready endpoint"
        );

        let o = endpoints(&with(|m| {
            for s in m.endpoint_slices.as_mut().unwrap() {
                for e in &mut s.endpoints {
                    e.conditions.as_mut().unwrap().ready = Some(false);
                }
            }
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.starts_with(
                "Service metallb-webhook-service has no ready endpoints (1 not ready)"
            )
        );
        assert!(o.hint.unwrap().contains("--wait 2m"));

        let o = endpoints(&with(|m| m.endpoint_slices = Ok(vec![])));
        assert!(o.message.contains("(0 not ready)"));

        let o = endpoints(&with(|m| {
            m.services
                .as_mut()
                .unwrap()
                .retain(|s| s.metadata.name.as_deref() != Some(WEBHOOK_SERVICE))
        }));
        assert_eq!(o.hint.as_deref(), Some("lbctl install"));
    }

    #[test]
    fn ca_bundle_table() {
        let o = ca_bundle(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "all 7 caBundles equal the CA in Secret metallb-webhook-cert"
        );

        let o = ca_bundle(&with(|m| {
            let config = m.webhook_configuration.as_mut().unwrap().as_mut().unwrap();
            for w in config.webhooks.as_mut().unwrap() {
                w.client_config.ca_bundle = None;
            }
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .starts_with("caBundle missing in 6 of 7 webhook configurations"),
            "{o:?}"
        );
        assert!(
            o.hint
                .unwrap()
                .contains("rollout restart deployment/controller")
        );

        let o = ca_bundle(&with(|m| {
            m.secrets = Ok(vec![
                obj(secret("metallb-webhook-cert", "ca.crt", b"another CA")),
                obj(secret("memberlist", "secretkey", b"k")),
            ]);
        }));
        assert!(
            o.message
                .starts_with("caBundle of 7 webhook configurations"),
            "{o:?}"
        );

        let o = ca_bundle(&with(|m| {
            m.secrets = Ok(vec![obj(
                json!({"metadata": {"name": "metallb-webhook-cert"}}),
            )]);
        }));
        assert!(o.message.contains("holds no ca.crt"), "{o:?}");

        let o = ca_bundle(&with(|m| m.webhook_configuration = Ok(None)));
        assert_eq!(o.hint.as_deref(), Some("lbctl install"));
    }

    #[test]
    fn dry_run_classifies_refusals_like_install() {
        let cases = [
            (
                r#"Internal error occurred: failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io": failed to call webhook: Post "https://metallb-webhook-service.metallb-system.svc:443/validate-metallb-io-v1beta1-ipaddresspool?timeout=10s": no endpoints available for service "metallb-webhook-service""#,
                Status::Fail,
                "no endpoints",
            ),
            (
                r#"failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io": failed to call webhook: Post "https://metallb-webhook-service.metallb-system.svc:443/validate": dial tcp 10.96.0.12:443: connect: connection refused"#,
                Status::Fail,
                "does not answer",
            ),
            (
                r#"failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io": failed to call webhook: Post "https://...": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
                Status::Fail,
                "does not trust",
            ),
            (
                r#"admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: overlaps with already defined CIDR"#,
                Status::Pass,
                "webhook answered",
            ),
            (
                "etcdserver: request timed out",
                Status::Fail,
                "could not use",
            ),
        ];
        for (message, want, text) in cases {
            let o = dry_run(&with(|m| {
                m.dry_run = Ok(PoolDryRun::Rejected {
                    code: 500,
                    message: message.into(),
                })
            }));
            assert_eq!(o.status, want, "{message}");
            assert!(o.message.contains(text), "{text}: {}", o.message);
        }
        assert_eq!(dry_run(&with(|_| {})).status, Status::Pass);
    }
}
