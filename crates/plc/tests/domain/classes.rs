//! The class descriptions (the registry's views) decide writes. For every class with Add*/Update*
//! methods, every field its description lets a client write, and every role its Update method
//! admits (the declaration, as system.methodHelp lists it): a caller who is one of the field's
//! writers has the value stored; anyone else has it dropped silently, the call still answering 1.
//! A field an operation does not take is refused (`Cannot add …`, `Cannot update …`) or, where
//! the description says so, dropped unchecked. A node writes its primary interface through
//! BootUpdateNode. Tag values, whose writers their tag type decides, have a table of their own.

use crate::support::{admin, databases, fault, password_auth, session, value};
use bootmedium_plc::bootstrap::DEMO;
use bootmedium_plc::{Api, Reply};
use bootmedium_registry::views::{self, INTERFACE, MESSAGE, NODE, NODE_GROUP, PERSON, SITE, TAG_TYPE};
use bootmedium_registry::{FieldSpec, Given, Readers, SqlValue, TableSpec, WriteOp, Writers};
use bootmedium_testkit::{ADMIN_EMAIL, struct_of};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

/// A class and the methods that read and write it.
struct Class {
    table: &'static TableSpec,
    get: &'static str,
    update: &'static str,
    /// The Add* method taking a struct (AddNodeGroup takes its fields as arguments).
    add: Option<&'static str>,
}

static CLASSES: &[Class] = &[
    Class { table: &SITE, get: "GetSites", update: "UpdateSite", add: Some("AddSite") },
    Class { table: &PERSON, get: "GetPersons", update: "UpdatePerson", add: Some("AddPerson") },
    Class { table: &NODE, get: "GetNodes", update: "UpdateNode", add: Some("AddNode") },
    Class { table: &INTERFACE, get: "GetInterfaces", update: "UpdateInterface", add: Some("AddInterface") },
    Class { table: &TAG_TYPE, get: "GetTagTypes", update: "UpdateTagType", add: Some("AddTagType") },
    Class { table: &NODE_GROUP, get: "GetNodeGroups", update: "UpdateNodeGroup", add: None },
    Class { table: &MESSAGE, get: "GetMessages", update: "UpdateMessage", add: Some("AddMessage") },
];

/// The classes whose only writable field is a tag value (their writers: the tag type).
const TAG_CLASSES: &[&str] = &["NodeTag", "InterfaceTag"];

const MESSAGE_ID: &str = "classes-message";
const NODE_SESSION: &str = "classes-node-session";

/// A caller: its role in the table, its authentication and the roles its account holds.
struct Persona {
    role: &'static str,
    auth: Value,
    person_id: i64,
    roles: Vec<String>,
}

/// The objects the table writes.
struct World {
    /// An admin's session.
    admin: Value,
    site_id: i64,
    other_site_id: i64,
    node_id: i64,
    interface_id: i64,
    /// A user at the demo site, whom admins and the PI update.
    subject_id: i64,
    tag_type_id: i64,
    nodegroup_id: i64,
    personas: Vec<Persona>,
}

fn int(v: &Value) -> i64 {
    v.as_int().unwrap_or_else(|| panic!("not an int: {v:?}"))
}

fn session_auth(session: &str) -> Value {
    struct_of(vec![("AuthMethod", Value::from("session")), ("session", Value::from(session))])
}

async fn ok(api: &Api, method: &str, params: Vec<Value>) -> bool {
    matches!(api.call(method, &params, None).await.result, Ok(Reply::Value(_)))
}

/// An enabled account at the demo site with one role.
async fn add_person(api: &Api, email: &str, password: &str, role: &str) -> i64 {
    let person = struct_of(vec![
        ("email", Value::from(email)),
        ("first_name", Value::from("Class")),
        ("last_name", Value::from(role)),
        ("password", Value::from(password)),
    ]);
    let id = int(&value(api, "AddPerson", vec![admin(), person]).await);
    value(api, "AddRoleToPerson", vec![admin(), Value::from(role), Value::Int(id)]).await;
    value(api, "AddPersonToSite", vec![admin(), Value::Int(id), Value::from("demo")]).await;
    value(api, "UpdatePerson", vec![admin(), Value::Int(id), struct_of(vec![("enabled", Value::Bool(true))])]).await;
    id
}

