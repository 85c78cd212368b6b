//! A `kube::Client` built the way kubectl resolves its configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cli::GlobalArgs;
use crate::{Error, Result};

/// A connected client and a description of what it points at, for reports and errors.
#[derive(Clone)]
pub struct ClusterTarget {
    pub client: Client,
    /// The API server URL.
    pub server: String,
    /// The kubeconfig context in use (`in-cluster` without a kubeconfig).
    pub context: String,
}

/// Resolves the kubeconfig like kubectl: `--kubeconfig`, then `$KUBECONFIG` (a colon-separated
/// list merged in order), then `~/.kube/config`, then the in-cluster service account.
pub async fn connect(global: &GlobalArgs) -> Result<ClusterTarget> {
    let options = KubeConfigOptions {
        context: global.context.clone(),
        ..Default::default()
    };
    let kubeconfig = load_kubeconfig(global.kubeconfig.as_deref())?;
    let (mut config, context) = match kubeconfig {
        Some(kc) => {
            let context = global
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .unwrap_or_default();
            if let Some(wanted) = &global.context
                && !kc.contexts.iter().any(|c| &c.name == wanted)
            {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(Error::KubeconfigInvalid {
                    reason: format!(
                        "context {wanted:?} not found (contexts: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
            let config = Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| Error::KubeconfigInvalid {
                    reason: e.to_string(),
                })?;
            (config, context)
        }
        None => match Config::incluster() {
            Ok(config) => (config, "in-cluster".to_string()),
            Err(_) => {
                return Err(Error::KubeconfigMissing {
                    reason: "--kubeconfig is not set, KUBECONFIG is empty, ~/.kube/config does not exist, and lbctl is not running in a pod".into(),
                });
            }
        },
    };
    apply_request_timeout(&mut config, global.request_timeout);
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| Error::KubeconfigInvalid {
        reason: e.to_string(),
    })?;
    Ok(ClusterTarget {
        client,
        server: server.trim_end_matches('/').to_string(),
        context,
    })
}

fn apply_request_timeout(config: &mut Config, timeout: Option<Duration>) {
    match timeout {
        // kubectl's 0 means "no limit".
        Some(t) if t.is_zero() => {
            config.read_timeout = None;
            config.write_timeout = None;
        }
        Some(t) => {
            config.connect_timeout = Some(t);
            config.read_timeout = Some(t);
            config.write_timeout = Some(t);
        }
        None => {}
    }
}

/// Reads the kubeconfig that applies, or `None` when there is none at all.
fn load_kubeconfig(flag: Option<&Path>) -> Result<Option<Kubeconfig>> {
    if let Some(path) = flag {
        return read_file(path).map(Some);
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let mut merged: Option<Kubeconfig> = None;
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            // kubectl skips entries of the list that do not exist.
            if !path.exists() {
                continue;
            }
            let next = read_file(&path)?;
            merged = Some(match merged {
                None => next,
                Some(prev) => prev.merge(next).map_err(|e| Error::KubeconfigInvalid {
                    reason: format!("merging {}: {e}", path.display()),
                })?,
            });
        }
        return Ok(merged);
    }
    let default = home_kubeconfig();
    match default {
        Some(path) if path.exists() => read_file(&path).map(Some),
        _ => Ok(None),
    }
}

fn read_file(path: &Path) -> Result<Kubeconfig> {
    if !path.exists() {
        return Err(Error::KubeconfigRead {
            path: path.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    Kubeconfig::read_from(path).map_err(|e| Error::KubeconfigRead {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}
