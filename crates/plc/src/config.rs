//! The PLC settings the API reads (docs/plc-api.md §6), loaded from `bootmedium.toml`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[plc]`: who this PLC is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlcSettings {
    /// PLC_NAME.
    pub name: String,
    /// PLC_SLICE_PREFIX: the login_base of the system site.
    pub slice_prefix: String,
    /// PLC_HRN_ROOT: prefix of the `hrn` tags set on new sites, persons and nodes.
    pub hrn_root: String,
    /// PLC_WWW_HOST: the web site named in mails (`%(PLC_WWW_HOST)s`).
    pub www_host: String,
    /// PLC_WWW_SSL_PORT (`%(PLC_WWW_SSL_PORT)d`).
    pub www_ssl_port: u16,
}

impl Default for PlcSettings {
    fn default() -> Self {
        PlcSettings {
            name: "PlanetLab Test".into(),
            slice_prefix: "pl".into(),
            hrn_root: "planetlab.test".into(),
            www_host: "localhost.localdomain".into(),
            www_ssl_port: 443,
        }
    }
}

/// `[flavour]`: the default node family (PLC_FLAVOUR_NODE_*).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlavourSettings {
    pub pldistro: String,
    pub fcdistro: String,
    pub arch: String,
    /// PLC_FLAVOUR_VIRT_MAP: `fcdistro[,fcdistro…]:virt; …; default:virt`.
    pub virt_map: String,
}

impl Default for FlavourSettings {
    fn default() -> Self {
        FlavourSettings {
            pldistro: "lxc".into(),
            fcdistro: "f22".into(),
            arch: "x86_64".into(),
            virt_map: "f8,f12,f14,centos5,centos6:vs; default:lxc".into(),
        }
    }
}

/// `[api]`: authentication and logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// PLC_API_MAINTENANCE_USER; empty disables the maintenance account.
    pub maintenance_user: String,
    /// PLC_API_MAINTENANCE_PASSWORD (clear text, as upstream).
    pub maintenance_password: String,
    /// PLC_API_MAINTENANCE_SOURCES: addresses allowed to use the maintenance account.
    pub maintenance_sources: Vec<String>,
    /// PLC_API_DEBUG: record every call as an event, failed ones included.
    pub debug: bool,
    /// Lifetime of a person session made by GetSession without an explicit expiry.
    pub session_lifetime_seconds: i64,
    /// The longest person session GetSession or AddSession makes; longer requests are cut to it.
    pub max_session_lifetime_seconds: i64,
    /// How long a node session lives unused. Each use pushes its expiry out again (at most once
    /// an hour), so a running node never loses it; a node that stays silent for longer
    /// authenticates again with its key, as the BootManager and the NodeManager do when their
    /// saved session fails at start.
    pub node_session_lifetime_seconds: i64,
    /// The most calls one `system.multicall` may carry; more is fault 102 before any runs.
    pub max_multicall_calls: usize,
    /// How many password checks (argon2, MD5-crypt) may run at once, on blocking threads; the
    /// others wait their turn.
    pub password_check_concurrency: usize,
    /// Failed password logins are counted per account and per client address (IPv6: per /64)
    /// over windows of this many seconds.
    pub failed_login_window_seconds: u64,
    /// After this many failures in a window, the account's password logins are refused (fault
    /// 103, nothing verified) until the window ends; 0 disables the limit.
    pub failed_logins_per_account: u32,
    /// The same per client address.
    pub failed_logins_per_address: u32,
}

impl ApiSettings {
    /// When a person session asked for `asked` seconds from `now` ends: the default lifetime
    /// when nothing is asked, never later than the configured maximum.
    pub fn person_session_expiry(&self, now: i64, asked: Option<i64>) -> i64 {
        let lifetime = asked.unwrap_or(self.session_lifetime_seconds);
        now.saturating_add(lifetime.min(self.max_session_lifetime_seconds))
    }

    /// Whether a node session expiring at `expires` (None: never set) is due to be pushed out
    /// to `now + node_session_lifetime_seconds`: at most once an hour (more often only when the
    /// lifetime itself is under two hours), so a node's calls rarely write.
    pub fn node_session_due(&self, now: i64, expires: Option<i64>) -> bool {
        let lifetime = self.node_session_lifetime_seconds;
        let step = (lifetime / 2).min(3600);
        expires.is_none_or(|e| e <= now.saturating_add(lifetime - step))
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            maintenance_user: String::new(),
            maintenance_password: String::new(),
            maintenance_sources: Vec::new(),
            debug: false,
            session_lifetime_seconds: 86400,
            // What the web UI asks for at login (GetSession(1209600), 14 days).
            max_session_lifetime_seconds: 14 * 86400,
            node_session_lifetime_seconds: 7 * 86400,
            max_multicall_calls: 100,
            password_check_concurrency: 4,
            failed_login_window_seconds: 300,
            failed_logins_per_account: 10,
            failed_logins_per_address: 100,
        }
    }
}

