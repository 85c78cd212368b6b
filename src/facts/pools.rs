//! The pools preflight checks: `--pool` values and the IPAddressPool documents of `--config`.
//! Any syntax problem is a usage error (exit 2) that names the pool and the entry.

use kube::ResourceExt;

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

/// The IPAddressPools of a `--config` file, read by the same rules as `install --config`
/// (unknown fields, other kinds, overlapping pools and bad addresses are refused alike);
/// namespaces stay as written, for LB302 to judge.
pub fn from_config(text: &str, origin: &str) -> Result<Vec<PoolInput>> {
    let plan = crate::metallb::pools::documents(origin, text)?;
    plan.pools
        .into_iter()
        .map(|p| {
            let name = p.name_any();
            let pool = Pool::from_addresses(&p.spec.addresses).map_err(|e| {
                Error::usage_with_hint(format!("{origin}: IPAddressPool {name}: {e}"), e.hint())
            })?;
            Ok(PoolInput {
                name,
                origin: origin.to_string(),
                namespace: p.metadata.namespace,
                pool,
            })
        })
        .collect()
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
            err.to_string()
                .starts_with("f.yaml (document 1): IPAddressPool \"p\":"),
            "{err}"
        );
        // The rules of `install --config`: a misspelled field is refused with its line.
        let misspelled = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec:\n  addresses: [192.168.10.0/24]\n  autoassign: false\n";
        let err = from_config(misspelled, "f.yaml").unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(
            err.to_string()
                .contains("unknown field \"spec.autoassign\" (line 6)"),
            "{err}"
        );
        assert!(from_config("kind: ConfigMap\n", "f.yaml").is_err());
        assert!(from_config(": : :\n  - [", "f.yaml").is_err());
    }
}
