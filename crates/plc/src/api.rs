//! The dispatcher: one XML-RPC call in, one value or fault out (PLC_SPEC §1, §2.1, §2.8, §10).
//!
//! Order as upstream's `Method.__call__`: method lookup (100), argument count (101), auth while
//! checking the first argument (102/103/108), the other arguments' types (102), then the method.
//! Each call's writes run in one registry transaction: it commits only when the method succeeds,
//! so a fault leaves the database as it was. A password is checked first, with no transaction
//! open (`auth::PasswordCheck`); authentication then runs on a read transaction, so a caller who
//! cannot authenticate never takes the write lock, and a writing method checks its caller again,
//! cheaply, inside its write transaction.

use crate::args::{self, Args, Param};
use crate::auth::{self, AuthFailure, AuthRequest, Authenticated, PasswordCheck, PasswordMemo};
use crate::caller::Caller;
use crate::config::PlcConfig;
use crate::fault::{Fault, MethodResult};
use crate::ledger;
use crate::logins::LoginGuard;
use crate::methods;
use crate::notify;
use crate::roles::Role;
use bootmedium_media::{BootSettings, PreparedMedium, ReferenceStore};
use bootmedium_registry::{Registry, SqlValue, Tx};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

/// A method's declaration: what it accepts and who may call it.
#[derive(Debug)]
pub struct MethodSpec {
    pub name: &'static str,
    pub roles: &'static [Role],
    /// Parameters after the auth struct.
    pub params: &'static [Param],
    /// How many of `params` are required.
    pub required: usize,
    pub returns: &'static str,
    pub doc: &'static str,
    /// Whether and when the method writes.
    pub writes: Writes,
    /// The method reads its auth struct itself and runs for an anonymous caller
    /// (VerifyIssuedMedium: a superseded key is an answer there, not fault 103).
    pub checks_own_auth: bool,
    /// Whether these arguments (after auth) ask for a medium handed over inline, which
    /// `system.multicall` cannot carry: such a multicall is refused before any call runs.
    pub inline_medium: Option<fn(&[Value]) -> bool>,
}

/// When a method takes the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// Never: the call runs on a read transaction.
    No,
    /// From the start: the method runs inside its write transaction.
    Yes,
    /// Only once its slow work is done: the method reads and prepares on a read transaction,
    /// then calls [`Cx::begin_writing`] for its writes (GetBootMedium: a cramfs build or an
    /// image written to a file takes seconds, which must not hold the write lock). The event and
    /// the writes still commit together.
    AfterPreparing,
}

/// The note a method leaves for the event log.
#[derive(Debug, Default)]
pub struct EventNote {
    pub message: Option<String>,
    pub objects: Vec<(&'static str, i64)>,
}

/// What a running method sees.
pub struct Cx<'a> {
    pub tx: Tx,
    pub caller: Caller,
    pub api: &'a Api,
    pub spec: &'static MethodSpec,
    pub auth: &'a Value,
    pub event: EventNote,
    /// Result files the method wrote; removed again if the call does not commit.
    pub created_files: Vec<std::path::PathBuf>,
    /// How an image action hands its medium over.
    pub delivery: Delivery,
    /// What the call hands over instead of its value once it has committed.
    pub handover: Option<Handover>,
    /// Whether `tx` is the write transaction yet.
    writing: bool,
    /// How to check the caller again when a [`Writes::AfterPreparing`] method begins writing
    /// (none for the operator's command line).
    recheck: Option<Recheck<'a>>,
}

/// How a call runs, besides its method, caller and transaction.
struct Run<'a> {
    started: Instant,
    delivery: Delivery,
    recheck: Option<Recheck<'a>>,
}

/// A call's authentication, kept to check the caller again inside a later write transaction.
struct Recheck<'a> {
    req: AuthRequest<'a>,
    check: PasswordCheck<'a>,
}

/// How an image action hands its medium over when the call names no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Inside the method response (PLC_SPEC §9.4).
    Response,
    /// As a download link that works for `lifetime` seconds (`POST /api/v1/media`).
    Link { lifetime: i64 },
}

/// What a committed call hands over instead of its value.
pub enum Handover {
    Medium(PreparedMedium),
    Link(DownloadLink),
}

/// A download link issued by [`Api::issue_download`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadLink {
    /// The capability in the URL (`/media/{id}`).
    pub id: String,
    pub issued_medium_id: i64,
    pub sha256: String,
    pub size: u64,
    /// Epoch seconds after which the link answers 404.
    pub expires: i64,
}

