//! Lossless edit of a KubeProxyConfiguration text: set `mode: ipvs` and `ipvs.strictARP: true`
//! and keep every other byte (key order, comments, quoting, indentation, unknown keys, CRLF).
//!
//! Existing scalars are replaced in place using the byte spans serde-saphyr reports. Missing keys
//! are inserted by a small line scanner that follows the document's own indentation. Whatever the
//! scanner does is then checked: the result must parse back to exactly the original document
//! with the two intended values changed, otherwise the edit is refused.

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::config::{ConfigError, ProxySettings, parse, settings_of};

/// What to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Set `mode: ipvs` (otherwise the mode is left as it is).
    pub mode_ipvs: bool,
}

/// One changed setting, for the plan summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub field: &'static str,
    pub from: String,
    pub to: String,
}

/// The result of an edit: the new text (equal to the input when nothing changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub before: ProxySettings,
    pub text: String,
    pub changes: Vec<Change>,
}

/// Applies `target` to `text`, losslessly, and verifies the result.
pub fn edit(text: &str, target: Target) -> Result<Edited, ConfigError> {
    let (original, before) = parse(text)?;
    let spans: DocSpans =
        serde_saphyr::from_str(text).map_err(|e| ConfigError::NotYaml(e.to_string()))?;
    let doc = Doc::new(text);
    let mut edits = Vec::new();
    let mut changes = Vec::new();

    if target.mode_ipvs && before.mode_value.as_deref() != Some("ipvs") {
        edits.push(doc.set_top_scalar("mode", spans.mode.as_ref(), "ipvs", true)?);
        changes.push(Change {
            field: "mode",
            from: match &before.mode_value {
                None => "(not set: iptables)".into(),
                Some(m) if m.is_empty() => "\"\" (iptables)".into(),
                Some(m) => m.clone(),
            },
            to: "ipvs".into(),
        });
    }
    if before.strict_arp != Some(true) {
        edits.extend(doc.set_strict_arp(&original, &spans)?);
        changes.push(Change {
            field: "ipvs.strictARP",
            from: match before.strict_arp {
                None => "(not set: false)".into(),
                Some(b) => b.to_string(),
            },
            to: "true".into(),
        });
    }

    let new_text = apply_edits(text, edits);
    verify(&original, &new_text, target)?;
    Ok(Edited {
        before,
        text: new_text,
        changes,
    })
}

/// Byte spans of the scalars lbctl may replace.
#[derive(Deserialize)]
struct DocSpans {
    mode: Option<Spanned<Value>>,
    ipvs: Option<Spanned<Option<IpvsSpans>>>,
}

#[derive(Deserialize)]
struct IpvsSpans {
    #[serde(rename = "strictARP")]
    strict_arp: Option<Spanned<Value>>,
}

/// A replacement of `start..end` by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TextEdit {
    start: usize,
    end: usize,
    text: String,
}

fn apply_edits(text: &str, mut edits: Vec<TextEdit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse((e.start, e.end)));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.start..e.end, &e.text);
    }
    out
}

/// The result must be the original document with exactly the intended values changed.
fn verify(original: &Value, new_text: &str, target: Target) -> Result<(), ConfigError> {
    let (after, settings) =
        parse(new_text).map_err(|e| ConfigError::Verification(e.to_string()))?;
    let mut expected = original.clone();
    if let Value::Object(map) = &mut expected {
        if target.mode_ipvs {
            map.insert("mode".into(), Value::String("ipvs".into()));
        }
        let ipvs = map.entry("ipvs").or_insert(Value::Null);
        if !ipvs.is_object() {
            *ipvs = Value::Object(Default::default());
        }
        if let Value::Object(ipvs) = ipvs {
            ipvs.insert("strictARP".into(), Value::Bool(true));
        }
    }
    if after != expected {
        return Err(ConfigError::Verification(
            "the edited text does not parse back to the same document with only mode and ipvs.strictARP changed".into(),
        ));
    }
    let intended = settings.strict_arp == Some(true)
        && (!target.mode_ipvs || settings.mode_value.as_deref() == Some("ipvs"));
    if !intended || settings_of(&after).is_err() {
        return Err(ConfigError::Verification(
            "the edited text does not hold the intended values".into(),
        ));
    }
    Ok(())
}

/// One physical line: `start..end` excludes the line break.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    /// Byte offset just past the line break (== end at the end of the text).
    next: usize,
    indent: usize,
}

