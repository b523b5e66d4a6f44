//! The PLC classes, each described once (docs/plc-api.md §4): which fields it has, how each is
//! typed, who may read it, when (Add, Update) and by whom it may be written with which limits,
//! what SQL yields it, and which list fields are gathered from join tables. Reads (output,
//! filters, sorting) and writes (the Add*/Update* structs) both follow this description. The
//! classes play the part of upstream's `view_nodes`, `view_persons`, … views, written once for
//! both backends.

/// How a field is typed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Int,
    Bool,
    Float,
    Text,
    IntList,
    TextList,
}

impl FieldKind {
    pub fn is_list(self) -> bool {
        matches!(self, FieldKind::IntList | FieldKind::TextList)
    }
}

/// Where a list field's values come from: `SELECT owner, value FROM from WHERE owner IN (…)`.
#[derive(Debug)]
pub struct ListSource {
    pub(crate) from: &'static str,
    pub(crate) owner: &'static str,
    pub(crate) value: &'static str,
    pub(crate) order: &'static str,
}

#[derive(Debug)]
pub(crate) enum Source {
    /// An SQL expression over the main table, aliased `t`.
    Expr(&'static str),
    List(ListSource),
    /// A list upstream fills from tables this registry does not model (slices, PCUs, conf
    /// files, …): always empty here, kept so clients that read the field keep working.
    Unmodelled,
}

/// Who may read a field. The same declaration governs output, filters, patterns and sorting:
/// a field a caller may not read cannot be compared against either, or a binary search over
/// `<`/`>` or `*` patterns would recover it one character at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// Every caller that may call the method.
    Anyone,
    /// Administrators (persons with the admin role) only: secrets such as node keys.
    Admins,
    /// Nobody, administrators included: a field that is only ever written (a person's
    /// password). Clients cannot name it in return fields, filters or sorting at all.
    Nobody,
}

/// Whether an Add* or an Update* struct is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    Add,
    Update,
}

/// What an Add* or Update* struct naming a field gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// The struct is refused (102 `Cannot add <Class> with column(s) [...]` / `Cannot update
    /// <Class> column(s) [...]`).
    Refused,
    /// The key is dropped silently before any check, whatever its value (upstream's AddPerson
    /// and `enabled`: new accounts are always disabled).
    Dropped,
    /// The value is checked (type, `max_bytes`, `nullok`) and stored if the caller is one of
    /// the field's [`Writers`].
    Taken,
}

/// When a client may write a field: through which of the class's Add* and Update* methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Read-only (ids, timestamps, lists, values the server sets itself).
    Never,
    /// Named on Add only (a message template's id).
    Add,
    /// Named on Update only (a node's key, site and session); an Add naming it is refused.
    Update,
    /// Named on Update only; an Add drops it silently (a person's `enabled`).
    UpdateDroppedOnAdd,
    /// Named on Add and on Update.
    Always,
}

impl Write {
    pub fn on(self, op: WriteOp) -> Given {
        match (self, op) {
            (Write::Always, _) | (Write::Add, WriteOp::Add) => Given::Taken,
            (Write::Update | Write::UpdateDroppedOnAdd, WriteOp::Update) => Given::Taken,
            (Write::UpdateDroppedOnAdd, WriteOp::Add) => Given::Dropped,
            _ => Given::Refused,
        }
    }
}

/// Who may write a field the method lets them write at all. The method's roles and its own
/// checks of the object (site membership, the account's owner, a local node) come first; a
/// caller they admit but who is not one of the field's writers has the value dropped silently,
/// as upstream drops it (UpdateSite's `login_base` for a PI, UpdateNode's `key` for a tech).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writers {
    /// Callers holding one of these roles (names as in the `roles` table; a node caller holds
    /// `node`). Empty for read-only fields.
    Roles(&'static [&'static str]),
    /// Decided per object by the tag type (docs/plc-api.md §4.3, §4.4): administrators always;
    /// anyone else needs one of the tag type's roles and the object's site (a node: itself).
    TagType,
}

