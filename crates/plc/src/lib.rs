//! The PLCAPI domain (docs/plc-api.md §1–5, §10): callers, authentication, roles, faults, argument
//! checks, Get* filters and the methods; the boot server pages' lookups and the BootManager
//! payload store (§12.4: `boot_server`, `bootmanager`). It reaches the database only through
//! `bootmedium-registry` and knows XML-RPC only as `bootmedium_xmlrpc::Value`, which the methods
//! never see: `wire.rs` converts their typed arguments and results.
#![forbid(unsafe_code)]

mod api;
mod args;
mod auth;
pub mod boot_server;
pub mod bootmanager;
pub mod bootstrap;
pub mod caller;
pub mod config;
mod context;
pub mod crypto;
mod downloads;
mod events;
pub mod fault;
pub mod filter;
mod ledger;
pub mod logins;
mod methods;
mod notify;
pub mod outbox;
pub mod plnode;
mod pyformat;
mod pyrepr;
pub mod results;
mod roles;
pub mod standard_tags;
mod validate;
mod wire;

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::methods::medium_options::{
        Container, MEDIUM_TAGS, MediumOptions, resolve as resolve_medium_options,
    };
    pub use crate::wire::{FromArg, check as check_argument};
}

pub use api::{Api, CallOutcome, DownloadLink, Issued, NodeRef};
pub use auth::Credentials;
pub use config::PlcConfig;
pub use context::{MediaEnv, Reply, Services};
pub use downloads::DownloadInfo;
pub use fault::Fault;

/// Seconds since the epoch (PLC timestamps are epoch integers).
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
