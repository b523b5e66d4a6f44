//! Password logins as a bounded resource (docs/plc-api.md §2.2 is upstream's PasswordAuth; the limits
//! are this server's).
//!
//! A password check costs tens of milliseconds of CPU and argon2's memory, so checks run on
//! blocking threads (never on the async workers), at most `password_check_concurrency` at once.
//! Failed logins are counted in memory per account and per client address (IPv6 per /64) over a
//! fixed window; past the limit, password logins for that account or from that address are
//! refused with fault 103 before anything is verified, until the window ends. An unknown or
//! disabled account, or one without a usable hash, is checked against a dummy argon2 hash, so it
//! takes as long to refuse as a wrong password for a real account.

use crate::config::ApiSettings;
use crate::crypto;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Counted keys beyond which expired windows are swept (and, if still over, the oldest
/// dropped): the memory the counters may take is bounded whatever the clients send.
const MAX_TRACKED: usize = 100_000;

/// A hash of a random password with the parameters new passwords get, so checking against it
/// costs what checking a real account costs.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut secret = [0u8; 24];
    crypto::random_bytes(&mut secret).ok()?;
    let text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    crypto::hash_password(&text).ok()
});

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counted {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

pub struct LoginGuard {
    checks: tokio::sync::Semaphore,
    window: Duration,
    per_account: u32,
    per_address: u32,
    counts: Mutex<HashMap<Counted, Window>>,
}

/// The network a client address stands for, wherever clients are counted per address (failed
/// logins here, connections in the server): IPv4 (IPv4-mapped IPv6 too) as is, IPv6 by its /64
/// (one host usually holds a whole /64, so counting single IPv6 addresses would count nothing).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl LoginGuard {
    pub fn new(api: &ApiSettings) -> Self {
        LoginGuard {
            checks: tokio::sync::Semaphore::new(api.password_check_concurrency.max(1)),
            window: Duration::from_secs(api.failed_login_window_seconds),
            per_account: api.failed_logins_per_account,
            per_address: api.failed_logins_per_address,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, account: &str, peer: Option<IpAddr>) -> Vec<(Counted, u32)> {
        let mut keys = Vec::with_capacity(2);
        if self.per_account > 0 {
            keys.push((Counted::Account(account_key(account)), self.per_account));
        }
        if let Some(ip) = peer.filter(|_| self.per_address > 0) {
            keys.push((Counted::Address(address_key(ip)), self.per_address));
        }
        keys
    }

    /// Seconds until password logins for `account` from `peer` are accepted again, when they
    /// are refused now.
    pub fn refused_for(&self, account: &str, peer: Option<IpAddr>) -> Option<u64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        self.keys(account, peer)
            .iter()
            .filter_map(|(key, limit)| {
                let w = counts.get(key)?;
                let left = self.window.checked_sub(w.started.elapsed())?;
                (w.failures >= *limit).then(|| left.as_secs().max(1))
            })
            .max()
    }

    /// Counts one failed login.
    pub fn failed(&self, account: &str, peer: Option<IpAddr>) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for (key, _) in self.keys(account, peer) {
            let w = counts.entry(key).or_insert(Window { started: now, failures: 0 });
            if w.started.elapsed() >= self.window {
                *w = Window { started: now, failures: 0 };
            }
            w.failures = w.failures.saturating_add(1);
        }
        if counts.len() > MAX_TRACKED {
            counts.retain(|_, w| w.started.elapsed() < self.window);
            while counts.len() > MAX_TRACKED {
                let Some(oldest) = counts.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| k.clone()) else { break };
                counts.remove(&oldest);
            }
        }
    }

    /// A correct password clears its account's failures (not its address's).
    pub fn succeeded(&self, account: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.remove(&Counted::Account(account_key(account)));
    }

    /// Checks `secret` against `stored` on a blocking thread, waiting for a free check slot.
    /// Without a usable hash (unknown account, upstream's `nopass`) the dummy hash is checked
    /// instead and the answer is `false`.
    pub async fn verify(&self, secret: &str, stored: Option<&str>) -> bool {
        let Ok(_slot) = self.checks.acquire().await else { return false };
        let secret = secret.to_string();
        let real = stored.filter(|h| crypto::is_password_hash(h)).map(str::to_string);
        let checked = tokio::task::spawn_blocking(move || match real {
            Some(hash) => crypto::verify_password(&secret, &hash),
            None => {
                if let Some(dummy) = DUMMY_HASH.as_deref() {
                    let _ = crypto::verify_password(&secret, dummy);
                }
                false
            }
        });
        checked.await.unwrap_or(false)
    }
}

/// An account's counter key. E-mail addresses are at most 254 bytes (docs/plc-api.md §4.8): a longer
/// name is no account, and keeping it whole would let each failed login pin up to a request
/// body's worth of memory in the table (whose size, not bytes, `MAX_TRACKED` bounds).
fn account_key(account: &str) -> String {
    let mut end = account.len().min(254);
    while !account.is_char_boundary(end) {
        end -= 1;
    }
    account[..end].to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(per_account: u32, per_address: u32, window: u64) -> LoginGuard {
        LoginGuard::new(&ApiSettings {
            failed_logins_per_account: per_account,
            failed_logins_per_address: per_address,
            failed_login_window_seconds: window,
            ..ApiSettings::default()
        })
    }

    #[test]
    fn counts_per_account_and_per_address() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let g = guard(3, 5, 60);
        for _ in 0..3 {
            assert_eq!(g.refused_for("x@example.org", Some(a)), None);
            g.failed("X@example.org", Some(a));
        }
        // The account is refused from anywhere, other accounts are not (yet) from `a`.
        assert!(g.refused_for("x@example.org", Some(b)).is_some());
        assert_eq!(g.refused_for("y@example.org", Some(a)), None);
        g.failed("y@example.org", Some(a));
        g.failed("z@example.org", Some(a));
        assert!(g.refused_for("w@example.org", Some(a)).is_some());
        assert_eq!(g.refused_for("w@example.org", Some(b)), None);
        // Success clears the account's count only.
        g.succeeded("x@example.org");
        assert_eq!(g.refused_for("x@example.org", Some(b)), None);
        assert!(g.refused_for("x@example.org", Some(a)).is_some());
    }

    #[test]
    fn windows_end_and_zero_disables() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        let g = guard(1, 0, 0);
        g.failed("x", Some(a));
        assert_eq!(g.refused_for("x", Some(a)), None, "a zero-second window has always ended");
        let g = guard(0, 2, 60);
        g.failed("x", Some(a));
        g.failed("y", Some(same_64));
        assert!(g.refused_for("z", Some(a)).is_some(), "one /64 is one address");
        assert_eq!(g.refused_for("z", None), None);
    }

    #[test]
    fn tracking_is_bounded() {
        let g = guard(5, 0, 3600);
        for i in 0..MAX_TRACKED + 10 {
            g.failed(&format!("u{i}"), None);
        }
        assert!(g.counts.lock().unwrap().len() <= MAX_TRACKED);
    }
}