/// `[medium.node_types.<type>]`: what GetBootMedium offers for nodes of one type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeTypeSettings {
    /// The actions allowed for this node type.
    pub actions: Vec<String>,
    /// The reference family of this type's images (e.g. its own BootCD for dummynet boxes);
    /// empty means the node's family.
    pub family: String,
}

/// `[medium]`: GetBootMedium's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediumSettings {
    /// `%d`: where file results go; empty means `<data-dir>/results`.
    pub results_dir: PathBuf,
    pub node_types: BTreeMap<String, NodeTypeSettings>,
    /// How long a download link (`POST /api/v1/media`) works.
    pub download_lifetime_seconds: i64,
    /// Directories besides `results_dir` where admins' file results may go (absolute, or
    /// relative to the data directory). Everyone else's stay inside `results_dir`.
    pub admin_result_dirs: Vec<PathBuf>,
    /// Bytes of file results one caller (person or node) may have on disk at a time, counted
    /// over the result files it wrote that still exist; 0 = no limit.
    pub result_quota_bytes: u64,
    /// How many such files one caller may have; 0 = no limit.
    pub result_quota_files: u64,
    /// File results are refused when writing one would leave less than this many bytes free
    /// on its file system (which usually holds the database too); 0 = no floor.
    pub result_min_free_bytes: u64,
}

fn actions(list: &[&str]) -> NodeTypeSettings {
    NodeTypeSettings { actions: list.iter().map(|s| s.to_string()).collect(), family: String::new() }
}

impl Default for MediumSettings {
    fn default() -> Self {
        let mut node_types = BTreeMap::new();
        node_types.insert(
            "regular".to_string(),
            actions(&["node-preview", "node-floppy", "node-iso", "node-usb", "generic-iso", "generic-usb"]),
        );
        node_types.insert("reservable".to_string(), actions(&["node-preview", "node-iso", "node-usb"]));
        node_types.insert("dummynet".to_string(), actions(&["node-preview", "dummynet-iso", "dummynet-usb"]));
        MediumSettings {
            results_dir: PathBuf::new(),
            node_types,
            download_lifetime_seconds: 3600,
            admin_result_dirs: Vec::new(),
            result_quota_bytes: 8 << 30,
            result_quota_files: 1000,
            result_min_free_bytes: 1 << 30,
        }
    }
}

/// Everything the API layer needs to know about its PLC.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlcConfig {
    pub plc: PlcSettings,
    pub flavour: FlavourSettings,
    pub api: ApiSettings,
    pub medium: MediumSettings,
    pub mail: bootmedium_mail::MailSettings,
}

#[cfg(test)]
mod tests {
    use super::ApiSettings;

    #[test]
    fn person_sessions_are_cut_to_the_maximum() {
        let api = ApiSettings::default();
        let now = 1_800_000_000;
        // Python's xmlrpc client may ask for 68 years (2**31 - 1 seconds); it gets 14 days.
        assert_eq!(api.person_session_expiry(now, Some(i64::from(i32::MAX))), now + 14 * 86400);
        assert_eq!(api.person_session_expiry(now, Some(1_209_600)), now + 1_209_600);
        assert_eq!(api.person_session_expiry(now, None), now + 86400);
        assert_eq!(api.person_session_expiry(now, Some(-5)), now - 5);
        let short = ApiSettings { max_session_lifetime_seconds: 600, ..ApiSettings::default() };
        assert_eq!(short.person_session_expiry(now, None), now + 600);
    }

    #[test]
    fn node_sessions_are_pushed_out_at_most_hourly() {
        let api = ApiSettings::default();
        let (now, lifetime) = (1_800_000_000, api.node_session_lifetime_seconds);
        assert!(api.node_session_due(now, None), "a session without an expiry gets one");
        assert!(!api.node_session_due(now, Some(now + lifetime)), "just made or pushed out");
        assert!(!api.node_session_due(now, Some(now + lifetime - 3599)));
        assert!(api.node_session_due(now, Some(now + lifetime - 3600)), "an hour after the last push");
        let short = ApiSettings { node_session_lifetime_seconds: 6, ..ApiSettings::default() };
        assert!(!short.node_session_due(now, Some(now + 4)));
        assert!(short.node_session_due(now, Some(now + 3)), "half a short lifetime");
    }
}
