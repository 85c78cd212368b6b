//! Finding the control plane's binaries and unpacking them once per run, outside the repository.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub(crate) const NAMES: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// The environment variable naming a directory of unpacked binaries or of `.xz` files.
pub const BIN_DIR_ENV: &str = "LBCTL_K8S_BIN_DIR";

/// Where the binaries are, before unpacking.
pub(crate) enum Source {
    /// Every binary unpacked and executable in this directory.
    Unpacked(PathBuf),
    /// `<name>.xz` for every binary here; `sha256sums` (the unpacked binaries' hashes) beside
    /// them or one level up, as in `../shared/kubernetes-v1.36/{bin/,sha256sums}`.
    Compressed { dir: PathBuf, sums: Option<PathBuf> },
}

/// Why there is no control plane to start.
pub(crate) enum Unavailable {
    /// The shared directory does not exist (a checkout outside this machine): skip the tier.
    Absent(String),
    /// It exists (or `LBCTL_K8S_BIN_DIR` is set) but cannot be used: a real failure.
    Broken(String),
}

impl Unavailable {
    pub(crate) fn message(&self) -> &str {
        match self {
            Unavailable::Absent(m) | Unavailable::Broken(m) => m,
        }
    }
}

/// `<workspace root>/../shared/kubernetes-v1.36`.
pub(crate) fn shared_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().and_then(Path::parent).unwrap_or(manifest);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match root.parent() {
        Some(parent) => parent.join("shared").join("kubernetes-v1.36"),
        None => root.join("../shared/kubernetes-v1.36"),
    }
}

