//! The method table: every PLCAPI method this server answers, with its roles and parameters,
//! and the dispatch from a name to its implementation.

mod accessors;
pub(crate) mod boot_medium;
mod common;
mod interfaces;
mod issued_media;
pub(crate) mod medium_options;
mod messages;
mod misc;
mod node_boot;
mod nodes;
mod persons;
mod sessions;
mod sites;
mod tags;

use crate::args::Args;
use crate::args::{FILTER, INT_OR_STR, Param, RETURN_FIELDS, Ty};
use crate::context::{Cx, Handler, MethodSpec, Writes, handler};
use crate::fault::{Fault, MethodResult};
use crate::roles::{self, Role};
use bootmedium_xmlrpc::Value;
use std::sync::LazyLock;

pub(crate) use accessors::ACCESSORS;

const fn p(name: &'static str, ty: Ty) -> Param {
    Param { name, ty }
}

/// One method's facts, in the order the table lists them.
#[allow(clippy::too_many_arguments)]
const fn spec(
    name: &'static str,
    roles: &'static [Role],
    params: &'static [Param],
    required: usize,
    returns: &'static str,
    doc: &'static str,
    writes: Writes,
    handler: Handler,
) -> MethodSpec {
    MethodSpec {
        name,
        roles,
        params,
        required,
        returns,
        doc,
        writes,
        checks_own_auth: false,
        inline_medium: None,
        handler,
    }
}

const GET: &[Param] = &[p("filter", FILTER), p("return_fields", RETURN_FIELDS)];
const NODE_ARG: Param = p("node_id_or_hostname", INT_OR_STR);
const SITE_ARG: Param = p("site_id_or_login_base", INT_OR_STR);
const PERSON_ARG: Param = p("person_id_or_email", INT_OR_STR);
const TAG_TYPE_ARG: Param = p("tag_type_id_or_name", INT_OR_STR);
const ROLE_ARG: Param = p("role_id_or_name", INT_OR_STR);
const MESSAGE_ARG: Param = p("message_id", Ty::Str);

use roles::{
    ADMIN, ADMIN_NODE, ADMIN_PI, ADMIN_PI_TECH, ADMIN_PI_TECH_USER, ADMIN_USER_NODE, ALL, ALL_AND_ANONYMOUS, NODE,
};

const R: Writes = Writes::No;
const W: Writes = Writes::Yes;