impl Writers {
    /// Whether a caller holding `roles` is one of the writers; always false for
    /// [`Writers::TagType`], which needs the tag type (the method decides).
    pub fn admits<S: AsRef<str>>(self, roles: &[S]) -> bool {
        match self {
            Writers::Roles(names) => roles.iter().any(|r| names.contains(&r.as_ref())),
            Writers::TagType => false,
        }
    }
}

/// One field of a class: how it is typed, who may read it, when and by whom it may be written
/// with which limits, and what SQL yields it. The one description reads (output, filters,
/// sorting) and writes (Add*/Update* structs) both follow.
#[derive(Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub readers: Readers,
    pub write: Write,
    pub writers: Writers,
    /// The most UTF-8 bytes a written text value may have (0 for other kinds).
    pub max_bytes: usize,
    /// Whether nil may be written.
    pub nullok: bool,
    pub(crate) source: Source,
}

impl FieldSpec {
    /// The column of the class's table the field is stored in, when it is one (`key` is
    /// `node_key`); none for fields computed from other tables (a node's `session`).
    pub fn column(&self) -> Option<&'static str> {
        match self.source {
            Source::Expr(e) => {
                e.strip_prefix("t.").filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
            }
            _ => None,
        }
    }

    const fn writable(self, write: Write, writers: &'static [&'static str]) -> FieldSpec {
        FieldSpec { write, writers: Writers::Roles(writers), ..self }
    }

    const fn bytes(self, max_bytes: usize) -> FieldSpec {
        FieldSpec { max_bytes, ..self }
    }

    const fn not_null(self) -> FieldSpec {
        FieldSpec { nullok: false, ..self }
    }
}

/// Tags of a class that can be read as pseudo-fields (`arch` on a Node, `ifname` on an Interface).
#[derive(Debug)]
pub(crate) struct TagSource {
    pub(crate) table: &'static str,
    pub(crate) owner: &'static str,
}

/// One PLC class.
#[derive(Debug)]
pub struct TableSpec {
    /// The class name used in fault texts (`Node`, `Site`, …).
    pub class: &'static str,
    pub(crate) from: &'static str,
    /// The primary key field (an Int field of `fields`).
    pub primary_key: &'static str,
    pub(crate) primary_key_expr: &'static str,
    /// The field strings in a list filter are matched against (hostname, login_base, …).
    pub secondary_key: Option<&'static str>,
    /// Rows outside this condition (soft-deleted ones) are invisible.
    pub(crate) live: Option<&'static str>,
    pub fields: &'static [FieldSpec],
    pub(crate) tags: Option<TagSource>,
}

impl TableSpec {
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn has_tags(&self) -> bool {
        self.tags.is_some()
    }
    /// The fields an Add* or Update* struct may name.
    pub fn writable(&self) -> impl Iterator<Item = &'static FieldSpec> + use<> {
        let fields: &'static [FieldSpec] = self.fields;
        fields.iter().filter(|f| f.write != Write::Never)
    }
}

const READ_ONLY: Writers = Writers::Roles(&[]);

const fn col(name: &'static str, kind: FieldKind, expr: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        readers: Readers::Anyone,
        write: Write::Never,
        writers: READ_ONLY,
        max_bytes: 0,
        nullok: true,
        source: Source::Expr(expr),
    }
}
/// A column only administrators may read (or filter or sort on).
const fn secret(name: &'static str, kind: FieldKind, expr: &'static str) -> FieldSpec {
    FieldSpec { readers: Readers::Admins, ..col(name, kind, expr) }
}
/// A column nobody reads back through the API, only writes.
const fn write_only(name: &'static str, kind: FieldKind, expr: &'static str) -> FieldSpec {
    FieldSpec { readers: Readers::Nobody, ..col(name, kind, expr) }
}
const fn list(
    name: &'static str,
    kind: FieldKind,
    from: &'static str,
    owner: &'static str,
    value: &'static str,
    order: &'static str,
) -> FieldSpec {
    FieldSpec { source: Source::List(ListSource { from, owner, value, order }), ..col(name, kind, "") }
}
const fn unmodelled(name: &'static str) -> FieldSpec {
    FieldSpec { source: Source::Unmodelled, ..col(name, FieldKind::IntList, "") }
}

