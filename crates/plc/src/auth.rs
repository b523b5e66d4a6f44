//! Authentication (docs/plc-api.md §2) of typed [`Credentials`]: password/capability, session,
//! hmac (node), anonymous or gpg; each finds the caller and checks the method's roles the way
//! upstream does (103 or 108 depending on the method of auth). The XML-RPC auth struct becomes
//! `Credentials` once, in the wire adapter (`wire::credentials`, with §2.1's faults for a
//! malformed struct); nothing here reads it.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::caller::{Caller, NodeCaller, PersonCaller};
use crate::config::PlcConfig;
use crate::crypto;
use crate::fault::Fault;
use crate::ledger::LedgerKey;
use crate::logins::LoginGuard;
use crate::roles::{Role, python_list};
use bootmedium_registry::{Registry, Tx, ops};
use bootmedium_xmlrpc::Value;
use std::net::IpAddr;

/// The auth struct's `AuthMethod` (§2.1): which kind of credentials a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    Password,
    Capability,
    Gpg,
    Hmac,
    HmacDummybox,
    Anonymous,
}

impl AuthMethod {
    /// Every method, in the order upstream's fault lists them.
    pub const ALL: [AuthMethod; 7] = [
        AuthMethod::Session,
        AuthMethod::Password,
        AuthMethod::Capability,
        AuthMethod::Gpg,
        AuthMethod::Hmac,
        AuthMethod::HmacDummybox,
        AuthMethod::Anonymous,
    ];

    /// The name the auth struct carries.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Session => "session",
            AuthMethod::Password => "password",
            AuthMethod::Capability => "capability",
            AuthMethod::Gpg => "gpg",
            AuthMethod::Hmac => "hmac",
            AuthMethod::HmacDummybox => "hmac_dummybox",
            AuthMethod::Anonymous => "anonymous",
        }
    }

    /// The method named `name`, if it is one.
    pub fn named(name: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The event log's `auth_type` (§2.8): upstream's `auth_types` table has every method but
    /// hmac_dummybox.
    pub fn event_auth_type(self) -> Option<&'static str> {
        (self != AuthMethod::HmacDummybox).then(|| self.name())
    }
}

/// What a caller authenticates with (§2.2–2.7), whichever front end it came through.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// AuthMethod `password`, or `capability` (the same check; only the name differs).
    Password {
        username: String,
        password: String,
        capability: bool,
    },
    /// A session id (`GetSession`), as an auth struct or the download API's bearer token or
    /// cookie carries it.
    Session(String),
    /// A node's signature (`value`) over the call's arguments as sent, with its key; AuthMethod
    /// `hmac`, or `hmac_dummybox` (the same check).
    Hmac {
        node_id: i64,
        value: String,
        dummybox: bool,
    },
    Anonymous,
    /// Refused (§2.7): this server has no GPG keys to check a signature with.
    Gpg,
}

impl Credentials {
    pub fn method(&self) -> AuthMethod {
        match self {
            Credentials::Password { capability: false, .. } => AuthMethod::Password,
            Credentials::Password { capability: true, .. } => AuthMethod::Capability,
            Credentials::Session(_) => AuthMethod::Session,
            Credentials::Hmac { dummybox: false, .. } => AuthMethod::Hmac,
            Credentials::Hmac { dummybox: true, .. } => AuthMethod::HmacDummybox,
            Credentials::Anonymous => AuthMethod::Anonymous,
            Credentials::Gpg => AuthMethod::Gpg,
        }
    }
}

/// Without the secrets: credentials end up in log lines and panic messages.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { username, capability, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("capability", capability)
                .finish_non_exhaustive(),
            Credentials::Session(_) => f.write_str("Session(..)"),
            Credentials::Hmac { node_id, dummybox, .. } => {
                f.debug_struct("Hmac").field("node_id", node_id).field("dummybox", dummybox).finish_non_exhaustive()
            }
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Gpg => f.write_str("Gpg"),
        }
    }
}