/// A block mapping found by the line scanner.
struct Block {
    /// Indentation of the mapping's keys.
    indent: usize,
    /// (key, line index) of each entry, in document order.
    entries: Vec<(String, usize)>,
    /// The last line that holds content of the mapping.
    last_line: Option<usize>,
}

/// The document as lines, plus the conventions it uses.
struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line>,
    eol: &'static str,
    indent_unit: usize,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Doc<'a> {
        let mut lines = Vec::new();
        let mut start = 0;
        while start < text.len() {
            let (end, next) = match text[start..].find('\n') {
                Some(i) => (start + i, start + i + 1),
                None => (text.len(), text.len()),
            };
            let end_no_cr = if end > start && text.as_bytes()[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let body = &text[start..end_no_cr];
            let indent = body.len() - body.trim_start_matches(' ').len();
            lines.push(Line {
                start,
                end: end_no_cr,
                next,
                indent,
            });
            start = next;
        }
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut doc = Doc {
            text,
            lines,
            eol,
            indent_unit: 2,
        };
        doc.indent_unit = doc.detect_indent_unit();
        doc
    }

    fn body(&self, i: usize) -> &'a str {
        &self.text[self.lines[i].start..self.lines[i].end]
    }

    /// A line that holds YAML content (not blank, not a comment, not a document marker).
    fn is_content(&self, i: usize) -> bool {
        let t = self.body(i).trim();
        !(t.is_empty()
            || t.starts_with('#')
            || t.starts_with("---")
            || t.starts_with("...")
            || t.starts_with('%'))
    }

    /// The step between a key that opens a block and its first child; 2 when there is none.
    fn detect_indent_unit(&self) -> usize {
        let content: Vec<usize> = (0..self.lines.len())
            .filter(|&i| self.is_content(i))
            .collect();
        for pair in content.windows(2) {
            let (a, b) = (self.lines[pair[0]], self.lines[pair[1]]);
            if b.indent > a.indent && strip_comment(self.body(pair[0])).trim_end().ends_with(':') {
                return b.indent - a.indent;
            }
        }
        2
    }

    /// The key of a `key: value` line at its indentation, and the byte offset just past the colon.
    fn key_of(&self, i: usize) -> Option<(String, usize)> {
        let line = self.lines[i];
        let rest = &self.text[line.start + line.indent..line.end];
        let (key, after) = if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'')
        {
            let close = rest[1..].find(q)? + 1;
            (rest[1..close].to_string(), close + 1)
        } else {
            let colon = find_mapping_colon(rest)?;
            (rest[..colon].trim_end().to_string(), colon)
        };
        let tail = &rest[after..];
        let colon = tail.find(':')?;
        if !tail[..colon].trim().is_empty() || key.starts_with(['-', '#', '{', '[']) {
            return None;
        }
        Some((key, line.start + line.indent + after + colon + 1))
    }

    /// The block mapping that starts after line `parent` (or the whole document when `None`).
    fn block(&self, parent: Option<usize>) -> Block {
        let parent_indent = parent.map(|p| self.lines[p].indent as isize).unwrap_or(-1);
        let mut block = Block {
            indent: 0,
            entries: Vec::new(),
            last_line: None,
        };
        let mut child_indent = None;
        for i in parent.map(|p| p + 1).unwrap_or(0)..self.lines.len() {
            let t = self.body(i).trim();
            if parent.is_none()
                && block.last_line.is_some()
                && (t.starts_with("---") || t.starts_with("..."))
            {
                break;
            }
            if !self.is_content(i) {
                continue;
            }
            let indent = self.lines[i].indent;
            if indent as isize <= parent_indent {
                break;
            }
            let ci = *child_indent.get_or_insert(indent);
            if indent == ci
                && let Some((key, _)) = self.key_of(i)
            {
                block.entries.push((key, i));
            }
            block.last_line = Some(i);
        }
        block.indent = child_indent.unwrap_or(match parent {
            Some(p) => self.lines[p].indent + self.indent_unit,
            None => 0,
        });
        block
    }

    /// Where to insert a new key into `block`: before the first key that sorts after it when
    /// the keys are sorted (kubeadm writes them sorted), else after the mapping's last line.
    fn insertion_point(&self, block: &Block, key: &str, parent: Option<usize>) -> usize {
        let sorted = block.entries.windows(2).all(|w| w[0].0 <= w[1].0);
        if sorted && let Some(&(_, line)) = block.entries.iter().find(|(k, _)| k.as_str() > key) {
            // Comments directly above a key belong to it: insert above them.
            let mut at = line;
            while at > 0 && {
                let prev = self.body(at - 1).trim_start();
                prev.starts_with('#') && self.lines[at - 1].indent == block.indent
            } {
                at -= 1;
            }
            return self.lines[at].start;
        }
        match block.last_line.or(parent) {
            Some(last) => self.lines[last].next,
            None => 0,
        }
    }

    /// Text for new lines inserted at byte offset `at`, adding a break first when the text
    /// ends without one.
    fn new_lines(&self, at: usize, lines: &[String]) -> TextEdit {
        let mut text = String::new();
        let needs_break_before =
            at == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n');
        if needs_break_before {
            text.push_str(self.eol);
        }
        for (i, l) in lines.iter().enumerate() {
            text.push_str(l);
            if !(needs_break_before && i + 1 == lines.len()) {
                text.push_str(self.eol);
            }
        }
        TextEdit {
            start: at,
            end: at,
            text,
        }
    }

    fn find_entry(&self, block: &Block, key: &str) -> Option<usize> {
        block
            .entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, l)| l)
    }

    /// Sets a scalar of the top-level mapping.
    fn set_top_scalar(
        &self,
        key: &str,
        span: Option<&Spanned<Value>>,
        value: &str,
        keep_quotes: bool,
    ) -> Result<TextEdit, ConfigError> {
        if let Some(span) = span.filter(|s| !s.value.is_null()) {
            return self.replace_scalar(key, span, value, keep_quotes);
        }
        let top = self.block(None);
        match self.find_entry(&top, key) {
            Some(line) => self.replace_null_on_line(key, line, &format!(" {value}")),
            None => {
                if top.entries.is_empty() {
                    return Err(ConfigError::Unsupported(format!(
                        "the document is not a block mapping, so {key:?} cannot be added"
                    )));
                }
                let at = self.insertion_point(&top, key, None);
                Ok(self.new_lines(at, &[format!("{}{key}: {value}", " ".repeat(top.indent))]))
            }
        }
    }

    /// Replaces a scalar in place, keeping its quoting style when asked.
    fn replace_scalar(
        &self,
        key: &str,
        span: &Spanned<Value>,
        value: &str,
        keep_quotes: bool,
    ) -> Result<TextEdit, ConfigError> {
        let s = span.referenced.span();
        let (Some(start), Some(len)) = (s.byte_offset(), s.byte_len()) else {
            return Err(ConfigError::Unsupported(format!("no position for {key}")));
        };
        let (start, end) = (start as usize, (start + len) as usize);
        let old = self.text.get(start..end).unwrap_or_default();
        let on_own_line = !old.contains('\n') && !old.is_empty();
        let block_scalar = self.text[..start]
            .rsplit('\n')
            .next()
            .is_some_and(|before| !before.contains(':') && !before.contains(['{', ',']));
        if !on_own_line || block_scalar {
            return Err(ConfigError::Unsupported(format!(
                "{key} is written as a multi-line or block scalar; set it to a plain value first"
            )));
        }
        let new = match old.chars().next() {
            Some('"') if keep_quotes => format!("\"{value}\""),
            Some('\'') if keep_quotes => format!("'{value}'"),
            _ => value.to_string(),
        };
        Ok(TextEdit {
            start,
            end,
            text: new,
        })
    }

    /// `key:`, `key: null` or `key: ~` on `line`: replace the null by `replacement`.
    fn replace_null_on_line(
        &self,
        key: &str,
        line: usize,
        replacement: &str,
    ) -> Result<TextEdit, ConfigError> {
        let (_, after_colon) = self
            .key_of(line)
            .ok_or_else(|| ConfigError::Unsupported(format!("cannot find the value of {key}")))?;
        let rest = &self.text[after_colon..self.lines[line].end];
        let value = strip_comment(rest);
        let token = value.trim();
        if !matches!(token, "" | "~" | "null" | "Null" | "NULL") {
            return Err(ConfigError::Unsupported(format!(
                "{key} has the value {token:?} that lbctl cannot locate exactly"
            )));
        }
        let end = after_colon + value.trim_end().len();
        Ok(TextEdit {
            start: after_colon,
            end,
            text: replacement.to_string(),
        })
    }

    /// Sets `ipvs.strictARP: true`, adding the key or the whole `ipvs` section when missing.
    fn set_strict_arp(
        &self,
        original: &Value,
        spans: &DocSpans,
    ) -> Result<Vec<TextEdit>, ConfigError> {
        let ipvs_value = original.get("ipvs");
        let ipvs_span = spans.ipvs.as_ref();
        if let Some(existing) = ipvs_span
            .and_then(|s| s.value.as_ref())
            .and_then(|i| i.strict_arp.as_ref())
            && !existing.value.is_null()
        {
            return Ok(vec![self.replace_scalar(
                "ipvs.strictARP",
                existing,
                "true",
                false,
            )?]);
        }
        let top = self.block(None);
        let line = "strictARP: true";
        match (ipvs_value, ipvs_span) {
            // `ipvs: {...}`: add inside the braces.
            (Some(Value::Object(_)), Some(span)) if self.span_text(span).starts_with('{') => {
                let open = span.referenced.span().byte_offset().unwrap_or_default() as usize;
                Ok(vec![self.insert_into_flow(open, line)?])
            }
            // A block `ipvs:` section: add the key, or set it when it is there but null.
            (Some(Value::Object(map)), _) => {
                let ipvs_line = self.find_entry(&top, "ipvs").ok_or_else(|| {
                    ConfigError::Unsupported("cannot find the ipvs section".into())
                })?;
                let block = self.block(Some(ipvs_line));
                if map.contains_key("strictARP") {
                    let at = self.find_entry(&block, "strictARP").ok_or_else(|| {
                        ConfigError::Unsupported("cannot find ipvs.strictARP".into())
                    })?;
                    return Ok(vec![self.replace_null_on_line(
                        "ipvs.strictARP",
                        at,
                        " true",
                    )?]);
                }
                let at = self.insertion_point(&block, "strictARP", Some(ipvs_line));
                Ok(vec![self.new_lines(
                    at,
                    &[format!("{}{line}", " ".repeat(block.indent))],
                )])
            }
            // `ipvs:` with no value (or null): turn it into a block with one key.
            (Some(_), _) => {
                let ipvs_line = self.find_entry(&top, "ipvs").ok_or_else(|| {
                    ConfigError::Unsupported("cannot find the ipvs section".into())
                })?;
                let clear = self.replace_null_on_line("ipvs", ipvs_line, "")?;
                let indent = self.lines[ipvs_line].indent + self.indent_unit;
                let add = self.new_lines(
                    self.lines[ipvs_line].next,
                    &[format!("{}{line}", " ".repeat(indent))],
                );
                Ok(vec![clear, add])
            }
            // No `ipvs` at all: add the section.
            (None, _) => {
                if top.entries.is_empty() {
                    return Err(ConfigError::Unsupported(
                        "the document is not a block mapping, so an ipvs section cannot be added"
                            .into(),
                    ));
                }
                let at = self.insertion_point(&top, "ipvs", None);
                let pad = " ".repeat(top.indent);
                let child = " ".repeat(top.indent + self.indent_unit);
                Ok(vec![self.new_lines(
                    at,
                    &[format!("{pad}ipvs:"), format!("{child}{line}")],
                )])
            }
        }
    }

    fn span_text<T>(&self, span: &Spanned<T>) -> &'a str {
        let s = span.referenced.span();
        match (s.byte_offset(), s.byte_len()) {
            (Some(o), Some(l)) => self
                .text
                .get(o as usize..(o + l) as usize)
                .unwrap_or_default(),
            _ => "",
        }
    }

    /// Adds `entry` as the last entry of the flow mapping whose `{` is at `open`.
    fn insert_into_flow(&self, open: usize, entry: &str) -> Result<TextEdit, ConfigError> {
        let close = matching_brace(self.text, open).ok_or_else(|| {
            ConfigError::Unsupported("cannot find the end of the ipvs mapping".into())
        })?;
        let inner = &self.text[open + 1..close];
        let content_end = open + 1 + inner.trim_end().len();
        let text = if inner.trim().is_empty() {
            entry.to_string()
        } else if inner.trim_end().ends_with(',') {
            format!(" {entry}")
        } else {
            format!(", {entry}")
        };
        let start = if inner.trim().is_empty() {
            open + 1
        } else {
            content_end
        };
        Ok(TextEdit {
            start,
            end: start,
            text,
        })
    }
}

