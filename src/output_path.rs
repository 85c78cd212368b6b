//! Files a command writes besides its report (`--junit FILE`, `--bundle FILE`): a path that
//! cannot be written is refused before anything is contacted (exit 2), not after the work.

use std::path::Path;

use crate::{Error, Result};

/// Refuses an empty name, a directory, or a file in a directory that does not exist. An
/// existing file is fine: it is replaced.
pub fn check(flag: &str, path: &Path, example: &str) -> Result<()> {
    let shown = path.display();
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(Error::usage(format!("{flag} {shown:?}: not a file name")));
    }
    if path.is_dir() {
        return Err(Error::usage_with_hint(
            format!("{flag} {shown}: is a directory"),
            format!("name the file to write, e.g. {flag} {example}"),
        ));
    }
    let parent = parent_dir(path);
    if !parent.is_dir() {
        return Err(Error::usage_with_hint(
            format!(
                "{flag} {shown}: directory {} does not exist",
                parent.display()
            ),
            "create the directory first, or write the file elsewhere",
        ));
    }
    Ok(())
}

/// `--junit FILE` of the check commands.
pub fn check_junit(path: Option<&Path>) -> Result<()> {
    path.map_or(Ok(()), |p| check("--junit", p, "report.xml"))
}

/// The directory `path` goes to (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_or_a_directory_is_refused_and_an_existing_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/report.xml");
        let err = check("--junit", &missing, "report.xml").unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = check("--junit", dir.path(), "report.xml").unwrap_err();
        assert!(err.to_string().starts_with("--junit "), "{err}");
        assert!(err.to_string().ends_with("is a directory"), "{err}");
        assert!(check("--junit", Path::new(""), "report.xml").is_err());
        let existing = dir.path().join("report.xml");
        std::fs::write(&existing, "old").unwrap();
        check("--junit", &existing, "report.xml").unwrap();
        assert_eq!(parent_dir(Path::new("report.xml")), Path::new("."));
    }
}
