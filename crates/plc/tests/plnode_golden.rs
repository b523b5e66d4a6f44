//! plnode.txt (docs/plc-api.md §9.3) against hand-checked golden files, and every rendered file read
//! back by a test implementation of the BootManager parser (§7.3) and by bash (§7.2):
//! values round-trip and nothing executes.

use bootmedium_plc::plnode::{InterfaceSetting, NodeConfig, PrimaryInterface, RenewedKey, render};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn static_primary() -> PrimaryInterface {
    PrimaryInterface {
        method: "static".into(),
        mac: s("52:54:00:AA:BB:CC"),
        ip: s("10.0.0.5"),
        gateway: s("10.0.0.1"),
        netmask: s("255.255.255.0"),
        network: s("10.0.0.0"),
        broadcast: s("10.0.0.255"),
        dns1: s("10.0.0.53"),
        dns2: None,
    }
}

fn dhcp(mac: Option<String>) -> PrimaryInterface {
    PrimaryInterface { method: "dhcp".into(), mac, ..Default::default() }
}

fn setting(category: &str, tagname: &str, value: &str) -> InterfaceSetting {
    InterfaceSetting { category: category.into(), tagname: tagname.into(), value: value.into() }
}

/// 2024-01-02 03:04:05 UTC.
const JAN_2_2024: i64 = 1_704_164_645;

fn cases() -> Vec<(&'static str, NodeConfig)> {
    let base = NodeConfig {
        hostname: "node1.example.org".into(),
        key: None,
        primary: static_primary(),
        settings: vec![],
        ipmi: None,
    };
    vec![
        ("static-preview", base.clone()),
        (
            "static-floppy",
            NodeConfig {
                key: Some(RenewedKey {
                    node_id: 42,
                    key: "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcd".into(),
                    renewed_at: JAN_2_2024,
                }),
                primary: PrimaryInterface { dns2: s("10.0.0.54"), ..static_primary() },
                ..base.clone()
            },
        ),
        ("dhcp-no-mac", NodeConfig { hostname: "n2.sub.example.edu".into(), primary: dhcp(None), ..base.clone() }),
        (
            "tags-two-categories",
            NodeConfig {
                primary: dhcp(s("52:54:00:aa:bb:cc")),
                // Given out of order: the file sorts by category, then tag name.
                settings: vec![
                    setting("interface/wifi", "mode", "managed"),
                    setting("interface/config", "ifname", "eth1"),
                    setting("interface/wifi", "essid", "campus net"),
                    setting("interface/config", "alias", "eth0:1"),
                ],
                ..base.clone()
            },
        ),
        (
            "ipmi",
            NodeConfig {
                hostname: "node7.example.org".into(),
                key: Some(RenewedKey { node_id: 7, key: "0".repeat(43), renewed_at: 1_795_651_199 }),
                primary: dhcp(None),
                ipmi: Some((s("10.1.0.7"), s("52:54:00:00:00:07"))),
                ..base
            },
        ),
    ]
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn rendered_files_equal_the_golden_files_byte_for_byte() {
    for (name, config) in cases() {
        assert_eq!(render(&config).unwrap(), golden(name), "{name}");
    }
}

/// The BootManager's own reader (ReadNodeConfiguration.py): `#` lines and blank lines skipped,
/// split at the first `=`, both sides stripped, the value quoted with matching `"` or `'`, no
/// escapes; NODE_ID must be an int and IP_METHOD static or dhcp.
fn bootmanager_parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, value) = line.split_once('=').ok_or(format!("line {n}: no ="))?;
        let (name, value) = (name.trim(), value.trim());
        if value.is_empty() {
            return Err(format!("line {n}: empty value"));
        }
        let (first, last) = (value.chars().next().unwrap_or(' '), value.chars().last().unwrap_or(' '));
        if value.len() < 2 || first != last || !(first == '"' || first == '\'') {
            return Err(format!("Invalid line {n}"));
        }
        let inner = value[1..value.len() - 1].trim().to_string();
        match name {
            "NODE_ID" => {
                inner.parse::<i64>().map_err(|_| format!("line {n}: NODE_ID"))?;
            }
            "IP_METHOD" if !matches!(inner.to_lowercase().as_str(), "static" | "dhcp") => {
                return Err(format!("line {n}: IP_METHOD {inner}"));
            }
            _ => {}
        }
        out.insert(name.to_string(), inner);
    }
    Ok(out)
}

