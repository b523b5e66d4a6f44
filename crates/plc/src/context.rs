//! What a running method sees, below the methods and the dispatcher above them: the services
//! every call shares ([`Services`]: registry, settings, the boot image engine, login counts, the
//! mail wake-up, the BootManager payloads), a method's one declaration ([`MethodSpec`]: name,
//! roles, parameters, doc, writing mode and handler together) and the call context ([`Cx`]: the
//! transaction, the caller, the event note, the files written).
//!
//! `methods/*` import only this module (and the domain modules below it); `api.rs` imports the
//! methods, so there is no import circle between the dispatcher and the methods.

use crate::args::{Args, Param};
use crate::auth::{self, AuthFailure, AuthRequest, Authenticated, PasswordCheck};
use crate::caller::Caller;
use crate::config::PlcConfig;
use crate::fault::{Fault, MethodResult};
use crate::logins::LoginGuard;
use crate::roles::Role;
use bootmedium_media::{BootSettings, PreparedMedium, ReferenceStore};
use bootmedium_registry::{Registry, Tx};
use bootmedium_xmlrpc::Value;
use std::future::Future;
use std::pin::Pin;

/// What a method answers over XML-RPC: a value, or a boot image sent as one base64 `<string>`
/// streamed from the medium (docs/plc-api.md §9.4), never held in memory.
pub enum Reply {
    Value(Value),
    Medium(PreparedMedium),
}

impl From<Value> for Reply {
    fn from(v: Value) -> Self {
        Reply::Value(v)
    }
}

impl Reply {
    /// The value, for callers that cannot stream (multicall): an image is refused.
    pub fn into_value(self) -> MethodResult<Value> {
        match self {
            Reply::Value(v) => Ok(v),
            Reply::Medium(_) => Err(Fault::invalid("boot images cannot be returned inside system.multicall")),
        }
    }
}

/// A method's implementation: its checked arguments (after the auth struct) in, its reply out.
pub type Handler =
    for<'c, 'x> fn(&'c mut Cx<'x>, Args<'c>) -> Pin<Box<dyn Future<Output = MethodResult<Reply>> + Send + 'c>>;

/// Wraps an `async fn(&mut Cx, Args) -> MethodResult<impl Into<Reply>>` as a [`Handler`].
macro_rules! handler {
    ($f:path) => {{
        let h: $crate::context::Handler = |cx, a| Box::pin(async move { $f(cx, a).await.map(Into::into) });
        h
    }};
}
pub(crate) use handler;

/// A method's one declaration: what it accepts, who may call it, what it does and the code that
/// does it. `system.listMethods`, `methodHelp` and `methodSignature` are answered from it.
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
    pub handler: Handler,
}

impl std::fmt::Debug for MethodSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodSpec").field("name", &self.name).field("writes", &self.writes).finish_non_exhaustive()
    }
}

impl MethodSpec {
    /// The XML-RPC type of the result (the first word of `returns`).
    pub fn returns_type(&self) -> &'static str {
        self.returns.split_whitespace().next().unwrap_or("mixed")
    }
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

/// The boot image engine as the API sees it.
pub struct MediaEnv {
    pub store: ReferenceStore,
    /// The PLC-wide overlay settings, or why they are unusable (image actions then fault 111).
    pub settings: Result<BootSettings, String>,
}

impl MediaEnv {
    /// The `[boot]` settings, or fault 111 saying why they are unusable.
    pub fn settings(&self) -> MethodResult<&BootSettings> {
        self.settings.as_ref().map_err(|e| Fault::internal(format!("the [boot] settings are unusable: {e}")))
    }
}

/// What every call shares.
pub struct Services {
    pub registry: Registry,
    pub config: PlcConfig,
    pub media: Option<MediaEnv>,
    /// Password checks and failed-login counts, shared by every call.
    pub logins: LoginGuard,
    /// Wakes the mail delivery loop (`outbox::run`) when a call that queued mail has committed.
    pub mail_wake: std::sync::Arc<tokio::sync::Notify>,
    /// The BootManager payloads `/boot/` serves (none: it serves none).
    pub bootmanager: Option<crate::bootmanager::PayloadStore>,
    /// The group commit of reading calls' events.
    pub(crate) events: crate::events::EventBatcher,
}

impl Services {
    /// The boot image engine, or fault 111 when this server has none.
    pub fn media(&self) -> MethodResult<&MediaEnv> {
        self.media.as_ref().ok_or_else(|| Fault::internal("this server has no boot image engine"))
    }
}

/// A call's authentication, kept to check the caller again inside a later write transaction.
pub(crate) struct Recheck<'a> {
    pub req: AuthRequest<'a>,
    pub check: PasswordCheck<'a>,
}

/// What a running method sees.
pub struct Cx<'a> {
    pub tx: Tx,
    pub caller: Caller,
    pub services: &'a Services,
    pub spec: &'static MethodSpec,
    /// The auth struct as sent (nil for the operator's command line and the typed front ends).
    pub auth: &'a Value,
    pub event: EventNote,
    /// Result files the method wrote; removed again if the call does not commit.
    pub created_files: Vec<std::path::PathBuf>,
    /// Whether `tx` is the write transaction yet.
    writing: bool,
    /// How to check the caller again when a [`Writes::AfterPreparing`] method begins writing
    /// (none for the operator's command line).
    recheck: Option<Recheck<'a>>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(
        services: &'a Services,
        spec: &'static MethodSpec,
        auth: &'a Value,
        caller: Caller,
        tx: Tx,
        recheck: Option<Recheck<'a>>,
    ) -> Self {
        Cx {
            tx,
            caller,
            services,
            spec,
            auth,
            event: EventNote::default(),
            created_files: Vec::new(),
            // Every call starts on a read transaction; a writing method's write transaction
            // begins in `Cx::begin_writing`, which checks the caller again inside it.
            writing: false,
            recheck,
        }
    }

    pub fn config(&self) -> &PlcConfig {
        &self.services.config
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
        self.tx.reopen_for_write(&self.services.registry).await?;
        self.writing = true;
        let Some(r) = &self.recheck else { return Ok(()) };
        match authenticate(self.services, self.spec, &mut self.tx, &r.req, &r.check).await {
            Ok(now) if now.caller == self.caller => Ok(()),
            Ok(_) => Err(Fault::auth("the caller's account changed during the call; try again")),
            // The write lock is held here: a failed session is left for its next use to delete.
            Err(failure) => Err(failure.fault),
        }
    }

    /// Whether `tx` is the write transaction.
    pub fn is_writing(&self) -> bool {
        self.writing
    }

    /// The parts the dispatcher needs once the method has returned.
    pub(crate) fn finish(self) -> (Tx, EventNote, Vec<std::path::PathBuf>) {
        (self.tx, self.event, self.created_files)
    }
}

/// Authenticates a call's caller inside `tx` (a method that checks its own auth runs for an
/// anonymous caller).
pub(crate) async fn authenticate(
    services: &Services,
    spec: &'static MethodSpec,
    tx: &mut Tx,
    req: &AuthRequest<'_>,
    check: &PasswordCheck<'_>,
) -> Result<Authenticated, AuthFailure> {
    if spec.checks_own_auth {
        return Ok(Caller::Anonymous.into());
    }
    auth::authenticate(tx, &services.config, req, check).await
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
