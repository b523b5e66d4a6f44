//! The client address of a request: the socket's peer, or — only when that peer is a trusted
//! proxy (`[server] trusted_proxies`) — the address the proxy put in the client-address header
//! (`[server] client_address_header`, default `X-Forwarded-For`). As nginx's `real_ip_recursive
//! on`, the header's addresses are taken from the right, skipping trusted proxies; the first
//! that is not one is the client. A malformed entry ends the walk at the last address known
//! (the proxy that added it), so a client can forge only entries to the left of its own. Every
//! place that needs a client address (the `/boot/` pages, the per-call log line, failed-login
//! counting) takes it from here.

use axum::http::HeaderMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address or a CIDR block (`10.0.0.0/8`, `::1`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for ProxyNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, ::1)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a dual-stack socket reports) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// How the client address is found.
#[derive(Debug, Clone, Default)]
pub struct ClientAddressRule {
    pub trusted_proxies: Vec<ProxyNet>,
    /// Lower-case header name.
    pub header: String,
}

impl ClientAddressRule {
    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(ip))
    }

    /// The client address of a request from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusted(client) || self.header.is_empty() {
            return client;
        }
        // Several header lines are one list, in order (RFC 9110 §5.3).
        let mut entries: Vec<&str> = Vec::new();
        for value in headers.get_all(self.header.as_str()) {
            let Ok(text) = value.to_str() else { return client };
            entries.extend(text.split(','));
        }
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else { return client };
            client = ip;
            if !self.trusted(ip) {
                break;
            }
        }
        client
    }
}

/// One entry of the header: an address, optionally `[v6]` or with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).and_then(|e| e.parse().ok()).map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks() {
        let net: ProxyNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        let one: ProxyNet = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")));
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "::1/129", "10.0.0", "localhost", "1.2.3.4/8/8"] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_used_only_from_trusted_proxies() {
        let rule = ClientAddressRule {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            header: "x-forwarded-for".into(),
        };
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let none = HeaderMap::new();
        // (peer, header lines, expected client)
        let cases: &[(&str, &[&str], &str)] = &[
            // untrusted peer: the header is ignored, forged or not
            ("192.0.2.7", &["198.51.100.1"], "192.0.2.7"),
            ("192.0.2.7", &[], "192.0.2.7"),
            ("192.0.2.7", &["garbage"], "192.0.2.7"),
            // trusted peer, no header: the peer
            ("127.0.0.1", &[], "127.0.0.1"),
            // trusted peer: the right-most untrusted entry
            ("127.0.0.1", &["198.51.100.1"], "198.51.100.1"),
            ("127.0.0.1", &["203.0.113.9, 198.51.100.1"], "198.51.100.1"),
            ("127.0.0.1", &["203.0.113.9, 198.51.100.1, 10.1.1.1"], "198.51.100.1"),
            ("127.0.0.1", &["203.0.113.9", "198.51.100.1 , 10.1.1.1"], "198.51.100.1"),
            ("::ffff:127.0.0.1", &["198.51.100.1"], "198.51.100.1"),
            ("127.0.0.1", &["[2001:db8::1]:4711"], "2001:db8::1"),
            ("127.0.0.1", &["198.51.100.1:4711"], "198.51.100.1"),
            // forged entries left of the real one change nothing
            ("127.0.0.1", &["10.9.9.9, garbage, 198.51.100.1"], "198.51.100.1"),
            // only trusted entries: the left-most
            ("127.0.0.1", &["10.2.2.2, 10.1.1.1"], "10.2.2.2"),
            // malformed where the client should be: the last address known
            ("127.0.0.1", &["garbage"], "127.0.0.1"),
            ("127.0.0.1", &["198.51.100.1, unknown, 10.1.1.1"], "10.1.1.1"),
            ("127.0.0.1", &[""], "127.0.0.1"),
        ];
        for (peer, lines, expected) in cases {
            let headers = if lines.is_empty() { none.clone() } else { with(lines) };
            assert_eq!(rule.client(ip(peer), &headers), ip(expected), "peer {peer}, header {lines:?}");
        }
        // No trusted proxies (the default): the header never counts.
        let default = ClientAddressRule { trusted_proxies: vec![], header: "x-forwarded-for".into() };
        assert_eq!(default.client(ip("127.0.0.1"), &with(&["198.51.100.1"])), ip("127.0.0.1"));
    }
}
