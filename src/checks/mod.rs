//! Checks: the shared model (IDs, statuses, `--ignore`, `--fail-on`, exit codes), `--wait`,
//! and the pure rule sets of each command.

pub mod doctor;
pub mod model;
pub mod preflight;
pub mod wait;

pub use model::{Check, CheckSpec, FailOn, Outcome, Policy, Status, Summary, run_checks};