/// Writer role sets (names as in the `roles` table).
const ADMIN: &[&str] = &["admin"];
const ADMIN_PI: &[&str] = &["admin", "pi"];
const ADMIN_PI_TECH: &[&str] = &["admin", "pi", "tech"];
const ADMIN_PI_TECH_NODE: &[&str] = &["admin", "pi", "tech", "node"];
const ADMIN_PI_TECH_USER: &[&str] = &["admin", "pi", "tech", "user"];

use Write::{Add, Always, Update, UpdateDroppedOnAdd};

use FieldKind::{Bool, Float, Int, IntList, Text, TextList};

pub static NODE: TableSpec = TableSpec {
    class: "Node",
    from: "nodes t",
    primary_key: "node_id",
    primary_key_expr: "t.node_id",
    secondary_key: Some("hostname"),
    live: Some(node_live!("t")),
    tags: Some(TagSource { table: "node_tag", owner: "node_id" }),
    fields: &[
        col("node_id", Int, "t.node_id"),
        col("node_type", Text, "t.node_type").writable(Always, ADMIN_PI_TECH).bytes(20).not_null(),
        col("hostname", Text, "t.hostname").writable(Always, ADMIN_PI_TECH).bytes(255).not_null(),
        col("site_id", Int, "t.site_id").writable(Update, ADMIN).not_null(),
        col("boot_state", Text, "t.boot_state").writable(Always, ADMIN_PI_TECH).bytes(20).not_null(),
        // The node itself writes its run level and ssh key (ReportRunlevel, BootUpdateNode).
        col("run_level", Text, "t.run_level"),
        col("model", Text, "t.model").writable(Always, ADMIN_PI_TECH).bytes(255),
        secret("boot_nonce", Text, "t.boot_nonce").writable(Update, ADMIN).bytes(128),
        col("version", Text, "t.version").writable(Always, ADMIN_PI_TECH).bytes(64),
        col("ssh_rsa_key", Text, "t.ssh_rsa_key"),
        secret("key", Text, "t.node_key").writable(Update, ADMIN).bytes(256),
        // Written into the sessions table, not a column: set or cleared by an admin.
        secret("session", Text, "(SELECT s.session_id FROM sessions s WHERE s.node_id = t.node_id)")
            .writable(Update, ADMIN)
            .bytes(256),
        col("verified", Bool, "t.verified"),
        col("date_created", Int, "t.date_created"),
        col("last_updated", Int, "t.last_updated"),
        col("last_contact", Int, "t.last_contact"),
        col("last_boot", Int, "t.last_boot"),
        col("last_download", Int, "t.last_download"),
        col("last_pcu_reboot", Int, "t.last_pcu_reboot"),
        col("last_pcu_confirmation", Int, "t.last_pcu_confirmation"),
        col("last_time_spent_online", Int, "t.last_time_spent_online"),
        col("last_time_spent_offline", Int, "t.last_time_spent_offline"),
        col("peer_id", Int, "t.peer_id"),
        col("peer_node_id", Int, "t.peer_node_id"),
        list(
            "interface_ids",
            IntList,
            "interfaces i",
            "i.node_id",
            "i.interface_id",
            "i.is_primary DESC, i.interface_id",
        ),
        list("node_tag_ids", IntList, "node_tag nt", "nt.node_id", "nt.node_tag_id", "nt.node_tag_id"),
        list(
            "nodegroup_ids",
            IntList,
            "node_tag nt JOIN nodegroups ng ON ng.tag_type_id = nt.tag_type_id AND ng.value = nt.value",
            "nt.node_id",
            "ng.nodegroup_id",
            "ng.nodegroup_id",
        ),
        unmodelled("conf_file_ids"),
        unmodelled("slice_ids"),
        unmodelled("slice_ids_whitelist"),
        unmodelled("pcu_ids"),
        unmodelled("ports"),
    ],
};

