//! The node configuration file `plnode.txt` (docs/plc-api.md §9.3), rendered byte for byte as upstream's
//! `floppy_contents` does — but refusing any value the BootManager parser (§7.3) or bootcd's
//! bash (§7.2) could misread: no quotes, backslashes, `$`, backquotes or control characters in
//! values, and category/tag names limited to `[A-Za-z0-9/_.-]`.

use crate::fault::{Fault, MethodResult};

/// The primary interface as the file needs it (the registry reads it so).
pub use bootmedium_registry::ops::nodes::Network as PrimaryInterface;

/// One tag of the primary interface.
pub use bootmedium_registry::ops::interfaces::Setting as InterfaceSetting;

/// A renewed key, written only by node-floppy and the image actions.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewedKey {
    pub node_id: i64,
    pub key: String,
    /// Epoch seconds of the renewal.
    pub renewed_at: i64,
}

/// Everything `plnode.txt` says about a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    pub hostname: String,
    pub key: Option<RenewedKey>,
    pub primary: PrimaryInterface,
    pub settings: Vec<InterfaceSetting>,
    /// The node's first ipmi interface: (ip, mac).
    pub ipmi: Option<(Option<String>, Option<String>)>,
}

/// Whether `v` can sit between double quotes on one line for both readers.
pub fn is_safe_value(v: &str) -> bool {
    !v.chars().any(|c| matches!(c, '"' | '\'' | '\\' | '$' | '`') || c.is_control())
}

fn is_safe_name(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-'))
}

struct Writer<'a> {
    out: String,
    hostname: &'a str,
}

impl Writer<'_> {
    fn line(&mut self, key: &str, field: &str, value: &str) -> MethodResult<()> {
        if !is_safe_value(value) {
            return Err(Fault::invalid(format!(
                "{field} of {} holds a character that cannot be written into plnode.txt",
                self.hostname
            )));
        }
        self.out.push_str(key);
        self.out.push_str("=\"");
        self.out.push_str(value);
        self.out.push_str("\"\n");
        Ok(())
    }
}

/// `YYYY/MM/DD at HH:MM +0000` for epoch seconds (UTC).
pub fn renewal_date(epoch: i64) -> String {
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}/{m:02}/{d:02} at {:02}:{:02} +0000", secs / 3600, secs % 3600 / 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Renders the file. The hostname must already contain a dot (checked by the caller, in
/// upstream's order).
pub fn render(c: &NodeConfig) -> MethodResult<String> {
    let body = render_body(c)?;
    match &c.key {
        Some(k) => Ok(render_key(&c.hostname, k)? + &body),
        None => Ok(body),
    }
}

/// The key lines that open the file when the key was renewed.
pub fn render_key(hostname: &str, k: &RenewedKey) -> MethodResult<String> {
    let mut w = Writer { out: String::with_capacity(128), hostname };
    w.line("NODE_ID", "node_id", &k.node_id.to_string())?;
    w.line("NODE_KEY", "key", &k.key)?;
    w.line("KEY_RENEWAL_DATE", "renewal date", &renewal_date(k.renewed_at))?;
    Ok(w.out)
}

/// Everything after the key lines: what node-preview shows.
pub fn render_body(c: &NodeConfig) -> MethodResult<String> {
    let mut w = Writer { out: String::with_capacity(512), hostname: &c.hostname };
    let p = &c.primary;
    if let Some(mac) = p.mac.as_deref().filter(|m| !m.is_empty()) {
        w.line("NET_DEVICE", "mac", &mac.to_lowercase())?;
    }
    w.line("IP_METHOD", "method", &p.method)?;
    if p.method == "static" {
        let required = [
            ("IP_ADDRESS", "ip", &p.ip),
            ("IP_GATEWAY", "gateway", &p.gateway),
            ("IP_NETMASK", "netmask", &p.netmask),
            ("IP_NETADDR", "network", &p.network),
            ("IP_BROADCASTADDR", "broadcast", &p.broadcast),
            ("IP_DNS1", "dns1", &p.dns1),
        ];
        for (key, field, value) in required {
            let v = value.as_deref().ok_or_else(|| {
                Fault::invalid(format!("The static primary interface of {} has no {field}", c.hostname))
            })?;
            w.line(key, field, v)?;
        }
        w.line("IP_DNS2", "dns2", p.dns2.as_deref().unwrap_or(""))?;
    }
    let (host, domain) = c.hostname.split_once('.').unwrap_or((&c.hostname, ""));
    w.line("HOST_NAME", "hostname", host)?;
    w.line("DOMAIN_NAME", "hostname", domain)?;
    write_settings(&mut w, &c.settings)?;
    if let Some((ip, mac)) = &c.ipmi {
        w.line("IPMI_ADDRESS", "ipmi ip", ip.as_deref().unwrap_or(""))?;
        if let Some(mac) = mac.as_deref().filter(|m| !m.is_empty()) {
            w.line("IPMI_MAC", "ipmi mac", &mac.to_lowercase())?;
        }
    }
    Ok(w.out)
}

/// Interface tags grouped by category, categories and names in sorted order (upstream's order
/// is a Python set's, i.e. unpredictable).
fn write_settings(w: &mut Writer<'_>, settings: &[InterfaceSetting]) -> MethodResult<()> {
    let mut sorted: Vec<&InterfaceSetting> = settings.iter().collect();
    sorted.sort_by(|a, b| (&a.category, &a.tagname).cmp(&(&b.category, &b.tagname)));
    let mut current: Option<&str> = None;
    for s in sorted {
        if !is_safe_name(&s.category) || !is_safe_name(&s.tagname) {
            return Err(Fault::invalid(format!(
                "interface setting {}/{} of {} has a name that cannot be written into plnode.txt",
                s.category, s.tagname, w.hostname
            )));
        }
        if current != Some(s.category.as_str()) {
            w.out.push_str(&format!("### Category : {}\n", s.category));
            current = Some(&s.category);
        }
        let key = format!("{}_{}", s.category.to_uppercase(), s.tagname.to_uppercase());
        w.line(&key, &format!("setting {}", s.tagname), &s.value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_dates() {
        assert_eq!(renewal_date(0), "1970/01/01 at 00:00 +0000");
        assert_eq!(renewal_date(951_782_400), "2000/02/29 at 00:00 +0000");
        assert_eq!(renewal_date(1_795_620_267), "2026/11/25 at 15:24 +0000");
    }

    #[test]
    fn unsafe_values_are_refused() {
        for bad in ["a\"b", "a'b", "a\\b", "$(id)", "`id`", "a\nb", "a\rb", "a\u{1b}b"] {
            assert!(!is_safe_value(bad), "{bad:?}");
        }
        assert!(is_safe_value("10.0.0.1"));
        assert!(is_safe_value("my essid with spaces"));
    }
}