async fn persona(api: &Api, role: &'static str, email: &str, auth: Value) -> Persona {
    let fields = Value::Array(vec!["person_id".into(), "roles".into()]);
    let row = value(api, "GetPersons", vec![admin(), Value::from(email), fields]).await;
    let row = &row.as_array().unwrap()[0];
    let person_id = int(row.get("person_id").unwrap());
    let roles =
        row.get("roles").and_then(Value::as_array).unwrap().iter().map(|r| r.as_str().unwrap().into()).collect();
    Persona { role, auth, person_id, roles }
}

async fn world(db: &crate::support::Db) -> World {
    let api = &db.api;
    // A second address type, so that an interface's `type` can change at all.
    let mut tx = db.registry().begin_write().await.unwrap();
    tx.insert_plain("network_types", &[("type", SqlValue::text("ipv6"))]).await.unwrap();
    tx.commit().await.unwrap();

    let sites = value(api, "GetSites", vec![admin(), Value::from("demo"), Value::Array(vec!["site_id".into()])]).await;
    let site_id = int(sites.as_array().unwrap()[0].get("site_id").unwrap());
    let other = struct_of(vec![
        ("name", Value::from("Other")),
        ("abbreviated_name", Value::from("Other")),
        ("login_base", Value::from("classesother")),
    ]);
    let other_site_id = int(&value(api, "AddSite", vec![admin(), other]).await);
    // Coordinates go in pairs: with both set, either one may change alone.
    let coordinates = struct_of(vec![("latitude", Value::Double(1.5)), ("longitude", Value::Double(2.5))]);
    value(api, "UpdateSite", vec![admin(), Value::Int(site_id), coordinates]).await;
    let node = struct_of(vec![("hostname", Value::from("classes.demo.example.org"))]);
    let node_id = int(&value(api, "AddNode", vec![admin(), Value::Int(site_id), node]).await);
    let iface = struct_of(vec![("type", Value::from("ipv4")), ("method", Value::from("dhcp"))]);
    let interface_id = int(&value(api, "AddInterface", vec![admin(), Value::Int(node_id), iface]).await);

    let subject_id = add_person(api, "subject@classes.example.org", "subject-password", "user").await;
    add_person(api, "tech@classes.example.org", "tech-password", "tech").await;
    add_person(api, "user@classes.example.org", "user-password", "user").await;

    let tt = struct_of(vec![("tagname", Value::from("classes")), ("category", Value::from("general"))]);
    let tag_type_id = int(&value(api, "AddTagType", vec![admin(), tt]).await);
    let group = vec![admin(), Value::from("classes-group"), Value::Int(tag_type_id), Value::from("v")];
    let nodegroup_id = int(&value(api, "AddNodeGroup", group).await);
    let message = struct_of(vec![
        ("message_id", Value::from(MESSAGE_ID)),
        ("subject", Value::from("s")),
        ("template", Value::from("t")),
        ("enabled", Value::Bool(true)),
    ]);
    value(api, "AddMessage", vec![admin(), message]).await;

    // The table's own calls authenticate by session: a password check per call would cost
    // argon2's time hundreds of times over.
    let admin = session_auth(&session(api, admin()).await);
    let mut personas = vec![persona(api, "admin", ADMIN_EMAIL, admin.clone()).await];
    for (role, email, password) in [
        ("pi", DEMO.pi_email, DEMO.pi_password),
        ("tech", "tech@classes.example.org", "tech-password"),
        ("user", "user@classes.example.org", "user-password"),
    ] {
        // Sessions: a caller changing its own password or e-mail keeps the session it does
        // it from.
        let s = session(api, password_auth(email, password)).await;
        personas.push(persona(api, role, email, session_auth(&s)).await);
    }
    World { admin, site_id, other_site_id, node_id, interface_id, subject_id, tag_type_id, nodegroup_id, personas }
}