/// A live download as its ledger row describes it ([`Api::find_download`]).
pub struct DownloadInfo {
    pub sha256: String,
    pub size: u64,
    /// The file name a browser should save it under.
    pub filename: String,
    pub expires: i64,
    pub image_type: bootmedium_media::ImageType,
    stored: ledger::StoredDownload,
    reference: bootmedium_media::Reference,
}

impl Cx<'_> {
    pub fn config(&self) -> &PlcConfig {
        &self.api.config
    }
    /// Records the event message and objects (upstream's `self.message`/`event_objects`).
    pub fn note(&mut self, message: String, objects: Vec<(&'static str, i64)>) {
        self.event = EventNote { message: Some(message), objects };
    }

    /// Ends the read transaction the call authenticated on (and a [`Writes::AfterPreparing`]
    /// method prepared its work on) and begins its write transaction: before dispatch for
    /// [`Writes::Yes`], once the work is ready for [`Writes::AfterPreparing`]. The caller is
    /// checked again inside it and must not have changed (what was checked was read before).
    /// A no-op once writing.
    pub async fn begin_writing(&mut self) -> MethodResult<()> {
        if self.writing {
            return Ok(());
        }
        self.tx.reopen_for_write(&self.api.registry).await?;
        self.writing = true;
        let Some(r) = &self.recheck else { return Ok(()) };
        match self.api.authenticate(self.spec, &mut self.tx, &r.req, &r.check).await {
            Ok(now) if now.caller == self.caller => Ok(()),
            Ok(_) => Err(Fault::auth("the caller's account changed during the call; try again")),
            // The write lock is held here: a failed session is left for its next use to delete.
            Err(failure) => Err(failure.fault),
        }
    }
}

/// The outcome of one call, for the HTTP layer's log line.
pub struct CallOutcome {
    pub result: Result<Reply, Fault>,
    /// `person_id N`, `node_id N`, or empty.
    pub caller: String,
}

/// What a successful call answers.
pub enum Reply {
    Value(Value),
    /// A boot image, to be sent as one base64 `<string>` (PLC_SPEC §9.4) streamed from the
    /// medium, never held in memory.
    Medium(PreparedMedium),
    /// A download link (only from [`Api::issue_download`]).
    Link(DownloadLink),
}

impl Reply {
    /// The value, for callers that cannot stream (multicall): an image is refused.
    pub fn into_value(self) -> MethodResult<Value> {
        match self {
            Reply::Value(v) => Ok(v),
            Reply::Medium(_) | Reply::Link(_) => {
                Err(Fault::invalid("boot images cannot be returned inside system.multicall"))
            }
        }
    }
}

/// Runs synchronous file work (preparing, writing or hashing a medium: milliseconds, seconds
/// for the cramfs types) without stalling the other tasks of a multi-threaded runtime's worker.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The boot image engine as the API sees it.
pub struct MediaEnv {
    pub store: ReferenceStore,
    /// The PLC-wide overlay settings, or why they are unusable (image actions then fault 111).
    pub settings: Result<BootSettings, String>,
}

pub struct Api {
    pub registry: Registry,
    pub config: PlcConfig,
    pub media: Option<MediaEnv>,
    /// Password checks and failed-login counts, shared by every call.
    pub logins: LoginGuard,
    /// The BootManager payloads `/boot/` serves (none: it serves none).
    pub bootmanager: Option<crate::bootmanager::PayloadStore>,
}

impl Api {
    pub fn new(registry: Registry, config: PlcConfig) -> Self {
        let logins = LoginGuard::new(&config.api);
        Api { registry, config, media: None, logins, bootmanager: None }
    }

    /// Gives the boot server page its payload store.
    pub fn with_bootmanager(mut self, store: crate::bootmanager::PayloadStore) -> Self {
        self.bootmanager = Some(store);
        self
    }

    /// Gives the API a boot image engine (without one, image actions fault 111).
    pub fn with_media(mut self, media: MediaEnv) -> Self {
        self.media = Some(media);
        self
    }

    /// Runs one XML-RPC call. `peer` is the client address (for the maintenance account).
    pub async fn call(&self, method: &str, params: &[Value], peer: Option<IpAddr>) -> CallOutcome {
        self.call_with(method, params, peer, None).await
    }

