//! Unified diffs of configuration text, as `diff -u` and `kubectl diff` print them.

use colored::Colorize;
use similar::TextDiff;

/// A unified diff of `before` -> `after` with three lines of context; empty when equal.
/// Carriage returns stay in the lines, so a CRLF file diffs as itself.
pub fn unified(before: &str, after: &str, old_name: &str, new_name: &str) -> String {
    if before == after {
        return String::new();
    }
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .missing_newline_hint(true)
        .to_string()
}

/// Colours a unified diff for a terminal (`colored` decides whether colour is on).
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len());
    for line in diff.split_inclusive('\n') {
        let (body, eol) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let painted = if body.starts_with("+++") || body.starts_with("---") {
            body.bold().to_string()
        } else if body.starts_with('+') {
            body.green().to_string()
        } else if body.starts_with('-') {
            body.red().to_string()
        } else if body.starts_with("@@") {
            body.cyan().to_string()
        } else {
            body.to_string()
        };
        out.push_str(&painted);
        out.push_str(eol);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diff_has_headers_hunks_and_context() {
        let before = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let after = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = unified(before, after, "current", "planned");
        assert!(
            d.starts_with("--- current\n+++ planned\n@@ -2,7 +2,7 @@\n"),
            "{d}"
        );
        assert!(d.contains("\n-e\n+E\n"));
        assert_eq!(unified(before, before, "x", "y"), "");
    }

    #[test]
    fn missing_final_newline_is_shown() {
        let d = unified("a: 1", "a: 2", "x", "y");
        assert!(d.contains("No newline at end of file"), "{d}");
    }

    #[test]
    fn colour_keeps_text_when_off() {
        colored::control::set_override(false);
        let d = unified("a\n", "b\n", "x", "y");
        assert_eq!(colorize(&d), d);
    }
}