static BASE: &[MethodSpec] = &[
    spec(
        "AddSite",
        ADMIN,
        &[p("site_fields", Ty::Struct)],
        1,
        "int new site_id",
        "Adds a site.",
        W,
        handler!(sites::add_site),
    ),
    spec(
        "GetSites",
        ALL_AND_ANONYMOUS,
        GET,
        0,
        "array of site structs",
        "Returns sites matching the filter.",
        R,
        handler!(sites::get_sites),
    ),
    spec(
        "UpdateSite",
        ADMIN_PI,
        &[SITE_ARG, p("site_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates a site.",
        W,
        handler!(sites::update_site),
    ),
    spec(
        "DeleteSite",
        ADMIN,
        &[SITE_ARG],
        1,
        "int 1",
        "Deletes a site, its nodes and memberships.",
        W,
        handler!(sites::delete_site),
    ),
    spec(
        "AddPerson",
        ADMIN_PI,
        &[p("person_fields", Ty::Struct)],
        1,
        "int new person_id",
        "Adds a disabled account.",
        W,
        handler!(persons::add_person),
    ),
    spec(
        "GetPersons",
        ALL,
        &[p("person_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of person structs",
        "Returns accounts visible to the caller.",
        R,
        handler!(persons::get_persons),
    ),
    spec(
        "UpdatePerson",
        ADMIN_PI_TECH_USER,
        &[PERSON_ARG, p("person_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates an account.",
        W,
        handler!(persons::update_person),
    ),
    spec(
        "DeletePerson",
        ADMIN_PI_TECH_USER,
        &[PERSON_ARG],
        1,
        "int 1",
        "Deletes an account.",
        W,
        handler!(persons::delete_person),
    ),
    spec(
        "AddRoleToPerson",
        ADMIN_PI,
        &[ROLE_ARG, PERSON_ARG],
        2,
        "int 1",
        "Grants a role.",
        W,
        handler!(persons::add_role_to_person),
    ),
    spec(
        "DeleteRoleFromPerson",
        ADMIN_PI,
        &[ROLE_ARG, PERSON_ARG],
        2,
        "int 1",
        "Revokes a role.",
        W,
        handler!(persons::delete_role_from_person),
    ),
    spec(
        "AddPersonToSite",
        ADMIN,
        &[PERSON_ARG, SITE_ARG],
        2,
        "int 1",
        "Makes a person a member of a site.",
        W,
        handler!(persons::add_person_to_site),
    ),
    spec(
        "DeletePersonFromSite",
        ADMIN,
        &[PERSON_ARG, SITE_ARG],
        2,
        "int 1",
        "Removes a person from a site.",
        W,
        handler!(persons::delete_person_from_site),
    ),
    spec(
        "SetPersonPrimarySite",
        ADMIN_PI_TECH_USER,
        &[PERSON_ARG, SITE_ARG],
        2,
        "int 1",
        "Sets a person's primary site.",
        W,
        handler!(persons::set_person_primary_site),
    ),
    spec(
        "AddNode",
        ADMIN_PI_TECH,
        &[SITE_ARG, p("node_fields", Ty::Struct)],
        2,
        "int new node_id",
        "Adds a node to a site.",
        W,
        handler!(nodes::add_node),
    ),
    spec(
        "GetNodes",
        ALL_AND_ANONYMOUS,
        &[p("node_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of node structs",
        "Returns nodes matching the filter.",
        R,
        handler!(nodes::get_nodes),
    ),
    spec(
        "UpdateNode",
        ADMIN_PI_TECH,
        &[NODE_ARG, p("node_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates a node.",
        W,
        handler!(nodes::update_node),
    ),
    spec(
        "DeleteNode",
        ADMIN_PI_TECH,
        &[NODE_ARG],
        1,
        "int 1",
        "Deletes a node and its interfaces and tags.",
        W,
        handler!(nodes::delete_node),
    ),
    spec(
        "AddInterface",
        ADMIN_PI_TECH,
        &[NODE_ARG, p("interface_fields", Ty::Struct)],
        2,
        "int new interface_id",
        "Adds an interface to a node.",
        W,
        handler!(interfaces::add_interface),
    ),
    spec(
        "GetInterfaces",
        ALL_AND_ANONYMOUS,
        &[p("interface_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of interface structs",
        "Returns interfaces matching the filter.",
        R,
        handler!(interfaces::get_interfaces),
    ),
    spec(
        "UpdateInterface",
        ADMIN_PI_TECH,
        &[p("interface_id", Ty::Int), p("interface_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates an interface.",
        W,
        handler!(interfaces::update_interface),
    ),
    spec(
        "DeleteInterface",
        ADMIN_PI_TECH,
        &[p("interface_id", Ty::Int)],
        1,
        "int 1",
        "Deletes an interface.",
        W,
        handler!(interfaces::delete_interface),
    ),
    spec(
        "AddTagType",
        ADMIN,
        &[p("tag_type_fields", Ty::Struct)],
        1,
        "int new tag_type_id",
        "Adds a tag type.",
        W,
        handler!(tags::add_tag_type),
    ),
    spec(
        "GetTagTypes",
        ALL,
        &[p("tag_type_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of tag type structs",
        "Returns tag types.",
        R,
        handler!(tags::get_tag_types),
    ),
    spec(
        "UpdateTagType",
        ADMIN,
        &[TAG_TYPE_ARG, p("tag_type_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates a tag type.",
        W,
        handler!(tags::update_tag_type),
    ),
    spec(
        "DeleteTagType",
        ADMIN,
        &[TAG_TYPE_ARG],
        1,
        "int 1",
        "Deletes a tag type and every tag and node group of that type.",
        W,
        handler!(tags::delete_tag_type),
    ),
    spec(
        "AddRoleToTagType",
        ADMIN,
        &[ROLE_ARG, TAG_TYPE_ARG],
        2,
        "int 1",
        "Allows a role to write tags of a type.",
        W,
        handler!(tags::add_role_to_tag_type),
    ),
    spec(
        "DeleteRoleFromTagType",
        ADMIN,
        &[ROLE_ARG, TAG_TYPE_ARG],
        2,
        "int 1",
        "Withdraws a role from a tag type.",
        W,
        handler!(tags::delete_role_from_tag_type),
    ),
    spec(
        "AddNodeTag",
        ADMIN_PI_TECH_USER,
        &[NODE_ARG, TAG_TYPE_ARG, p("value", Ty::Str)],
        3,
        "int new node_tag_id",
        "Sets a tag on a node.",
        W,
        handler!(tags::add_node_tag),
    ),
    spec(
        "GetNodeTags",
        ALL,
        &[p("node_tag_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of node tag structs",
        "Returns node tags.",
        R,
        handler!(tags::get_node_tags),
    ),
    spec(
        "UpdateNodeTag",
        ADMIN_PI_TECH_USER,
        &[p("node_tag_id", Ty::Int), p("value", Ty::Str)],
        2,
        "int 1",
        "Changes a node tag's value.",
        W,
        handler!(tags::update_node_tag),
    ),
    spec(
        "DeleteNodeTag",
        ADMIN_PI_TECH_USER,
        &[p("node_tag_id", Ty::Int)],
        1,
        "int 1",
        "Deletes a node tag.",
        W,
        handler!(tags::delete_node_tag),
    ),
    spec(
        "AddInterfaceTag",
        ADMIN_PI_TECH_USER,
        &[p("interface_id", Ty::Int), TAG_TYPE_ARG, p("value", Ty::Str)],
        3,
        "int new interface_tag_id",
        "Sets a tag on an interface.",
        W,
        handler!(tags::add_interface_tag),
    ),
    spec(
        "GetInterfaceTags",
        ALL,
        &[p("interface_tag_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of interface tag structs",
        "Returns interface tags.",
        R,
        handler!(tags::get_interface_tags),
    ),
    spec(
        "UpdateInterfaceTag",
        ADMIN_PI_TECH_USER,
        &[p("interface_tag_id", Ty::Int), p("value", Ty::Str)],
        2,
        "int 1",
        "Changes an interface tag's value.",
        W,
        handler!(tags::update_interface_tag),
    ),
    spec(
        "DeleteInterfaceTag",
        ADMIN_PI_TECH_USER,
        &[p("interface_tag_id", Ty::Int)],
        1,
        "int 1",
        "Deletes an interface tag.",
        W,
        handler!(tags::delete_interface_tag),
    ),
    spec(
        "AddNodeGroup",
        ADMIN,
        &[p("groupname", Ty::Str), TAG_TYPE_ARG, p("value", Ty::Str)],
        3,
        "int new nodegroup_id",
        "Adds a node group: the nodes whose tag of this type has this value.",
        W,
        handler!(misc::add_node_group),
    ),
    spec(
        "GetNodeGroups",
        ALL_AND_ANONYMOUS,
        &[p("nodegroup_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of node group structs",
        "Returns node groups.",
        R,
        handler!(misc::get_node_groups),
    ),
    spec(
        "UpdateNodeGroup",
        ADMIN,
        &[p("nodegroup_id_or_name", INT_OR_STR), p("nodegroup_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates a node group.",
        W,
        handler!(misc::update_node_group),
    ),
    spec(
        "DeleteNodeGroup",
        ADMIN,
        &[p("nodegroup_id_or_name", INT_OR_STR)],
        1,
        "int 1",
        "Deletes a node group.",
        W,
        handler!(misc::delete_node_group),
    ),
    spec("GetNodeTypes", ALL, &[], 0, "array of strings", "Returns the node types.", R, handler!(misc::get_node_types)),
    spec(
        "AddNodeType",
        ADMIN,
        &[p("name", Ty::Str)],
        1,
        "int 1",
        "Adds a node type.",
        W,
        handler!(misc::add_node_type),
    ),
    spec(
        "DeleteNodeType",
        ADMIN,
        &[p("name", Ty::Str)],
        1,
        "int 1",
        "Deletes an unused node type.",
        W,
        handler!(misc::delete_node_type),
    ),
    spec("GetRoles", ALL, &[], 0, "array of role structs", "Returns the roles.", R, handler!(misc::get_roles)),
    spec(
        "GetBootStates",
        ALL,
        &[],
        0,
        "array of strings",
        "Returns the boot states.",
        R,
        handler!(misc::get_boot_states),
    ),
    spec(
        "GetNetworkMethods",
        ALL,
        &[],
        0,
        "array of strings",
        "Returns the network methods.",
        R,
        handler!(misc::get_network_methods),
    ),
    spec(
        "GetNetworkTypes",
        ALL,
        &[],
        0,
        "array of strings",
        "Returns the network types.",
        R,
        handler!(misc::get_network_types),
    ),
    spec(
        "GetEvents",
        ADMIN,
        &[p("event_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of event structs",
        "Returns logged events.",
        R,
        handler!(misc::get_events),
    ),
    spec(
        "GetEventObjects",
        ADMIN,
        &[p("event_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of event object structs",
        "Returns logged events, one row per object.",
        R,
        handler!(misc::get_event_objects),
    ),
    spec(
        "GetNodeFlavour",
        ADMIN_USER_NODE,
        &[NODE_ARG],
        1,
        "struct flavour",
        "Returns a node's family, recording defaults as tags where the caller may write them.",
        W,
        handler!(accessors::get_node_flavour),
    ),
    spec(
        "GetSession",
        ALL,
        &[p("expires", Ty::NullOk(&Ty::Int))],
        0,
        "string session",
        "Returns a new session for the caller.",
        W,
        handler!(sessions::get_session),
    ),
    spec(
        "AddSession",
        ADMIN,
        &[PERSON_ARG],
        1,
        "string session",
        "Makes a 24-hour session for a person.",
        W,
        handler!(sessions::add_session),
    ),
    spec("DeleteSession", ALL, &[], 0, "int 1", "Ends the caller's session.", W, handler!(sessions::delete_session)),
    spec(
        "AuthCheck",
        ALL,
        &[],
        0,
        "int 1",
        "Returns 1 if the caller authenticates.",
        R,
        handler!(sessions::auth_check),
    ),
    spec(
        "BootCheckAuthentication",
        ALL,
        &[],
        0,
        "int 1",
        "Deprecated alias of AuthCheck.",
        R,
        handler!(sessions::auth_check),
    ),
    spec(
        "BootUpdateNode",
        NODE,
        &[p("node_fields", Ty::Struct)],
        1,
        "int 1",
        "The calling node updates its own record: boot_state, ssh_rsa_key (or ssh_host_key), its primary interface (primary_network); with neither boot_state nor a key, records that it booted (last_boot, last_contact, time spent online and offline).",
        W,
        handler!(node_boot::boot_update_node),
    ),
    spec(
        "ReportRunlevel",
        ADMIN_NODE,
        &[p("report_fields", Ty::Struct), p("node_id_or_hostname", Ty::NullOk(&INT_OR_STR))],
        1,
        "int 1",
        "Records a node's run level (boot, safeboot, failboot, reinstall) and last contact: a node reports its own, an admin names the node.",
        W,
        handler!(node_boot::report_runlevel),
    ),
    spec(
        "BootNotifyOwners",
        NODE,
        &[MESSAGE_ARG, p("include_pis", Ty::Int), p("include_techs", Ty::Int), p("include_support", Ty::Int)],
        1,
        "int 1",
        "Mails a message template about the calling node to the boot-messages address and, as asked, support and the site's PIs and techs (at most once per template and node every 10 minutes).",
        W,
        handler!(messages::boot_notify_owners),
    ),
    spec(
        "BootGetNodeDetails",
        NODE,
        &[],
        0,
        "struct details",
        "Returns the calling node's hostname, boot_state, model and interfaces, and a new node session (hmac authentication only).",
        W,
        handler!(node_boot::boot_get_node_details),
    ),
    spec(
        "GetPlcRelease",
        ALL_AND_ANONYMOUS,
        &[],
        0,
        "struct release",
        "Describes this server: build (with target-arch), tags and rpms.",
        R,
        handler!(node_boot::get_plc_release),
    ),
    spec(
        "GetMessages",
        ADMIN_NODE,
        &[p("message_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of message structs",
        "Returns message templates.",
        R,
        handler!(messages::get_messages),
    ),
    spec(
        "AddMessage",
        ADMIN,
        &[p("message_fields", Ty::Struct)],
        1,
        "int 1",
        "Adds a message template: message_id, subject, template (Python %(name)s substitutions), enabled.",
        W,
        handler!(messages::add_message),
    ),
    spec(
        "UpdateMessage",
        ADMIN,
        &[MESSAGE_ARG, p("message_fields", Ty::Struct)],
        2,
        "int 1",
        "Updates a message template's subject, template or enabled flag.",
        W,
        handler!(messages::update_message),
    ),
    spec(
        "DeleteMessage",
        ADMIN,
        &[MESSAGE_ARG],
        1,
        "int 1",
        "Deletes a message template.",
        W,
        handler!(messages::delete_message),
    ),
    spec(
        "GetIssuedMedia",
        ADMIN_PI_TECH,
        &[p("issued_medium_filter", FILTER), p("return_fields", RETURN_FIELDS)],
        0,
        "array of issued medium structs",
        "Returns the node media issued so far (extension): node, action, options, reference, key generation, sha256, size, caller, time, superseded_by.",
        R,
        handler!(issued_media::get_issued_media),
    ),
    MethodSpec {
        checks_own_auth: true,
        ..spec(
            "VerifyIssuedMedium",
            NODE,
            &[p("sha256", Ty::Str)],
            0,
            "struct status",
            "Tells whether the node key that signs this call (hmac auth) is current, superseded or unknown (extension; used by `bootmedium verify`).",
            R,
            handler!(issued_media::verify_issued_medium),
        )
    },
];

/// GetBootMedium, which the typed front ends also reach (the download API, the command line).
static BOOT_MEDIUM: MethodSpec = MethodSpec {
    inline_medium: Some(boot_medium::answers_with_image),
    ..spec(
        "GetBootMedium",
        ADMIN_PI_TECH,
        &[NODE_ARG, p("action", Ty::Str), p("filename", Ty::Str), p("options", Ty::Array(&Ty::Str))],
        3,
        "string config, base64 image or path",
        "Returns a node's configuration file or boot medium, inline or written to a file.",
        Writes::AfterPreparing,
        handler!(boot_medium::get_boot_medium),
    )
};

const ACCESSOR_GET: &[Param] = &[NODE_ARG];
const ACCESSOR_SET: &[Param] = &[NODE_ARG, p("value", Ty::Str)];
const ACCESSOR_GET_ROLES: &[Role] = &[Role::Admin, Role::Pi, Role::Tech, Role::User, Role::Node];

static METHODS: LazyLock<Vec<MethodSpec>> = LazyLock::new(|| {
    let mut all: Vec<MethodSpec> = BASE.iter().chain([&BOOT_MEDIUM]).map(|s| MethodSpec { ..*s }).collect();
    for a in accessors::ACCESSORS {
        let (get, set) = (handler!(accessor_get), handler!(accessor_set));
        all.push(spec(a.get, ACCESSOR_GET_ROLES, ACCESSOR_GET, 1, "string value or nil", a.description, R, get));
        all.push(spec(a.set, a.set_roles, ACCESSOR_SET, 2, "string value", a.description, W, set));
    }
    all.sort_by_key(|m| m.name);
    all
});

pub fn lookup(name: &str) -> Option<&'static MethodSpec> {
    METHODS.binary_search_by_key(&name, |m| m.name).ok().map(|i| &METHODS[i])
}

pub fn all() -> impl Iterator<Item = &'static MethodSpec> {
    METHODS.iter()
}

/// The generated accessor methods share two handlers, which find their accessor by name.
async fn accessor_get(cx: &mut Cx<'_>, a: Args<'_>) -> MethodResult<Value> {
    let name = cx.spec.name;
    match ACCESSORS.iter().find(|acc| acc.get == name) {
        Some(acc) => accessors::get(cx, acc, a).await,
        None => Err(Fault::invalid_method(name)),
    }
}

async fn accessor_set(cx: &mut Cx<'_>, a: Args<'_>) -> MethodResult<Value> {
    let name = cx.spec.name;
    match ACCESSORS.iter().find(|acc| acc.set == name) {
        Some(acc) => accessors::set(cx, acc, a).await,
        None => Err(Fault::invalid_method(name)),
    }
}

/// GetBootMedium's declaration, for the typed front ends that reach it without a name.
pub(crate) fn boot_medium_spec() -> &'static MethodSpec {
    &BOOT_MEDIUM
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_method_is_unique_and_found() {
        let names: Vec<&str> = super::all().map(|m| m.name).collect();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup);
        for n in names {
            assert!(super::lookup(n).is_some(), "{n}");
        }
        assert!(super::lookup("GetNodeSerial").is_some());
        assert!(super::lookup("Nope").is_none());
    }
}
