//! Human report: checks grouped by area, one symbol per status, hint and docs lines under
//! anything that needs attention, then a summary line. Skips are always shown with the reason;
//! skips that share a reason share a line (`-v` gives each its own, as JSON and JUnit do).

use std::fmt::Write;

use colored::Colorize;

use super::Report;
use crate::checks::{Check, Status};

/// How to draw: colour (decided by `output::use_color`) and Unicode symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub unicode: bool,
    /// One line per skipped check even where several share a reason (`-v`).
    pub every_skip: bool,
}

impl Style {
    pub const PLAIN: Style = Style {
        color: false,
        unicode: true,
        every_skip: false,
    };

    /// The style for stdout: colour as `--color` decided (see `output::init_color`), symbols as
    /// the locale allows, every skip on its own line under `-v`.
    pub fn for_stdout() -> Style {
        Style {
            color: colored::control::SHOULD_COLORIZE.should_colorize(),
            unicode: unicode_from_env(),
            every_skip: crate::verbose::enabled(1),
        }
    }
}

/// True when the locale promises UTF-8 (the first of LC_ALL, LC_CTYPE, LANG that is set
/// decides, as in C's setlocale); otherwise symbols fall back to ASCII.
pub fn locale_is_utf8(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    let value = [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty());
    value.is_some_and(|v| {
        let v = v.to_ascii_lowercase();
        v.contains("utf-8") || v.contains("utf8")
    })
}

/// Reads the locale from the environment (see [`locale_is_utf8`]).
pub fn unicode_from_env() -> bool {
    let var = |k: &str| std::env::var(k).ok();
    locale_is_utf8(
        var("LC_ALL").as_deref(),
        var("LC_CTYPE").as_deref(),
        var("LANG").as_deref(),
    )
}

fn symbol(status: Status, style: Style) -> &'static str {
    match (status, style.unicode) {
        (Status::Pass, true) => "✔",
        (Status::Warn, true) => "!",
        (Status::Fail, true) => "✖",
        (Status::Skip, true) => "-",
        (Status::Error, true) => "?",
        (Status::Pass, false) => "[ok]  ",
        (Status::Warn, false) => "[warn]",
        (Status::Fail, false) => "[FAIL]",
        (Status::Skip, false) => "[skip]",
        (Status::Error, false) => "[ERR] ",
    }
}

fn paint(text: &str, status: Status, style: Style) -> String {
    if !style.color {
        return text.to_string();
    }
    match status {
        Status::Pass => text.green().to_string(),
        Status::Warn => text.yellow().to_string(),
        Status::Fail => text.red().bold().to_string(),
        Status::Skip => text.dimmed().to_string(),
        Status::Error => text.magenta().bold().to_string(),
    }
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Renders the whole report as text ending in a newline.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&crate::invocation::command_line(&report.command));
    match &report.target {
        Some(t) => {
            let _ = write!(out, " on {} (context {}", t.server, t.context);
            if let Some(v) = &t.server_version {
                let _ = write!(out, ", Kubernetes {v}");
            }
            out.push(')');
        }
        None => out.push_str(" (no cluster)"),
    }
    out.push('\n');

    // Areas in order of first appearance; checks keep their order inside an area.
    let mut areas: Vec<&str> = Vec::new();
    for c in &report.checks {
        if !areas.contains(&c.area.as_str()) {
            areas.push(&c.area);
        }
    }
    for area in areas {
        out.push('\n');
        let heading = if style.color {
            area.bold().to_string()
        } else {
            area.to_string()
        };
        let _ = writeln!(out, "{heading}");
        let checks: Vec<&Check> = report.checks.iter().filter(|c| c.area == area).collect();
        for (i, c) in checks.iter().enumerate() {
            let sym = paint(symbol(c.status, style), c.status, style);
            if let Some(reason) = shared_skip(c, &checks, style) {
                // Checks of the area skipped for one reason (all of the cluster's when there
                // is no kubeconfig) share one line where the first one stood.
                if checks[..i]
                    .iter()
                    .any(|e| shared_skip(e, &checks, style) == Some(reason))
                {
                    continue;
                }
                let ids: Vec<String> = checks[i..]
                    .iter()
                    .filter(|e| shared_skip(e, &checks, style) == Some(reason))
                    .map(|e| e.id.clone())
                    .collect();
                let cause = reason.strip_prefix("skipped: ").unwrap_or(reason);
                let _ = writeln!(
                    out,
                    "  {sym} {} skipped ({}): {cause}",
                    count(ids.len(), "check"),
                    crate::checks::preflight::list(&ids, 20)
                );
                continue;
            }
            let id = match &c.node {
                Some(_) if !style.every_skip && same_skip(c).is_some() => {
                    // Nodes skipped for the same reason share one line (JSON and JUnit
                    // keep one entry per node); the line stands where the first one was.
                    if checks[..i].iter().any(|e| same_skip(e) == same_skip(c)) {
                        continue;
                    }
                    let nodes: Vec<String> = checks[i..]
                        .iter()
                        .filter(|e| same_skip(e) == same_skip(c))
                        .filter_map(|e| e.node.clone())
                        .collect();
                    format!("{} {}", c.id, crate::checks::preflight::list(&nodes, 20))
                }
                Some(node) => format!("{} {node}", c.id),
                None => c.id.clone(),
            };
            let _ = writeln!(out, "  {sym} {id} {}: {}", c.title, c.message);
            if matches!(c.status, Status::Fail | Status::Error | Status::Warn) {
                if let Some(hint) = &c.hint {
                    let _ = writeln!(out, "      hint: {hint}");
                }
                let _ = writeln!(out, "      docs: {}", c.docs);
            }
        }
    }

    if !report.nodes.is_empty() {
        let _ = writeln!(out, "\nnodes: {}", report.nodes_line());
    }
    let s = &report.summary;
    let _ = write!(
        out,
        "\n{}: {} passed, {}, {} failed, {} skipped, {}",
        count(s.total, "check"),
        s.pass,
        count(s.warn, "warning"),
        s.fail,
        s.skip,
        count(s.error, "error")
    );
    if s.ignored > 0 {
        let _ = write!(out, " ({} ignored)", s.ignored);
    }
    let verdict = match report.result {
        "pass" => "result: pass",
        "fail" => "result: FAIL",
        _ => "result: INCOMPLETE (some checks could not run)",
    };
    let _ = writeln!(out, "; {verdict} (exit {})", report.exit_code);
    out
}

