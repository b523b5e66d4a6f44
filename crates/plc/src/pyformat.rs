//! Python's `template % params` for message templates (docs/plc-api.md §12.5): `%(name)s`,
//! `%(name)d` / `%(name)i`, `%(name)r` and `%%`. Templates are operator text (AddMessage,
//! UpdateMessage), so anything else — an unknown name, a conversion or flag we do not support,
//! `%d` of a string, a bare `%s`, a trailing `%` — is an error the caller logs, never a panic
//! and never a half-rendered mail.

use std::collections::BTreeMap;

/// A substitution value, as the Python dict upstream formats with holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyValue {
    Int(i64),
    Str(String),
    None,
}

impl PyValue {
    fn str(&self) -> String {
        match self {
            PyValue::Int(i) => i.to_string(),
            PyValue::Str(s) => s.clone(),
            PyValue::None => "None".into(),
        }
    }

    /// Python's `repr` for the values templates see (strings as Python quotes them).
    fn repr(&self) -> String {
        match self {
            PyValue::Str(s) => {
                let mut out = String::with_capacity(s.len() + 2);
                crate::pyrepr::repr_str(s, &mut out);
                out
            }
            other => other.str(),
        }
    }
}

/// Why a template cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("unknown substitution %({0})")]
    UnknownName(String),
    #[error("unsupported format at byte {0} (only %(name)s, %(name)d, %(name)i, %(name)r and %% are supported)")]
    Unsupported(usize),
    #[error("%({0})d needs a number")]
    NotANumber(String),
    #[error("incomplete format at byte {0}")]
    Incomplete(usize),
}

/// Renders `template % params`.
pub fn format(template: &str, params: &BTreeMap<&str, PyValue>) -> Result<String, FormatError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    let mut offset = 0;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let spec = &rest[at + 1..];
        let start = offset + at;
        // The bytes this directive takes, from its '%'.
        let consumed = if spec.starts_with('%') {
            out.push('%');
            2
        } else if let Some(named) = spec.strip_prefix('(') {
            let close = named.find(')').ok_or(FormatError::Incomplete(start))?;
            let name = &named[..close];
            let conversion = named[close + 1..].chars().next().ok_or(FormatError::Incomplete(start))?;
            let value = params.get(name).ok_or_else(|| FormatError::UnknownName(name.to_string()))?;
            match conversion {
                's' => out.push_str(&value.str()),
                'r' => out.push_str(&value.repr()),
                'd' | 'i' => match value {
                    PyValue::Int(i) => out.push_str(&i.to_string()),
                    _ => return Err(FormatError::NotANumber(name.to_string())),
                },
                _ => return Err(FormatError::Unsupported(start)),
            }
            // '%' '(' name ')' conversion
            2 + close + 1 + conversion.len_utf8()
        } else if spec.is_empty() {
            return Err(FormatError::Incomplete(start));
        } else {
            return Err(FormatError::Unsupported(start));
        };
        rest = &rest[at + consumed..];
        offset += at + consumed;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BTreeMap<&'static str, PyValue> {
        BTreeMap::from([
            ("node_id", PyValue::Int(7)),
            ("hostname", PyValue::Str("n1.example.org".into())),
            ("PLC_WWW_HOST", PyValue::Str("www.example.org".into())),
            ("PLC_WWW_SSL_PORT", PyValue::Int(443)),
            ("fault", PyValue::None),
        ])
    }

    #[test]
    fn renders_python_formats() {
        let t = "https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d 100%% %(fault)s %(hostname)r";
        assert_eq!(
            format(t, &params()).unwrap(),
            "https://www.example.org:443/db/nodes/?id=7 100% None 'n1.example.org'"
        );
        assert_eq!(format("%(node_id)s%(node_id)i", &params()).unwrap(), "77");
        assert_eq!(format("no substitutions", &params()).unwrap(), "no substitutions");
        assert_eq!(format("", &params()).unwrap(), "");
        assert_eq!(format("é%(hostname)sé", &params()).unwrap(), "én1.example.orgé");
    }

    #[test]
    fn refuses_what_python_would_not_render_or_we_do_not_support() {
        let p = params();
        assert_eq!(format("%(nope)s", &p), Err(FormatError::UnknownName("nope".into())));
        assert_eq!(format("%(hostname)d", &p), Err(FormatError::NotANumber("hostname".into())));
        assert_eq!(format("%(fault)d", &p), Err(FormatError::NotANumber("fault".into())));
        assert_eq!(format("a %s", &p), Err(FormatError::Unsupported(2)));
        assert_eq!(format("a %(node_id)5d", &p), Err(FormatError::Unsupported(2)));
        assert_eq!(format("a %(node_id)x", &p), Err(FormatError::Unsupported(2)));
        assert_eq!(format("trailing %", &p), Err(FormatError::Incomplete(9)));
        assert_eq!(format("%(node_id", &p), Err(FormatError::Incomplete(0)));
        assert_eq!(format("%(node_id)", &p), Err(FormatError::Incomplete(0)));
    }
}
