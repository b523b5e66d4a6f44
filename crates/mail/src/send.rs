//! One message to the relay: formatting (RFC 5322; RFC 2047 encoded words for non-ASCII header
//! text, a UTF-8 `text/plain` body in quoted-printable or base64, so the message is 7-bit clean
//! and needs no 8BITMIME) and one SMTP session (RFC 5321) per attempt, with STARTTLS (RFC 3207)
//! as `[mail] starttls` says and AUTH (RFC 4954) when credentials are set.
//!
//! Each failure is classified for the queue: [`SendError::Permanent`] when trying again cannot
//! help (the relay refused the message with a 5xx reply, or the message has an unusable
//! address), [`SendError::Transient`] otherwise (nothing listening, a timeout, a TLS failure, a
//! 4xx reply).

use crate::{Envelope, MailSettings, StartTls};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::{Duration, SystemTime};

/// A `[mail]` setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{setting} {reason}")]
    Setting { setting: &'static str, reason: String },
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another attempt later: the relay was unreachable, too slow, or answered 4xx.
    #[error("{0}")]
    Transient(String),
    /// Trying again cannot help: the relay refused the message (5xx), or the message has an
    /// address that is not one.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// 5xx replies that say the relay's configuration, not the message, is wrong (RFC 4954: 530
/// authentication required, 534 mechanism too weak, 535 credentials invalid, 538 encryption
/// required): the operator fixes them, so the message is retried rather than given up.
const CONFIGURATION_REFUSALS: [&str; 4] = ["530", "534", "535", "538"];

/// The relay as `[mail]` describes it; one SMTP connection per [`Mailer::send`].
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

impl Mailer {
    /// The relay of `settings` (TLS parameters and the extra CA file are read here, so a bad
    /// file is reported at start).
    pub fn new(settings: &MailSettings) -> Result<Mailer, MailError> {
        let setting = |setting, reason: String| MailError::Setting { setting, reason };
        let timeout = Duration::from_secs(settings.timeout_seconds.max(1));
        let tls = match settings.starttls {
            StartTls::Never => Tls::None,
            mode => {
                let mut params = TlsParameters::builder(settings.relay.clone());
                if !settings.ca_certificate.as_os_str().is_empty() {
                    let path = &settings.ca_certificate;
                    let pem = std::fs::read(path)
                        .map_err(|e| setting("mail.ca_certificate", format!("cannot read {}: {e}", path.display())))?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        setting("mail.ca_certificate", format!("{} is not a PEM certificate file: {e}", path.display()))
                    })?;
                    params = params.add_root_certificate(cert);
                }
                let params = params.build_rustls().map_err(|e| setting("mail.starttls", e.to_string()))?;
                match mode {
                    StartTls::Required => Tls::Required(params),
                    _ => Tls::Opportunistic(params),
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.relay.clone())
            .port(settings.port)
            .tls(tls)
            // Per read or write; the whole attempt is bounded by `send` as well.
            .timeout(Some(timeout));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(settings.username.clone(), settings.password.clone()));
        }
        Ok(Mailer { transport: builder.build(), timeout })
    }

    /// One attempt to hand `mail` to the relay, within `[mail] timeout_seconds` in all
    /// (connection, TLS, AUTH and the transfer). `message_id` and `date` are the message's own,
    /// the same on every attempt, so a recipient can recognise a message delivered twice (a
    /// relay that accepted the data but whose answer was lost).
    pub async fn send(&self, mail: &Envelope, message_id: &str, date: SystemTime) -> Result<(), SendError> {
        let message = format(mail, message_id, date).map_err(SendError::Permanent)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::Transient(format!(
                "the relay did not finish within {} s (timeout_seconds)",
                self.timeout.as_secs()
            ))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
        }
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = error_text(e);
    match e.status() {
        Some(code) if e.is_permanent() && !CONFIGURATION_REFUSALS.contains(&code.to_string().as_str()) => {
            SendError::Permanent(text)
        }
        _ => SendError::Transient(text),
    }
}

/// The error and its causes on one line ("Connection error: Connection refused (os error 111)").
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    // lettre's errors print their first cause; deeper ones are added unless already shown.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.replace(['\r', '\n'], " ")
}