    /// [`Api::call`], with the passwords a multicall has verified so far.
    async fn call_with(
        &self,
        method: &str,
        params: &[Value],
        peer: Option<IpAddr>,
        memo: Option<&PasswordMemo>,
    ) -> CallOutcome {
        if let Some(r) = self.call_system(method, params, peer).await {
            return CallOutcome { result: r.map(Reply::Value), caller: String::new() };
        }
        let Some(spec) = methods::lookup(method) else {
            return CallOutcome { result: Err(Fault::invalid_method(method)), caller: String::new() };
        };
        labelled(spec, self.call_method(spec, params, peer, Delivery::Response, memo).await)
    }

    async fn call_method(
        &self,
        spec: &'static MethodSpec,
        params: &[Value],
        peer: Option<IpAddr>,
        delivery: Delivery,
        memo: Option<&PasswordMemo>,
    ) -> (MethodResult<Reply>, Option<Caller>) {
        let started = Instant::now();
        let (min, max) = (1 + spec.required, 1 + spec.params.len());
        if params.len() < min || params.len() > max {
            return (Err(Fault::argument_count(params.len(), min, max)), None);
        }
        let auth_value = &params[0];
        let rest = &params[1..];
        let req = AuthRequest { method: spec.name, roles: spec.roles, auth: auth_value, args: rest, peer };
        let mut check = PasswordCheck::new(&self.logins, memo);
        if !spec.checks_own_auth
            && let Err(f) = check.verify(&self.registry, &self.config, &req).await
        {
            return (Err(self.auth_failed(spec, params, f.into(), started).await), None);
        }
        // Authenticate on a read transaction: a caller who cannot authenticate never takes the
        // write lock.
        let mut tx = match self.registry.begin_read().await {
            Ok(tx) => tx,
            Err(e) => return (Err(e.into()), None),
        };
        let (caller, extend_node_session) = match self.authenticate(spec, &mut tx, &req, &check).await {
            Ok(Authenticated { caller, extend_node_session }) => (caller, extend_node_session),
            Err(failure) => {
                drop(tx);
                return (Err(self.auth_failed(spec, params, failure, started).await), None);
            }
        };
        for (p, v) in spec.params.iter().zip(rest) {
            if let Err(f) = args::check(p.name, &p.ty, v) {
                drop(tx);
                self.log_failure(spec, params, Some(&caller), &f, started).await;
                return (Err(f), Some(caller));
            }
        }
        let recheck = Recheck { req, check };
        let run = Run { started, delivery, recheck: Some(recheck) };
        let result = self.execute(spec, params, caller.clone(), tx, run).await;
        // After the call's own transaction has ended (SQLite has one writer at a time).
        if let Some(session) = extend_node_session {
            self.extend_node_session(&session).await;
        }
        (result, Some(caller))
    }

    async fn authenticate(
        &self,
        spec: &'static MethodSpec,
        tx: &mut Tx,
        req: &AuthRequest<'_>,
        check: &PasswordCheck<'_>,
    ) -> Result<Authenticated, AuthFailure> {
        if spec.checks_own_auth {
            return Ok(Caller::Anonymous.into());
        }
        auth::authenticate(tx, &self.config, req, check).await
    }

    /// Deletes the failed session (upstream's SessionAuth does on every 103), tells a node's
    /// owners that somebody failed to authenticate as it, and logs.
    async fn auth_failed(
        &self,
        spec: &'static MethodSpec,
        params: &[Value],
        AuthFailure { fault, delete_session, authfail }: AuthFailure,
        started: Instant,
    ) -> Fault {
        if let Some(s) = delete_session {
            self.delete_session(&s).await;
        }
        if let Some(node) = authfail {
            self.notify_authfail(spec, params, &node, &fault, started).await;
        }
        self.log_failure(spec, params, None, &fault, started).await;
        fault
    }