impl World {
    /// The object `persona` updates: techs and users can only update their own account.
    fn target(&self, class: &Class, persona: &Persona) -> Value {
        match class.table.class {
            "Site" => Value::Int(self.site_id),
            "Person" if matches!(persona.role, "tech" | "user") => Value::Int(persona.person_id),
            "Person" => Value::Int(self.subject_id),
            "Node" => Value::Int(self.node_id),
            "Interface" => Value::Int(self.interface_id),
            "TagType" => Value::Int(self.tag_type_id),
            "NodeGroup" => Value::Int(self.nodegroup_id),
            "Message" => Value::from(MESSAGE_ID),
            other => panic!("no target for {other}"),
        }
    }

    /// Two values a field can take (a field whose value is one of them takes the other); `n`
    /// keeps unique ones unique.
    fn samples(&self, class: &str, field: &str, n: usize) -> [Value; 2] {
        let s = |a: String, b: String| [Value::from(a), Value::from(b)];
        let bools = [Value::Bool(false), Value::Bool(true)];
        match (class, field) {
            ("Site", "login_base") => s(format!("classes{n}"), format!("renamed{n}")),
            ("Site", "latitude") => [Value::Double(10.5), Value::Double(-20.25)],
            ("Site", "longitude") => [Value::Double(30.5), Value::Double(-40.25)],
            ("Site", "max_slices") => [Value::Int(7), Value::Int(8)],
            ("Site", "max_slivers") => [Value::Int(70), Value::Int(80)],
            ("Site", "url") | ("Person", "url") => {
                s(format!("https://a{n}.example.org/"), format!("https://b{n}.example.org/"))
            }
            ("Person", "email") => s(format!("e{n}@classes.example.org"), format!("f{n}@classes.example.org")),
            ("Node", "hostname") => s(format!("n{n}.classes.example.org"), format!("m{n}.classes.example.org")),
            ("Interface", "hostname") => s(format!("if{n}.classes.example.org"), format!("ig{n}.classes.example.org")),
            ("Node", "node_type") => s("reservable".into(), "regular".into()),
            ("Node", "boot_state") => s("boot".into(), "safeboot".into()),
            ("Node", "site_id") => [Value::Int(self.other_site_id), Value::Int(self.site_id)],
            ("Interface", "type") => s("ipv6".into(), "ipv4".into()),
            ("Interface", "method") => s("unknown".into(), "dhcp".into()),
            ("Interface", "ip") => s("192.0.2.77".into(), "192.0.2.78".into()),
            ("Interface", "mac") => s("52:54:00:aa:bb:01".into(), "52:54:00:aa:bb:02".into()),
            ("Interface", "gateway" | "network" | "broadcast" | "netmask" | "dns1" | "dns2") => {
                s("198.51.100.1".into(), "198.51.100.2".into())
            }
            ("Interface", "bwlimit") => [Value::Int(1_000_000), Value::Int(2_000_000)],
            ("TagType", "tagname") => s(format!("classes{n}a"), format!("classes{n}b")),
            ("TagType", "category") => s(format!("cat/a{n}"), format!("cat/b{n}")),
            ("NodeGroup", "groupname") => s(format!("group{n}a"), format!("group{n}b")),
            ("Message", "message_id") => s(format!("classes-msg-{n}a"), format!("classes-msg-{n}b")),
            (_, "is_public" | "enabled" | "is_primary") => bools,
            ("Site", "name" | "abbreviated_name")
            | ("Person", "first_name" | "last_name" | "title" | "phone" | "bio" | "password")
            | ("Node", "model" | "version" | "key" | "boot_nonce" | "session")
            | ("TagType", "description")
            | ("NodeGroup", "value")
            | ("Message", "subject" | "template") => s(format!("{field} {n} a"), format!("{field} {n} b")),
            _ => panic!("{class}.{field} is writable in its description: give the table two values for it"),
        }
    }
}

