//! A `kube::Client` built the way kubectl resolves its configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::kube::in_flight::{InFlight, InFlightLayer};
use crate::kube::request_log::RequestLogLayer;
use crate::{Error, Result, verbose};

/// A connected client and a description of what it points at, for reports and errors.
#[derive(Clone)]
pub struct ClusterTarget {
    pub client: Client,
    /// The API server URL.
    pub server: String,
    /// The kubeconfig context in use (`in-cluster` without a kubeconfig).
    pub context: String,
    /// The context's namespace (the service account's in a pod, else `default`): kubectl's
    /// namespace when a command is given none.
    pub namespace: String,
    /// Requests sent and not yet answered, for the message of a deadline that passed.
    pub in_flight: InFlight,
}

/// Where to connect and how long one request may take: the kubectl-like global flags, as
/// plain values (the CLI converts its arguments into this).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// An explicit kubeconfig file; `None` follows `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use; `None` is the kubeconfig's current context.
    pub context: Option<String>,
    /// The limit for one request; zero means none, `None` keeps the client's defaults.
    pub request_timeout: Option<Duration>,
}

/// Resolves the kubeconfig like kubectl: `--kubeconfig`, then `$KUBECONFIG` (a colon-separated
/// list merged in order), then `~/.kube/config`, then the in-cluster service account.
pub async fn connect(options: impl Into<ConnectOptions>) -> Result<ClusterTarget> {
    let conn: ConnectOptions = options.into();
    let options = KubeConfigOptions {
        context: conn.context.clone(),
        ..Default::default()
    };
    let kubeconfig = load_kubeconfig(conn.kubeconfig.as_deref())?;
    let (mut config, context) = match kubeconfig {
        Some((kc, source)) => {
            let context = conn
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .unwrap_or_default();
            if let Some(wanted) = &conn.context
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
            let user = kc
                .contexts
                .iter()
                .find(|c| c.name == context)
                .and_then(|c| c.context.as_ref())
                .and_then(|c| c.user.clone());
            let config = Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| Error::KubeconfigInvalid {
                    reason: e.to_string(),
                })?;
            verbose::say(1, || format!("kubeconfig: {source}"));
            verbose::say(1, || {
                format!(
                    "context {context:?}: server {}, user {}, namespace {}",
                    config.cluster_url.to_string().trim_end_matches('/'),
                    user.as_deref().unwrap_or("(none)"),
                    config.default_namespace
                )
            });
            (config, context)
        }
        None => match Config::incluster() {
            Ok(config) => {
                verbose::say(1, || {
                    format!(
                        "no kubeconfig: in-cluster service account, server {}, namespace {}",
                        config.cluster_url, config.default_namespace
                    )
                });
                (config, "in-cluster".to_string())
            }
            Err(_) => {
                return Err(Error::KubeconfigMissing {
                    reason: "--kubeconfig is not set, KUBECONFIG is empty, ~/.kube/config does not exist, and lbctl is not running in a pod".into(),
                });
            }
        },
    };
    apply_request_timeout(&mut config, conn.request_timeout);
    let namespace = config.default_namespace.clone();
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let builder = ClientBuilder::try_from(config).map_err(|e| Error::KubeconfigInvalid {
        reason: e.to_string(),
    })?;
    let in_flight = InFlight::default();
    let builder = builder.with_layer(&InFlightLayer {
        set: in_flight.clone(),
    });
    // The request log costs nothing unless -vv asked for it.
    let client = if verbose::enabled(2) {
        builder
            .with_layer(&RequestLogLayer {
                server: server.clone(),
            })
            .build()
    } else {
        builder.build()
    };
    Ok(ClusterTarget {
        client,
        server,
        context,
        namespace,
        in_flight,
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

/// Reads the kubeconfig that applies, or `None` when there is none at all; with it, where it
/// came from (for `-v`).
fn load_kubeconfig(flag: Option<&Path>) -> Result<Option<(Kubeconfig, String)>> {
    if let Some(path) = flag {
        let source = format!("{} (--kubeconfig)", path.display());
        return read_file(path).map(|kc| Some((kc, source)));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let mut merged: Option<Kubeconfig> = None;
        let mut read = Vec::new();
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            // kubectl skips entries of the list that do not exist.
            if !path.exists() {
                continue;
            }
            let next = read_file(&path)?;
            read.push(path.display().to_string());
            merged = Some(match merged {
                None => next,
                Some(prev) => prev.merge(next).map_err(|e| Error::KubeconfigInvalid {
                    reason: format!("merging {}: {e}", path.display()),
                })?,
            });
        }
        let source = format!("{} (KUBECONFIG)", read.join(":"));
        return Ok(merged.map(|kc| (kc, source)));
    }
    let default = home_kubeconfig();
    match default {
        Some(path) if path.exists() => {
            let source = format!("{} (default)", path.display());
            read_file(&path).map(|kc| Some((kc, source)))
        }
        _ => Ok(None),
    }
}

fn read_file(path: &Path) -> Result<Kubeconfig> {
    if !path.exists() {
        return Err(Error::KubeconfigNotFound {
            path: path.to_path_buf(),
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