pub static INTERFACE: TableSpec = TableSpec {
    class: "Interface",
    from: "interfaces t",
    primary_key: "interface_id",
    primary_key_expr: "t.interface_id",
    secondary_key: Some("ip"),
    live: None,
    tags: Some(TagSource { table: "interface_tag", owner: "interface_id" }),
    fields: &[
        col("interface_id", Int, "t.interface_id"),
        col("node_id", Int, "t.node_id"),
        col("is_primary", Bool, "t.is_primary").writable(Always, ADMIN_PI_TECH).not_null(),
        col("type", Text, "t.type").writable(Always, ADMIN_PI_TECH).bytes(20).not_null(),
        // `node` among the writers: what a node may change on its own primary interface
        // through BootUpdateNode (upstream's `can_update`); it may not change its address.
        col("method", Text, "t.method").writable(Always, ADMIN_PI_TECH_NODE).bytes(20).not_null(),
        col("ip", Text, "t.ip").writable(Always, ADMIN_PI_TECH).bytes(254),
        col("mac", Text, "t.mac").writable(Always, ADMIN_PI_TECH_NODE).bytes(18),
        col("gateway", Text, "t.gateway").writable(Always, ADMIN_PI_TECH_NODE).bytes(254),
        col("network", Text, "t.network").writable(Always, ADMIN_PI_TECH_NODE).bytes(254),
        col("broadcast", Text, "t.broadcast").writable(Always, ADMIN_PI_TECH_NODE).bytes(254),
        col("netmask", Text, "t.netmask").writable(Always, ADMIN_PI_TECH_NODE).bytes(254),
        col("dns1", Text, "t.dns1").writable(Always, ADMIN_PI_TECH_NODE).bytes(254),
        col("dns2", Text, "t.dns2").writable(Always, ADMIN_PI_TECH_NODE).bytes(254),
        col("bwlimit", Int, "t.bwlimit").writable(Always, ADMIN_PI_TECH),
        col("hostname", Text, "t.hostname").writable(Always, ADMIN_PI_TECH).bytes(255),
        col("last_updated", Int, "t.last_updated"),
        list(
            "interface_tag_ids",
            IntList,
            "interface_tag it",
            "it.interface_id",
            "it.interface_tag_id",
            "it.interface_tag_id",
        ),
    ],
};

pub static SITE: TableSpec = TableSpec {
    class: "Site",
    from: "sites t",
    primary_key: "site_id",
    primary_key_expr: "t.site_id",
    secondary_key: Some("login_base"),
    live: Some(site_live!("t")),
    tags: None,
    fields: &[
        col("site_id", Int, "t.site_id"),
        col("name", Text, "t.name").writable(Always, ADMIN_PI).bytes(254).not_null(),
        col("abbreviated_name", Text, "t.abbreviated_name").writable(Always, ADMIN_PI).bytes(50).not_null(),
        col("login_base", Text, "t.login_base").writable(Always, ADMIN).bytes(32).not_null(),
        col("is_public", Bool, "t.is_public").writable(Always, ADMIN_PI).not_null(),
        col("enabled", Bool, "t.enabled").writable(Always, ADMIN_PI).not_null(),
        col("latitude", Float, "t.latitude").writable(Always, ADMIN_PI),
        col("longitude", Float, "t.longitude").writable(Always, ADMIN_PI),
        col("url", Text, "t.url").writable(Always, ADMIN_PI).bytes(254),
        col("max_slices", Int, "t.max_slices").writable(Always, ADMIN).not_null(),
        col("max_slivers", Int, "t.max_slivers").writable(Always, ADMIN).not_null(),
        col("date_created", Int, "t.date_created"),
        col("last_updated", Int, "t.last_updated"),
        col("peer_id", Int, "t.peer_id"),
        col("peer_site_id", Int, "t.peer_site_id"),
        col("ext_consortium_id", Int, "t.ext_consortium_id"),
        list(
            "person_ids",
            IntList,
            concat!("person_site ps JOIN persons p ON p.person_id = ps.person_id AND ", person_live!("p")),
            "ps.site_id",
            "ps.person_id",
            "ps.person_id",
        ),
        list(
            "node_ids",
            IntList,
            concat!("(SELECT t.node_id, t.site_id FROM nodes t WHERE ", node_live!("t"), ") n"),
            "n.site_id",
            "n.node_id",
            "n.node_id",
        ),
        unmodelled("slice_ids"),
        unmodelled("address_ids"),
        unmodelled("pcu_ids"),
        unmodelled("site_tag_ids"),
    ],
};