/// A failed authentication; a failed session also names the session row to delete (upstream
/// deletes the session on every 103 raised by SessionAuth), and a wrong hmac signature for an
/// existing node names the node whose owners hear of it (the `authfail` notice, §2.5).
pub struct AuthFailure {
    pub fault: Fault,
    pub delete_session: Option<String>,
    pub authfail: Option<NodeCaller>,
}

impl From<Fault> for AuthFailure {
    fn from(fault: Fault) -> Self {
        AuthFailure { fault, delete_session: None, authfail: None }
    }
}

/// What the call is, as far as authentication needs to know.
pub struct AuthRequest<'a> {
    pub method: &'a str,
    pub roles: &'a [Role],
    pub credentials: &'a Credentials,
    /// The arguments after the auth struct, as sent: an hmac signature is over these values, not
    /// over their typed form (§2.5: Python's `str()` of each, as the client sent it), so they
    /// reach authentication as values.
    pub args: &'a [Value],
    pub peer: Option<IpAddr>,
}

/// A successful authentication.
pub struct Authenticated {
    pub caller: Caller,
    /// A node session whose expiry is due to be pushed out: done after the call, in its own
    /// short write, so that reading calls stay reads.
    pub extend_node_session: Option<String>,
}

impl From<Caller> for Authenticated {
    fn from(caller: Caller) -> Self {
        Authenticated { caller, extend_node_session: None }
    }
}

/// The secret of password credentials, checked once per call before any transaction of the call
/// begins ([`PasswordCheck::verify`]: the account's hash is read on its own short transaction,
/// then checked on a blocking thread with no database connection held). Authentication inside
/// the call's transactions then only compares: the password counts if the account still has the
/// very hash that matched. So the expensive check runs once, never while the write lock or a
/// pooled connection is held.
pub struct PasswordCheck<'a> {
    guard: &'a LoginGuard,
    memo: Option<&'a PasswordMemo>,
    matched: Option<String>,
}

/// The passwords one `system.multicall` has verified: (username, secret, the hash that matched).
/// Its later calls with the same credentials only compare hashes, so a multicall costs one
/// password check, not one per call.
#[derive(Default)]
pub struct PasswordMemo(std::sync::Mutex<Vec<(String, String, String)>>);

impl PasswordMemo {
    fn knows(&self, username: &str, secret: &str, hash: &str) -> bool {
        let verified = self.0.lock().unwrap_or_else(|e| e.into_inner());
        verified.iter().any(|(u, s, h)| u == username && s == secret && h == hash)
    }

    fn remember(&self, username: &str, secret: &str, hash: &str) {
        let mut verified = self.0.lock().unwrap_or_else(|e| e.into_inner());
        verified.push((username.to_string(), secret.to_string(), hash.to_string()));
    }
}

impl<'a> PasswordCheck<'a> {
    pub fn new(guard: &'a LoginGuard, memo: Option<&'a PasswordMemo>) -> Self {
        PasswordCheck { guard, memo, matched: None }
    }