    /// Runs a method for an authenticated caller inside `tx`, then records the event and
    /// commits; on any failure the transaction rolls back and result files are removed.
    async fn execute(
        &self,
        spec: &'static MethodSpec,
        params: &[Value],
        caller: Caller,
        tx: Tx,
        Run { started, delivery, recheck }: Run<'_>,
    ) -> MethodResult<Reply> {
        let auth_value = &params[0];
        let mut cx = Cx {
            // Every call starts on a read transaction; a writing method's write transaction
            // begins in `Cx::begin_writing`, which checks the caller again inside it.
            writing: false,
            recheck,
            tx,
            caller: caller.clone(),
            api: self,
            spec,
            auth: auth_value,
            event: EventNote::default(),
            created_files: Vec::new(),
            delivery,
            handover: None,
        };
        let mut result = match spec.writes {
            Writes::Yes => match cx.begin_writing().await {
                Ok(()) => methods::dispatch(&mut cx, Args(&params[1..])).await,
                Err(f) => Err(f),
            },
            Writes::No | Writes::AfterPreparing => methods::dispatch(&mut cx, Args(&params[1..])).await,
        };
        // The event goes into the write transaction (a method that prepared on a read
        // transaction and did not write still records its event).
        if result.is_ok()
            && spec.writes == Writes::AfterPreparing
            && let Err(f) = cx.begin_writing().await
        {
            result = Err(f);
        }
        let Cx { mut tx, event, created_files, handover, .. } = cx;
        // An inline image or a link is handed over only after its key has committed.
        let result = result.map(|v| match handover {
            Some(Handover::Medium(m)) => Reply::Medium(m),
            Some(Handover::Link(l)) => Reply::Link(l),
            None => Reply::Value(v),
        });
        let committed = match result {
            Ok(v) => {
                let logged = if event.message.is_some() || self.config.api.debug {
                    let rec = EventRecord { spec, params, caller: Some(&caller), fault_code: 0, note: event, started };
                    record_event(&mut tx, rec).await
                } else {
                    Ok(())
                };
                match logged {
                    Ok(()) => tx.commit().await.map(|()| v).map_err(Fault::from),
                    Err(e) => Err(e),
                }
            }
            Err(f) => {
                drop(tx);
                self.log_failure(spec, params, Some(&caller), &f, started).await;
                Err(f)
            }
        };
        if committed.is_err() {
            for f in created_files {
                let _ = std::fs::remove_file(f);
            }
        }
        committed
    }

    /// Runs a method as `caller` without authentication: the operator's command line, which
    /// already holds the data directory. `params` excludes the auth struct.
    pub async fn call_as(&self, caller: Caller, method: &str, params: &[Value]) -> MethodResult<Reply> {
        let spec = methods::lookup(method).ok_or_else(|| Fault::invalid_method(method))?;
        if params.len() < spec.required || params.len() > spec.params.len() {
            return Err(Fault::argument_count(params.len() + 1, spec.required + 1, spec.params.len() + 1));
        }
        for (p, v) in spec.params.iter().zip(params) {
            args::check(p.name, &p.ty, v)?;
        }
        let mut all = Vec::with_capacity(params.len() + 1);
        all.push(Value::Nil);
        all.extend_from_slice(params);
        let tx = self.registry.begin_read().await?;
        let run = Run { started: Instant::now(), delivery: Delivery::Response, recheck: None };
        self.execute(spec, &all, caller, tx, run).await
    }

    /// `GetBootMedium(auth, node, action, '', options)` answered with a download link instead
    /// of the image: the same checks, key renewal, ledger row and event, in one transaction.
    pub async fn issue_download(
        &self,
        auth: Value,
        node: Value,
        action: &str,
        options: &[String],
        peer: Option<IpAddr>,
    ) -> CallOutcome {
        let Some(spec) = methods::lookup("GetBootMedium") else {
            return CallOutcome { result: Err(Fault::invalid_method("GetBootMedium")), caller: String::new() };
        };
        let options = Value::Array(options.iter().map(|o| Value::String(o.clone())).collect());
        let params = [auth, node, Value::from(action), Value::from(""), options];
        let lifetime = self.config.medium.download_lifetime_seconds;
        labelled(spec, self.call_method(spec, &params, peer, Delivery::Link { lifetime }, None).await)
    }

    /// The live download `id` names, as its ledger row describes it (the database and the
    /// reference's manifest only: no medium is made, so a HEAD costs nothing); `None` when the
    /// id is unknown or expired, or its reference has gone.
    pub async fn find_download(&self, id: &str) -> MethodResult<Option<DownloadInfo>> {
        let mut tx = self.registry.begin_read().await?;
        let stored = ledger::find_download(&mut tx, id, crate::now()).await?;
        drop(tx);
        let Some(stored) = stored else { return Ok(None) };
        let env = self.media.as_ref().ok_or_else(|| Fault::internal("this server has no boot image engine"))?;
        let reference = match env.store.find(&stored.reference.family, Some(&stored.reference.version)) {
            Ok(r) => r,
            Err(bootmedium_media::MediaError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Fault::internal(e.to_string())),
        };
        let stem = if stored.generic { stored.reference.family.clone() } else { stored.hostname.clone() };
        let filename = format!("{stem}-{}{}", stored.reference.version, stored.request.image_type.suffix());
        Ok(Some(DownloadInfo {
            sha256: stored.sha256.clone(),
            size: stored.size,
            filename,
            expires: stored.expires,
            image_type: stored.request.image_type,
            stored,
            reference,
        }))
    }