/// bash sources the file in an empty scratch directory and prints the variables it knows.
fn bash_values(text: &str, names: &[&str]) -> (BTreeMap<String, String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plnode.txt"), text).unwrap();
    let mut script = String::from("set -u; source ./plnode.txt 2>/dev/null; ");
    for n in names {
        script.push_str(&format!("printf '%s=%s\\n' {n} \"${{{n}-UNSET}}\"; "));
    }
    let out =
        Command::new("bash").arg("-c").arg(&script).current_dir(dir.path()).env_clear().output().expect("bash runs");
    let values = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    (values, left)
}

#[test]
fn both_readers_get_every_value_back_and_nothing_runs() {
    for (name, config) in cases() {
        let text = render(&config).unwrap();
        let parsed = bootmanager_parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let shell_names: Vec<&str> = parsed.keys().filter(|k| !k.contains('/')).map(String::as_str).collect();
        let (from_bash, left) = bash_values(&text, &shell_names);
        assert_eq!(left, vec!["plnode.txt".to_string()], "{name}: sourcing created files");
        for (k, v) in &parsed {
            if !k.contains('/') {
                assert_eq!(from_bash.get(k), Some(v), "{name}: bash reads {k}");
            }
        }
        let (host, domain) = config.hostname.split_once('.').unwrap();
        assert_eq!(parsed["HOST_NAME"], host);
        assert_eq!(parsed["DOMAIN_NAME"], domain);
        assert_eq!(parsed["IP_METHOD"], config.primary.method);
        if let Some(k) = &config.key {
            assert_eq!(parsed["NODE_ID"], k.node_id.to_string());
            assert_eq!(parsed["NODE_KEY"], k.key);
        } else {
            assert!(!parsed.contains_key("NODE_KEY"));
        }
        for st in &config.settings {
            let key = format!("{}_{}", st.category.to_uppercase(), st.tagname.to_uppercase());
            assert_eq!(parsed[&key], st.value, "{name}: {key}");
        }
    }
}

#[test]
fn values_that_could_break_out_are_refused_not_written() {
    let hostile = ["a\"b", "$(touch pwned)", "`touch pwned`", "x\ny=1", "back\\slash", "it's", "tab\there", "\r"];
    for v in hostile {
        let mut c = cases().remove(3).1;
        c.settings.push(setting("interface/config", "driver", v));
        let e = render(&c).unwrap_err();
        assert_eq!(e.code, 102, "{v:?}");
        let mut c = cases().remove(0).1;
        c.primary.dns2 = Some(v.to_string());
        assert_eq!(render(&c).unwrap_err().code, 102, "{v:?}");
    }
    let mut c = cases().remove(3).1;
    c.settings.push(setting("interface config", "x", "v"));
    assert_eq!(render(&c).unwrap_err().code, 102);
    let mut c = cases().remove(3).1;
    c.settings.push(setting("cat", "a=b", "v"));
    assert_eq!(render(&c).unwrap_err().code, 102);
}

#[test]
fn printable_values_round_trip_through_both_readers() {
    // Every printable ASCII character the checks allow, in a setting and in dns2-free positions.
    let allowed: String = (0x20u8..0x7f).map(char::from).filter(|c| !"\"'\\$`".contains(*c)).collect();
    let mut c = cases().remove(3).1;
    c.settings = vec![setting("interface/wifi", "key", allowed.trim())];
    let text = render(&c).unwrap();
    let parsed = bootmanager_parse(&text).unwrap();
    assert_eq!(parsed["INTERFACE/WIFI_KEY"], allowed.trim());
    let (_, left) = bash_values(&text, &["HOST_NAME"]);
    assert_eq!(left, vec!["plnode.txt".to_string()]);
}
