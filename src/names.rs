//! The names users give lbctl, checked as Kubernetes and container registries check them, so a
//! bad one is refused before any request (exit 2) rather than by the API server or a kubelet
//! pulling an image. Each check returns the reason a name is invalid, for the message.

/// A DNS-1123 label: namespaces (`metallb-system`).
pub fn dns1123_label(name: &str) -> Result<(), String> {
    const RULE: &str =
        "at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit";
    if name.is_empty() {
        return Err(format!("it is empty; use {RULE}"));
    }
    if name.len() > 63 {
        return Err(format!("it has {} characters; use {RULE}", name.len()));
    }
    if !is_label(name) {
        return Err(format!("use {RULE}"));
    }
    Ok(())
}

/// A DNS-1123 subdomain: most object names (pools, advertisements).
pub fn dns1123_subdomain(name: &str) -> Result<(), String> {
    const RULE: &str = "at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
    if name.is_empty() {
        return Err(format!("it is empty; use {RULE}"));
    }
    if name.len() > 253 {
        return Err(format!("it has {} characters; use {RULE}", name.len()));
    }
    if !name.split('.').all(is_label) {
        return Err(format!("use {RULE}"));
    }
    Ok(())
}

fn is_label(part: &str) -> bool {
    let bytes = part.as_bytes();
    let inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.iter().all(inner)
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
}

const IMAGE_RULE: &str = "write an image as [REGISTRY[:PORT]/]PATH[:TAG][@DIGEST], e.g. registry.local:5000/tools/busybox:1.37, with a lower-case path";

/// A container image reference as registries and the kubelet accept it:
/// `[host[:port]/]path[:tag][@algorithm:hex]`, the path in lower case.
pub fn image_reference(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err(format!("it is empty; {IMAGE_RULE}"));
    }
    let (name_tag, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest
        && !is_digest(digest)
    {
        return Err(format!(
            "{digest:?} is not a digest (such as sha256:<64 hex digits>); {IMAGE_RULE}"
        ));
    }
    // A ':' after the last '/' starts the tag; one before it belongs to the registry's port.
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(tag) = tag
        && !is_tag(tag)
    {
        return Err(format!(
            "tag {tag:?} is not valid (letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'); {IMAGE_RULE}"
        ));
    }
    repository(name).map_err(|reason| format!("{reason}; {IMAGE_RULE}"))
}

/// A registry and path that image names are appended to (`--registry`): a repository without
/// a tag or digest.
pub fn registry_path(registry: &str) -> Result<(), String> {
    let trimmed = registry.trim_end_matches('/');
    if trimmed.is_empty() {
        return Err("it is empty; give host[:port]/path, e.g. registry.local:5000/metallb".into());
    }
    if registry.contains("://") {
        return Err(
            "a registry has no scheme; give host[:port]/path, e.g. registry.local:5000/metallb"
                .into(),
        );
    }
    repository(trimmed).map_err(|reason| {
        format!("{reason}; give host[:port]/path without a tag, e.g. registry.local:5000/metallb")
    })
}

/// `[host[:port]/]component(/component)*`, at most 255 characters.
fn repository(name: &str) -> Result<(), String> {
    if name.len() > 255 {
        return Err(format!(
            "the repository name has {} characters, more than 255",
            name.len()
        ));
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // As docker does: the first part is a registry host when it looks like one.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        if !is_host(host) {
            return Err(format!("{host:?} is not a registry host[:port]"));
        }
    }
    match parts.iter().find(|part| !is_path_component(part)) {
        Some(part) => Err(format!(
            "path component {part:?} is not valid (lower-case letters and digits, separated by '.', '_', '__' or '-')"
        )),
        None => Ok(()),
    }
}

fn is_host(host: &str) -> bool {
    let port_ok = |port: Option<&str>| {
        port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(rest) = host.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        return v6.parse::<std::net::Ipv6Addr>().is_ok() && port_ok(port);
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
    };
    port_ok(port) && name.split('.').all(label_ok)
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn is_path_component(part: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &part[start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(dashes || matches!(separator, "." | "_" | "__")) {
            return false;
        }
    }
    true
}

fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|part| {
            part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && part.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_dns_labels() {
        for good in ["metallb-system", "a", "x1", &"a".repeat(63)] {
            assert_eq!(dns1123_label(good), Ok(()), "{good}");
        }
        for bad in ["", "a/b", "Bad_NS", "-a", "a-", "a.b", &"a".repeat(64)] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_names_are_dns_subdomains() {
        for good in ["default", "pool.v2", "a-b.c-d"] {
            assert_eq!(dns1123_subdomain(good), Ok(()), "{good}");
        }
        for bad in ["", "No_Caps", "a..b", ".a", "a.", "a/b", &"a".repeat(254)] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references_follow_the_registry_grammar() {
        for good in [
            "busybox",
            "busybox:1.37",
            "library/busybox:latest",
            "registry.local:5000/tools/busybox:1.37",
            "localhost/busybox",
            "Mirror.Example.com/a__b/c-d/e.f",
            "[::1]:5000/busybox",
            "[fe80::1]/busybox",
            "quay.io/metallb/speaker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "quay.io/metallb/speaker:v0.16.1@sha256:0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(image_reference(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "UPPER CASE/!!",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "a//b",
            "a/-b",
            "a___b",
            "host:port/x",
            "busybox@sha256:short",
            "https://quay.io/x",
            " busybox",
        ] {
            assert!(image_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registries_are_repositories_without_a_tag() {
        for good in ["registry.local:5000/metallb", "mirror.local/mlb/", "mirror"] {
            assert_eq!(registry_path(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/",
            "UPPER CASE/!!",
            "https://mirror",
            "quay.io/metallb:v1",
            "a@b",
        ] {
            assert!(registry_path(bad).is_err(), "{bad}");
        }
    }
}