/// The roles a method's declaration admits.
async fn method_roles(api: &Api, method: &str) -> Vec<String> {
    let help = value(api, "system.methodHelp", vec![Value::from(method)]).await;
    let line = help.as_str().unwrap().lines().find_map(|l| l.strip_prefix("Roles: ")).unwrap().to_string();
    line.split(", ").map(str::to_string).collect()
}

/// A field of an object as an admin reads it. A field nobody reads (a password) reads as the
/// candidate when the candidate logs its account in, nil otherwise.
async fn read(api: &Api, w: &World, class: &Class, target: &Value, field: &FieldSpec, candidate: &Value) -> Value {
    if field.readers == Readers::Nobody {
        let email = read_named(api, w, class, target, "email").await;
        let auth = password_auth(email.as_str().unwrap(), candidate.as_str().unwrap());
        return if ok(api, "AuthCheck", vec![auth]).await { candidate.clone() } else { Value::Nil };
    }
    read_named(api, w, class, target, field.name).await
}

async fn read_named(api: &Api, w: &World, class: &Class, target: &Value, name: &str) -> Value {
    let filter = Value::Array(vec![target.clone()]);
    let rows = value(api, class.get, vec![w.admin.clone(), filter, Value::Array(vec![Value::from(name)])]).await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{} {target:?}", class.table.class);
    rows[0].get(name).cloned().unwrap_or(Value::Nil)
}

/// One Update of `field` by `persona`, checked against the description: stored when the
/// persona is one of its writers, dropped otherwise; an admin puts the old value back.
async fn check_update(api: &Api, w: &World, class: &Class, field: &'static FieldSpec, persona: &Persona, n: usize) {
    let what = format!("{}.{} by {}", class.table.class, field.name, persona.role);
    let node_path = persona.role == "node";
    let target = if node_path { Value::Int(w.interface_id) } else { w.target(class, persona) };
    let [a, b] = w.samples(class.table.class, field.name, n);
    let before = read(api, w, class, &target, field, &a).await;
    let sample = if before == a { b } else { a };
    let answer = if node_path {
        // A node writes its own primary interface through BootUpdateNode, on a session an
        // admin gives it.
        let session = struct_of(vec![("session", Value::from(NODE_SESSION))]);
        value(api, "UpdateNode", vec![w.admin.clone(), Value::Int(w.node_id), session]).await;
        let network = struct_of(vec![("interface_id", target.clone()), (field.name, sample.clone())]);
        value(api, "BootUpdateNode", vec![session_auth(NODE_SESSION), struct_of(vec![("primary_network", network)])])
            .await
    } else {
        let change = struct_of(vec![(field.name, sample.clone())]);
        value(api, class.update, vec![persona.auth.clone(), target.clone(), change]).await
    };
    assert_eq!(answer, Value::Int(1), "{what}");
    let after = read(api, w, class, &target, field, &sample).await;
    if field.writers.admits(&persona.roles) {
        assert_eq!(after, sample, "{what}: a writer's value is stored");
    } else {
        assert_eq!(after, before, "{what}: a value from someone not among the writers is dropped");
    }
    if after != before && field.readers != Readers::Nobody {
        let back = struct_of(vec![(field.name, before)]);
        value(api, class.update, vec![w.admin.clone(), target, back]).await;
    }
}

