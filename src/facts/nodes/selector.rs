//! `--nodes all|SELECTOR`: checked here, before anything is contacted, so a typo is a usage
//! error (exit 2) rather than an API error. The syntax is Kubernetes' label selector:
//! `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
//! joined by commas.

use crate::{Error, Result};

/// Which nodes `--nodes` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSelection {
    All,
    /// A label selector, as the API's `labelSelector` takes it.
    Labels(String),
}

impl NodeSelection {
    pub fn parse(text: &str) -> Result<NodeSelection> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(NodeSelection::All);
        }
        let bad = |why: String| {
            Error::usage_with_hint(
                format!("--nodes {text:?}: {why}"),
                "use --nodes all, or a label selector such as node-role.kubernetes.io/worker or kubernetes.io/hostname in (w1,w2)",
            )
        };
        if text.is_empty() {
            return Err(bad("empty selector".into()));
        }
        for requirement in split_top_level(text) {
            check_requirement(requirement.trim()).map_err(bad)?;
        }
        Ok(NodeSelection::Labels(text.to_string()))
    }

    /// The `labelSelector` for the node list; `None` for all nodes.
    pub fn label_selector(&self) -> Option<&str> {
        match self {
            NodeSelection::All => None,
            NodeSelection::Labels(s) => Some(s),
        }
    }
}

impl std::fmt::Display for NodeSelection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeSelection::All => f.write_str("all"),
            NodeSelection::Labels(s) => f.write_str(s),
        }
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn check_requirement(r: &str) -> std::result::Result<(), String> {
    if r.is_empty() {
        return Err("empty requirement (two commas in a row?)".into());
    }
    if let Some(key) = r.strip_prefix('!') {
        return check_key(key.trim());
    }
    for op in ["==", "!=", "="] {
        if let Some((key, value)) = r.split_once(op) {
            check_key(key.trim())?;
            return check_value(value.trim());
        }
    }
    for op in [" notin ", " in "] {
        if let Some((key, values)) = r.split_once(op) {
            check_key(key.trim())?;
            let values = values.trim();
            if values.starts_with('(') && !values.ends_with(')') {
                return Err(format!(
                    "unterminated list after {:?}: {values:?} has no closing \")\"",
                    op.trim()
                ));
            }
            let inner = values
                .strip_prefix('(')
                .and_then(|v| v.strip_suffix(')'))
                .ok_or_else(|| {
                    format!(
                        "{values:?}: the values of {} must be in parentheses",
                        op.trim()
                    )
                })?;
            return inner.split(',').try_for_each(|v| check_value(v.trim()));
        }
    }
    check_key(r)
}

fn name_ok(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn check_key(key: &str) -> std::result::Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        p.len() <= 253
            && p.split('.')
                .all(|part| name_ok(part, 63) && !part.contains('_'))
    });
    if prefix_ok && name_ok(name, 63) {
        Ok(())
    } else {
        Err(format!("{key:?} is not a valid label key"))
    }
}

fn check_value(value: &str) -> std::result::Result<(), String> {
    if value.is_empty() || name_ok(value, 63) {
        Ok(())
    } else {
        Err(format!("{value:?} is not a valid label value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_selector_syntax() {
        for ok in [
            "node-role.kubernetes.io/worker",
            "node-role.kubernetes.io/worker=",
            "!node-role.kubernetes.io/control-plane",
            "kubernetes.io/hostname in (w1, w2),topology.kubernetes.io/zone!=a",
            "tier==edge",
            "env notin (dev)",
        ] {
            assert_eq!(
                NodeSelection::parse(ok).unwrap(),
                NodeSelection::Labels(ok.to_string()),
                "{ok}"
            );
        }
        assert_eq!(NodeSelection::parse("ALL").unwrap(), NodeSelection::All);
        assert_eq!(NodeSelection::All.label_selector(), None);
        for bad in [
            "",
            "a,,b",
            "role=worker!",
            "-bad",
            "x in w1",
            "x in (w 1)",
            "a/b/c",
        ] {
            let err = NodeSelection::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), crate::ExitCode::Usage, "{bad}");
        }
        for open in ["foo in (", "foo notin (a,b", "a=b,foo in (x"] {
            let err = NodeSelection::parse(open).unwrap_err().to_string();
            assert!(err.contains("unterminated list after"), "{open}: {err}");
            assert!(err.contains("has no closing \")\""), "{open}: {err}");
        }
    }
}