    /// Checks the secret of password (or capability) credentials; anything else passes
    /// untouched (its faults come from [`authenticate`], in upstream's order). Refused first,
    /// with nothing checked, while the account or the client's address is over its failed-login
    /// limit.
    pub async fn verify(
        &mut self,
        registry: &Registry,
        config: &PlcConfig,
        req: &AuthRequest<'_>,
    ) -> Result<(), Fault> {
        let Credentials::Password { username, password: secret, .. } = req.credentials else { return Ok(()) };
        if let Some(seconds) = self.guard.refused_for(username, req.peer) {
            return Err(Fault::auth(format!(
                "PasswordAuth: Too many failed logins for this account or address; try again in {seconds} s"
            )));
        }
        let maint = &config.api.maintenance_user;
        if !maint.is_empty() && username == maint {
            // A clear-text comparison, done by `authenticate`; only its failures count here.
            if maintenance_auth(config, req, secret).is_err() {
                self.guard.failed(username, req.peer);
            }
            return Ok(());
        }
        let (person, hash) = {
            let mut tx = registry.begin_read().await?;
            person_and_hash(&mut tx, username).await?
        };
        // An unknown account has no hash: it is checked against a dummy one, so refusing it
        // takes as long.
        if let (Some(memo), Some(h)) = (self.memo, &hash)
            && memo.knows(username, secret, h)
        {
            self.matched = hash;
            return Ok(());
        }
        if self.guard.verify(secret, hash.as_deref()).await && person.is_some() {
            self.guard.succeeded(username);
            if let (Some(memo), Some(h)) = (self.memo, &hash) {
                memo.remember(username, secret, h);
            }
            self.matched = hash;
            return Ok(());
        }
        self.guard.failed(username, req.peer);
        Err(Fault::auth(if person.is_some() {
            "PasswordAuth: Password verification failed"
        } else {
            "PasswordAuth: No such account"
        }))
    }
}

pub async fn authenticate(
    tx: &mut Tx,
    config: &PlcConfig,
    req: &AuthRequest<'_>,
    check: &PasswordCheck<'_>,
) -> Result<Authenticated, AuthFailure> {
    match req.credentials {
        Credentials::Password { username, password, .. } => {
            Ok(password_auth(tx, config, req, username, password, check).await?.into())
        }
        Credentials::Session(session) => session_auth(tx, config, req, session).await,
        Credentials::Hmac { node_id, value, .. } => Ok(hmac_auth(tx, req, *node_id, value).await?.into()),
        Credentials::Anonymous => {
            if req.roles.contains(&Role::Anonymous) {
                Ok(Caller::Anonymous.into())
            } else {
                Err(Fault::auth("AnonymousAuth: method cannot be called anonymously").into())
            }
        }
        Credentials::Gpg => Err(Fault::auth("GPGAuth: GPG authentication is not supported by this server").into()),
    }
}

fn person_caller(account: ops::persons::Account) -> PersonCaller {
    let ops::persons::Account { person_id, email, roles, role_ids, site_ids } = account;
    PersonCaller { person_id, email, roles, role_ids, site_ids, local: false }
}

fn role_mismatch(kind: &str, req: &AuthRequest<'_>, p: &PersonCaller) -> String {
    let method_roles: Vec<&str> = req.roles.iter().map(|r| r.name()).collect();
    format!(
        "{kind}: missing role, method {} has roles {} -- caller {} has roles {}",
        req.method,
        python_list(&method_roles),
        p.email,
        python_list(&p.roles)
    )
}

fn roles_intersect(req: &AuthRequest<'_>, p: &PersonCaller) -> bool {
    req.roles.iter().any(|r| p.roles.iter().any(|pr| pr == r.name()))
}

/// An enabled local account by its e-mail (case-insensitive), and its password hash.
async fn person_and_hash(tx: &mut Tx, username: &str) -> Result<(Option<PersonCaller>, Option<String>), Fault> {
    match ops::persons::account_by_email(tx, &username.to_lowercase()).await? {
        Some((account, hash)) => Ok((Some(person_caller(account)), hash)),
        None => Ok((None, None)),
    }
}

async fn password_auth(
    tx: &mut Tx,
    config: &PlcConfig,
    req: &AuthRequest<'_>,
    username: &str,
    secret: &str,
    check: &PasswordCheck<'_>,
) -> Result<Caller, Fault> {
    let maint = &config.api.maintenance_user;
    if !maint.is_empty() && username == maint {
        return maintenance_auth(config, req, secret);
    }
    let (person, hash) = person_and_hash(tx, username).await?;
    let Some(person) = person else { return Err(Fault::auth("PasswordAuth: No such account")) };
    // The hash [`PasswordCheck::verify`] matched, still the account's.
    if hash.is_none() || check.matched != hash {
        return Err(Fault::auth("PasswordAuth: Password verification failed"));
    }
    if !roles_intersect(req, &person) {
        return Err(Fault::auth(role_mismatch("PasswordAuth", req, &person)));
    }
    Ok(Caller::Person(person))
}