    /// The medium of a download [`Api::find_download`] described, made again from its
    /// reference; `None` when it no longer comes out byte for byte as issued.
    pub fn prepare_download(&self, info: &DownloadInfo) -> MethodResult<Option<PreparedMedium>> {
        let env = self.media.as_ref().ok_or_else(|| Fault::internal("this server has no boot image engine"))?;
        let settings =
            env.settings.as_ref().map_err(|e| Fault::internal(format!("the [boot] settings are unusable: {e}")))?;
        let stored = &info.stored;
        let medium = blocking(|| info.reference.prepare(&stored.request, settings))
            .map_err(|e| Fault::internal(e.to_string()))?;
        // The ETag promises these exact bytes; a reference re-imported under the same version
        // with other inputs cannot keep that promise (the check costs the slots' hash only).
        let sha256 = blocking(|| medium.sha256()).map_err(|e| Fault::internal(e.to_string()))?;
        if medium.len() != stored.size || sha256 != stored.sha256 {
            tracing::warn!(
                issued_medium_id = stored.issued_medium_id,
                family = %stored.reference.family,
                version = %stored.reference.version,
                "a download no longer comes out byte for byte as issued (its reference changed); answering 404"
            );
            return Ok(None);
        }
        Ok(Some(medium))
    }

    /// Pushes a used node session's expiry out by `[api] node_session_lifetime_seconds`. A
    /// failure only costs the node an earlier re-authentication.
    async fn extend_node_session(&self, session: &str) {
        let expires = crate::now().saturating_add(self.config.api.node_session_lifetime_seconds);
        let extended = async {
            let mut tx = self.registry.begin_write().await?;
            tx.execute(
                "UPDATE sessions SET expires = $1 WHERE session_id = $2 AND node_id IS NOT NULL",
                &[SqlValue::int(expires), SqlValue::text(session)],
            )
            .await?;
            tx.commit().await
        };
        if let Err(e) = extended.await {
            tracing::warn!(error = %e, "could not extend a node session");
        }
    }

    /// The `authfail` notice (§2.5, §12.5) to the PIs and techs of a node somebody failed to
    /// authenticate as, with the fault text. Anyone can cause it with a wrong signature for any
    /// node_id, so it goes at most once per node per `notify::AUTHFAIL_WINDOW_SECONDS`, and the
    /// check runs on a read transaction: only a notice that is due takes the write lock. The
    /// notice and its event (which the window is counted from) commit together. A failure only
    /// costs the notice.
    async fn notify_authfail(
        &self,
        spec: &'static MethodSpec,
        params: &[Value],
        node: &crate::caller::NodeCaller,
        fault: &Fault,
        started: Instant,
    ) {
        const ID: &str = "authfail";
        let since = crate::now() - notify::AUTHFAIL_WINDOW_SECONDS;
        let notice = notify::Notice {
            message_id: ID,
            include_pis: true,
            include_techs: true,
            include_support: false,
            fault: Some(&fault.message),
        };
        let sent = async {
            {
                let mut tx = self.registry.begin_read().await?;
                if notify::sent_since(&mut tx, node.node_id, ID, since).await?
                    || notify::compose(&mut tx, &self.config, node, &notice).await?.is_none()
                {
                    return Ok::<bool, Fault>(false);
                }
            }
            let mut tx = self.registry.begin_write().await?;
            notify::lock_node(&mut tx, node.node_id).await?;
            if notify::sent_since(&mut tx, node.node_id, ID, since).await? {
                return Ok(false);
            }
            let Some(mail) = notify::compose(&mut tx, &self.config, node, &notice).await? else { return Ok(false) };
            notify::send(&mut tx, &self.config, &mail, ID).await?;
            let note = EventNote { message: Some(notify::event_message(ID)), objects: vec![("Node", node.node_id)] };
            let rec = EventRecord { spec, params, caller: None, fault_code: fault.code, note, started };
            record_event(&mut tx, rec).await?;
            tx.commit().await?;
            Ok(true)
        };
        match sent.await {
            Ok(true) => tracing::info!(node_id = node.node_id, "failed node authentication: authfail notice sent"),
            Ok(false) => {}
            Err(e) => tracing::warn!(node_id = node.node_id, error = %e.message, "could not send the authfail notice"),
        }
    }

