//! Where node facts are read from: `/proc`, `/sys` and `/lib/modules` on a real node, a fixture
//! tree in tests, or the dump a node-check pod printed ([`crate::net::dump`]).
//!
//! Readers ask a [`NodeFiles`] for files by their path on the node (`/proc/net/route`), so the
//! same parser reads the local host and a remote node's dump.

use std::path::{Path, PathBuf};

/// A read-only view of a node's files, addressed by their absolute path on the node.
pub trait NodeFiles {
    /// The text of a file; `None` when it is missing or unreadable (the fact is then unknown).
    fn read(&self, path: &str) -> Option<String>;
    /// The entry names of a directory; `None` when it cannot be listed.
    fn list(&self, dir: &str) -> Option<Vec<String>>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &str) -> bool;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoots {
    /// The proc filesystem, normally `/proc`.
    pub proc: PathBuf,
    /// The kernel modules tree, normally `/lib/modules`.
    pub lib_modules: PathBuf,
    /// The sysfs root, normally `/sys`.
    pub sys: PathBuf,
}

impl Default for HostRoots {
    fn default() -> Self {
        HostRoots {
            proc: PathBuf::from("/proc"),
            lib_modules: PathBuf::from("/lib/modules"),
            sys: PathBuf::from("/sys"),
        }
    }
}

impl HostRoots {
    /// A fixture tree laid out as `<dir>/` for proc, `<dir>/lib-modules/` for modules and
    /// `<dir>/sysfs/` for sysfs.
    pub fn fixture(dir: &Path) -> Self {
        HostRoots {
            proc: dir.to_path_buf(),
            lib_modules: dir.join("lib-modules"),
            sys: dir.join("sysfs"),
        }
    }

    /// `/proc` replaced by `dir` (`--proc-root`), the other roots as on this host.
    pub fn with_proc(dir: &Path) -> Self {
        HostRoots {
            proc: dir.to_path_buf(),
            ..HostRoots::default()
        }
    }

    pub fn proc_path(&self, relative: &str) -> PathBuf {
        self.proc.join(relative)
    }

    /// Where a node path lives under these roots; `None` outside /proc, /sys and /lib/modules.
    pub fn resolve(&self, path: &str) -> Option<PathBuf> {
        let under = |prefix: &str, root: &Path| {
            let rest = path.strip_prefix(prefix)?;
            if rest.is_empty() {
                Some(root.to_path_buf())
            } else {
                rest.strip_prefix('/').map(|rest| root.join(rest))
            }
        };
        under("/proc", &self.proc)
            .or_else(|| under("/sys", &self.sys))
            .or_else(|| under("/lib/modules", &self.lib_modules))
    }
}

impl NodeFiles for HostRoots {
    fn read(&self, path: &str) -> Option<String> {
        self.resolve(path).and_then(|p| read_optional(&p))
    }

    fn list(&self, dir: &str) -> Option<Vec<String>> {
        let entries = std::fs::read_dir(self.resolve(dir)?).ok()?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Some(names)
    }

    fn exists(&self, path: &str) -> bool {
        self.resolve(path).is_some_and(|p| p.exists())
    }
}

/// Reads a small text file; a missing file is `None` (the fact is then unknown, not an error).
pub(crate) fn read_optional(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_paths_map_onto_the_roots() {
        let roots = HostRoots::fixture(Path::new("/fx"));
        assert_eq!(
            roots.resolve("/proc/net/route"),
            Some(PathBuf::from("/fx/net/route"))
        );
        assert_eq!(
            roots.resolve("/sys/class/net"),
            Some(PathBuf::from("/fx/sysfs/class/net"))
        );
        assert_eq!(
            roots.resolve("/lib/modules/6.1/modules.builtin"),
            Some(PathBuf::from("/fx/lib-modules/6.1/modules.builtin"))
        );
        assert_eq!(roots.resolve("/etc/passwd"), None);
        assert_eq!(roots.resolve("/procfs"), None);
    }
}