/// The maintenance account (PLC_API_MAINTENANCE_*): a clear-text password accepted only from
/// the configured source addresses. It holds every person role and no site.
fn maintenance_auth(config: &PlcConfig, req: &AuthRequest<'_>, secret: &str) -> Result<Caller, Fault> {
    let allowed = req
        .peer
        .map(|ip| config.api.maintenance_sources.iter().any(|s| s.parse::<IpAddr>().ok() == Some(ip)))
        .unwrap_or(false);
    if !allowed {
        return Err(Fault::auth("PasswordAuth: Not allowed to login to maintenance account"));
    }
    use subtle::ConstantTimeEq;
    let ok: bool = config.api.maintenance_password.as_bytes().ct_eq(secret.as_bytes()).into();
    if config.api.maintenance_password.is_empty() || !ok {
        return Err(Fault::auth("PasswordAuth: Maintenance account password verification failed"));
    }
    Ok(Caller::Person(PersonCaller {
        person_id: 0,
        email: config.api.maintenance_user.clone(),
        roles: ["admin", "pi", "user", "tech"].map(String::from).to_vec(),
        role_ids: vec![10, 20, 30, 40],
        site_ids: vec![],
        local: false,
    }))
}

/// Session auth (§2.3), except that node sessions expire when unused for
/// `[api] node_session_lifetime_seconds` (upstream: never).
async fn session_auth(
    tx: &mut Tx,
    config: &PlcConfig,
    req: &AuthRequest<'_>,
    session: &str,
) -> Result<Authenticated, AuthFailure> {
    let session = session.to_string();
    let fail = |msg: &str| AuthFailure {
        fault: Fault::auth(format!("SessionAuth: {msg}")),
        delete_session: Some(session.clone()),
        authfail: None,
    };
    // Nothing to delete for an unknown session: no write lock for guessed ids.
    let Some(ops::sessions::Session { expires, person_id, node_id, account }) =
        ops::sessions::find(tx, &session).await.map_err(Fault::from)?
    else {
        return Err(Fault::auth("SessionAuth: No such session").into());
    };
    let now = crate::now();
    if let Some(node_id) = node_id {
        // A node session without an expiry (made before node sessions expired) gets one at
        // its next use.
        if expires.is_some_and(|e| e <= now) {
            return Err(fail("Invalid session"));
        }
        let Some(node) = load_node_caller(tx, node_id).await? else { return Err(fail("No such node")) };
        if !req.roles.contains(&Role::Node) {
            return Err(Fault::denied(format!(
                "SessionAuth: Not allowed to call method {}, missing 'node' role",
                req.method
            ))
            .into());
        }
        let extend = config.api.node_session_due(now, expires).then_some(session);
        return Ok(Authenticated { caller: Caller::Node(node), extend_node_session: extend });
    }
    match (person_id, expires) {
        (Some(_), Some(exp)) if exp > now => {
            let Some(person) = account.map(person_caller) else {
                return Err(fail("No such enabled account"));
            };
            if !roles_intersect(req, &person) {
                return Err(Fault::denied(role_mismatch("SessionAuth", req, &person)).into());
            }
            Ok(Caller::Person(person).into())
        }
        _ => Err(fail("Invalid session")),
    }
}

/// A local, live node as a caller.
pub(crate) async fn load_node_caller(tx: &mut Tx, node_id: i64) -> Result<Option<NodeCaller>, Fault> {
    Ok(ops::nodes::local_live(tx, node_id).await?.map(|n| NodeCaller {
        node_id: n.node_id,
        hostname: n.hostname,
        site_id: n.site_id,
    }))
}