pub static PERSON: TableSpec = TableSpec {
    class: "Person",
    from: "persons t",
    primary_key: "person_id",
    primary_key_expr: "t.person_id",
    secondary_key: Some("email"),
    live: Some(person_live!("t")),
    tags: None,
    fields: &[
        col("person_id", Int, "t.person_id"),
        col("first_name", Text, "t.first_name").writable(Always, ADMIN_PI_TECH_USER).bytes(128).not_null(),
        col("last_name", Text, "t.last_name").writable(Always, ADMIN_PI_TECH_USER).bytes(128).not_null(),
        col("title", Text, "t.title").writable(Always, ADMIN_PI_TECH_USER).bytes(128),
        col("email", Text, "t.email").writable(Always, ADMIN_PI_TECH_USER).bytes(254).not_null(),
        col("phone", Text, "t.phone").writable(Always, ADMIN_PI_TECH_USER).bytes(64),
        col("url", Text, "t.url").writable(Always, ADMIN_PI_TECH_USER).bytes(254),
        col("bio", Text, "t.bio").writable(Always, ADMIN_PI_TECH_USER).bytes(254),
        // Stored hashed; never returned (docs/plc-api.md §4.8).
        write_only("password", Text, "t.password").writable(Always, ADMIN_PI_TECH_USER).bytes(254).not_null(),
        col("enabled", Bool, "t.enabled").writable(UpdateDroppedOnAdd, ADMIN_PI).not_null(),
        secret("verification_key", Text, "t.verification_key"),
        secret("verification_expires", Int, "t.verification_expires"),
        col("date_created", Int, "t.date_created"),
        col("last_updated", Int, "t.last_updated"),
        col("peer_id", Int, "t.peer_id"),
        col("peer_person_id", Int, "t.peer_person_id"),
        list("role_ids", IntList, "person_role pr", "pr.person_id", "pr.role_id", "pr.role_id"),
        list(
            "roles",
            TextList,
            "person_role pr JOIN roles r ON r.role_id = pr.role_id",
            "pr.person_id",
            "r.name",
            "r.role_id",
        ),
        list(
            "site_ids",
            IntList,
            concat!("person_site ps JOIN sites s ON s.site_id = ps.site_id AND ", site_live!("s")),
            "ps.person_id",
            "ps.site_id",
            "ps.is_primary DESC, ps.site_id",
        ),
        unmodelled("key_ids"),
        unmodelled("slice_ids"),
        unmodelled("person_tag_ids"),
    ],
};

pub static TAG_TYPE: TableSpec = TableSpec {
    class: "TagType",
    from: "tag_types t",
    primary_key: "tag_type_id",
    primary_key_expr: "t.tag_type_id",
    secondary_key: Some("tagname"),
    live: None,
    tags: None,
    fields: &[
        col("tag_type_id", Int, "t.tag_type_id"),
        col("tagname", Text, "t.tagname").writable(Always, ADMIN).bytes(100).not_null(),
        col("description", Text, "t.description").writable(Always, ADMIN).bytes(254),
        col("category", Text, "t.category").writable(Always, ADMIN).bytes(64).not_null(),
        list("role_ids", IntList, "tag_type_role ttr", "ttr.tag_type_id", "ttr.role_id", "ttr.role_id"),
        list(
            "roles",
            TextList,
            "tag_type_role ttr JOIN roles r ON r.role_id = ttr.role_id",
            "ttr.tag_type_id",
            "r.name",
            "r.role_id",
        ),
    ],
};

