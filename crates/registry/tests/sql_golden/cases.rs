//! The case table: one row per case, each a read of one class (condition, return fields, sort,
//! paging) and the ids it returns from the rows of `fixture.rs`, in order, on both backends.
//!
//! A field name is a field of the class; `tag:NAME` is the tag NAME as a pseudo-field. Sort keys
//! take a leading `-` for descending. The primary key is always the first return field (the
//! runner reads the ids from it), so it appears in every golden statement.

use bootmedium_registry::views::{
    EVENT, EVENT_OBJECT, INTERFACE, INTERFACE_TAG, ISSUED_MEDIUM, NODE, NODE_GROUP, NODE_TAG, PERSON, ROLE, SITE,
    TAG_TYPE,
};
use bootmedium_registry::{CmpOp, Cond, FieldRef, Query, SortKey, SqlValue, TableSpec};

pub struct Case {
    pub name: &'static str,
    pub query: Query,
    /// The ids both backends return, in order.
    pub ids: &'static [i64],
    /// A divergence known and pinned: what PostgreSQL returns instead, and why.
    pub postgres_differs: Option<(&'static [i64], &'static str)>,
}

fn field(table: &'static TableSpec, name: &str) -> FieldRef {
    match name.strip_prefix("tag:") {
        Some(tag) => FieldRef::Tag(tag.to_string()),
        None => FieldRef::Field(table.field(name).unwrap_or_else(|| panic!("{} has no field {name}", table.class))),
    }
}

fn case(name: &'static str, table: &'static TableSpec, cond: Cond, ids: &'static [i64]) -> Case {
    let query =
        Query { table, cond, fields: vec![field(table, table.primary_key)], sort: vec![], offset: None, limit: None };
    Case { name, query, ids, postgres_differs: None }
}

impl Case {
    fn fields(mut self, names: &[&str]) -> Self {
        let table = self.query.table;
        self.query.fields.extend(names.iter().map(|n| field(table, n)));
        self
    }
    fn sort(mut self, keys: &[&str]) -> Self {
        let table = self.query.table;
        self.query.sort = keys
            .iter()
            .map(|k| match k.strip_prefix('-') {
                Some(name) => SortKey { field: field(table, name), descending: true },
                None => SortKey { field: field(table, k), descending: false },
            })
            .collect();
        self
    }
    fn limit(mut self, n: i64) -> Self {
        self.query.limit = Some(n);
        self
    }
    fn offset(mut self, n: i64) -> Self {
        self.query.offset = Some(n);
        self
    }
    fn postgres_differs(mut self, ids: &'static [i64], why: &'static str) -> Self {
        self.postgres_differs = Some((ids, why));
        self
    }
}

// Condition shorthands.
fn int(v: i64) -> SqlValue {
    SqlValue::int(v)
}
fn txt(v: &str) -> SqlValue {
    SqlValue::text(v)
}
fn float(v: f64) -> SqlValue {
    SqlValue::Float(Some(v))
}
const NULL_INT: SqlValue = SqlValue::Int(None);
fn cmp(f: FieldRef, op: CmpOp, v: SqlValue) -> Cond {
    Cond::Compare(f, op, v)
}
fn eq(f: FieldRef, v: SqlValue) -> Cond {
    Cond::Compare(f, CmpOp::Eq, v)
}
fn not(c: Cond) -> Cond {
    Cond::Not(Box::new(c))
}
fn and(cs: Vec<Cond>) -> Cond {
    Cond::And(cs)
}
fn or(cs: Vec<Cond>) -> Cond {
    Cond::Or(cs)
}
fn null(f: FieldRef) -> Cond {
    Cond::IsNull(f)
}
fn is_in(f: FieldRef, vs: Vec<SqlValue>) -> Cond {
    Cond::In(f, vs)
}
fn like(f: FieldRef, pattern: &str) -> Cond {
    Cond::Like(f, pattern.to_string())
}
fn any(f: FieldRef, vs: Vec<SqlValue>) -> Cond {
    Cond::ContainsAny(f, vs)
}
fn all(f: FieldRef, vs: Vec<SqlValue>) -> Cond {
    Cond::ContainsAll(f, vs)
}

/// Live nodes (14 is deleted).
const LIVE_NODES: &[i64] = &[11, 12, 13, 15, 16];

