//! Checks: the shared model (IDs, statuses, `--ignore`, `--fail-on`, exit codes), `--wait`,
//! the runner every check command uses, and the pure rule sets of each command.

pub mod doctor;
pub mod explain;
pub mod model;
pub mod preflight;
pub mod runner;
pub mod wait;

pub use model::{
    Check, CheckSpec, FailOn, Outcome, Policy, Status, Summary, run_checks, run_checks_per_node,
};

/// The outcome of a check whose source could not be read: `error`, naming what and why.
pub fn source_outcome(err: &crate::facts::cluster::SourceError) -> Outcome {
    Outcome::error(err.describe(), err.hint())
}

/// Test helper for every check set: IDs unique, dependencies listed earlier, an anchor for each
/// ID in docs/checks.md.
#[cfg(test)]
pub(crate) fn assert_catalog<F>(specs: &[CheckSpec<F>]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let mut seen: Vec<&str> = Vec::new();
    for s in specs {
        assert!(!seen.contains(&s.id), "duplicate {}", s.id);
        for dep in s.depends_on {
            assert!(seen.contains(dep), "{} depends on later {dep}", s.id);
        }
        let anchor = format!("<a id=\"{}\"></a>", s.id.to_ascii_lowercase());
        assert!(docs.contains(&anchor), "docs/checks.md lacks {anchor}");
        seen.push(s.id);
    }
}