/// A tag's value: given to Add*Tag and Update*Tag as an argument; who may write it depends on
/// the tag type.
const fn tag_value() -> FieldSpec {
    FieldSpec { write: Always, writers: Writers::TagType, ..col("value", Text, "t.value").bytes(65535).not_null() }
}

const TAGNAME: &str = "(SELECT tt.tagname FROM tag_types tt WHERE tt.tag_type_id = t.tag_type_id)";
const TAG_DESCRIPTION: &str = "(SELECT tt.description FROM tag_types tt WHERE tt.tag_type_id = t.tag_type_id)";
const TAG_CATEGORY: &str = "(SELECT tt.category FROM tag_types tt WHERE tt.tag_type_id = t.tag_type_id)";

pub static NODE_TAG: TableSpec = TableSpec {
    class: "NodeTag",
    from: "node_tag t",
    primary_key: "node_tag_id",
    primary_key_expr: "t.node_tag_id",
    secondary_key: None,
    live: None,
    tags: None,
    fields: &[
        col("node_tag_id", Int, "t.node_tag_id"),
        col("node_id", Int, "t.node_id"),
        col("hostname", Text, "(SELECT n.hostname FROM nodes n WHERE n.node_id = t.node_id)"),
        col("tag_type_id", Int, "t.tag_type_id"),
        col("tagname", Text, TAGNAME),
        col("description", Text, TAG_DESCRIPTION),
        col("category", Text, TAG_CATEGORY),
        tag_value(),
    ],
};

pub static INTERFACE_TAG: TableSpec = TableSpec {
    class: "InterfaceTag",
    from: "interface_tag t",
    primary_key: "interface_tag_id",
    primary_key_expr: "t.interface_tag_id",
    secondary_key: None,
    live: None,
    tags: None,
    fields: &[
        col("interface_tag_id", Int, "t.interface_tag_id"),
        col("interface_id", Int, "t.interface_id"),
        col("ip", Text, "(SELECT i.ip FROM interfaces i WHERE i.interface_id = t.interface_id)"),
        col("tag_type_id", Int, "t.tag_type_id"),
        col("tagname", Text, TAGNAME),
        col("description", Text, TAG_DESCRIPTION),
        col("category", Text, TAG_CATEGORY),
        tag_value(),
    ],
};

pub static NODE_GROUP: TableSpec = TableSpec {
    class: "NodeGroup",
    from: "nodegroups t",
    primary_key: "nodegroup_id",
    primary_key_expr: "t.nodegroup_id",
    secondary_key: Some("groupname"),
    live: None,
    tags: None,
    fields: &[
        col("nodegroup_id", Int, "t.nodegroup_id"),
        // AddNodeGroup takes the group's name and value as arguments, UpdateNodeGroup in a struct.
        col("groupname", Text, "t.groupname").writable(Always, ADMIN).bytes(50).not_null(),
        col("tag_type_id", Int, "t.tag_type_id"),
        col("tagname", Text, TAGNAME),
        col("value", Text, "t.value").writable(Always, ADMIN).bytes(254).not_null(),
        list(
            "node_ids",
            IntList,
            concat!(
                "nodegroups ng JOIN node_tag nt ON nt.tag_type_id = ng.tag_type_id AND nt.value = ng.value \
                 JOIN nodes n ON n.node_id = nt.node_id AND ",
                node_live!("n")
            ),
            "ng.nodegroup_id",
            "nt.node_id",
            "nt.node_id",
        ),
        unmodelled("conf_file_ids"),
    ],
};

pub static ROLE: TableSpec = TableSpec {
    class: "Role",
    from: "roles t",
    primary_key: "role_id",
    primary_key_expr: "t.role_id",
    secondary_key: Some("name"),
    live: None,
    tags: None,
    fields: &[col("role_id", Int, "t.role_id"), col("name", Text, "t.name")],
};

