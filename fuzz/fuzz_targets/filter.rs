//! The Get* filter compiler (crates/plc filter.rs, docs/plc-api.md §10.3) over every class, and the SQL
//! the registry builds from what it accepts. Inputs are XML-RPC values made from the fuzz bytes
//! with a dictionary of field names, prefixes and specials (bootmedium_fuzz::value), so most
//! reach past "unknown field"; as in a call, those the declared argument types let through are
//! converted to the typed filter and return fields (crates/plc wire.rs) and compiled. Checked: no panic; an accepted filter compiles to SQL whose
//! placeholders are exactly $1..$n for its n bound values, no client text reaches the SQL
//! (the only quoted literal in it is the LIKE escape character), and a restricted viewer's query
//! neither returns nor sorts on a field only admins may read.
#![no_main]

use bootmedium_fuzz::{TABLES, value};
use bootmedium_plc::filter;
use bootmedium_plc::fuzzing::{FromArg, check_argument};
use bootmedium_registry::Backend;
use bootmedium_registry::fuzzing::select_sql;
use bootmedium_xmlrpc::Value;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// An argument as the dispatcher hands it to a method: checked against its declared type, then
/// converted.
fn typed<T: FromArg>(v: &Value) -> Option<T> {
    check_argument("x", &T::TY, v).ok()?;
    Some(T::from_value("x", v).expect("a checked argument converts"))
}

fn check(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let table = *u.choose(TABLES)?;
    let filter_value = value(&mut u, 0)?;
    let return_fields = value(&mut u, 0)?;
    let viewer = if u.arbitrary()? { filter::Viewer::Admin } else { filter::Viewer::Restricted };
    let (Some(filter_arg), Some(fields_arg)) =
        (typed::<filter::Filter>(&filter_value), typed::<filter::ReturnFields>(&return_fields))
    else {
        return Ok(());
    };
    let Ok(query) = filter::query(table, &filter_arg, &fields_arg, viewer) else { return Ok(()) };
    // A field the viewer may not read is neither returned nor sorted on (criteria are checked by
    // the same lookup; the unit tests walk every prefix).
    assert!(query.fields.iter().all(|f| viewer.may_read(f)), "an unreadable field returned");
    assert!(query.sort.iter().all(|k| viewer.may_read(&k.field)), "an unreadable field sorted on");
    let backend = if u.arbitrary()? { Backend::Sqlite } else { Backend::Postgres };
    let (sql, params) = select_sql(backend, &query);
    let mut seen = 0;
    let mut rest = sql.as_str();
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let number: usize = rest[..digits].parse().expect("a $ in the SQL is a numbered placeholder");
        seen += 1;
        assert_eq!(number, seen, "placeholders out of order in {sql}");
    }
    assert_eq!(seen, params, "{params} parameters for {seen} placeholders in {sql}");
    assert!(!sql.replace("ESCAPE '\\'", "").contains('\''), "a quoted literal in {sql}");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = check(data);
});
