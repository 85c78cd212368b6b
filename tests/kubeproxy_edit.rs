//! The lossless kube-proxy configuration editor on real-world layouts (tests/fixtures/kube-proxy)
//! and on generated documents (property test: only the changed lines differ).
//!
//! Expected outputs live in `tests/fixtures/kube-proxy/expected/`; after a deliberate change of
//! the editor, regenerate them with `LBCTL_REGENERATE=1 cargo test --test kubeproxy_edit` and
//! review the diff.

use std::path::PathBuf;

use lbctl::kubeproxy::config::{ConfigError, ProxyMode, parse};
use lbctl::kubeproxy::plan::{ModeChoice, PlanError, ServerVersion, plan};
use proptest::prelude::*;
use similar::{ChangeTag, TextDiff};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kube-proxy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn server() -> ServerVersion {
    ServerVersion::new("v1.36.0", "1", "36").unwrap()
}

/// Every removed line is one lbctl may change; every added line carries an intended value.
/// A line of a multi-line flow mapping may only gain `strictARP: true`. A missing final line
/// break is not a change of the last line (an insertion after it has to add one).
fn assert_only_intended_lines_changed(before: &str, after: &str) {
    let eol = if before.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let terminated = |t: &str| {
        if t.ends_with('\n') || t.is_empty() {
            t.to_string()
        } else {
            format!("{t}{eol}")
        }
    };
    let (before, after) = (terminated(before), terminated(after));
    let diff = TextDiff::from_lines(&before, &after);
    let inserted: Vec<&str> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == ChangeTag::Insert)
        .map(|c| c.value())
        .collect();
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches(['\n', '\r']);
        let key = line.trim_start().trim_start_matches(['"', '\'']);
        match change.tag() {
            ChangeTag::Equal => {}
            ChangeTag::Delete => assert!(
                key.starts_with("mode")
                    || key.starts_with("strictARP")
                    || key.starts_with("ipvs")
                    || inserted
                        .iter()
                        .any(|i| i.replacen(", strictARP: true", "", 1) == change.value()),
                "a line lbctl must not touch was changed: {line:?}"
            ),
            ChangeTag::Insert => assert!(
                line.contains("ipvs") || line.contains("strictARP"),
                "an unexpected line was added: {line:?}"
            ),
        }
    }
}

#[test]
fn fixtures_edit_as_expected() {
    let cases: &[(&str, Option<ModeChoice>, usize)] = &[
        ("kubeadm-v1.29.yaml", None, 2),
        ("kubeadm-v1.31.yaml", None, 2),
        ("kubeadm-v1.33.yaml", None, 2),
        ("kubeadm-v1.36.yaml", None, 2),
        ("kubeadm-v1.36.yaml", Some(ModeChoice::Keep), 1),
        ("eks.yaml", None, 2),
        ("configured.yaml", None, 0),
        ("iptables.yaml", None, 2),
        ("nftables.yaml", Some(ModeChoice::Ipvs), 2),
        ("nftables.yaml", Some(ModeChoice::Keep), 1),
        ("empty-mode.yaml", Some(ModeChoice::Ipvs), 2),
        ("flow-style.yaml", None, 2),
        ("flow-style-no-strictarp.yaml", None, 2),
        ("quoted.yaml", None, 2),
        ("comments.yaml", None, 2),
        ("crlf.yaml", None, 2),
        ("missing-ipvs.yaml", None, 2),
        ("null-ipvs.yaml", None, 2),
        ("no-trailing-newline.yaml", None, 2),
    ];
    let regenerate = std::env::var_os("LBCTL_REGENERATE").is_some();
    for &(name, mode, changes) in cases {
        let input = fixture(name);
        let p = plan(&input, mode, Some(&server())).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.changes.len(), changes, "{name}: {:?}", p.changes);
        assert_only_intended_lines_changed(&input, &p.new_text);
        let (_, after) = parse(&p.new_text).unwrap();
        assert_eq!(after.strict_arp, Some(true), "{name}");
        if mode != Some(ModeChoice::Keep) {
            assert_eq!(after.mode, ProxyMode::Ipvs, "{name}");
        } else {
            assert_eq!(after.mode, p.before.mode, "{name}");
        }
        // Line endings of the document are kept, also in inserted lines.
        assert_eq!(
            input.contains("\r\n"),
            p.new_text.contains("\r\n"),
            "{name}"
        );
        if input.contains("\r\n") {
            assert_eq!(
                p.new_text.matches('\n').count(),
                p.new_text.matches("\r\n").count(),
                "{name}"
            );
        }

        let mode_name = mode
            .map(|m| format!("{m:?}").to_lowercase())
            .unwrap_or("default".into());
        let expected_name = format!(
            "expected/{}.{mode_name}.yaml",
            name.trim_end_matches(".yaml")
        );
        let expected_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kube-proxy")
            .join(&expected_name);
        if regenerate {
            std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
            std::fs::write(&expected_path, &p.new_text).unwrap();
        } else {
            assert_eq!(
                p.new_text,
                fixture(&expected_name),
                "{name} with --mode {mode_name}"
            );
        }
    }
}

