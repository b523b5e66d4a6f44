//! The dispatcher: one call in, one value or fault out (docs/plc-api.md §1, §2.1, §2.8, §10),
//! for every front end. The XML-RPC adapter ([`Api::call`]) turns values into a method's checked
//! arguments through the method's declaration; the typed front ends (the download API, the
//! command line) call the domain functions in `methods::boot_medium` through [`Api::issue_download`]
//! and [`Api::boot_medium_as`], with no XML-RPC values of their own.
//!
//! Order as upstream's `Method.__call__`: method lookup (100), argument count (101), auth while
//! checking the first argument (102/103/108: the XML-RPC adapter turns the auth struct into
//! typed [`Credentials`] once, `wire::credentials`, and authentication takes those), the other
//! arguments' types (102), then the method.
//! Each call's writes run in one registry transaction: it commits only when the method succeeds,
//! so a fault leaves the database as it was. A password is checked first, with no transaction
//! open (`auth::PasswordCheck`); authentication then runs on a read transaction, so a caller who
//! cannot authenticate never takes the write lock, and a writing method checks its caller again,
//! cheaply, inside its write transaction.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::auth::{AuthFailure, AuthMethod, AuthRequest, Authenticated, Credentials, PasswordCheck, PasswordMemo};
use crate::caller::Caller;
use crate::config::PlcConfig;
use crate::context::{Cx, EventNote, MediaEnv, MethodSpec, Recheck, Reply, Services, Writes, authenticate};
use crate::events::{self, EventRecord};
use crate::fault::{Fault, MethodResult};
use crate::logins::LoginGuard;
use crate::methods::{self, boot_medium};
use crate::notify;
use crate::wire::{self, Args, IntoValue};
use bootmedium_registry::{Registry, Tx, ops};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

pub use crate::methods::boot_medium::{DownloadLink, Issued, NodeRef};

/// The front door: the shared services and the dispatcher over them.
pub struct Api {
    services: Services,
}

impl std::ops::Deref for Api {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

/// The outcome of one call, for the front end's log line.
pub struct CallOutcome<T = Reply> {
    pub result: Result<T, Fault>,
    /// `person_id N`, `node_id N`, or empty.
    pub caller: String,
}

/// A call as the event log records it: its arguments as sent, the auth struct first (the call
/// text), and its AuthMethod (`auth_type`).
#[derive(Clone, Copy)]
struct Sent<'a> {
    params: &'a [Value],
    auth_method: Option<AuthMethod>,
}

impl<'a> Sent<'a> {
    fn event(
        self,
        spec: &'static MethodSpec,
        caller: Option<&'a Caller>,
        fault_code: i64,
        note: EventNote,
        started: Instant,
    ) -> EventRecord<'a> {
        EventRecord { spec, params: self.params, auth_method: self.auth_method, caller, fault_code, note, started }
    }
}

/// How a call runs, besides its method, caller and transaction.
struct Run<'a> {
    started: Instant,
    /// The caller's credentials (none for the operator's command line).
    credentials: Option<&'a Credentials>,
    recheck: Option<Recheck<'a>>,
}

impl Api {
    pub fn new(registry: Registry, config: PlcConfig) -> Self {
        let logins = LoginGuard::new(&config.api);
        Api {
            services: Services {
                registry,
                config,
                media: None,
                logins,
                bootmanager: None,
                mail_wake: Default::default(),
                events: Default::default(),
            },
        }
    }

    /// Wakes the mail delivery loop: mail was queued and committed (a permit is kept when the
    /// loop is busy, so the wake is not lost).
    pub fn mail_queued(&self) {
        self.mail_wake.notify_one();
    }

    /// Gives the boot server page its payload store.
    pub fn with_bootmanager(mut self, store: crate::bootmanager::PayloadStore) -> Self {
        self.services.bootmanager = Some(store);
        self
    }

    /// Gives the API a boot image engine (without one, image actions fault 111).
    pub fn with_media(mut self, media: MediaEnv) -> Self {
        self.services.media = Some(media);
        self
    }

    /// Runs one XML-RPC call. `peer` is the client address (for the maintenance account).
    pub async fn call(&self, method: &str, params: &[Value], peer: Option<IpAddr>) -> CallOutcome {
        // Whatever the call queued (its method, or a notice written after a failed
        // authentication) has committed once it returns: the delivery loop is woken then.
        self.waking_mail(self.call_with(method, params, peer, None)).await
    }

