//! Domain behaviour in-process, against SQLite and (when `BOOTMEDIUM_TEST_POSTGRES_URL` is set)
//! a fresh PostgreSQL database: the typed entry points the front ends use, the method
//! declarations, the write rules of the class descriptions, and the event log's group commit.
//! No server, no binary: each case builds an `Api` over a real registry and calls it.

mod boot_medium;
mod classes;
mod declarations;
mod events;
mod support;
