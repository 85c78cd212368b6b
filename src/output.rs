//! Output settings shared by every command: format and colour.

use std::io::IsTerminal;

use crate::cli::{ColorChoice, OutputFormat};

/// Decides whether human output is coloured: `always`/`never` win; `auto` colours only when
/// stdout is a terminal and `NO_COLOR` is unset or empty (https://no-color.org).
pub fn use_color(choice: ColorChoice, stdout_is_tty: bool, no_color: Option<&str>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_tty && no_color.is_none_or(str::is_empty),
    }
}

/// `n` and the noun that fits it: "1 address", "2 addresses".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Applies the colour decision process-wide (the `colored` crate reads it).
pub fn init_color(choice: ColorChoice) {
    let no_color = std::env::var("NO_COLOR").ok();
    let on = use_color(choice, std::io::stdout().is_terminal(), no_color.as_deref());
    colored::control::set_override(on);
}

/// Prints a value as pretty JSON followed by a newline: the only thing on stdout in `-o json`.
pub fn print_json<T: serde::Serialize>(value: &T) {
    // Serialising plain data structures cannot fail; a failure would be a bug worth seeing.
    let text = serde_json::to_string_pretty(value).expect("report types serialise to JSON");
    println!("{text}");
}

/// True when the user asked for JSON.
pub fn is_json(format: OutputFormat) -> bool {
    format == OutputFormat::Json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_noun_that_fits() {
        assert_eq!(count(1u32, "address", "addresses"), "1 address");
        assert_eq!(count(0u32, "address", "addresses"), "0 addresses");
        assert_eq!(count(3u64, "probe", "probes"), "3 probes");
    }

    #[test]
    fn auto_colour_follows_tty_and_no_color() {
        assert!(use_color(ColorChoice::Auto, true, None));
        assert!(!use_color(ColorChoice::Auto, false, None));
        assert!(!use_color(ColorChoice::Auto, true, Some("1")));
        assert!(use_color(ColorChoice::Auto, true, Some("")));
        assert!(use_color(ColorChoice::Always, false, Some("1")));
        assert!(!use_color(ColorChoice::Never, true, None));
    }
}