/// For a skipped check that is not per node: its reason, when at least one other such check
/// of the area has the same one (and `-v` did not ask for every check).
fn shared_skip<'a>(c: &'a Check, area: &[&Check], style: Style) -> Option<&'a str> {
    let alike = |e: &Check| e.status == Status::Skip && e.node.is_none() && e.message == c.message;
    (!style.every_skip && alike(c) && area.iter().filter(|e| alike(e)).count() > 1)
        .then_some(c.message.as_str())
}

/// For a per-node skip: what must match for two nodes to share one line.
fn same_skip(c: &Check) -> Option<(&str, &str, &str)> {
    (c.status == Status::Skip && c.node.is_some()).then_some((&c.id, &c.title, &c.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitCode;
    use crate::report::sample;

    #[test]
    fn renders_unicode_report() {
        insta::assert_snapshot!(render(&sample::report(), Style::PLAIN));
    }

    #[test]
    fn renders_ascii_report() {
        let style = Style {
            color: false,
            unicode: false,
            every_skip: false,
        };
        let text = render(&sample::report(), style);
        assert!(text.is_ascii());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn node_checks_name_their_node_and_the_failing_nodes() {
        let mut report = sample::report();
        let base = report.checks[4].clone();
        let mut per_node = Vec::new();
        for (node, status) in [
            ("w1", Status::Pass),
            ("w2", Status::Fail),
            ("w3", Status::Error),
        ] {
            let mut c = base.clone();
            c.id = "LB201".into();
            c.node = Some(node.into());
            c.status = status;
            c.ignored = false;
            per_node.push(c);
        }
        report.checks = per_node;
        report.nodes = crate::report::node_summaries(&report.checks);
        let text = render(&report, Style::PLAIN);
        assert!(text.contains("✔ LB201 w1 title of LB203"), "{text}");
        assert!(text.contains("✖ LB201 w2 title of LB203"), "{text}");
        assert!(
            text.contains("\nnodes: 3 checked; fail on w2 (LB201); error on w3 (LB201)\n"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["checks"][1]["node"], "w2");
        assert_eq!(json["nodes"][1]["status"], "fail");
        assert_eq!(json["nodes"][1]["failed"][0], "LB201");
        assert!(crate::report::junit::render(&report).contains("name=\"LB201 w2 title of LB203\""));
    }

    #[test]
    fn nodes_skipped_for_the_same_reason_share_one_line() {
        let sample = sample::report();
        let base = sample.checks[2].clone();
        let per_node = |id: &str, node: &str, status: Status, message: &str| {
            let mut c = base.clone();
            c.id = id.into();
            c.title = format!("title of {id}");
            c.docs = crate::checks::model::docs_anchor(id);
            c.area = "nodes".into();
            c.node = Some(node.into());
            c.status = status;
            c.message = message.into();
            c
        };
        let skipped = "skipped: LB200 could not run";
        let mut checks = Vec::new();
        for node in ["cp1", "w1", "w2"] {
            let status = if node == "w1" {
                Status::Pass
            } else {
                Status::Error
            };
            checks.push(per_node("LB200", node, status, &format!("{node}: checked")));
        }
        for node in ["cp1", "w1", "w2"] {
            let (status, message) = match node {
                "w1" => (Status::Pass, "arp_ignore 1"),
                _ => (Status::Skip, skipped),
            };
            checks.push(per_node("LB201", node, status, message));
        }
        for node in ["cp1", "w1", "w2"] {
            let message = if node == "w2" {
                "other reason"
            } else {
                skipped
            };
            checks.push(per_node("LB202", node, Status::Skip, message));
        }
        let report = Report::new("preflight", sample.target, checks, ExitCode::CannotRun);
        let text = render(&report, Style::PLAIN);
        insta::assert_snapshot!(text);
        assert!(
            text.contains("  - LB201 cp1, w2 title of LB201: skipped: LB200"),
            "{text}"
        );
        assert!(
            text.contains("  - LB202 cp1, w1 title of LB202: skipped: LB200"),
            "{text}"
        );
        assert!(
            text.contains("  - LB202 w2 title of LB202: other reason"),
            "{text}"
        );
        // -v gives each node its own line; JSON and JUnit keep one entry per node.
        let every = render(
            &report,
            Style {
                every_skip: true,
                ..Style::PLAIN
            },
        );
        for node in ["cp1", "w2"] {
            assert!(
                every.contains(&format!("  - LB201 {node} title of LB201: {skipped}\n")),
                "{every}"
            );
        }
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["checks"].as_array().unwrap().len(), 9);
        let junit = crate::report::junit::render(&report);
        assert!(
            junit.contains("name=\"LB202 w1 title of LB202\""),
            "{junit}"
        );
    }

    /// A run without a kubeconfig: the area's checks skipped for one reason share one line;
    /// a lone skip and a skip for another reason keep theirs; `-v` shows every check.
    fn without_kubeconfig() -> Report {
        let sample = sample::report();
        let base = sample.checks[2].clone();
        let check = |id: &str, area: &str, status: Status, message: &str| {
            let mut c = base.clone();
            c.id = id.into();
            c.title = format!("title of {id}");
            c.docs = crate::checks::model::docs_anchor(id);
            c.area = area.into();
            c.status = status;
            c.message = message.into();
            c
        };
        let no_cluster = "skipped: LB101 could not run";
        let checks = vec![
            check("LB101", "cluster", Status::Error, "no kubeconfig found"),
            check("LB102", "cluster", Status::Skip, no_cluster),
            check("LB103", "cluster", Status::Skip, no_cluster),
            check("LB104", "cluster", Status::Skip, "another reason"),
            check("LB105", "cluster", Status::Skip, no_cluster),
            check("LB110", "kube-proxy", Status::Skip, no_cluster),
            check("LB301", "pool", Status::Pass, "11 addresses"),
            check("LB302", "pool", Status::Skip, "no --config given"),
            check("LB303", "pool", Status::Skip, no_cluster),
            check("LB304", "pool", Status::Skip, no_cluster),
        ];
        Report::new("preflight", None, checks, ExitCode::CannotRun)
    }

    #[test]
    fn checks_skipped_for_the_same_reason_share_one_line_per_area() {
        let report = without_kubeconfig();
        let text = render(&report, Style::PLAIN);
        insta::assert_snapshot!(text);
        assert!(
            text.contains("\n  - 3 checks skipped (LB102, LB103, LB105): LB101 could not run\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  - LB104 title of LB104: another reason\n"),
            "{text}"
        );
        // Alone in its area, a skip keeps its own line.
        assert!(
            text.contains("\n  - LB110 title of LB110: skipped: LB101 could not run\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  - 2 checks skipped (LB303, LB304): LB101 could not run\n"),
            "{text}"
        );
        assert!(!text.contains("LB102 title"), "{text}");
        assert!(text.contains("10 checks: 1 passed"), "{text}");
    }

    #[test]
    fn verbose_json_and_junit_keep_every_skipped_check() {
        let report = without_kubeconfig();
        let style = Style {
            every_skip: true,
            ..Style::PLAIN
        };
        let text = render(&report, style);
        assert!(!text.contains("checks skipped"), "{text}");
        for id in ["LB102", "LB103", "LB105", "LB303", "LB304"] {
            assert!(
                text.contains(&format!(
                    "  - {id} title of {id}: skipped: LB101 could not run\n"
                )),
                "{text}"
            );
        }
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["checks"].as_array().unwrap().len(), 10);
        let junit = crate::report::junit::render(&report);
        assert!(junit.contains("name=\"LB103 title of LB103\""), "{junit}");
    }

    #[test]
    fn report_without_cluster_says_so() {
        let mut report = sample::report();
        report.target = None;
        let text = render(&report, Style::PLAIN);
        assert!(text.starts_with("lbctl preflight (no cluster)\n"));
    }

    #[test]
    fn locale_decides_unicode() {
        assert!(locale_is_utf8(None, None, Some("en_US.UTF-8")));
        assert!(locale_is_utf8(Some("C.utf8"), None, Some("C")));
        assert!(!locale_is_utf8(Some("C"), None, Some("en_US.UTF-8")));
        assert!(!locale_is_utf8(None, None, None));
        assert!(locale_is_utf8(Some(""), Some("de_DE.utf8"), None));
    }
}
