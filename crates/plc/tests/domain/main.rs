//! Domain behaviour in-process, against SQLite and (when `BOOTMEDIUM_TEST_POSTGRES_URL` is set)
//! a fresh PostgreSQL database: the methods' results, faults, roles, filters, sessions, hmac
//! auth, events and field visibility, the write rules of the class descriptions, the typed entry
//! points the front ends use, the method declarations, and the event log's group commit. No
//! server, no binary: each case builds an `Api` over a real registry per backend and calls it
//! (`support`). What only HTTP, the binary or QEMU can show is tested in `crates/cli/tests/it`.

mod api_roundtrip;
mod auth_accounts;
mod boot_medium;
mod classes;
mod declarations;
mod events;
mod hostile;
mod issued_media;
mod limits;
mod node_methods;
mod secret_fields;
mod sessions_scope;
mod support;