#[test]
fn eks_obsolete_keys_survive_and_strict_arp_is_inserted() {
    let input = fixture("eks.yaml");
    let p = plan(&input, None, Some(&server())).unwrap();
    for kept in [
        "udpIdleTimeout: 250ms",
        "resourceContainer: \"\"",
        "  max: 0",
        "mode: \"ipvs\"",
    ] {
        assert!(p.new_text.contains(kept), "{kept} missing");
    }
    assert!(
        p.new_text
            .contains("  scheduler: \"\"\n  strictARP: true\n  syncPeriod: 30s\n")
    );
}

#[test]
fn bad_documents_are_refused() {
    assert!(matches!(
        plan(&fixture("malformed.yaml"), None, None),
        Err(PlanError::Config(ConfigError::NotYaml(_)))
    ));
    assert!(matches!(
        plan(&fixture("not-kube-proxy.yaml"), None, None),
        Err(PlanError::Config(ConfigError::NotKubeProxyConfiguration(_)))
    ));
    assert_eq!(
        plan(&fixture("nftables.yaml"), None, None),
        Err(PlanError::LeavingNftables)
    );
}

#[test]
fn switching_into_ipvs_on_new_servers_warns_with_the_version() {
    let p = plan(&fixture("iptables.yaml"), None, Some(&server())).unwrap();
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("deprecated") && w.contains("v1.36.0"))
    );
    let old = ServerVersion::new("v1.29.4", "1", "29").unwrap();
    let p = plan(&fixture("kubeadm-v1.29.yaml"), None, Some(&old)).unwrap();
    assert!(!p.warnings.iter().any(|w| w.contains("deprecated")));
}

/// Pieces a generated KubeProxyConfiguration is built from.
#[derive(Debug, Clone)]
struct GenDoc {
    indent: usize,
    crlf: bool,
    comments: bool,
    sorted: bool,
    ipvs: GenIpvs,
    mode: Option<String>,
    extra: Vec<(String, String)>,
    trailing_newline: bool,
}

#[derive(Debug, Clone)]
enum GenIpvs {
    Absent,
    Null,
    Block {
        strict: Option<String>,
        others: Vec<(String, String)>,
    },
    Flow {
        strict: Option<String>,
        others: Vec<(String, String)>,
    },
}

fn render(doc: &GenDoc) -> String {
    let pad = " ".repeat(doc.indent);
    let mut entries: Vec<(String, Vec<String>)> = vec![
        (
            "apiVersion".into(),
            vec!["apiVersion: kubeproxy.config.k8s.io/v1alpha1".into()],
        ),
        ("kind".into(), vec!["kind: KubeProxyConfiguration".into()]),
    ];
    for (k, v) in &doc.extra {
        let mut lines = vec![format!("{k}:")];
        lines.push(format!("{pad}nested: {v}"));
        entries.push((k.clone(), lines));
    }
    if let Some(mode) = &doc.mode {
        entries.push(("mode".into(), vec![format!("mode: {mode}")]));
    }
    match &doc.ipvs {
        GenIpvs::Absent => {}
        GenIpvs::Null => entries.push(("ipvs".into(), vec!["ipvs: null".into()])),
        GenIpvs::Block { strict, others } => {
            let mut children: Vec<(String, String)> = others.clone();
            if let Some(s) = strict {
                children.push(("strictARP".into(), s.clone()));
            }
            children.sort();
            let mut lines = vec!["ipvs:".to_string()];
            for (k, v) in children {
                if doc.comments {
                    lines.push(format!("{pad}# about {k}"));
                }
                lines.push(format!("{pad}{k}: {v}"));
            }
            entries.push(("ipvs".into(), lines));
        }
        GenIpvs::Flow { strict, others } => {
            let mut parts: Vec<String> = others.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            if let Some(s) = strict {
                parts.push(format!("strictARP: {s}"));
            }
            entries.push((
                "ipvs".into(),
                vec![format!("ipvs: {{{}}}", parts.join(", "))],
            ));
        }
    }
    if doc.sorted {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let eol = if doc.crlf { "\r\n" } else { "\n" };
    let mut lines = Vec::new();
    if doc.comments {
        lines.push("# generated".to_string());
    }
    for (_, l) in entries {
        lines.extend(l);
    }
    let mut text = lines.join(eol);
    if doc.trailing_newline {
        text.push_str(eol);
    }
    text
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0s".to_string()),
        Just("\"\"".to_string()),
        Just("'rr'".to_string()),
        Just("null".to_string()),
        Just("30s # trailing comment".to_string()),
        "[a-z]{1,8}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn ipvs_others() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::sample::subsequence(
        vec![
            "excludeCIDRs",
            "minSyncPeriod",
            "scheduler",
            "syncPeriod",
            "tcpTimeout",
            "udpTimeout",
        ],
        0..=6,
    )
    .prop_flat_map(|keys| {
        let n = keys.len();
        (Just(keys), proptest::collection::vec(scalar(), n))
    })
    .prop_map(|(keys, values)| keys.into_iter().map(str::to_string).zip(values).collect())
}