    /// Runs a call and wakes the mail delivery loop if the call queued mail that committed.
    async fn waking_mail<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let (outcome, queued) = crate::outbox::tracking(call).await;
        if queued {
            self.mail_queued();
        }
        outcome
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
        let started = Instant::now();
        let (min, max) = (1 + spec.required, 1 + spec.params.len());
        if params.len() < min || params.len() > max {
            return labelled(spec, (Err(Fault::argument_count(params.len(), min, max)), None));
        }
        let credentials = match wire::credentials(&params[0]) {
            Ok(c) => c,
            Err(bad) => {
                let sent = Sent { params, auth_method: bad.method };
                return labelled(spec, (Err(self.auth_failed(spec, sent, bad.fault.into(), started).await), None));
            }
        };
        let handler = spec.handler;
        let body = async |cx: &mut Cx<'_>| handler(cx, Args(&params[1..])).await;
        labelled(spec, self.invoke(spec, &credentials, params, peer, memo, started, body).await)
    }

    /// `GetBootMedium(auth, node, action, '', options)` answered with a download link instead
    /// of the image (`POST /api/v1/media`): the same checks, key renewal, ledger row and event,
    /// in one transaction.
    pub async fn issue_download(
        &self,
        credentials: &Credentials,
        node: &NodeRef,
        action: &str,
        options: &[String],
        peer: Option<IpAddr>,
    ) -> CallOutcome<DownloadLink> {
        let spec = methods::boot_medium_spec();
        // The call as the event log records it (and an hmac signature would cover).
        let params = boot_medium_params(wire::auth_struct(credentials), node, action, "", options);
        let lifetime = self.config.medium.download_lifetime_seconds;
        let body = async |cx: &mut Cx<'_>| boot_medium::issue_link(cx, node, action, options, lifetime).await;
        labelled(
            spec,
            self.waking_mail(self.invoke(spec, credentials, &params, peer, None, Instant::now(), body)).await,
        )
    }

    /// GetBootMedium for the operator's command line, which already holds the data directory:
    /// no authentication, and a file result may go anywhere (`output`, absolute).
    pub async fn boot_medium_as(
        &self,
        caller: Caller,
        node: &NodeRef,
        action: &str,
        output: Option<&Path>,
        options: &[String],
    ) -> MethodResult<Issued> {
        let spec = methods::boot_medium_spec();
        let filename = output.map(|p| p.to_string_lossy().into_owned());
        let params = boot_medium_params(Value::Nil, node, action, filename.as_deref().unwrap_or_default(), options);
        let call = boot_medium::MediumCall { node, action, filename: filename.as_deref(), options };
        let body = async |cx: &mut Cx<'_>| boot_medium::issue(cx, &call).await;
        let tx = self.registry.begin_read().await?;
        let run = Run { started: Instant::now(), credentials: None, recheck: None };
        let sent = Sent { params: &params, auth_method: None };
        self.waking_mail(self.execute(spec, sent, caller, tx, run, body)).await
    }

    /// Authenticates `credentials`, checks the call's arguments, then runs `body` for it (see
    /// [`Api::execute`]). `params` are the call's arguments as sent (counted already), the auth
    /// struct first; `started` is when the call arrived (its event's runtime counts from it).
    #[allow(clippy::too_many_arguments)]
    async fn invoke<'a, T>(
        &'a self,
        spec: &'static MethodSpec,
        credentials: &'a Credentials,
        params: &'a [Value],
        peer: Option<IpAddr>,
        memo: Option<&'a PasswordMemo>,
        started: Instant,
        body: impl for<'c> AsyncFnOnce(&'c mut Cx<'a>) -> MethodResult<T>,
    ) -> (MethodResult<T>, Option<Caller>) {
        let sent = Sent { params, auth_method: Some(credentials.method()) };
        let rest = params.get(1..).unwrap_or_default();
        let req = AuthRequest { method: spec.name, roles: spec.roles, credentials, args: rest, peer };
        let mut check = PasswordCheck::new(&self.logins, memo);
        if !spec.checks_own_auth
            && let Err(f) = check.verify(&self.registry, &self.config, &req).await
        {
            return (Err(self.auth_failed(spec, sent, f.into(), started).await), None);
        }
        // Authenticate on a read transaction: a caller who cannot authenticate never takes the
        // write lock.
        let mut tx = match self.registry.begin_read().await {
            Ok(tx) => tx,
            Err(e) => return (Err(e.into()), None),
        };
        let (caller, extend_node_session) = match authenticate(self, spec, &mut tx, &req, &check).await {
            Ok(Authenticated { caller, extend_node_session }) => (caller, extend_node_session),
            Err(failure) => {
                drop(tx);
                return (Err(self.auth_failed(spec, sent, failure, started).await), None);
            }
        };
        for (p, v) in spec.params.iter().zip(rest) {
            if let Err(f) = wire::check(p.name, &p.ty, v) {
                drop(tx);
                self.log_failure(spec, sent, Some(&caller), &f, started).await;
                return (Err(f), Some(caller));
            }
        }
        let run = Run { started, credentials: Some(credentials), recheck: Some(Recheck { req, check }) };
        let result = self.execute(spec, sent, caller.clone(), tx, run, body).await;
        // After the call's own transaction has ended (SQLite has one writer at a time).
        if let Some(session) = extend_node_session {
            self.extend_node_session(&session).await;
        }
        (result, Some(caller))
    }

    /// Deletes the failed session (upstream's SessionAuth does on every 103), tells a node's
    /// owners that somebody failed to authenticate as it, and logs.
    async fn auth_failed(
        &self,
        spec: &'static MethodSpec,
        sent: Sent<'_>,
        AuthFailure { fault, delete_session, authfail }: AuthFailure,
        started: Instant,
    ) -> Fault {
        if let Some(s) = delete_session {
            self.delete_session(&s).await;
        }
        if let Some(node) = authfail {
            self.notify_authfail(spec, sent, &node, &fault, started).await;
        }
        self.log_failure(spec, sent, None, &fault, started).await;
        fault
    }

    /// Runs `body` for an authenticated caller inside `tx`, then records the event and commits;
    /// on any failure the transaction rolls back and result files are removed. What the body
    /// returns (an image to stream, a link) is handed over only after its key has committed.
    async fn execute<'a, T>(
        &'a self,
        spec: &'static MethodSpec,
        sent: Sent<'a>,
        caller: Caller,
        tx: Tx,
        Run { started, credentials, recheck }: Run<'a>,
        body: impl for<'c> AsyncFnOnce(&'c mut Cx<'a>) -> MethodResult<T>,
    ) -> MethodResult<T> {
        let args = sent.params.get(1..).unwrap_or_default();
        let mut cx = Cx::new(&self.services, spec, credentials, args, caller.clone(), tx, recheck);
        let result = match spec.writes {
            Writes::Yes => match cx.begin_writing().await {
                Ok(()) => body(&mut cx).await,
                Err(f) => Err(f),
            },
            Writes::No | Writes::AfterPreparing => body(&mut cx).await,
        };
        let writing = cx.is_writing();
        let (tx, event, created_files) = cx.finish();
        let wants_event = event.message.is_some() || self.config.api.debug;
        let committed = match result {
            // A call that wrote: its event commits with its writes.
            Ok(v) if writing => {
                let committed = if wants_event {
                    let rec = sent.event(spec, Some(&caller), 0, event, started);
                    events::record_and_commit(tx, rec).await
                } else {
                    tx.commit().await.map_err(Fault::from)
                };
                committed.map(|()| v)
            }
            // A call that only read: its read transaction ends, and its event (if any) goes
            // through the group commit, so it never takes the write lock on its own.
            Ok(v) => {
                let ended = tx.commit().await;
                if let Err(e) = ended {
                    Err(Fault::from(e))
                } else if wants_event {
                    let rec = sent.event(spec, Some(&caller), 0, event, started);
                    self.events.record(&self.registry, rec).await.map(|()| v)
                } else {
                    Ok(v)
                }
            }
            Err(f) => {
                drop(tx);
                self.log_failure(spec, sent, Some(&caller), &f, started).await;
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

    /// Pushes a used node session's expiry out by `[api] node_session_lifetime_seconds`. A
    /// failure only costs the node an earlier re-authentication.
    async fn extend_node_session(&self, session: &str) {
        let expires = crate::now().saturating_add(self.config.api.node_session_lifetime_seconds);
        let extended = async {
            let mut tx = self.registry.begin_write().await?;
            ops::sessions::extend_node_session(&mut tx, session, expires).await?;
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
        sent: Sent<'_>,
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
            let rec = sent.event(spec, None, fault.code, note, started);
            events::record_and_commit(tx, rec).await?;
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
        let deleted = ops::sessions::delete(&mut tx, session).await;
        if deleted.is_ok() {
            let _ = tx.commit().await;
        }
    }

    /// Failed calls are recorded only in debug mode (§2.8).
    async fn log_failure(
        &self,
        spec: &'static MethodSpec,
        sent: Sent<'_>,
        caller: Option<&Caller>,
        fault: &Fault,
        started: Instant,
    ) {
        if !self.config.api.debug {
            return;
        }
        let rec = sent.event(spec, caller, fault.code, EventNote::default(), started);
        if let Err(f) = self.events.record(&self.registry, rec).await {
            tracing::warn!(method = spec.name, error = %f.message, "could not record a failed call in the event log");
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
fn labelled<T>(spec: &MethodSpec, (result, caller): (MethodResult<T>, Option<Caller>)) -> CallOutcome<T> {
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

/// A typed GetBootMedium call as the XML-RPC arguments the event log records.
fn boot_medium_params(auth: Value, node: &NodeRef, action: &str, filename: &str, options: &[String]) -> [Value; 5] {
    let options = Value::Array(options.iter().map(|o| Value::from(o.as_str())).collect());
    [auth, node.clone().into_value(), Value::from(action), Value::from(filename), options]
}