    async fn delete_session(&self, session: &str) {
        let Ok(mut tx) = self.registry.begin_write().await else { return };
        let deleted = tx.delete("sessions", &[("session_id", SqlValue::text(session))]).await;
        if deleted.is_ok() {
            let _ = tx.commit().await;
        }
    }

    /// Failed calls are recorded only in debug mode (§2.8).
    async fn log_failure(
        &self,
        spec: &'static MethodSpec,
        params: &[Value],
        caller: Option<&Caller>,
        fault: &Fault,
        started: Instant,
    ) {
        if !self.config.api.debug {
            return;
        }
        let Ok(mut tx) = self.registry.begin_write().await else { return };
        let rec = EventRecord { spec, params, caller, fault_code: fault.code, note: EventNote::default(), started };
        if record_event(&mut tx, rec).await.is_ok() {
            let _ = tx.commit().await;
        }
    }

    /// `system.*` methods take no auth (§10.1). None when `method` is not one of them.
    async fn call_system(&self, method: &str, params: &[Value], peer: Option<IpAddr>) -> Option<MethodResult<Value>> {
        Some(match method {
            "system.listMethods" => Ok(Value::Array(
                methods::all()
                    .map(|m| Value::from(m.name))
                    .chain(SYSTEM_METHODS.iter().map(|n| Value::from(*n)))
                    .collect(),
            )),
            "system.methodHelp" => self.method_help(params),
            "system.methodSignature" => self.method_signature(params),
            "system.multicall" => Box::pin(self.multicall(params, peer)).await,
            _ => return None,
        })
    }

    fn named_method(&self, params: &[Value]) -> MethodResult<&'static MethodSpec> {
        if params.len() != 1 {
            return Err(Fault::argument_count(params.len(), 1, 1));
        }
        let name = params[0].as_str().ok_or_else(|| Fault::invalid_named("method", "expected string"))?;
        methods::lookup(name).ok_or_else(|| Fault::invalid_method(name))
    }

    fn method_help(&self, params: &[Value]) -> MethodResult<Value> {
        let spec = self.named_method(params)?;
        let roles: Vec<&str> = spec.roles.iter().map(|r| r.name()).collect();
        let mut text =
            format!("{}\n\nRoles: {}\n\nParameters:\n  auth (struct): authentication\n", spec.doc, roles.join(", "));
        for (i, p) in spec.params.iter().enumerate() {
            let opt = if i >= spec.required { ", optional" } else { "" };
            text.push_str(&format!("  {} ({}{opt})\n", p.name, p.ty.xml_name()));
        }
        text.push_str(&format!("\nReturns: {}\n", spec.returns));
        Ok(Value::String(text))
    }

    fn method_signature(&self, params: &[Value]) -> MethodResult<Value> {
        let spec = self.named_method(params)?;
        let mut sigs = Vec::new();
        for n in spec.required..=spec.params.len() {
            let mut sig = vec![Value::from(spec.returns_type()), Value::from("struct")];
            sig.extend(spec.params[..n].iter().map(|p| Value::from(p.ty.xml_name())));
            sigs.push(Value::Array(sig));
        }
        Ok(Value::Array(sigs))
    }

    /// `system.multicall([{methodName, params}, …])`: `[result]` per success, a fault struct per
    /// failure; nesting multicall is fault -507.
    async fn multicall(&self, params: &[Value], peer: Option<IpAddr>) -> MethodResult<Value> {
        let calls = match params {
            [Value::Array(calls)] => calls.as_slice(),
            [other] => {
                return Err(Fault::invalid_named("calls", format!("expected array, got {}", other.type_name())));
            }
            _ => return Err(Fault::argument_count(params.len(), 1, 1)),
        };
        let max = self.config.api.max_multicall_calls;
        if calls.len() > max {
            return Err(Fault::invalid_named(
                "calls",
                format!("system.multicall takes at most {max} calls, got {}", calls.len()),
            ));
        }
        // Refused whole and up front: running the calls before it would commit their writes
        // (an image action renews the node's key and records a medium nobody receives).
        for (i, c) in calls.iter().enumerate() {
            let name = c.get("methodName").and_then(Value::as_str).unwrap_or_default();
            let args = c.get("params").and_then(Value::as_array).unwrap_or_default();
            let inline = methods::lookup(name).and_then(|spec| spec.inline_medium);
            if inline.is_some_and(|asks| asks(args.get(1..).unwrap_or_default())) {
                return Err(Fault::invalid(format!(
                    "call {i} ({name}) asks for a boot image, which cannot be returned inside system.multicall; nothing was run"
                )));
            }
        }
        let memo = PasswordMemo::default();
        let mut out = Vec::with_capacity(calls.len());
        for c in calls {
            let name = c.get("methodName").and_then(Value::as_str);
            let args = c.get("params").and_then(Value::as_array);
            let entry = match (name, args) {
                (Some("system.multicall"), _) => {
                    fault_struct(&Fault { code: -507, message: "Recursive system.multicall forbidden".into() })
                }
                (Some(name), Some(args)) => {
                    match self.call_with(name, args, peer, Some(&memo)).await.result.and_then(Reply::into_value) {
                        Ok(v) => Value::Array(vec![v]),
                        Err(f) => fault_struct(&f),
                    }
                }
                _ => fault_struct(&Fault {
                    code: 1,
                    message: "each call needs a methodName string and a params array".into(),
                }),
            };
            out.push(entry);
        }
        Ok(Value::Array(out))
    }
}