fn gen_doc() -> impl Strategy<Value = GenDoc> {
    let strict = proptest::option::of(prop_oneof![
        Just("false".to_string()),
        Just("true".to_string()),
        Just("null".to_string())
    ]);
    let ipvs = prop_oneof![
        Just(GenIpvs::Absent),
        Just(GenIpvs::Null),
        (strict.clone(), ipvs_others())
            .prop_map(|(strict, others)| GenIpvs::Block { strict, others }),
        (
            strict
                .clone()
                .prop_filter("flow null is not generated", |s| s.as_deref()
                    != Some("null")),
            ipvs_others().prop_map(|o| o
                .into_iter()
                .map(|(k, v)| (k, v.replace(" # trailing comment", "")))
                .collect())
        )
            .prop_map(|(strict, others)| GenIpvs::Flow { strict, others }),
    ];
    let mode = proptest::option::of(prop_oneof![
        Just("\"\"".to_string()),
        Just("iptables".to_string()),
        Just("'ipvs'".to_string()),
        Just("\"iptables\" # old".to_string()),
        Just("".to_string()),
    ]);
    let extra = proptest::collection::vec(("[a-z][a-zA-Z]{2,10}", "[a-z][a-z0-9]{0,5}"), 0..4)
        .prop_map(|v| {
            v.into_iter()
                .filter(|(k, _)| !["mode", "ipvs", "kind", "apiVersion"].contains(&k.as_str()))
                .fold(Vec::<(String, String)>::new(), |mut acc, (k, v)| {
                    if !acc.iter().any(|(a, _)| a == &k) {
                        acc.push((k, v));
                    }
                    acc
                })
        });
    (
        prop_oneof![Just(2usize), Just(4usize), Just(3usize)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        ipvs,
        mode,
        extra,
        any::<bool>(),
    )
        .prop_map(
            |(indent, crlf, comments, sorted, ipvs, mode, extra, trailing_newline)| GenDoc {
                indent,
                crlf,
                comments,
                sorted,
                ipvs,
                mode,
                extra,
                trailing_newline,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Apart from the changed lines the output equals the input, and it says what was intended.
    #[test]
    fn only_the_changed_lines_differ(doc in gen_doc(), keep in any::<bool>()) {
        let text = render(&doc);
        let mode = if keep { ModeChoice::Keep } else { ModeChoice::Ipvs };
        let p = plan(&text, Some(mode), Some(&server())).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        assert_only_intended_lines_changed(&text, &p.new_text);
        let (_, after) = parse(&p.new_text).unwrap();
        prop_assert_eq!(after.strict_arp, Some(true));
        if !keep {
            prop_assert_eq!(after.mode, ProxyMode::Ipvs);
        }
        // A second run changes nothing.
        let again = plan(&p.new_text, Some(mode), Some(&server())).unwrap();
        prop_assert!(again.is_empty());
        prop_assert_eq!(again.new_text, p.new_text.clone());
        // Unchanged lines keep their bytes: the count of lines only grows by inserted keys.
        let added = p.new_text.lines().count() as isize - text.lines().count() as isize;
        prop_assert!((0..=3).contains(&added), "added {} lines", added);
    }
}
