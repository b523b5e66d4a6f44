//! The integration tests of the `bootmedium` binary, as one test binary (`cargo test -p
//! bootmedium --test it`): every module below starts the real binary (`init`, `serve`, the
//! operator commands) and talks to it as its clients do. One binary links the dependency graph
//! once instead of once per test file; a module is run alone by its name as the filter, e.g.
//! `cargo test -p bootmedium --test it -- hostile::` (names are `module::test`).
//!
//! Only what needs the binary is here: HTTP and the XML on the wire, the command line, TLS,
//! files served over HTTP, mail delivery, QEMU, Python's client. The methods' behaviour (results,
//! faults, roles, filters, sessions, events) is tested in process on every backend by
//! `crates/plc/tests/domain`; both use the helpers of `bootmedium-testkit`.
//!
//! - [`support`]: the server harness (XML-RPC over HTTP/1.1, fixtures, PostgreSQL per server
//!   when `BOOTMEDIUM_TEST_POSTGRES_URL` is set, the server's log level from
//!   `BOOTMEDIUM_TEST_LOG`); `support::media`, the test reference, data directories and QEMU
//!   boots; `support::node`, tap devices, a throw-away CA and GPG key for the node chain.
//! - QEMU: `media_boot` (the boot matrix; `BOOT_MATRIX_ONLY=TEXT` boots only the cells whose
//!   name contains TEXT) and `node_chain` run several boots at once and hold the QEMU lock
//!   exclusively (`support::media::qemu_exclusive`); the single boots of `boot_medium_boots`,
//!   `boot_medium_images` and `python_client` share it, so boots of different modules never
//!   oversubscribe the machine.
//!
//! No test relies on a process of its own: each starts its own server on a fresh data
//! directory and port, and passes environment settings to the commands it spawns.

mod support;

mod boot_medium;
mod boot_medium_boots;
mod boot_medium_images;
mod boot_pages;
mod bootmanager_replay;
mod cli;
mod connections;
mod demo_script;
mod disk;
mod hostile;
mod https;
mod issued_media;
mod limits;
mod mail;
mod media_boot;
mod media_cli;
mod node_chain;
mod node_methods;
mod python_client;
mod sessions_scope;