pub static EVENT: TableSpec = TableSpec {
    class: "Event",
    from: "events t",
    primary_key: "event_id",
    primary_key_expr: "t.event_id",
    secondary_key: None,
    live: None,
    tags: None,
    fields: &[
        col("event_id", Int, "t.event_id"),
        col("person_id", Int, "t.person_id"),
        col("node_id", Int, "t.node_id"),
        col("auth_type", Text, "t.auth_type"),
        col("fault_code", Int, "t.fault_code"),
        col("call_name", Text, "t.call_name"),
        col("call", Text, "t.call"),
        col("message", Text, "t.message"),
        col("runtime", Float, "t.runtime"),
        col("time", Int, "t.time"),
        list("object_ids", IntList, "event_object eo", "eo.event_id", "eo.object_id", "eo.object_type, eo.object_id"),
        list(
            "object_types",
            TextList,
            "event_object eo",
            "eo.event_id",
            "eo.object_type",
            "eo.object_type, eo.object_id",
        ),
    ],
};

pub static EVENT_OBJECT: TableSpec = TableSpec {
    class: "EventObject",
    from: "event_object eo JOIN events t ON t.event_id = eo.event_id",
    primary_key: "event_id",
    primary_key_expr: "t.event_id",
    secondary_key: None,
    live: None,
    tags: None,
    fields: &[
        col("event_id", Int, "t.event_id"),
        col("person_id", Int, "t.person_id"),
        col("node_id", Int, "t.node_id"),
        col("fault_code", Int, "t.fault_code"),
        col("call_name", Text, "t.call_name"),
        col("call", Text, "t.call"),
        col("message", Text, "t.message"),
        col("runtime", Float, "t.runtime"),
        col("time", Int, "t.time"),
        col("object_id", Int, "eo.object_id"),
        col("object_type", Text, "eo.object_type"),
    ],
};

/// The issued-media ledger (an extension: upstream keeps none). The key a medium carries, the
/// download capability and the stored plnode.txt are not fields: they never leave the server.
pub static ISSUED_MEDIUM: TableSpec = TableSpec {
    class: "IssuedMedium",
    from: "issued_media t JOIN nodes n ON n.node_id = t.node_id",
    primary_key: "issued_medium_id",
    primary_key_expr: "t.issued_medium_id",
    // A string in a list filter is an image's checksum: "was this image issued?".
    secondary_key: Some("sha256"),
    live: None,
    tags: None,
    fields: &[
        col("issued_medium_id", Int, "t.issued_medium_id"),
        col("node_id", Int, "t.node_id"),
        col("hostname", Text, "n.hostname"),
        col("site_id", Int, "n.site_id"),
        col("action", Text, "t.action"),
        list("options", TextList, "issued_medium_option o", "o.issued_medium_id", "o.value", "o.position"),
        col("image_type", Text, "t.image_type"),
        col("console", Text, "t.console"),
        col("kargs", Text, "t.kargs"),
        col("variant", Text, "t.variant"),
        col("reference_family", Text, "t.reference_family"),
        col("reference_version", Text, "t.reference_version"),
        col("key_generation", Int, "t.key_generation"),
        col("sha256", Text, "t.sha256"),
        col("size", Int, "t.size"),
        col("person_id", Int, "t.person_id"),
        col("issued", Int, "t.issued"),
        col("superseded_by", Int, "t.superseded_by"),
        col("filename", Text, "t.filename"),
        col("download_expires", Int, "t.download_expires"),
    ],
};

/// Message templates (docs/plc-api.md §12.5). Their key is the text `message_id`, so a list filter's
/// strings name templates (GetMessages refuses integers and sorts by message_id). Reads carry an
/// integer row key, which here is only a stand-in (`LENGTH`): no list fields or tags hang off a
/// message, so nothing joins on it.
pub static MESSAGE: TableSpec = TableSpec {
    class: "Message",
    from: "messages t",
    primary_key: "message_id",
    primary_key_expr: "LENGTH(t.message_id)",
    secondary_key: Some("message_id"),
    live: None,
    tags: None,
    fields: &[
        col("message_id", Text, "t.message_id").writable(Add, ADMIN).bytes(255).not_null(),
        col("subject", Text, "t.subject").writable(Always, ADMIN).bytes(1024),
        col("template", Text, "t.template").writable(Always, ADMIN).bytes(65536),
        col("enabled", Bool, "t.enabled").writable(Always, ADMIN).not_null(),
    ],
};