/// A method's outcome with upstream's fault prefix (`<caller>: <method>: <message>`) and the
/// caller's label for the log line.
fn labelled(spec: &MethodSpec, (result, caller): (MethodResult<Reply>, Option<Caller>)) -> CallOutcome {
    let label = caller.as_ref().map(Caller::label).unwrap_or_default();
    let result = result.map_err(|f| Fault { code: f.code, message: format!("{label}: {}: {}", spec.name, f.message) });
    CallOutcome { result, caller: label }
}

const SYSTEM_METHODS: &[&str] =
    &["system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall"];

fn fault_struct(f: &Fault) -> Value {
    let mut m = BTreeMap::new();
    m.insert("faultCode".to_string(), Value::Int(f.code));
    m.insert("faultString".to_string(), Value::String(f.message.clone()));
    Value::Struct(m)
}

impl MethodSpec {
    fn returns_type(&self) -> &'static str {
        self.returns.split_whitespace().next().unwrap_or("mixed")
    }
}

struct EventRecord<'a> {
    spec: &'static MethodSpec,
    params: &'a [Value],
    caller: Option<&'a Caller>,
    fault_code: i64,
    note: EventNote,
    started: Instant,
}

async fn record_event(tx: &mut Tx, rec: EventRecord<'_>) -> MethodResult<()> {
    let (person_id, node_id) = match rec.caller {
        // person_id 0 is the maintenance account or the local operator: no person row.
        Some(Caller::Person(p)) if p.person_id > 0 => (Some(p.person_id), None),
        Some(Caller::Node(n)) => (None, Some(n.node_id)),
        _ => (None, None),
    };
    let auth_type = rec
        .params
        .first()
        .and_then(|a| a.get("AuthMethod"))
        .and_then(Value::as_str)
        .filter(|m| ["session", "password", "capability", "gpg", "hmac", "anonymous"].contains(m))
        .map(str::to_string);
    let call = format!("{}{}", rec.spec.name, crate::pyrepr::redacted_args(rec.params));
    let event_id = tx
        .insert(
            "events",
            "event_id",
            &[
                ("person_id", SqlValue::Int(person_id)),
                ("node_id", SqlValue::Int(node_id)),
                ("auth_type", SqlValue::Text(auth_type)),
                ("fault_code", SqlValue::int(rec.fault_code)),
                ("call_name", SqlValue::text(rec.spec.name)),
                ("call", SqlValue::text(call)),
                ("message", SqlValue::Text(rec.note.message)),
                ("runtime", SqlValue::Float(Some(rec.started.elapsed().as_secs_f64()))),
                ("time", SqlValue::int(crate::now())),
            ],
        )
        .await?;
    for (kind, id) in rec.note.objects {
        tx.insert_plain(
            "event_object",
            &[
                ("event_id", SqlValue::int(event_id)),
                ("object_id", SqlValue::int(id)),
                ("object_type", SqlValue::text(kind)),
            ],
        )
        .await?;
    }
    Ok(())
}
