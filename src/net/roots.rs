//! Where node facts are read from: `/proc` and `/lib/modules` on a real node, a fixture tree in
//! tests, or a host mount inside the remote fact-gathering pod.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoots {
    /// The proc filesystem, normally `/proc`.
    pub proc: PathBuf,
    /// The kernel modules tree, normally `/lib/modules`.
    pub lib_modules: PathBuf,
}

impl Default for HostRoots {
    fn default() -> Self {
        HostRoots {
            proc: PathBuf::from("/proc"),
            lib_modules: PathBuf::from("/lib/modules"),
        }
    }
}

impl HostRoots {
    /// A fixture tree laid out as `<dir>/` for proc and `<dir>/lib-modules/` for modules.
    pub fn fixture(dir: &Path) -> Self {
        HostRoots {
            proc: dir.to_path_buf(),
            lib_modules: dir.join("lib-modules"),
        }
    }

    pub fn proc_path(&self, relative: &str) -> PathBuf {
        self.proc.join(relative)
    }
}

/// Reads a small text file; a missing file is `None` (the fact is then unknown, not an error).
pub(crate) fn read_optional(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}
