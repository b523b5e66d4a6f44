//! Outgoing mail: the `[mail]` settings of bootmedium.toml, the message the domain hands over
//! ([`Envelope`]) and its delivery to an SMTP relay ([`Mailer`]). Upstream PLCAPI sends mail
//! from `PLC/sendmail.py` through the local MTA only when `PLC_MAIL_ENABLED` is set (docs/plc-api.md
//! §12.5); here mail goes to a configured relay (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954),
//! formatted as RFC 5322 with RFC 2047 encoded words for non-ASCII header text.
#![forbid(unsafe_code)]

mod send;

pub use send::{MailError, Mailer, SendError, message_id};

use serde::Deserialize;
use std::path::PathBuf;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Plain SMTP (a relay on the same host or a trusted network).
    Never,
    /// STARTTLS when the relay offers it, plain otherwise.
    #[default]
    Opportunistic,
    /// STARTTLS or no delivery.
    Required,
}

/// `[mail]`: whether and where mail is sent, and the PLC's addresses
/// (PLC_MAIL_ENABLED, PLC_MAIL_SUPPORT_ADDRESS, PLC_MAIL_BOOT_ADDRESS).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// Off by default, as upstream: mail that would be sent is only logged.
    pub enabled: bool,
    /// The SMTP relay's host name or address.
    pub relay: String,
    pub port: u16,
    pub starttls: StartTls,
    /// Credentials for the relay (both empty: none).
    pub username: String,
    pub password: String,
    /// The From and Reply-To address (upstream: `"<PLC_NAME> Support" <support address>`);
    /// empty means the support address.
    pub from: String,
    /// PLC_MAIL_SUPPORT_ADDRESS.
    pub support_address: String,
    /// PLC_MAIL_BOOT_ADDRESS: gets every boot message a node sends.
    pub boot_address: String,
    /// How long one delivery attempt may take, connection included.
    pub timeout_seconds: u64,
    /// Attempts before a message is given up and logged as failed.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled after each failed attempt.
    pub retry_seconds: u64,
    /// A PEM file of CA certificates trusted for the relay's STARTTLS certificate besides the
    /// system's (a relay with a private CA); empty: the system's only.
    pub ca_certificate: PathBuf,
}

/// Everything but the password, which must not reach a log.
impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("enabled", &self.enabled)
            .field("relay", &self.relay)
            .field("port", &self.port)
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "***" })
            .field("from", &self.from)
            .field("support_address", &self.support_address)
            .field("boot_address", &self.boot_address)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_attempts", &self.max_attempts)
            .field("retry_seconds", &self.retry_seconds)
            .field("ca_certificate", &self.ca_certificate)
            .finish()
    }
}

impl MailSettings {
    /// The checks `serve` makes at start when mail is enabled: a setting that could never
    /// deliver is an error then, not a log line per message later.
    pub fn validate(&self) -> Result<(), MailError> {
        let invalid = |setting: &'static str, reason: &str| MailError::Setting { setting, reason: reason.to_owned() };
        if !self.enabled {
            return Ok(());
        }
        if self.relay.trim().is_empty() || self.relay.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("mail.relay", "must be the relay's host name or address"));
        }
        if self.port == 0 {
            return Err(invalid("mail.port", "must be 1-65535"));
        }
        if self.max_attempts == 0 {
            return Err(invalid("mail.max_attempts", "must be at least 1"));
        }
        if self.timeout_seconds == 0 {
            return Err(invalid("mail.timeout_seconds", "must be at least 1"));
        }
        if self.retry_seconds == 0 {
            return Err(invalid("mail.retry_seconds", "must be at least 1"));
        }
        if self.username.is_empty() != self.password.is_empty() {
            return Err(invalid("mail.username", "username and password go together (both empty: no AUTH)"));
        }
        for (setting, address) in
            [("mail.support_address", &self.support_address), ("mail.boot_address", &self.boot_address)]
        {
            if address.parse::<lettre::Address>().is_err() {
                return Err(invalid(setting, "must be a mail address (user@domain)"));
            }
        }
        if !self.from.is_empty() && self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("mail.from", "must be a mail address, optionally with a name: \"Name\" <user@domain>"));
        }
        Ok(())
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            enabled: false,
            relay: "localhost".into(),
            port: 25,
            starttls: StartTls::default(),
            username: String::new(),
            password: String::new(),
            from: String::new(),
            support_address: "root+support@localhost.localdomain".into(),
            boot_address: "root+install-msgs@localhost.localdomain".into(),
            timeout_seconds: 30,
            max_attempts: 6,
            retry_seconds: 60,
            ca_certificate: PathBuf::new(),
        }
    }
}

/// One message, as the domain composed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `"Name" <address>` or a bare address.
    pub from: String,
    pub reply_to: Option<String>,
    /// Bare addresses.
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}
