//! Errors of the library API (loading scenarios, starting the server).

use std::path::PathBuf;

/// Why a scenario could not be loaded or the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read scenario {path}: {source}")]
    ReadScenario {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid scenario: {0}")]
    Scenario(String),
    #[error("scenario object #{index} ({what}) was rejected: {message}")]
    ScenarioObject {
        index: usize,
        what: String,
        message: String,
    },
    #[error("cannot start the server: {0}")]
    Start(String),
}