/// The arguments of an Add of `class` with `extra` over a minimal valid struct, and the key of
/// the object it makes when the method answers 1 instead of the new id.
fn add_params(w: &World, class: &Class, n: usize, extra: Option<(&str, Value)>) -> (Vec<Value>, Option<Value>) {
    let text = |s: String| Value::from(s);
    let mut base: BTreeMap<String, Value> = match class.table.class {
        "Site" => [
            ("name", text(format!("Added {n}"))),
            ("abbreviated_name", text(format!("A{n}"))),
            ("login_base", text(format!("classesadd{n}"))),
            ("latitude", Value::Double(0.0)),
            ("longitude", Value::Double(0.0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        "Person" => [
            ("email", text(format!("add{n}@classes.example.org"))),
            ("first_name", text("Added".into())),
            ("last_name", text(format!("{n}"))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        "Node" => [("hostname".to_string(), text(format!("add{n}.classes.example.org")))].into(),
        "Interface" => [("type".to_string(), text("ipv4".into())), ("method".to_string(), text("dhcp".into()))].into(),
        "TagType" => {
            [("tagname".to_string(), text(format!("classesadd{n}"))), ("category".to_string(), text("general".into()))]
                .into()
        }
        "Message" => [("message_id".to_string(), text(format!("classesadd{n}")))].into(),
        other => panic!("no Add struct for {other}"),
    };
    if let Some((k, v)) = extra {
        base.insert(k.to_string(), v);
    }
    let key = (class.table.class == "Message").then(|| base["message_id"].clone());
    let params = match class.table.class {
        "Node" => vec![w.admin.clone(), Value::Int(w.site_id), Value::Struct(base)],
        "Interface" => vec![w.admin.clone(), Value::Int(w.node_id), Value::Struct(base)],
        _ => vec![w.admin.clone(), Value::Struct(base)],
    };
    (params, key)
}

/// An admin's Add naming `field`: taken, refused or dropped as the description says.
async fn check_add(api: &Api, w: &World, class: &Class, add: &str, field: &'static FieldSpec, n: usize) {
    let what = format!("{add} with {}", field.name);
    let [sample, _] = w.samples(class.table.class, field.name, n);
    match field.write.on(WriteOp::Add) {
        Given::Taken => {
            let (params, key) = add_params(w, class, n, Some((field.name, sample.clone())));
            let id = value(api, add, params).await;
            let target = key.unwrap_or(id);
            if field.readers != Readers::Nobody {
                assert_eq!(read(api, w, class, &target, field, &sample).await, sample, "{what}");
            }
        }
        Given::Refused => {
            let (params, _) = add_params(w, class, n, Some((field.name, sample)));
            let f = fault(api, add, params).await;
            assert_eq!(f.code, 102, "{what}");
            let expected =
                format!("Invalid argument: Cannot add {} with column(s) ['{}']", class.table.class, field.name);
            assert!(f.message.ends_with(&format!("{add}: {expected}")), "{what}: {}", f.message);
        }
        Given::Dropped => {
            // Dropped before any check (a value of any type passes) and never stored: the
            // object reads as one made without it.
            let (params, key) = add_params(w, class, n, None);
            let plain = key.unwrap_or(value(api, add, params).await);
            let default = read(api, w, class, &plain, field, &sample).await;
            for (i, given) in [Value::from("not a value of its type"), sample.clone()].into_iter().enumerate() {
                let (params, key) = add_params(w, class, n + 1000 * (i + 1), Some((field.name, given)));
                let id = value(api, add, params).await;
                let target = key.unwrap_or(id);
                assert_eq!(read(api, w, class, &target, field, &sample).await, default, "{what}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_writable_field_is_written_by_its_writers_and_dropped_for_others() {
    // Every writable field of every class is in this table or is a tag value.
    for table in views::ALL {
        let covered = CLASSES.iter().any(|c| std::ptr::eq(c.table, *table));
        for f in table.writable() {
            let tag_value = f.writers == Writers::TagType && TAG_CLASSES.contains(&table.class);
            assert!(covered || tag_value, "{}.{} is writable but not in the table", table.class, f.name);
        }
    }
    for db in databases().await {
        let api = &db.api;
        let w = world(&db).await;
        let mut n = 0;
        let mut checked = 0;
        for class in CLASSES {
            let admitted = method_roles(api, class.update).await;
            for field in class.table.writable() {
                n += 1;
                match field.write.on(WriteOp::Update) {
                    Given::Taken => {
                        for persona in w.personas.iter().filter(|p| admitted.iter().any(|r| r == p.role)) {
                            check_update(api, &w, class, field, persona, n).await;
                            checked += 1;
                        }
                        if class.table.class == "Interface" {
                            let node =
                                Persona { role: "node", auth: Value::Nil, person_id: 0, roles: vec!["node".into()] };
                            check_update(api, &w, class, field, &node, n).await;
                            checked += 1;
                        }
                    }
                    Given::Refused => {
                        let [sample, _] = w.samples(class.table.class, field.name, n);
                        let params = vec![
                            w.admin.clone(),
                            w.target(class, &w.personas[0]),
                            struct_of(vec![(field.name, sample)]),
                        ];
                        let f = fault(api, class.update, params).await;
                        let expected = format!(
                            "Invalid argument: Cannot update {} column(s) ['{}']",
                            class.table.class, field.name
                        );
                        assert_eq!(f.code, 102, "{}: {}", db.backend, f.message);
                        assert!(f.message.ends_with(&format!("{}: {expected}", class.update)), "{}", f.message);
                        checked += 1;
                    }
                    Given::Dropped => panic!("{}.{}: no Update drops a field", class.table.class, field.name),
                }
                if let Some(add) = class.add {
                    check_add(api, &w, class, add, field, n).await;
                    checked += 1;
                }
            }
        }
        // Not vacuous: the table ran every class's rows.
        assert!(checked > 150, "{}: {checked} checks", db.backend);
    }
}

/// A tag value's writers are decided by its tag type: admins always; anyone else needs one of
/// the type's roles (108 `Role mismatch` otherwise) and the object's site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_values_are_written_by_the_roles_of_their_tag_type() {
    for db in databases().await {
        let api = &db.api;
        let w = world(&db).await;
        assert_eq!(tag_value().writers, Writers::TagType);
        // (Add, Update, Get, the tagged object, the class)
        let tables = [
            ("AddNodeTag", "UpdateNodeTag", "GetNodeTags", w.node_id, "NodeTag"),
            ("AddInterfaceTag", "UpdateInterfaceTag", "GetInterfaceTags", w.interface_id, "InterfaceTag"),
        ];
        for (add, update, get, object, class) in tables {
            let tagname = format!("classes-{class}");
            let tt = struct_of(vec![("tagname", Value::from(tagname.as_str())), ("category", Value::from("general"))]);
            let tt = int(&value(api, "AddTagType", vec![w.admin.clone(), tt]).await);
            let id =
                value(api, add, vec![w.admin.clone(), Value::Int(object), Value::Int(tt), Value::from("by-admin")])
                    .await;
            assert_eq!(tag_value_of(api, &w, get, &id).await, Value::from("by-admin"));
            value(api, "AddRoleToTagType", vec![w.admin.clone(), Value::from("tech"), Value::Int(tt)]).await;
            for p in &w.personas[1..] {
                let given = Value::from(format!("by-{}", p.role));
                let params = vec![p.auth.clone(), id.clone(), given.clone()];
                if p.roles.iter().any(|r| r == "tech") {
                    assert_eq!(value(api, update, params).await, Value::Int(1), "{class} by {}", p.role);
                    assert_eq!(tag_value_of(api, &w, get, &id).await, given, "{class} by {}", p.role);
                } else {
                    let f = fault(api, update, params).await;
                    assert_eq!(f.code, 108, "{class} by {}: {}", p.role, f.message);
                    let expected = format!("{update}: Permission denied: Role mismatch for writing tag {tagname}");
                    assert!(f.message.ends_with(&expected), "{class}: {}", f.message);
                }
            }
            // The description's limit on a value.
            let too_long = "x".repeat(tag_value().max_bytes + 1);
            let f = fault(api, update, vec![w.admin.clone(), id.clone(), Value::from(too_long)]).await;
            assert_eq!(f.code, 102, "{class}");
            assert!(f.message.contains(&format!("must be at most {} bytes", tag_value().max_bytes)), "{}", f.message);
        }
    }
}

async fn tag_value_of(api: &Api, w: &World, get: &str, id: &Value) -> Value {
    let rows = value(api, get, vec![w.admin.clone(), id.clone(), Value::Array(vec!["value".into()])]).await;
    rows.as_array().unwrap()[0].get("value").cloned().unwrap()
}

/// A tag value's description (the same for node and interface tags).
fn tag_value() -> &'static FieldSpec {
    views::NODE_TAG.field("value").unwrap()
}