/// Every class, for checks that must hold for all of them (field visibility, say).
pub static ALL: &[&TableSpec] = &[
    &NODE,
    &INTERFACE,
    &SITE,
    &PERSON,
    &TAG_TYPE,
    &NODE_TAG,
    &INTERFACE_TAG,
    &NODE_GROUP,
    &ROLE,
    &EVENT,
    &EVENT_OBJECT,
    &ISSUED_MEDIUM,
    &MESSAGE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_each_operation_takes_a_field() {
        use Given::{Dropped, Refused, Taken};
        let table = [
            (Write::Never, Refused, Refused),
            (Write::Add, Taken, Refused),
            (Write::Update, Refused, Taken),
            (Write::UpdateDroppedOnAdd, Dropped, Taken),
            (Write::Always, Taken, Taken),
        ];
        for (write, add, update) in table {
            assert_eq!((write.on(WriteOp::Add), write.on(WriteOp::Update)), (add, update), "{write:?}");
        }
    }

    #[test]
    fn writers_are_roles_or_the_tag_type() {
        assert!(Writers::Roles(ADMIN_PI).admits(&["user", "pi"]));
        assert!(!Writers::Roles(ADMIN_PI).admits(&["user", "tech"]));
        assert!(!Writers::Roles(ADMIN_PI).admits::<&str>(&[]));
        assert!(!READ_ONLY.admits(&["admin"]));
        // The tag type decides, not the caller's roles alone.
        assert!(!Writers::TagType.admits(&["admin"]));
    }

    /// The writers upstream fixes for its sensitive fields, written out here rather than read
    /// back from the description (the table test in plc follows the description, so it would
    /// pass with these widened), and every writer is a role that exists.
    #[test]
    fn sensitive_fields_keep_upstreams_writers() {
        let pinned: [(&TableSpec, &str, &[&str]); 8] = [
            (&SITE, "login_base", ADMIN),
            (&SITE, "max_slices", ADMIN),
            (&SITE, "max_slivers", ADMIN),
            (&NODE, "key", ADMIN),
            (&NODE, "session", ADMIN),
            (&NODE, "boot_nonce", ADMIN),
            (&NODE, "site_id", ADMIN),
            (&PERSON, "enabled", ADMIN_PI),
        ];
        for (table, name, roles) in pinned {
            let field = table.field(name).unwrap_or_else(|| panic!("{} has no {name}", table.class));
            assert_eq!(field.writers, Writers::Roles(roles), "{}.{name}", table.class);
        }
        for field in ALL.iter().flat_map(|t| t.fields) {
            if let Writers::Roles(roles) = field.writers {
                let known = ["admin", "pi", "tech", "user", "node"];
                assert!(roles.iter().all(|r| known.contains(r)), "{}: {roles:?}", field.name);
            }
        }
    }

    /// What every class description must hold for writes to be well defined.
    #[test]
    fn every_writable_field_is_described_completely() {
        let mut writable = 0;
        for table in ALL {
            for f in table.fields {
                let what = format!("{}.{}", table.class, f.name);
                if f.write == Write::Never {
                    assert_eq!(f.writers, READ_ONLY, "{what}: read-only fields have no writers");
                    continue;
                }
                writable += 1;
                assert!(!f.kind.is_list(), "{what}: lists are written by their own methods");
                assert_ne!(f.writers, READ_ONLY, "{what}: a writable field needs writers");
                // Only text has a length limit, and every text has one.
                assert_eq!(f.max_bytes > 0, f.kind == FieldKind::Text, "{what}");
                // Stored in a column of its own table, but for a node's session (the sessions
                // table).
                assert_eq!(f.column().is_some(), what != "Node.session", "{what}");
            }
        }
        assert_eq!(NODE.field("key").and_then(FieldSpec::column), Some("node_key"));
        assert!(writable > 50, "{writable}");
    }
}
