//! Writing a bundle: MANIFEST.txt (pure), and the gzip'd tar written to a temporary file next
//! to the target and renamed into place, so an interrupted run never leaves half an archive
//! under the user's name. An existing file is replaced, as `--junit FILE` replaces its file.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::Contents;
use crate::{Error, Result};

/// What was written, for doctor's closing line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    /// The archive's size.
    pub bytes: u64,
    /// Files in it, MANIFEST.txt included.
    pub files: usize,
    /// Items that could not be collected.
    pub missing: usize,
    /// Doctor could not read the cluster: the bundle holds only what lbctl knows without it.
    pub unreached: bool,
}

/// Refuses, before anything is contacted, a path the archive cannot be written to (exit 2).
pub fn check_path(path: &Path) -> Result<()> {
    crate::output_path::check("--bundle", path, "lbctl-bundle.tar.gz")
}

/// MANIFEST.txt: why doctor could not read the cluster (when it could not), every file with
/// its size (and why it is cut), what was read and is empty (no file), then what could not be
/// collected with the reason.
pub fn manifest(root: &str, contents: &Contents) -> String {
    let mut out = format!(
        "{root}: support bundle written by lbctl {}\n\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(u) = &contents.unreached {
        out.push_str(&format!(
            "doctor could not read the cluster: this bundle holds only what lbctl knows without it\n  error: {}\n",
            u.message
        ));
        if let Some(hint) = &u.hint {
            out.push_str(&format!("  hint: {hint}\n"));
        }
        out.push('\n');
    }
    out.push_str("files (bytes, path):\n");
    for f in &contents.files {
        out.push_str(&format!("{:>10}  {}", f.data.len(), f.path));
        if let Some(cut) = &f.cut {
            out.push_str(&format!("  (cut: {cut})"));
        }
        out.push('\n');
    }
    if !contents.empty.is_empty() {
        out.push_str("\ncollected, empty (no file written):\n");
        for e in &contents.empty {
            out.push_str(&format!("  {}: {} ({})\n", e.what, e.had, e.path));
        }
    }
    out.push_str(&format!("\nnot collected ({}):\n", contents.missing.len()));
    if contents.missing.is_empty() {
        out.push_str("  nothing\n");
    }
    for m in &contents.missing {
        out.push_str(&format!("  {}: {}\n", m.what, m.reason));
    }
    out.push_str(
        "\nnever collected: Secret values (only name, type and data keys), literal env values of \
unknown variables, kubeconfig content, tokens and keys.\n",
    );
    out
}

/// Writes `contents` and MANIFEST.txt under `root/` into `path` as a .tar.gz.
pub fn write(path: &Path, root: &str, contents: &Contents) -> Result<Written> {
    let fail =
        |e: std::io::Error| Error::io(format!("cannot write --bundle {}", path.display()), e);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temp = crate::output_path::parent_dir(path)
        .join(format!(".{name}.{}.partial", std::process::id()));
    let manifest = manifest(root, contents);
    let result = (|| {
        let file = std::fs::File::create(&temp)?;
        let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
        let mtime = jiff::Timestamp::now().as_second().max(0) as u64;
        let entries = contents
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.data.as_slice()))
            .chain([("MANIFEST.txt", manifest.as_bytes())]);
        for (file, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, format!("{root}/{file}"), data)?;
        }
        let mut gz = tar.into_inner()?;
        gz.flush()?;
        let file = gz.finish()?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        std::fs::rename(&temp, path)?;
        Ok(bytes)
    })();
    match result {
        Ok(bytes) => Ok(Written {
            path: path.to_path_buf(),
            bytes,
            files: contents.files.len() + 1,
            missing: contents.missing.len(),
            unreached: contents.unreached.is_some(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(fail(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::File;

    #[test]
    fn manifest_lists_sizes_cuts_and_what_is_missing() {
        let mut c = Contents::default();
        c.file("report.json", "{}");
        c.files.push(File {
            path: "logs/speaker-x/speaker.log".into(),
            data: b"abc".to_vec(),
            cut: Some("the last 2000 lines".into()),
        });
        c.missing(
            "logs of pod controller-1",
            "403: cannot get pods/log in namespace metallb-system: permission denied",
        );
        let text = manifest("lbctl-bundle-x", &c);
        assert!(text.contains("         2  report.json\n"), "{text}");
        assert!(
            text.contains("         3  logs/speaker-x/speaker.log  (cut: the last 2000 lines)\n")
        );
        assert!(text.contains("not collected (1):\n  logs of pod controller-1: 403: cannot get"));
        assert!(!text.contains("empty") && !text.contains("could not read the cluster"));
    }

    #[test]
    fn manifest_lists_kinds_without_objects_and_why_the_cluster_was_not_reached() {
        let mut c = Contents::unreached(
            "{}".into(),
            crate::output::ErrorMessage {
                message: "cannot reach the Kubernetes API at https://10.0.0.1:6443: refused".into(),
                hint: Some("check that the cluster is up".into()),
            },
        );
        c.objects(
            "metallb/bgppeers.yaml",
            "BGPPeers in metallb-system",
            String::new(),
        );
        c.objects(
            "metallb/ipaddresspools.yaml",
            "IPAddressPools",
            "kind: IPAddressPool\n".into(),
        );
        let text = manifest("r", &c);
        let head = format!(
            "r: support bundle written by lbctl {}\n\ndoctor could not read the cluster: \
this bundle holds only what lbctl knows without it\n  error: cannot reach the Kubernetes API at \
https://10.0.0.1:6443: refused\n  hint: check that the cluster is up\n\nfiles (bytes, path):\n",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.starts_with(&head), "{text}");
        assert!(
            text.contains("  metallb/ipaddresspools.yaml\n") && text.contains("  version.txt\n")
        );
        assert!(text.contains(
            "collected, empty (no file written):\n  BGPPeers in metallb-system: 0 objects (metallb/bgppeers.yaml)\n"
        ));
        assert!(!text.contains("  metallb/bgppeers.yaml\n"), "{text}");
        assert!(text.contains("not collected (1):\n  everything read from the cluster"));
    }

    #[test]
    fn bad_paths_are_refused_and_a_written_archive_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/b.tar.gz");
        let err = check_path(&missing).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(check_path(dir.path()).is_err());
        let path = dir.path().join("b.tar.gz");
        std::fs::write(&path, "old").unwrap();
        check_path(&path).unwrap();
        let mut c = Contents::default();
        c.file("a.txt", "hello");
        let written = write(&path, "root", &c).unwrap();
        assert_eq!(written.files, 2);
        assert_eq!(written.bytes, std::fs::metadata(&path).unwrap().len());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&path).unwrap(),
        ));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["root/a.txt", "root/MANIFEST.txt"]);
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