/// The key a local, live node authenticates with ("" when it has none).
async fn current_node_key(tx: &mut Tx, node_id: i64) -> Result<String, Fault> {
    Ok(ops::nodes::key(tx, node_id).await?.unwrap_or_default())
}

/// hmac auth (§2.5). A signature that does not match an existing node's key also names the
/// node, for the `authfail` notice to its owners; a node without a key was never issued a
/// medium, so nobody signing for it is the node, and its owners are not mailed.
async fn hmac_auth(tx: &mut Tx, req: &AuthRequest<'_>, node_id: i64, value: &str) -> Result<Caller, AuthFailure> {
    if !req.roles.contains(&Role::Node) {
        return Err(Fault::auth("BootAuth: Not allowed to call method, missing 'node' role").into());
    }
    let Some(node) = load_node_caller(tx, node_id).await? else {
        return Err(Fault::auth("BootAuth: No such node").into());
    };
    let key = current_node_key(tx, node_id).await?;
    if key.is_empty() {
        return Err(Fault::auth("BootAuth: No node key").into());
    }
    if !crypto::hmac_matches(&key, req.args, value) {
        return Err(AuthFailure {
            fault: Fault::auth("BootAuth: Call could not be authenticated"),
            delete_session: None,
            authfail: Some(node),
        });
    }
    Ok(Caller::Node(node))
}

/// Whose key made an hmac signature, as far as the issued-media ledger can tell.
#[derive(Debug, Clone)]
pub enum SignedBy {
    /// The node's current key, and the ledger row of the medium that carried it (none when the
    /// key was set otherwise).
    Current { node: NodeCaller, medium: Option<LedgerKey> },
    /// A key of the node that a later medium replaced.
    Superseded { node: NodeCaller, medium: LedgerKey },
    /// No key this server issued to a live local node.
    Unknown,
}

/// Checks an hmac signature over `args` (the arguments as sent) against the node's current key,
/// then against every key the ledger recorded for it. Other credentials are fault 102; a
/// signature that matches nothing is [`SignedBy::Unknown`], not a fault.
pub async fn signed_by(tx: &mut Tx, credentials: Option<&Credentials>, args: &[Value]) -> Result<SignedBy, Fault> {
    let Some(&Credentials::Hmac { node_id, ref value, .. }) = credentials else {
        return Err(Fault::invalid_named("auth", "expected hmac node authentication"));
    };
    let Some(node) = load_node_caller(tx, node_id).await? else { return Ok(SignedBy::Unknown) };
    let current = current_node_key(tx, node_id).await?;
    let issued = crate::ledger::node_keys(tx, node_id).await?;
    if !current.is_empty() && crypto::hmac_matches(&current, args, value) {
        let medium = issued.into_iter().find(|k| k.key == current);
        return Ok(SignedBy::Current { node, medium });
    }
    Ok(match issued.into_iter().find(|k| k.key != current && crypto::hmac_matches(&k.key, args, value)) {
        Some(medium) => SignedBy::Superseded { node, medium },
        None => SignedBy::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_without_their_secrets() {
        let all = [
            Credentials::Password { username: "a@b.org".into(), password: "hunter2".into(), capability: false },
            Credentials::Session("s3ssion=".into()),
            Credentials::Hmac { node_id: 7, value: "s1gnature".into(), dummybox: true },
        ];
        for c in all {
            let shown = format!("{c:?}");
            for secret in ["hunter2", "s3ssion=", "s1gnature"] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
        let shown = format!(
            "{:?}",
            Credentials::Password { username: "a@b.org".into(), password: String::new(), capability: true }
        );
        assert!(shown.contains("a@b.org") && shown.contains("capability: true"), "{shown}");
    }

    #[test]
    fn the_event_log_records_every_auth_method_but_hmac_dummybox() {
        let recorded: Vec<&str> = AuthMethod::ALL.into_iter().filter_map(AuthMethod::event_auth_type).collect();
        assert_eq!(recorded, ["session", "password", "capability", "gpg", "hmac", "anonymous"]);
    }
}