pub fn cases() -> Vec<Case> {
    use CmpOp::{Ge, Gt, Le, Lt};
    let n = |name: &str| field(&NODE, name);
    let s = |name: &str| field(&SITE, name);
    let p = |name: &str| field(&PERSON, name);
    let i = |name: &str| field(&INTERFACE, name);
    let e = |name: &str| field(&EVENT, name);
    vec![
        // Constants, and the live condition (`deleted = 0`) of the classes that have one.
        case("node_true", &NODE, Cond::True, LIVE_NODES),
        case("node_false", &NODE, Cond::False, &[]),
        case("node_and_empty", &NODE, and(vec![]), LIVE_NODES),
        case("node_or_empty", &NODE, or(vec![]), &[]),
        case("interface_true_has_no_live_condition", &INTERFACE, Cond::True, &[21, 22, 23, 24]),
        case("site_true", &SITE, Cond::True, &[1, 2]).fields(&["login_base", "latitude", "enabled"]),
        case("person_true", &PERSON, Cond::True, &[31, 32, 34]).fields(&["email", "title"]),
        case("role_true", &ROLE, Cond::True, &[10, 20, 30, 40, 50]).fields(&["name"]),
        // Every comparison operator, on integers (a NULL never compares).
        case("node_eq_int", &NODE, eq(n("site_id"), int(1)), &[11, 12, 16]),
        case("node_lt_int", &NODE, cmp(n("last_contact"), Lt, int(200)), &[11, 16]),
        case("node_gt_int", &NODE, cmp(n("last_contact"), Gt, int(100)), &[12, 15]),
        case("node_le_int", &NODE, cmp(n("last_contact"), Le, int(100)), &[11, 16]),
        case("node_ge_int", &NODE, cmp(n("last_contact"), Ge, int(200)), &[12, 15]),
        // ... on text (binary order: upper case first; a PostgreSQL database whose collation is
        // not C orders otherwise).
        case("node_eq_text", &NODE, eq(n("hostname"), txt("n2.alpha.example.org")), &[12]),
        case("node_eq_text_is_case_sensitive", &NODE, eq(n("hostname"), txt("N2.ALPHA.EXAMPLE.ORG")), &[]),
        case("node_lt_text", &NODE, cmp(n("hostname"), Lt, txt("n2")), &[11, 13]),
        case("node_ge_text", &NODE, cmp(n("boot_state"), Ge, txt("reinstall")), &[12, 13]),
        // ... on floats and booleans.
        case("site_gt_float", &SITE, cmp(s("latitude"), Gt, float(1.0)), &[1]),
        case("site_eq_float", &SITE, eq(s("latitude"), float(1.5)), &[1]),
        case("event_lt_float", &EVENT, cmp(e("runtime"), Lt, float(1.0)), &[81]).fields(&["runtime", "call_name"]),
        case("node_eq_bool_true", &NODE, eq(n("verified"), SqlValue::bool(true)), &[11, 15]).fields(&["verified"]),
        case("node_eq_bool_false", &NODE, eq(n("verified"), SqlValue::bool(false)), &[12, 13, 16]),
        // NULL: IS NULL, `= NULL` (never true), and negations, which keep NULL rows.
        case("node_is_null", &NODE, null(n("last_contact")), &[13]),
        case("node_is_null_text", &NODE, null(n("run_level")), &[12, 16]),
        case("node_not_is_null", &NODE, not(null(n("run_level"))), &[11, 13, 15]),
        case("node_eq_null_matches_nothing", &NODE, eq(n("last_contact"), NULL_INT), &[]),
        case("node_not_eq_null_matches_all", &NODE, not(eq(n("last_contact"), NULL_INT)), LIVE_NODES),
        case("node_not_gt_keeps_null", &NODE, not(cmp(n("last_contact"), Gt, int(100))), &[11, 13, 16]),
        case("node_not_eq_text_keeps_null", &NODE, not(eq(n("run_level"), txt("boot"))), &[12, 13, 16]),
        case("person_is_null", &PERSON, null(p("title")), &[32, 34]),
        // And / Or / Not nesting.
        case(
            "node_or_of_ands",
            &NODE,
            or(vec![
                and(vec![eq(n("site_id"), int(1)), eq(n("verified"), int(1))]),
                and(vec![eq(n("site_id"), int(2)), not(eq(n("boot_state"), txt("boot")))]),
            ]),
            &[11, 13],
        ),
        case(
            "node_not_or",
            &NODE,
            not(or(vec![eq(n("site_id"), int(2)), cmp(n("last_contact"), Lt, int(100))])),
            &[11, 12],
        ),
        case("node_not_not", &NODE, not(not(eq(n("site_id"), int(2)))), &[13, 15]),
        case("node_not_true", &NODE, not(Cond::True), &[]),
        case("node_not_false", &NODE, not(Cond::False), LIVE_NODES),
        case("node_not_and_empty", &NODE, not(and(vec![])), &[]),
        case("node_not_or_empty", &NODE, not(or(vec![])), LIVE_NODES),
        case(
            "node_and_true_or_false",
            &NODE,
            and(vec![Cond::True, or(vec![Cond::False, like(n("hostname"), "n1%")])]),
            &[11],
        ),
        case(
            "node_deep_nesting",
            &NODE,
            and(vec![
                not(and(vec![eq(n("verified"), int(1)), not(null(n("run_level")))])),
                or(vec![eq(n("site_id"), int(1)), eq(n("site_id"), int(2))]),
            ]),
            &[12, 13, 16],
        ),
        // In: no value, one, many (a deleted row, an unknown id, the extremes), NULL in the set.
        case("node_in_none", &NODE, is_in(n("node_id"), vec![]), &[]),
        case("node_not_in_none", &NODE, not(is_in(n("node_id"), vec![])), LIVE_NODES),
        case("node_in_one", &NODE, is_in(n("node_id"), vec![int(12)]), &[12]),
        case(
            "node_in_many",
            &NODE,
            is_in(n("node_id"), vec![int(11), int(13), int(14), int(99), int(i64::MAX), int(i64::MIN)]),
            &[11, 13],
        ),
        case(
            "node_in_text",
            &NODE,
            is_in(n("hostname"), vec![txt("n2.alpha.example.org"), txt("N1.ALPHA.EXAMPLE.ORG")]),
            &[12],
        ),
        case(
            "node_in_text_json_escapes",
            &NODE,
            is_in(n("model"), vec![txt("say \"hi\" \\ now"), txt("tab\there\u{1}")]),
            &[16],
        )
        .fields(&["model"]),
        case("node_in_with_null", &NODE, is_in(n("last_contact"), vec![NULL_INT, int(100)]), &[11]),
        case("node_not_in_keeps_null", &NODE, not(is_in(n("last_contact"), vec![int(100)])), &[12, 13, 15, 16]),
        case("node_in_bool", &NODE, is_in(n("verified"), vec![SqlValue::bool(true)]), &[11, 15]),
        case("site_in_float", &SITE, is_in(s("latitude"), vec![float(1.5), float(2.0)]), &[1]),
        case("node_in_tag", &NODE, is_in(n("tag:arch"), vec![txt("i386"), txt("x86_64")]), &[11, 12, 15]),
        // On a list field, In is "holds any of".
        case("node_in_list_field", &NODE, is_in(n("interface_ids"), vec![int(22), int(23)]), &[11, 12]),
        // ContainsAny / ContainsAll on list fields (ints and texts; values, not positions).
        case("node_contains_any", &NODE, any(n("interface_ids"), vec![int(22), int(23)]), &[11, 12])
            .fields(&["interface_ids"]),
        case("node_contains_any_of_deleted_node", &NODE, any(n("interface_ids"), vec![int(24)]), &[]),
        case("node_contains_all", &NODE, all(n("interface_ids"), vec![int(22), int(21)]), &[11])
            .fields(&["interface_ids"]),
        case("node_contains_all_duplicates", &NODE, all(n("interface_ids"), vec![int(21), int(21), int(22)]), &[11]),
        case("node_contains_all_across_rows", &NODE, all(n("interface_ids"), vec![int(21), int(23)]), &[]),
        case("node_contains_all_none", &NODE, all(n("interface_ids"), vec![]), LIVE_NODES),
        case("node_contains_any_none", &NODE, any(n("interface_ids"), vec![]), &[]),
        case("node_contains_all_with_null", &NODE, all(n("interface_ids"), vec![int(21), NULL_INT]), &[]),
        case("node_not_contains_any", &NODE, not(any(n("interface_ids"), vec![int(21)])), &[12, 13, 15, 16]),
        case("node_list_eq_is_contains", &NODE, eq(n("interface_ids"), int(23)), &[12]),
        // The operator is not looked at on a list field: `<` means "holds" too.
        case("node_list_lt_is_contains", &NODE, cmp(n("interface_ids"), Lt, int(23)), &[12]),
        case("node_nodegroups_contains_any", &NODE, any(n("nodegroup_ids"), vec![int(71)]), &[11, 15])
            .fields(&["nodegroup_ids", "node_tag_ids"]),
        case("node_unmodelled_contains_any", &NODE, any(n("slice_ids"), vec![int(1)]), &[]).fields(&["slice_ids"]),
        case("node_unmodelled_eq", &NODE, eq(n("slice_ids"), int(1)), &[]),
        // An unmodelled list is always empty, yet `IS NULL` on it holds for every row.
        case("node_unmodelled_is_null", &NODE, null(n("slice_ids")), LIVE_NODES),
        // ContainsAny / ContainsAll on a scalar field or a tag match nothing, whatever the values.
        case("node_contains_any_on_scalar", &NODE, any(n("site_id"), vec![int(1)]), &[]),
        case("node_contains_all_on_tag", &NODE, all(n("tag:arch"), vec![txt("x86_64")]), &[]),
        case("node_contains_all_none_on_scalar", &NODE, all(n("site_id"), vec![]), &[]),
        case("person_roles_contains_all", &PERSON, all(p("roles"), vec![txt("admin"), txt("pi")]), &[31])
            .fields(&["roles", "role_ids", "site_ids"]),
        case("person_roles_contains_any", &PERSON, any(p("roles"), vec![txt("pi"), txt("tech")]), &[31]),
        case("person_role_ids_contains_any", &PERSON, any(p("role_ids"), vec![int(30)]), &[32]).fields(&["site_ids"]),
        case("site_person_ids_contains_any", &SITE, any(s("person_ids"), vec![int(32)]), &[1, 2])
            .fields(&["person_ids", "node_ids"]),
        case("site_person_ids_of_deleted_person", &SITE, any(s("person_ids"), vec![int(33)]), &[]),
        case("site_node_ids_contains_all", &SITE, all(s("node_ids"), vec![int(13), int(15)]), &[2]),
        case("site_node_ids_of_deleted_node", &SITE, any(s("node_ids"), vec![int(14)]), &[]),
        case("nodegroup_node_ids", &NODE_GROUP, any(field(&NODE_GROUP, "node_ids"), vec![int(11)]), &[71]).fields(&[
            "groupname",
            "node_ids",
            "tagname",
        ]),
        case("event_object_ids_contains_all", &EVENT, all(e("object_ids"), vec![int(11), int(1)]), &[82])
            .fields(&["object_ids", "object_types"]),
        case("event_object_types_contains_any", &EVENT, any(e("object_types"), vec![txt("Site")]), &[82]),
        case(
            "issued_options_contains_all",
            &ISSUED_MEDIUM,
            all(field(&ISSUED_MEDIUM, "options"), vec![txt("serial"), txt("variant:x")]),
            &[91],
        )
        .fields(&["hostname", "options"]),
        case(
            "issued_by_joined_hostname",
            &ISSUED_MEDIUM,
            eq(field(&ISSUED_MEDIUM, "hostname"), txt("n2.alpha.example.org")),
            &[92],
        )
        .fields(&["options"]),
        // Tags as pseudo-fields: in the condition, the return fields and the sort (each use a
        // parameter of its own, numbered in order).
        case("node_tag_eq", &NODE, eq(n("tag:arch"), txt("x86_64")), &[11, 15]).fields(&["tag:arch"]),
        case("node_tag_is_null", &NODE, null(n("tag:arch")), &[13, 16]),
        case("node_tag_like", &NODE, like(n("tag:arch"), "X86%"), &[11, 15]),
        case(
            "node_tag_everywhere",
            &NODE,
            or(vec![eq(n("tag:arch"), txt("x86_64")), null(n("tag:pldistro"))]),
            &[11, 15, 12],
        )
        .fields(&["hostname", "tag:arch"])
        .sort(&["-tag:arch"]),
        case("interface_tag_eq", &INTERFACE, eq(i("tag:ifname"), txt("eth0")), &[21]).fields(&["ip", "tag:ifname"]),
        case("interface_tag_like_escaped", &INTERFACE, like(i("tag:ifname"), "eth\\_%"), &[23]),
        // A tag on a class without tags is NULL.
        case("site_tag_is_null", &SITE, null(s("tag:arch")), &[1, 2]).fields(&["tag:arch"]),
        case("site_tag_eq", &SITE, eq(s("tag:arch"), txt("x86_64")), &[]),
        case("site_tag_like", &SITE, not(like(s("tag:arch"), "x86%")), &[1, 2]),
        case("site_tag_in", &SITE, is_in(s("tag:arch"), vec![txt("x86_64")]), &[]),
        // Patterns: `%` and `_` wildcards, `\` escapes, case-insensitive.
        case("node_like_underscore_wildcard", &NODE, like(n("hostname"), "n_.alpha.example.org"), &[11, 12, 16]),
        case("node_like_case_insensitive", &NODE, like(n("hostname"), "%beta%"), &[13, 15]),
        case("node_like_upper_pattern", &NODE, like(n("hostname"), "N%ALPHA%"), &[11, 12, 16]),
        case("node_like_escaped_underscore", &NODE, like(n("model"), "dell\\_r710"), &[12]),
        case("node_like_unescaped_underscore", &NODE, like(n("model"), "dell_r710"), &[12, 15]),
        case("node_like_escaped_percent", &NODE, like(n("model"), "100\\%%"), &[13]),
        case("node_like_escaped_percent_literal", &NODE, like(n("model"), "100\\%"), &[]),
        case("node_like_escaped_backslash", &NODE, like(n("model"), "%\\\\ now"), &[16]),
        case("node_like_quote", &NODE, like(n("model"), "%\"hi\"%"), &[16]),
        case("node_not_like", &NODE, not(like(n("model"), "dell%")), &[13, 16]),
        case("node_not_like_keeps_null", &NODE, not(like(n("run_level"), "boot")), &[12, 13, 16]),
        case("node_like_non_ascii_case", &NODE, like(n("version"), "élan"), &[15])
            .postgres_differs(&[13, 15], "SQLite's LOWER and LIKE fold ASCII only: 'Élan' is not 'élan' there"),
        case("tag_type_like", &TAG_TYPE, like(field(&TAG_TYPE, "tagname"), "%DIST%"), &[42])
            .fields(&["tagname", "roles"]),
        // Fields only administrators may read compile like any other: the compiler does not
        // look at `Readers`; the plc filter refuses them to other callers before this.
        case("node_admin_fields", &NODE, eq(n("key"), txt("key-11")), &[11]).fields(&["boot_nonce", "key", "session"]),
        case("node_admin_subquery_like", &NODE, like(n("session"), "SESS-%"), &[11]),
        // Sort: ascending, descending, several keys, NULLs, tags, paging.
        case("node_sort_asc_nulls", &NODE, Cond::True, &[16, 11, 12, 15, 13]).sort(&["last_contact"]),
        case("node_sort_desc_nulls", &NODE, Cond::True, &[13, 12, 15, 11, 16]).sort(&["-last_contact"]),
        case("node_sort_several", &NODE, Cond::True, &[12, 16, 11, 13, 15])
            .fields(&["site_id", "run_level", "hostname"])
            .sort(&["site_id", "-run_level", "hostname"]),
        case("node_sort_bool_desc", &NODE, Cond::True, &[11, 15, 12, 13, 16]).sort(&["-verified"]),
        case("site_sort_float_desc", &SITE, Cond::True, &[2, 1]).sort(&["-latitude"]),
        case("node_sort_desc_limit_offset", &NODE, Cond::True, &[15, 12]).sort(&["-hostname"]).limit(2).offset(1),
        case("node_offset_without_limit", &NODE, Cond::True, &[15, 16]).sort(&["hostname"]).offset(3),
        case("node_limit_only", &NODE, Cond::True, &[11, 12]).limit(2),
        case("node_limit_zero", &NODE, Cond::True, &[]).limit(0),
        case("node_sort_list_field", &NODE, Cond::True, LIVE_NODES).sort(&["interface_ids"]),
        case("site_sort_tag_without_tags", &SITE, Cond::True, &[1, 2]).sort(&["-tag:arch"]),
        // Classes whose fields are subqueries or joins.
        case("node_tag_by_tagname", &NODE_TAG, eq(field(&NODE_TAG, "tagname"), txt("arch")), &[51, 52, 54, 55])
            .fields(&["hostname", "value"]),
        case("node_tag_by_hostname", &NODE_TAG, like(field(&NODE_TAG, "hostname"), "n1%"), &[51]),
        case("interface_tag_true", &INTERFACE_TAG, Cond::True, &[61, 62]).fields(&["ip", "tagname", "value"]),
        case("event_object_by_type", &EVENT_OBJECT, Cond::True, &[82, 82])
            .fields(&["object_type", "object_id", "call_name"])
            .sort(&["object_type"]),
        case("role_in_text", &ROLE, is_in(field(&ROLE, "name"), vec![txt("pi"), txt("tech")]), &[20, 40]),
    ]
}