pub(crate) fn locate() -> Result<Source, Unavailable> {
    let (dir, from_env) = match std::env::var_os(BIN_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => (PathBuf::from(dir), true),
        None => (shared_dir(), false),
    };
    if !dir.is_dir() {
        return Err(if from_env {
            Unavailable::Broken(format!(
                "{BIN_DIR_ENV}={} is not a directory",
                dir.display()
            ))
        } else {
            Unavailable::Absent(format!(
                "../shared/kubernetes-v1.36 is absent (looked for {}; set {BIN_DIR_ENV} to a \
                 directory of the binaries or of their .xz files)",
                dir.display()
            ))
        });
    }
    let dir = if dir.join("bin").is_dir() {
        dir.join("bin")
    } else {
        dir
    };
    if NAMES.iter().all(|name| is_executable(&dir.join(name))) {
        return Ok(Source::Unpacked(dir));
    }
    let missing: Vec<String> = NAMES
        .iter()
        .map(|name| format!("{name}.xz"))
        .filter(|file| !dir.join(file).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(Unavailable::Broken(format!(
            "{} holds neither the unpacked binaries ({}) nor their .xz files (missing: {})",
            dir.display(),
            NAMES.join(", "),
            missing.join(", ")
        )));
    }
    if !xz_exists() {
        return Err(Unavailable::Broken(format!(
            "{} holds .xz files but the `xz` program is not on PATH (Debian/Ubuntu: apt-get \
             install xz-utils)",
            dir.display()
        )));
    }
    let sums = [dir.join("sha256sums"), dir.join("../sha256sums")]
        .into_iter()
        .find(|p| p.is_file());
    Ok(Source::Compressed { dir, sums })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn xz_exists() -> bool {
    Command::new("xz")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The unpacked binaries.
pub(crate) struct Binaries {
    pub dir: PathBuf,
    /// Time spent unpacking in this process (`None`: found ready).
    pub unpacked_in: Option<Duration>,
}

impl Binaries {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Unpacks (at most once per process) and returns the binaries.
pub(crate) fn binaries() -> Result<&'static Binaries, String> {
    static BINARIES: OnceLock<Result<Binaries, String>> = OnceLock::new();
    BINARIES
        .get_or_init(|| match locate() {
            Ok(Source::Unpacked(dir)) => Ok(Binaries {
                dir,
                unpacked_in: None,
            }),
            Ok(Source::Compressed { dir, sums }) => unpack(&dir, sums.as_deref()),
            Err(e) => Err(e.message().to_string()),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Unpacks into `$TMPDIR/lbctl-k8s-<first 12 hex of sha256(sha256sums)>/`: into a staging
/// directory first, verified, then renamed, so concurrent test processes race safely (the
/// loser of the rename throws its copy away).
fn unpack(dir: &Path, sums: Option<&Path>) -> Result<Binaries, String> {
    let started = Instant::now();
    let (key, expected) = match sums {
        Some(sums) => {
            let text = fs::read_to_string(sums)
                .map_err(|e| format!("cannot read {}: {e}", sums.display()))?;
            (hex(&sha256(text.as_bytes())), parse_sums(&text))
        }
        // No list of hashes: name the directory after the compressed files themselves.
        None => {
            let mut all = Vec::new();
            for name in NAMES {
                let path = dir.join(format!("{name}.xz"));
                all.extend(sha256_file(&path).map_err(|e| format!("{}: {e}", path.display()))?);
            }
            (hex(&sha256(&all)), HashMap::new())
        }
    };
    let tmp = std::env::temp_dir();
    let target = tmp.join(format!("lbctl-k8s-{}", &key[..12]));
    let complete = |d: &Path| NAMES.iter().all(|name| is_executable(&d.join(name)));
    if complete(&target) {
        return Ok(Binaries {
            dir: target,
            unpacked_in: None,
        });
    }
    let staging = tmp.join(format!(
        "lbctl-k8s-{}.tmp-{}-{}",
        &key[..12],
        std::process::id(),
        random_hex(4)
    ));
    let result = unpack_into(dir, &staging, &expected).and_then(|()| {
        match fs::rename(&staging, &target) {
            Ok(()) => Ok(()),
            // Another process won the race (or left a broken copy we must not trust).
            Err(_) if complete(&target) => Ok(()),
            Err(e) => Err(format!(
                "cannot rename {} to {}: {e}",
                staging.display(),
                target.display()
            )),
        }
    });
    let _ = fs::remove_dir_all(&staging);
    result.map(|()| Binaries {
        dir: target,
        unpacked_in: Some(started.elapsed()),
    })
}

fn unpack_into(
    dir: &Path,
    staging: &Path,
    expected: &HashMap<String, String>,
) -> Result<(), String> {
    fs::create_dir_all(staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    // One xz per binary, all at once.
    let mut running = Vec::new();
    for name in NAMES {
        let source = dir.join(format!("{name}.xz"));
        let out_path = staging.join(name);
        let out = fs::File::create(&out_path)
            .map_err(|e| format!("cannot create {}: {e}", out_path.display()))?;
        let child = Command::new("xz")
            .arg("-dc")
            .arg(&source)
            .stdout(out)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run xz: {e}"))?;
        running.push((source, child));
    }
    let mut errors = Vec::new();
    for (source, child) in running {
        match child.wait_with_output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => errors.push(format!(
                "xz -dc {} failed ({}): {}",
                source.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => errors.push(format!("xz -dc {}: {e}", source.display())),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    for name in NAMES {
        let path = staging.join(name);
        if let Some(want) = expected.get(name) {
            let got = hex(&sha256_file(&path).map_err(|e| format!("{}: {e}", path.display()))?);
            if &got != want {
                return Err(format!(
                    "{name} unpacked from {} has sha256 {got}, but sha256sums says {want}",
                    dir.join(format!("{name}.xz")).display()
                ));
            }
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `HASH  name` lines (as `sha256sum` writes them) by name.
fn parse_sums(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let hash = parts.next()?;
            let name = parts.next()?.trim_start_matches('*');
            let name = name.rsplit('/').next().unwrap_or(name);
            Some((name.to_string(), hash.to_ascii_lowercase()))
        })
        .collect()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

fn sha256_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = fs::File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    Ok(context.finish().as_ref().to_vec())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut buf = vec![0; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the system's random number generator failed");
    hex(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_by_name() {
        let sums = parse_sums("AB12  etcd\ncd34 *bin/kube-apiserver\n\n");
        assert_eq!(sums["etcd"], "ab12");
        assert_eq!(sums["kube-apiserver"], "cd34");
    }
}
