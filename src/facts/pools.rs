//! The pools preflight checks: `--pool` values and the IPAddressPool documents of `--config`.
//! Any syntax problem is a usage error (exit 2) that names the pool and the entry.

use serde::Deserialize;

use super::PoolInput;
use crate::net::pool::Pool;
use crate::{Error, Result};

/// Parses the `--pool` values in order (`--pool #1`, `--pool #2`, ...).
pub fn from_flags(values: &[String]) -> Result<Vec<PoolInput>> {
    values
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let name = format!("--pool #{}", i + 1);
            let pool = Pool::parse(text).map_err(|e| {
                Error::usage_with_hint(
                    format!("{name} {}: {e}", crate::error::shorten(text)),
                    e.hint(),
                )
            })?;
            Ok(PoolInput {
                name,
                origin: "--pool".into(),
                namespace: None,
                pool,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    name: String,
    namespace: Option<String>,
}

#[derive(Deserialize, Default)]
struct Spec {
    #[serde(default)]
    addresses: Vec<String>,
}

/// Reads the IPAddressPool documents of a multi-document YAML file (other kinds, such as
/// L2Advertisements, are left alone).
pub fn from_config(text: &str, origin: &str) -> Result<Vec<PoolInput>> {
    let docs: Vec<Option<Document>> = serde_saphyr::from_multiple(text).map_err(|e| {
        Error::usage_with_hint(
            format!(
                "{origin}: not valid YAML: {}",
                crate::error::yaml_problem(&e)
                    .lines()
                    .next()
                    .unwrap_or_default()
            ),
            "the file holds IPAddressPool documents separated by ---",
        )
    })?;
    let mut pools = Vec::new();
    for doc in docs.into_iter().flatten() {
        if doc.kind != "IPAddressPool" || !doc.api_version.starts_with("metallb.io/") {
            continue;
        }
        let name = if doc.metadata.name.is_empty() {
            return Err(Error::usage(format!(
                "{origin}: an IPAddressPool has no metadata.name"
            )));
        } else {
            doc.metadata.name
        };
        let pool = Pool::from_addresses(&doc.spec.addresses).map_err(|e| {
            Error::usage_with_hint(format!("{origin}: IPAddressPool {name}: {e}"), e.hint())
        })?;
        pools.push(PoolInput {
            name,
            origin: origin.to_string(),
            namespace: doc.metadata.namespace,
            pool,
        });
    }
    if pools.is_empty() {
        return Err(Error::usage_with_hint(
            format!("{origin} holds no IPAddressPool (apiVersion metallb.io/v1beta1)"),
            "pass the file with your IPAddressPool documents, or use --pool RANGE",
        ));
    }
    Ok(pools)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitCode;

    #[test]
    fn flags_are_numbered_and_errors_exit_2() {
        let pools = from_flags(&["10.0.0.1-10.0.0.5".into(), "10.0.1.0/30".into()]).unwrap();
        assert_eq!(pools[1].name, "--pool #2");
        let err = from_flags(&["10.0.0.5-10.0.0.1".into()]).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(
            err.to_string()
                .starts_with("--pool #1 \"10.0.0.5-10.0.0.1\""),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("10.0.0.1-10.0.0.5"));
    }

    #[test]
    fn config_files_yield_their_pools() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: prod\n  namespace: default\nspec:\n  addresses:\n  - 192.168.10.240/29\n  - 192.168.10.250\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\n---\n";
        let pools = from_config(text, "pools.yaml").unwrap();
        assert_eq!(pools.len(), 1);
        assert_eq!(pools[0].name, "prod");
        assert_eq!(pools[0].namespace.as_deref(), Some("default"));
        assert_eq!(
            pools[0].pool.to_string(),
            "192.168.10.240/29,192.168.10.250"
        );

        let bad = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec: {addresses: [192.168.10.1/24]}\n";
        let err = from_config(bad, "f.yaml").unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(
            err.to_string().starts_with("f.yaml: IPAddressPool p:"),
            "{err}"
        );
        assert!(from_config("kind: ConfigMap\n", "f.yaml").is_err());
        assert!(from_config(": : :\n  - [", "f.yaml").is_err());
    }
}
