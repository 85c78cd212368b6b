//! LB410-LB411: the `memberlist` Secret the speakers share, and whether the controller and every
//! speaker accepted the configuration (their ConfigurationState objects).

use super::metallb_facts;
use super::workloads::{component_pods, named};
use crate::checks::Outcome;
use crate::checks::preflight::{list, read};
use crate::facts::doctor::DoctorFacts;
use crate::metallb::crds::status::ConfigurationResult;
use crate::metallb::workloads::MEMBERLIST_SECRET;

pub fn memberlist(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let secrets = read!(m.secrets);
    let has_key = named(secrets, MEMBERLIST_SECRET)
        .and_then(|s| s.data.as_ref())
        .is_some_and(|d| d.values().any(|v| !v.0.is_empty()));
    if has_key {
        Outcome::pass(format!(
            "Secret {MEMBERLIST_SECRET} holds the speakers' shared key"
        ))
    } else {
        Outcome::fail(
            format!(
                "Secret {MEMBERLIST_SECRET} in {ns} is missing or empty: speakers cannot form their memberlist cluster, so node failures are detected slowly or addresses are announced twice"
            ),
            format!(
                "the controller creates it at start: kubectl -n {ns} logs deployment/controller; kubectl -n {ns} rollout restart deployment/controller"
            ),
        )
    }
}

pub fn configuration_states(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let states = read!(m.configuration_states);
    let pods = read!(m.pods);
    // The controller, and a speaker per node that runs one.
    let mut expected = vec!["controller".to_string()];
    let mut speaker_nodes: Vec<String> = component_pods(pods, "speaker")
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .map(|n| format!("speaker-{n}"))
        .collect();
    speaker_nodes.sort();
    speaker_nodes.dedup();
    expected.extend(speaker_nodes);

    let mut invalid = Vec::new();
    let mut unknown = Vec::new();
    for name in &expected {
        let state = states.iter().find(|s| {
            s.metadata.name.as_deref() == Some(name) && s.metadata.namespace.as_deref() == Some(ns)
        });
        let status = state.and_then(|s| s.status.as_ref());
        match status.and_then(|s| s.result) {
            Some(ConfigurationResult::Valid) => {}
            Some(ConfigurationResult::Invalid) => invalid.push(format!(
                "{name}: {}",
                status
                    .and_then(|s| s.error_summary.as_deref())
                    .unwrap_or("no errorSummary")
            )),
            Some(ConfigurationResult::Unknown) => unknown.push(format!("{name} (Unknown)")),
            None if state.is_some() => unknown.push(format!("{name} (no result yet)")),
            None => unknown.push(format!("{name} (not reported)")),
        }
    }
    let logs = format!(
        "kubectl -n {ns} get configurationstates; kubectl -n {ns} logs deployment/controller"
    );
    if !invalid.is_empty() {
        return Outcome::fail(
            format!(
                "{} of {} components reject the configuration: {}",
                invalid.len(),
                expected.len(),
                list(&invalid, 2)
            ),
            format!("fix the IPAddressPool or L2Advertisement named in the error; {logs}"),
        );
    }
    if !unknown.is_empty() {
        return Outcome::fail(
            format!(
                "{} of {} components have not reported a Valid configuration: {}",
                unknown.len(),
                expected.len(),
                list(&unknown, 3)
            ),
            logs,
        );
    }
    Outcome::pass(format!(
        "controller and {} speakers report the configuration Valid",
        expected.len() - 1
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{config_state, obj, with};
    use super::*;
    use crate::checks::Status;

    #[test]
    fn memberlist_table() {
        assert_eq!(memberlist(&with(|_| {})).status, Status::Pass);
        let o = memberlist(&with(|m| {
            m.secrets
                .as_mut()
                .unwrap()
                .retain(|s| s.metadata.name.as_deref() != Some("memberlist"))
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .starts_with("Secret memberlist in metallb-system is missing or empty")
        );
    }

    #[test]
    fn configuration_states_table() {
        let o = configuration_states(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "controller and 3 speakers report the configuration Valid"
        );

        let o = configuration_states(&with(|m| {
            m.configuration_states.as_mut().unwrap()[2] = obj(config_state(
                "speaker-w1",
                "Invalid",
                Some("peer 10.0.0.1 has no BGP session"),
            ));
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "1 of 4 components reject the configuration: speaker-w1: peer 10.0.0.1 has no BGP session"
        );

        let o = configuration_states(&with(|m| {
            m.configuration_states.as_mut().unwrap().remove(0);
            m.configuration_states.as_mut().unwrap()[0] =
                obj(config_state("speaker-cp", "Unknown", None));
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("controller (not reported), speaker-cp (Unknown)"),
            "{o:?}"
        );
    }
}
