//! Validation of an EndpointSlice's endpoint addresses, in kube-apiserver v1.36's words: each
//! address must suit the slice's `addressType` (IPv4, IPv6 or FQDN), and an IP may not be
//! unspecified, loopback, link-local or link-local multicast (`ValidateEndpointIP`):
//!
//! ```text
//! EndpointSlice.discovery.k8s.io "s" is invalid: endpoints[0].addresses[0]: Invalid value:
//! "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)
//! ```

use crate::field_error::FieldError;
use crate::meta::{SUBDOMAIN_MSG, is_subdomain};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The findings about an EndpointSlice's `endpoints[*].addresses`, in the server's order.
pub fn endpoint_slice(slice: &Value) -> Vec<FieldError> {
    let address_type = slice
        .get("addressType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut errs = Vec::new();
    let endpoints = slice.get("endpoints").and_then(Value::as_array);
    for (i, endpoint) in endpoints.into_iter().flatten().enumerate() {
        let path = format!("endpoints[{i}].addresses");
        let addresses: Vec<&str> = endpoint
            .get("addresses")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if addresses.is_empty() {
            errs.push(FieldError::required(
                path.clone(),
                "must contain at least 1 address",
            ));
        } else if addresses.len() > 100 {
            errs.push(FieldError::invalid_shown(
                path.clone(),
                addresses.len().to_string(),
                "must have at most 100 items",
            ));
        }
        for (j, address) in addresses.iter().enumerate() {
            let at = format!("{path}[{j}]");
            match address_type {
                "IPv4" | "IPv6" => {
                    let Some(ip) = strict_ip(&at, address, &mut errs) else {
                        continue;
                    };
                    if address_type == "IPv4" && !ip.is_ipv4() {
                        errs.push(FieldError::invalid(
                            path.clone(),
                            json!(address),
                            "must be an IPv4 address",
                        ));
                    }
                    if address_type == "IPv6" && !ip.is_ipv6() {
                        errs.push(FieldError::invalid(
                            path.clone(),
                            json!(address),
                            "must be an IPv6 address",
                        ));
                    }
                    errs.extend(endpoint_ip(&at, address, ip));
                }
                "FQDN" => errs.extend(fully_qualified_domain_name(&at, address)),
                _ => {}
            }
        }
    }
    errs
}

/// `IsValidIP`: what `ParseIPSloppy` accepts (IPv4 parts may have leading zeros), then what the
/// strict parser refuses of it.
fn strict_ip(path: &str, address: &str, errs: &mut Vec<FieldError>) -> Option<IpAddr> {
    let invalid = |detail: &str| FieldError::invalid(path, json!(address), detail);
    if let Ok(ip) = address.parse::<IpAddr>() {
        if let IpAddr::V6(v6) = ip
            && v6.to_ipv4_mapped().is_some()
        {
            errs.push(invalid("must not be an IPv4-mapped IPv6 address"));
            return None;
        }
        return Some(ip);
    }
    if sloppy_ipv4(address).is_some() {
        errs.push(invalid("must not have leading 0s"));
    } else {
        errs.push(invalid(
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
    None
}

/// Dotted IPv4 as Go's pre-1.17 parser read it: four decimal parts up to 255, leading zeros
/// allowed.
fn sloppy_ipv4(address: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = address.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (octet, part) in octets.iter_mut().zip(parts) {
        if part.is_empty() || part.len() > 18 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = u8::try_from(part.parse::<u64>().ok()?).ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// `ValidateEndpointIP`: addresses that make no sense as endpoints.
fn endpoint_ip(path: &str, address: &str, ip: IpAddr) -> Vec<FieldError> {
    let (unspecified, loopback, link_local, link_local_multicast) = match ip {
        IpAddr::V4(v4) => (
            v4.is_unspecified(),
            v4.is_loopback(),
            v4.octets()[..2] == [169, 254],
            v4.octets()[..3] == [224, 0, 0],
        ),
        IpAddr::V6(v6) => (
            v6.is_unspecified(),
            v6.is_loopback(),
            (v6.segments()[0] & 0xffc0) == 0xfe80,
            is_link_local_multicast_v6(v6),
        ),
    };
    let mut errs = Vec::new();
    let mut push = |detail: String| errs.push(FieldError::invalid(path, json!(address), detail));
    if unspecified {
        push(format!("may not be unspecified ({address})"));
    }
    if loopback {
        push("may not be in the loopback range (127.0.0.0/8, ::1/128)".into());
    }
    if link_local {
        push("may not be in the link-local range (169.254.0.0/16, fe80::/10)".into());
    }
    if link_local_multicast {
        push("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)".into());
    }
    errs
}

/// Go's `IsLinkLocalMulticast` for IPv6: `ff02::/16` and the same scope with other flags.
fn is_link_local_multicast_v6(v6: Ipv6Addr) -> bool {
    let [first, second] = v6.octets()[..2] else {
        return false;
    };
    first == 0xff && second & 0x0f == 0x02
}

/// `IsFullyQualifiedDomainName`.
fn fully_qualified_domain_name(path: &str, address: &str) -> Vec<FieldError> {
    if address.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = address.strip_suffix('.').unwrap_or(address);
    if !is_subdomain(name) {
        return vec![FieldError::invalid(path, json!(name), SUBDOMAIN_MSG)];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(
            path,
            json!(name),
            "should be a domain with at least two segments separated by dots",
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(address_type: &str, addresses: Value) -> Vec<String> {
        let slice = json!({"addressType": address_type, "endpoints": [{"addresses": addresses}]});
        endpoint_slice(&slice)
            .iter()
            .map(FieldError::text)
            .collect()
    }

    /// The answers of a real v1.36 server.
    #[test]
    fn addresses_are_checked_as_the_server_does() {
        assert!(texts("IPv4", json!(["10.0.0.1", "224.0.1.5", "255.255.255.255"])).is_empty());
        assert_eq!(
            texts("IPv4", json!(["10.0.0.1", "127.0.0.2"])),
            [
                "endpoints[0].addresses[1]: Invalid value: \"127.0.0.2\": may not be in the loopback range (127.0.0.0/8, ::1/128)"
            ]
        );
        assert_eq!(
            texts("IPv4", json!(["0.0.0.0"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)"
            ]
        );
        assert_eq!(
            texts("IPv4", json!(["169.254.1.1"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)"
            ]
        );
        assert_eq!(
            texts("IPv4", json!(["224.0.0.5"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"224.0.0.5\": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
            ]
        );
        assert_eq!(
            texts("IPv4", json!(["010.0.0.1"])),
            ["endpoints[0].addresses[0]: Invalid value: \"010.0.0.1\": must not have leading 0s"]
        );
        for bad in ["1.2.3", "10.0.0.1/24", ""] {
            assert_eq!(
                texts("IPv4", json!([bad])),
                [format!(
                    "endpoints[0].addresses[0]: Invalid value: \"{bad}\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                )]
            );
        }
        assert_eq!(
            texts("IPv4", json!(["::1"])),
            [
                "endpoints[0].addresses: Invalid value: \"::1\": must be an IPv4 address",
                "endpoints[0].addresses[0]: Invalid value: \"::1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
            ]
        );
        assert_eq!(
            texts("IPv6", json!(["::"])),
            ["endpoints[0].addresses[0]: Invalid value: \"::\": may not be unspecified (::)"]
        );
        assert_eq!(
            texts("IPv6", json!(["ff02::1"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"ff02::1\": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
            ]
        );
        assert_eq!(
            texts("IPv6", json!(["fe80::1"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"fe80::1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)"
            ]
        );
        assert!(texts("IPv6", json!(["fd00::1", "ff05::1"])).is_empty());
        assert_eq!(
            texts("IPv6", json!(["::ffff:127.0.0.1"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"::ffff:127.0.0.1\": must not be an IPv4-mapped IPv6 address"
            ]
        );
        assert_eq!(
            texts("IPv6", json!(["10.0.0.1"])),
            ["endpoints[0].addresses: Invalid value: \"10.0.0.1\": must be an IPv6 address"]
        );
        assert!(texts("FQDN", json!(["127.0.0.1", "a.example."])).is_empty());
        assert_eq!(
            texts("FQDN", json!(["localhost"])),
            [
                "endpoints[0].addresses[0]: Invalid value: \"localhost\": should be a domain with at least two segments separated by dots"
            ]
        );
        assert_eq!(
            texts("FQDN", json!(["a_b"])),
            [format!(
                "endpoints[0].addresses[0]: Invalid value: \"a_b\": {SUBDOMAIN_MSG}"
            )]
        );
    }
}