/// The position of the `:` that ends a plain mapping key (`: ` or `:` at the end).
fn find_mapping_colon(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t')
    })
}

/// The part of a line before a ` #` comment (quotes are not expected in the values we touch).
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return &text[..i];
        }
    }
    text
}

/// The `}` matching the `{` at `open`, skipping quoted strings and nested collections.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = text[open..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some('\'') if c == '\'' && chars.peek().map(|(_, n)| *n) == Some('\'') => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '{' | '[' => depth += 1,
                '}' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(open + i);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";

    fn ipvs(text: &str) -> String {
        edit(text, Target { mode_ipvs: true }).unwrap().text
    }

    #[test]
    fn replaces_scalars_in_place() {
        let input = format!("{HEAD}ipvs:\n  strictARP: false # keep\nmode: \"\"\n");
        assert_eq!(
            ipvs(&input),
            format!("{HEAD}ipvs:\n  strictARP: true # keep\nmode: \"ipvs\"\n")
        );
    }

    #[test]
    fn inserts_missing_keys_in_sorted_position() {
        let input = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nipvs:\n    scheduler: rr\n    syncPeriod: 30s\nkind: KubeProxyConfiguration\n";
        assert_eq!(
            ipvs(input),
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nipvs:\n    scheduler: rr\n    strictARP: true\n    syncPeriod: 30s\nkind: KubeProxyConfiguration\nmode: ipvs\n"
        );
    }

    #[test]
    fn adds_ipvs_section_with_document_indent() {
        let input = format!("{HEAD}clientConnection:\n    kubeconfig: /k\nmode: iptables");
        assert_eq!(
            ipvs(&input),
            format!(
                "{HEAD}clientConnection:\n    kubeconfig: /k\nmode: ipvs\nipvs:\n    strictARP: true"
            )
        );
    }

    #[test]
    fn null_sections_become_blocks() {
        let input = format!("{HEAD}ipvs: ~ # none\nmode:\n");
        assert_eq!(
            ipvs(&input),
            format!("{HEAD}ipvs: # none\n  strictARP: true\nmode: ipvs\n")
        );
        let input = format!("{HEAD}ipvs:\n  strictARP: null\nmode: ipvs\n");
        assert_eq!(
            ipvs(&input),
            format!("{HEAD}ipvs:\n  strictARP: true\nmode: ipvs\n")
        );
    }

    #[test]
    fn flow_mappings_keep_their_style() {
        let input =
            format!("{HEAD}ipvs: {{scheduler: \"rr\", strictARP: false}}\nmode: 'iptables'\n");
        assert_eq!(
            ipvs(&input),
            format!("{HEAD}ipvs: {{scheduler: \"rr\", strictARP: true}}\nmode: 'ipvs'\n")
        );
        let input = format!("{HEAD}ipvs: {{scheduler: rr }}\nmode: ipvs\n");
        assert_eq!(
            ipvs(&input),
            format!("{HEAD}ipvs: {{scheduler: rr, strictARP: true }}\nmode: ipvs\n")
        );
        let input = format!("{HEAD}ipvs: {{}}\nmode: ipvs\n");
        assert_eq!(
            ipvs(&input),
            format!("{HEAD}ipvs: {{strictARP: true}}\nmode: ipvs\n")
        );
    }

    #[test]
    fn keep_mode_only_sets_strict_arp() {
        let input = format!("{HEAD}mode: nftables\n");
        let out = edit(&input, Target { mode_ipvs: false }).unwrap();
        assert_eq!(
            out.text,
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nipvs:\n  strictARP: true\nkind: KubeProxyConfiguration\nmode: nftables\n"
        );
        assert_eq!(out.changes.len(), 1);
    }

    #[test]
    fn configured_documents_are_unchanged() {
        let input = format!("{HEAD}ipvs:\n  strictARP: true\nmode: ipvs\n");
        let out = edit(&input, Target { mode_ipvs: true }).unwrap();
        assert_eq!(out.text, input);
        assert!(out.changes.is_empty());
    }

    #[test]
    fn block_scalars_are_refused() {
        let input = format!("{HEAD}mode: |\n  iptables\n");
        assert!(matches!(
            edit(&input, Target { mode_ipvs: true }),
            Err(ConfigError::Unsupported(_) | ConfigError::Verification(_))
        ));
    }

    #[test]
    fn brace_matching_skips_quotes() {
        let t = "{a: \"}\", b: '}''', c: {d: 1}}";
        assert_eq!(matching_brace(t, 0), Some(t.len() - 1));
    }
}