/// The Message-ID of queued mail `mail_id` made at `created` by `sender`: the same on every
/// attempt, unique per queue row, in the sender's domain (RFC 5322 §3.6.4).
pub fn message_id(mail_id: i64, created: i64, sender: &str) -> String {
    let domain = sender
        .parse::<Mailbox>()
        .map(|m| m.email.domain().to_owned())
        .unwrap_or_else(|_| "localhost.localdomain".to_owned());
    format!("<{created}.{mail_id}.bootmedium@{domain}>")
}

fn mailbox(what: &str, text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>().map_err(|e| format!("the {what} address {text:?} is not usable: {e}"))
}

/// The message as it goes on the wire.
fn format(mail: &Envelope, message_id: &str, date: SystemTime) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(mailbox("sender", &mail.from)?)
        .subject(mail.subject.clone())
        .date(date)
        .message_id(Some(message_id.to_owned()))
        .header(ContentType::TEXT_PLAIN);
    if let Some(reply_to) = mail.reply_to.as_deref().filter(|r| !r.is_empty()) {
        builder = builder.reply_to(mailbox("Reply-To", reply_to)?);
    }
    if mail.to.is_empty() {
        return Err("the mail has no recipients".to_owned());
    }
    for to in &mail.to {
        builder = builder.to(mailbox("recipient", to)?);
    }
    // The SMTP client ends the data with CRLF "." CRLF, which is the last line's end: a body's
    // own final line end would arrive as an extra empty line.
    let body = mail.body.strip_suffix('\n').map(|b| b.strip_suffix('\r').unwrap_or(b)).unwrap_or(&mail.body);
    builder.body(body.to_owned()).map_err(|e| format!("the mail cannot be formatted: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from: "\"PlanetLab Test Support\" <support@plc.example.org>".into(),
            reply_to: Some("support@plc.example.org".into()),
            to: vec!["pi@site.example.org".into(), "tech@site.example.org".into()],
            subject: "Nœud installé: n1.example.org".into(),
            body: "Ligne une — é\nline two\n".into(),
        }
    }

    #[test]
    fn formats_headers_and_encodes_non_ascii() {
        let id = message_id(7, 1_700_000_000, &envelope().from);
        assert_eq!(id, "<1700000000.7.bootmedium@plc.example.org>");
        let m = format(&envelope(), &id, SystemTime::UNIX_EPOCH).unwrap().formatted();
        let text = String::from_utf8(m).unwrap();
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains("Message-ID: <1700000000.7.bootmedium@plc.example.org>\r\n"), "{text}");
        assert!(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), "{text}");
        assert!(text.contains("To: pi@site.example.org, tech@site.example.org\r\n"), "{text}");
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert!(text.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{text}");
    }

    #[test]
    fn unusable_addresses_are_permanent() {
        let mut e = envelope();
        e.to = vec!["not an address".into()];
        assert!(format(&e, "<x@y>", SystemTime::UNIX_EPOCH).unwrap_err().contains("not an address"));
        e.to = Vec::new();
        assert!(format(&e, "<x@y>", SystemTime::UNIX_EPOCH).is_err());
    }

    #[test]
    fn settings_are_checked_when_enabled() {
        let mut s = MailSettings { enabled: true, ..MailSettings::default() };
        assert!(s.validate().is_ok());
        for (change, setting) in [
            (&(|s: &mut MailSettings| s.relay.clear()) as &dyn Fn(&mut MailSettings), "mail.relay"),
            (&|s: &mut MailSettings| s.port = 0, "mail.port"),
            (&|s: &mut MailSettings| s.max_attempts = 0, "mail.max_attempts"),
            (&|s: &mut MailSettings| s.timeout_seconds = 0, "mail.timeout_seconds"),
            (&|s: &mut MailSettings| s.username = "u".into(), "mail.username"),
            (&|s: &mut MailSettings| s.from = "a b c".into(), "mail.from"),
            (&|s: &mut MailSettings| s.boot_address = "nobody".into(), "mail.boot_address"),
        ] {
            let mut bad = s.clone();
            change(&mut bad);
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.starts_with(setting), "{setting}: {e}");
            bad.enabled = false;
            assert!(bad.validate().is_ok(), "disabled mail is not checked");
        }
        let shown = format!("{:?}", MailSettings { password: "hunter2".into(), ..s.clone() });
        assert!(!shown.contains("hunter2") && shown.contains("***"), "{shown}");
        s.ca_certificate = "/nonexistent/ca.pem".into();
        let e = Mailer::new(&s).err().unwrap().to_string();
        assert!(e.contains("mail.ca_certificate"), "{e}");
    }
}
