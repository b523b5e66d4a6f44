//! Outgoing mail: the `[mail]` settings of bootmedium.toml and the message the domain hands over
//! ([`Envelope`]). Upstream PLCAPI sends mail from `PLC/sendmail.py` through the local MTA only
//! when `PLC_MAIL_ENABLED` is set (PLC_SPEC §12.5); here mail goes to a configured SMTP relay.
#![forbid(unsafe_code)]

use serde::Deserialize;

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
#[derive(Debug, Clone, Deserialize)]
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
