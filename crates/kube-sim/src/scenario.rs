//! Scenario files: the objects a simulated cluster starts with, its users and its settings.

use crate::error::SimError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// One scenario document (see the crate docs for the YAML shape).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// `/version`'s `gitVersion`, e.g. `v1.36.0`.
    #[serde(default = "default_version")]
    pub server_version: String,
    /// Behaviour switches, read by the controllers through [`Settings`].
    #[serde(default)]
    pub settings: Settings,
    /// Bearer-token users and their rules; `admin` exists even when not listed.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    /// Objects created in order (namespaces are created before everything else).
    #[serde(default)]
    pub objects: Vec<Value>,
    /// `generate: { nodes: 1000, services: 5000, metallb: true }` appends a large generated
    /// cluster to `objects` (see [`crate::cluster::generator`]).
    #[serde(default)]
    pub generate: Option<GenerateSpec>,
}

/// The `generate:` key of a scenario.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateSpec {
    pub nodes: usize,
    #[serde(default)]
    pub services: usize,
    #[serde(default)]
    pub metallb: bool,
}

fn default_version() -> String {
    "v1.36.0".into()
}

/// A user: its token (default `kube-sim-<name>`) and RBAC-like rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One allow rule. Empty `namespaces` means every namespace and cluster-scoped resources;
/// `"*"` matches anything in `apiGroups`, `resources` and `verbs`. `resources` may name a
/// subresource as `pods/log`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
}

/// Free-form behaviour switches (`podReadyDelay: 300ms`, `metallb: false`, ...).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Settings(pub BTreeMap<String, Value>);

impl Settings {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn bool(&self, key: &str, default: bool) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// A duration written as `300ms`, `2s`, `1m` (or a number of milliseconds).
    pub fn duration(&self, key: &str, default: Duration) -> Duration {
        match self.0.get(key) {
            Some(Value::String(text)) => humantime::parse_duration(text).unwrap_or(default),
            Some(Value::Number(n)) => n.as_u64().map(Duration::from_millis).unwrap_or(default),
            _ => default,
        }
    }
}

fn generated_objects(spec: GenerateSpec) -> Vec<Value> {
    crate::cluster::generator::Generate {
        nodes: spec.nodes,
        services: spec.services,
        metallb: spec.metallb,
    }
    .objects()
}

impl Scenario {
    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadScenario {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_yaml(&text)
    }

    pub fn from_yaml(text: &str) -> Result<Scenario, SimError> {
        let mut scenario: Scenario =
            serde_saphyr::from_str(text).map_err(|e| SimError::Scenario(e.to_string()))?;
        if let Some(g) = scenario.generate {
            scenario.objects.extend(generated_objects(g));
            scenario
                .settings
                .0
                .entry("nodeFacts".to_string())
                .or_insert_with(|| crate::cluster::generator::node_facts(g.metallb));
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// A generated cluster of `nodes` nodes and `services` LoadBalancer Services, with MetalLB
    /// installed (and a pool for every Service) when `metallb` is set. For benchmarks.
    pub fn generated(nodes: usize, services: usize, metallb: bool) -> Scenario {
        let spec = GenerateSpec {
            nodes,
            services,
            metallb,
        };
        let mut settings = Settings::default();
        settings.0.insert(
            "nodeFacts".to_string(),
            crate::cluster::generator::node_facts(metallb),
        );
        Scenario {
            objects: generated_objects(spec),
            settings,
            ..Scenario::empty()
        }
    }

    /// An empty cluster: the default namespaces only.
    pub fn empty() -> Scenario {
        Scenario {
            server_version: default_version(),
            settings: Settings::default(),
            users: BTreeMap::new(),
            objects: Vec::new(),
            generate: None,
        }
    }

    fn validate(&self) -> Result<(), SimError> {
        let version = self.server_version.trim_start_matches('v');
        let mut parts = version.split('.');
        let ok = parts.next().is_some_and(|p| p.parse::<u32>().is_ok())
            && parts.next().is_some_and(|p| p.parse::<u32>().is_ok());
        if !ok {
            return Err(SimError::Scenario(format!(
                "serverVersion {:?} is not of the form v1.36.0",
                self.server_version
            )));
        }
        for (index, object) in self.objects.iter().enumerate() {
            let has = |key: &str| object.get(key).and_then(Value::as_str).is_some();
            if !has("apiVersion") || !has("kind") {
                return Err(SimError::ScenarioObject {
                    index,
                    what: "object".into(),
                    message: "apiVersion and kind are required".into(),
                });
            }
        }
        Ok(())
    }

    /// The token of a user (scenario-given or derived from the name).
    pub fn token_of(&self, user: &str) -> String {
        self.users
            .get(user)
            .and_then(|u| u.token.clone())
            .unwrap_or_else(|| format!("kube-sim-{user}"))
    }

    /// (major, minor, gitVersion) for `/version`.
    pub fn version_parts(&self) -> (String, String) {
        let version = self.server_version.trim_start_matches('v');
        let mut parts = version.split('.');
        let major = parts.next().unwrap_or("1").to_string();
        let minor = parts.next().unwrap_or("0").to_string();
        (major, minor)
    }
}
