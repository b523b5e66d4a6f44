//! PLCAPI faults (docs/plc-api.md §1): codes and message forms as upstream's `PLC/Faults.py`.

use std::fmt;

/// A fault a method raises. The method-level prefix (`<caller>: <Method>: `) is added by the
/// dispatcher, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i64,
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (fault {})", self.message, self.code)
    }
}

impl std::error::Error for Fault {}

fn with_extra(base: &str, extra: Option<&str>) -> String {
    match extra {
        Some(e) => format!("{base}: {e}"),
        None => base.to_string(),
    }
}

impl Fault {
    /// 100 `Invalid method <m>`.
    pub fn invalid_method(method: &str) -> Self {
        Fault { code: 100, message: format!("Invalid method {method}") }
    }

    /// 101 `Expected <min>-<max> arguments, got <n>`.
    pub fn argument_count(got: usize, min: usize, max: usize) -> Self {
        let expected = if min == max { format!("{min}") } else { format!("{min}-{max}") };
        Fault { code: 101, message: format!("Expected {expected} arguments, got {got}") }
    }

    /// 102 `Invalid argument: <extra>`.
    pub fn invalid(extra: impl AsRef<str>) -> Self {
        Fault { code: 102, message: with_extra("Invalid argument", Some(extra.as_ref())) }
    }

    /// 102 `Invalid <name> value: <extra>`.
    pub fn invalid_named(name: &str, extra: impl AsRef<str>) -> Self {
        Fault { code: 102, message: with_extra(&format!("Invalid {name} value"), Some(extra.as_ref())) }
    }

    /// 103 `Failed to authenticate call: <extra>`.
    pub fn auth(extra: impl AsRef<str>) -> Self {
        Fault { code: 103, message: with_extra("Failed to authenticate call", Some(extra.as_ref())) }
    }

    /// 106 `Database error: <extra>`.
    pub fn db(extra: impl AsRef<str>) -> Self {
        Fault { code: 106, message: with_extra("Database error", Some(extra.as_ref())) }
    }

    /// 108 `Permission denied: <extra>`.
    pub fn denied(extra: impl AsRef<str>) -> Self {
        Fault { code: 108, message: with_extra("Permission denied", Some(extra.as_ref())) }
    }

    /// 109 `Not fully implemented: <extra>`.
    pub fn not_implemented(extra: impl AsRef<str>) -> Self {
        Fault { code: 109, message: with_extra("Not fully implemented", Some(extra.as_ref())) }
    }

    /// 111 `Internal API error: <extra>`.
    pub fn internal(extra: impl AsRef<str>) -> Self {
        Fault { code: 111, message: with_extra("Internal API error", Some(extra.as_ref())) }
    }
}

impl From<bootmedium_registry::Error> for Fault {
    fn from(e: bootmedium_registry::Error) -> Self {
        use bootmedium_registry::Error as E;
        match e {
            // A race with another writer: the same answer the pre-check would have given.
            E::Conflict => Fault::invalid("an object with the same unique name already exists"),
            E::MissingReference => Fault::invalid("a referenced object does not exist"),
            E::DiskFull(e) => {
                tracing::error!(error = %e, "the database's disk is full");
                Fault::db("the server's disk is full; nothing was changed, try again once space is freed")
            }
            other => {
                tracing::error!(error = %other, "database failure");
                Fault::db("the registry could not complete the call; see the server log")
            }
        }
    }
}

pub type MethodResult<T> = Result<T, Fault>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_forms_match_upstream() {
        assert_eq!(Fault::argument_count(2, 4, 5).message, "Expected 4-5 arguments, got 2");
        assert_eq!(Fault::argument_count(2, 3, 3).message, "Expected 3 arguments, got 2");
        assert_eq!(Fault::invalid_named("hostname", "x").message, "Invalid hostname value: x");
        assert_eq!(Fault::auth("PasswordAuth: No such account").code, 103);
        assert_eq!(Fault::denied("x").message, "Permission denied: x");
    }
}
