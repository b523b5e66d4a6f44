//! Field validators (docs/plc-api.md §4), stricter than upstream where upstream accepts nonsense:
//! IPv4 addresses must be four decimal octets (glibc `inet_aton` also takes `10`, `127.1`,
//! `0x7f.0.0.1` and `1.2.3.4 junk`), MAC addresses exactly six hex pairs, and a static IPv4
//! network must be consistent (upstream crashes with HTTP 500 there, §4.2 quirk).

use crate::fault::{Fault, MethodResult};
use regex::Regex;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,6}$").unwrap_or_else(|_| unreachable!())
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9._%+\-]+@[a-zA-Z0-9._\-]+\.[a-zA-Z]+$").unwrap_or_else(|_| unreachable!())
});
static LOGIN_BASE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9.]+$").unwrap_or_else(|_| unreachable!()));

/// A node or interface hostname: at least two labels, the last 2–6 letters. Unlike Python's
/// `re.match(...$)`, a trailing newline is refused.
pub fn is_hostname(h: &str) -> bool {
    h.len() <= 255 && HOSTNAME.is_match(h)
}

pub fn is_email(e: &str) -> bool {
    EMAIL.is_match(e)
}

pub fn is_login_base(l: &str) -> bool {
    LOGIN_BASE.is_match(l)
}

/// An IPv4 dotted quad (four decimal octets, no leading zeros) or an IPv6 address.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok()
}

pub fn check_ip(s: &str) -> MethodResult<()> {
    parse_ip(s).map(|_| ()).ok_or_else(|| Fault::invalid(format!("Invalid IP address {s}")))
}

/// Normalises a MAC address to lower-case `xx:xx:xx:xx:xx:xx`; exactly six parts of one or two
/// hex digits.
pub fn normalise_mac(s: &str) -> MethodResult<String> {
    let bad = || Fault::invalid(format!("Invalid MAC address {s}"));
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(6);
    for p in parts {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let v = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        out.push(format!("{v:02x}"));
    }
    Ok(out.join(":"))
}

fn v4(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

/// A netmask must be a run of ones followed by zeros.
pub fn is_contiguous_netmask(mask: u32) -> bool {
    mask.leading_ones() + mask.trailing_zeros() == 32
}

/// The consistency checks of a static IPv4 interface: `ip` and `broadcast` inside
/// network/netmask, and the gateway (when given) inside ip/netmask.
pub fn check_static_ipv4(
    ip: &str,
    network: &str,
    broadcast: &str,
    netmask: &str,
    gateway: Option<&str>,
) -> MethodResult<()> {
    let need = |name: &str, v: &str| v4(v).ok_or_else(|| Fault::invalid(format!("{name} {v} is not an IPv4 address")));
    let ip_n = need("ip", ip)?;
    let net_n = need("network", network)?;
    let bc_n = need("broadcast", broadcast)?;
    let mask = need("netmask", netmask)?;
    if !is_contiguous_netmask(mask) {
        return Err(Fault::invalid(format!("Netmask {netmask} is not a valid netmask")));
    }
    if ip_n & mask != net_n & mask {
        return Err(Fault::invalid(format!("IP address {ip} is not in network {network}/{netmask}")));
    }
    if bc_n & mask != net_n & mask {
        return Err(Fault::invalid(format!("Broadcast address {broadcast} is not in network {network}/{netmask}")));
    }
    if let Some(gw) = gateway.filter(|g| !g.is_empty()) {
        let gw_n = need("gateway", gw)?;
        if gw_n & mask != ip_n & mask {
            return Err(Fault::invalid(format!("Gateway {gw} is not reachable from {ip}/{netmask}")));
        }
    }
    Ok(())
}

/// Upstream counts string limits in UTF-8 bytes.
pub fn check_max_bytes(name: &str, v: &str, max: usize) -> MethodResult<()> {
    if v.len() > max {
        return Err(Fault::invalid(format!("{name} must be at most {max} bytes long")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for ok in ["n1.example.org", "a.bc", "x-1.y-2.example.museum", "N1.EXAMPLE.ORG"] {
            assert!(is_hostname(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "n1.example.org\n",
            "-a.example.org",
            "a-.example.org",
            "a..b.org",
            "a.b.c1",
            "a.b.abcdefg",
            "a b.org",
            "",
        ] {
            assert!(!is_hostname(bad), "{bad:?}");
        }
    }

    #[test]
    fn ips_refuse_what_inet_aton_wrongly_accepts() {
        for bad in ["10", "127.1", "0x7f.0.0.1", "01.02.03.04", "1.2.3.4 junk", "1.2.3.256", ""] {
            assert!(parse_ip(bad).is_none(), "{bad}");
        }
        for ok in ["10.0.0.1", "::1", "2001:db8::5"] {
            assert!(parse_ip(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn macs() {
        assert_eq!(normalise_mac("52:54:00:AA:b:CC").unwrap(), "52:54:00:aa:0b:cc");
        for bad in
            ["52-54-00-aa-bb-cc", "1:2:3:4:5:6:7:8", "1:2:3:4:5", "0x1:2:3:4:5:6", " 1:2:3:4:5:6", "123:2:3:4:5:6"]
        {
            assert!(normalise_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn static_networks() {
        assert!(check_static_ipv4("10.0.0.5", "10.0.0.0", "10.0.0.255", "255.255.255.0", Some("10.0.0.1")).is_ok());
        assert!(check_static_ipv4("10.0.1.5", "10.0.0.0", "10.0.0.255", "255.255.255.0", None).is_err());
        assert!(check_static_ipv4("10.0.0.5", "10.0.0.0", "10.0.1.255", "255.255.255.0", None).is_err());
        assert!(check_static_ipv4("10.0.0.5", "10.0.0.0", "10.0.0.255", "255.255.255.0", Some("10.1.0.1")).is_err());
        assert!(check_static_ipv4("10.0.0.5", "10.0.0.0", "10.0.0.255", "255.0.255.0", None).is_err());
    }
}
