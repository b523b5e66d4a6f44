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

use crate::args::{Fields, IdOrName, OrNil};
use crate::context::{Cx, MethodSpec, Writes};
use crate::fault::{Fault, MethodResult};
use crate::filter::{Filter, ReturnFields};
use crate::roles::{self, Role};
use crate::wire::{self, method};
use boot_medium::NodeRef;
use bootmedium_registry::views;
use std::sync::LazyLock;

pub(crate) use accessors::{ACCESSORS, Flavour};
pub(crate) use issued_media::MediumStatus;
pub(crate) use node_boot::{NodeDetails, Release};

use roles::{
    ADMIN, ADMIN_NODE, ADMIN_PI, ADMIN_PI_TECH, ADMIN_PI_TECH_USER, ADMIN_USER_NODE, ALL, ALL_AND_ANONYMOUS, NODE,
};

const R: Writes = Writes::No;
const W: Writes = Writes::Yes;

static BASE: &[MethodSpec] = &[
    method! {
        "AddSite", roles: ADMIN, writes: W, returns: "int new site_id",
        doc: "Adds a site.",
        sites::add_site(site_fields: Fields)
    },
    method! {
        "GetSites", roles: ALL_AND_ANONYMOUS, writes: R, returns: "array of site structs",
        doc: "Returns sites matching the filter.",
        common::get[&views::SITE](filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateSite", roles: ADMIN_PI, writes: W, returns: "int 1",
        doc: "Updates a site.",
        sites::update_site(site_id_or_login_base: IdOrName, site_fields: Fields)
    },
    method! {
        "DeleteSite", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Deletes a site, its nodes and memberships.",
        sites::delete_site(site_id_or_login_base: IdOrName)
    },
    method! {
        "AddPerson", roles: ADMIN_PI, writes: W, returns: "int new person_id",
        doc: "Adds a disabled account.",
        persons::add_person(person_fields: Fields)
    },
    method! {
        "GetPersons", roles: ALL, writes: R, returns: "array of person structs",
        doc: "Returns accounts visible to the caller.",
        persons::get_persons(person_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdatePerson", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Updates an account.",
        persons::update_person(person_id_or_email: IdOrName, person_fields: Fields)
    },
    method! {
        "DeletePerson", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Deletes an account.",
        persons::delete_person(person_id_or_email: IdOrName)
    },
    method! {
        "AddRoleToPerson", roles: ADMIN_PI, writes: W, returns: "int 1",
        doc: "Grants a role.",
        persons::add_role_to_person(role_id_or_name: IdOrName, person_id_or_email: IdOrName)
    },
    method! {
        "DeleteRoleFromPerson", roles: ADMIN_PI, writes: W, returns: "int 1",
        doc: "Revokes a role.",
        persons::delete_role_from_person(role_id_or_name: IdOrName, person_id_or_email: IdOrName)
    },
    method! {
        "AddPersonToSite", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Makes a person a member of a site.",
        persons::add_person_to_site(person_id_or_email: IdOrName, site_id_or_login_base: IdOrName)
    },
    method! {
        "DeletePersonFromSite", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Removes a person from a site.",
        persons::delete_person_from_site(person_id_or_email: IdOrName, site_id_or_login_base: IdOrName)
    },
    method! {
        "SetPersonPrimarySite", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Sets a person's primary site.",
        persons::set_person_primary_site(person_id_or_email: IdOrName, site_id_or_login_base: IdOrName)
    },
    method! {
        "AddNode", roles: ADMIN_PI_TECH, writes: W, returns: "int new node_id",
        doc: "Adds a node to a site.",
        nodes::add_node(site_id_or_login_base: IdOrName, node_fields: Fields)
    },
    // The secret fields (`key`, `session`, `boot_nonce`) are declared admin-only in the Node view,
    // which keeps them out of everyone else's answers, filters and sorting.
    method! {
        "GetNodes", roles: ALL_AND_ANONYMOUS, writes: R, returns: "array of node structs",
        doc: "Returns nodes matching the filter.",
        common::get[&views::NODE](node_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateNode", roles: ADMIN_PI_TECH, writes: W, returns: "int 1",
        doc: "Updates a node.",
        nodes::update_node(node_id_or_hostname: IdOrName, node_fields: Fields)
    },
    method! {
        "DeleteNode", roles: ADMIN_PI_TECH, writes: W, returns: "int 1",
        doc: "Deletes a node and its interfaces and tags.",
        nodes::delete_node(node_id_or_hostname: IdOrName)
    },
    method! {
        "AddInterface", roles: ADMIN_PI_TECH, writes: W, returns: "int new interface_id",
        doc: "Adds an interface to a node.",
        interfaces::add_interface(node_id_or_hostname: IdOrName, interface_fields: Fields)
    },
    method! {
        "GetInterfaces", roles: ALL_AND_ANONYMOUS, writes: R, returns: "array of interface structs",
        doc: "Returns interfaces matching the filter.",
        common::get[&views::INTERFACE](interface_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateInterface", roles: ADMIN_PI_TECH, writes: W, returns: "int 1",
        doc: "Updates an interface.",
        interfaces::update_interface(interface_id: i64, interface_fields: Fields)
    },
    method! {
        "DeleteInterface", roles: ADMIN_PI_TECH, writes: W, returns: "int 1",
        doc: "Deletes an interface.",
        interfaces::delete_interface(interface_id: i64)
    },
    method! {
        "AddTagType", roles: ADMIN, writes: W, returns: "int new tag_type_id",
        doc: "Adds a tag type.",
        tags::add_tag_type(tag_type_fields: Fields)
    },
    method! {
        "GetTagTypes", roles: ALL, writes: R, returns: "array of tag type structs",
        doc: "Returns tag types.",
        common::get[&views::TAG_TYPE](tag_type_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateTagType", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Updates a tag type.",
        tags::update_tag_type(tag_type_id_or_name: IdOrName, tag_type_fields: Fields)
    },
    method! {
        "DeleteTagType", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Deletes a tag type and every tag and node group of that type.",
        tags::delete_tag_type(tag_type_id_or_name: IdOrName)
    },
    method! {
        "AddRoleToTagType", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Allows a role to write tags of a type.",
        tags::add_role_to_tag_type(role_id_or_name: IdOrName, tag_type_id_or_name: IdOrName)
    },
    method! {
        "DeleteRoleFromTagType", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Withdraws a role from a tag type.",
        tags::delete_role_from_tag_type(role_id_or_name: IdOrName, tag_type_id_or_name: IdOrName)
    },
    method! {
        "AddNodeTag", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int new node_tag_id",
        doc: "Sets a tag on a node.",
        tags::add_node_tag(node_id_or_hostname: IdOrName, tag_type_id_or_name: IdOrName, value: String)
    },
    method! {
        "GetNodeTags", roles: ALL, writes: R, returns: "array of node tag structs",
        doc: "Returns node tags.",
        common::get[&views::NODE_TAG](node_tag_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateNodeTag", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Changes a node tag's value.",
        tags::update_node_tag(node_tag_id: i64, value: String)
    },
    method! {
        "DeleteNodeTag", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Deletes a node tag.",
        tags::delete_node_tag(node_tag_id: i64)
    },
    method! {
        "AddInterfaceTag", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int new interface_tag_id",
        doc: "Sets a tag on an interface.",
        tags::add_interface_tag(interface_id: i64, tag_type_id_or_name: IdOrName, value: String)
    },
    method! {
        "GetInterfaceTags", roles: ALL, writes: R, returns: "array of interface tag structs",
        doc: "Returns interface tags.",
        common::get[&views::INTERFACE_TAG](interface_tag_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateInterfaceTag", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Changes an interface tag's value.",
        tags::update_interface_tag(interface_tag_id: i64, value: String)
    },
    method! {
        "DeleteInterfaceTag", roles: ADMIN_PI_TECH_USER, writes: W, returns: "int 1",
        doc: "Deletes an interface tag.",
        tags::delete_interface_tag(interface_tag_id: i64)
    },
    method! {
        "AddNodeGroup", roles: ADMIN, writes: W, returns: "int new nodegroup_id",
        doc: "Adds a node group: the nodes whose tag of this type has this value.",
        misc::add_node_group(groupname: String, tag_type_id_or_name: IdOrName, value: String)
    },
    method! {
        "GetNodeGroups", roles: ALL_AND_ANONYMOUS, writes: R, returns: "array of node group structs",
        doc: "Returns node groups.",
        common::get[&views::NODE_GROUP](nodegroup_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "UpdateNodeGroup", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Updates a node group.",
        misc::update_node_group(nodegroup_id_or_name: IdOrName, nodegroup_fields: Fields)
    },
    method! {
        "DeleteNodeGroup", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Deletes a node group.",
        misc::delete_node_group(nodegroup_id_or_name: IdOrName)
    },
    method! {
        "GetNodeTypes", roles: ALL, writes: R, returns: "array of strings",
        doc: "Returns the node types.",
        misc::get_node_types()
    },
    method! {
        "AddNodeType", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Adds a node type.",
        misc::add_node_type(name: String)
    },
    method! {
        "DeleteNodeType", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Deletes an unused node type.",
        misc::delete_node_type(name: String)
    },
    method! {
        "GetRoles", roles: ALL, writes: R, returns: "array of role structs",
        doc: "Returns the roles.",
        misc::get_roles()
    },
    method! {
        "GetBootStates", roles: ALL, writes: R, returns: "array of strings",
        doc: "Returns the boot states.",
        misc::get_boot_states()
    },
    method! {
        "GetNetworkMethods", roles: ALL, writes: R, returns: "array of strings",
        doc: "Returns the network methods.",
        misc::get_network_methods()
    },
    method! {
        "GetNetworkTypes", roles: ALL, writes: R, returns: "array of strings",
        doc: "Returns the network types.",
        misc::get_network_types()
    },
    method! {
        "GetEvents", roles: ADMIN, writes: R, returns: "array of event structs",
        doc: "Returns logged events.",
        common::get[&views::EVENT](event_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "GetEventObjects", roles: ADMIN, writes: R, returns: "array of event object structs",
        doc: "Returns logged events, one row per object.",
        common::get[&views::EVENT_OBJECT](event_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "GetNodeFlavour", roles: ADMIN_USER_NODE, writes: W, returns: "struct flavour",
        doc: "Returns a node's family, recording defaults as tags where the caller may write them.",
        accessors::get_node_flavour(node_id_or_hostname: IdOrName)
    },
    method! {
        "GetSession", roles: ALL, writes: W, returns: "string session",
        doc: "Returns a new session for the caller.",
        sessions::get_session(expires: Option<OrNil<i64>>)
    },
    method! {
        "AddSession", roles: ADMIN, writes: W, returns: "string session",
        doc: "Makes a 24-hour session for a person.",
        sessions::add_session(person_id_or_email: IdOrName)
    },
    method! {
        "DeleteSession", roles: ALL, writes: W, returns: "int 1",
        doc: "Ends the caller's session.",
        sessions::delete_session()
    },
    method! {
        "AuthCheck", roles: ALL, writes: R, returns: "int 1",
        doc: "Returns 1 if the caller authenticates.",
        sessions::auth_check()
    },
    method! {
        "BootCheckAuthentication", roles: ALL, writes: R, returns: "int 1",
        doc: "Deprecated alias of AuthCheck.",
        sessions::auth_check()
    },
    method! {
        "BootUpdateNode", roles: NODE, writes: W, returns: "int 1",
        doc: "The calling node updates its own record: boot_state, ssh_rsa_key (or ssh_host_key), its primary interface (primary_network); with neither boot_state nor a key, records that it booted (last_boot, last_contact, time spent online and offline).",
        node_boot::boot_update_node(node_fields: Fields)
    },
    method! {
        "ReportRunlevel", roles: ADMIN_NODE, writes: W, returns: "int 1",
        doc: "Records a node's run level (boot, safeboot, failboot, reinstall) and last contact: a node reports its own, an admin names the node.",
        node_boot::report_runlevel(report_fields: Fields, node_id_or_hostname: Option<OrNil<IdOrName>>)
    },
    method! {
        "BootNotifyOwners", roles: NODE, writes: W, returns: "int 1",
        doc: "Mails a message template about the calling node to the boot-messages address and, as asked, support and the site's PIs and techs (at most once per template and node every 10 minutes).",
        messages::boot_notify_owners(message_id: String, include_pis: Option<i64>, include_techs: Option<i64>, include_support: Option<i64>)
    },
    method! {
        "BootGetNodeDetails", roles: NODE, writes: W, returns: "struct details",
        doc: "Returns the calling node's hostname, boot_state, model and interfaces, and a new node session (hmac authentication only).",
        node_boot::boot_get_node_details()
    },
    method! {
        "GetPlcRelease", roles: ALL_AND_ANONYMOUS, writes: R, returns: "struct release",
        doc: "Describes this server: build (with target-arch), tags and rpms.",
        node_boot::get_plc_release()
    },
    method! {
        "GetMessages", roles: ADMIN_NODE, writes: R, returns: "array of message structs",
        doc: "Returns message templates.",
        messages::get_messages(message_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    method! {
        "AddMessage", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Adds a message template: message_id, subject, template (Python %(name)s substitutions), enabled.",
        messages::add_message(message_fields: Fields)
    },
    method! {
        "UpdateMessage", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Updates a message template's subject, template or enabled flag.",
        messages::update_message(message_id: String, message_fields: Fields)
    },
    method! {
        "DeleteMessage", roles: ADMIN, writes: W, returns: "int 1",
        doc: "Deletes a message template.",
        messages::delete_message(message_id: String)
    },
    method! {
        "GetIssuedMedia", roles: ADMIN_PI_TECH, writes: R, returns: "array of issued medium structs",
        doc: "Returns the node media issued so far (extension): node, action, options, reference, key generation, sha256, size, caller, time, superseded_by.",
        issued_media::get_issued_media(issued_medium_filter: Option<Filter>, return_fields: Option<ReturnFields>)
    },
    MethodSpec {
        checks_own_auth: true,
        ..method! {
            "VerifyIssuedMedium", roles: NODE, writes: R, returns: "struct status",
            doc: "Tells whether the node key that signs this call (hmac auth) is current, superseded or unknown (extension; used by `bootmedium verify`).",
            issued_media::verify_issued_medium(sha256: Option<String>)
        }
    },
];

/// GetBootMedium, which the typed front ends also reach (the download API, the command line).
static BOOT_MEDIUM: MethodSpec = MethodSpec {
    inline_medium: Some(wire::boot_medium_inline),
    ..method! {
        "GetBootMedium", roles: ADMIN_PI_TECH, writes: Writes::AfterPreparing,
        returns: "string config, base64 image or path",
        doc: "Returns a node's configuration file or boot medium, inline or written to a file.",
        boot_medium::get_boot_medium(
            node_id_or_hostname: NodeRef, action: String, filename: String, options: Option<Vec<String>>
        )
    }
};

const ACCESSOR_GET_ROLES: &[Role] = &[Role::Admin, Role::Pi, Role::Tech, Role::User, Role::Node];

static METHODS: LazyLock<Vec<MethodSpec>> = LazyLock::new(|| {
    let mut all: Vec<MethodSpec> = BASE.iter().chain([&BOOT_MEDIUM]).map(|s| MethodSpec { ..*s }).collect();
    for a in accessors::ACCESSORS {
        all.push(method! {
            a.get, roles: ACCESSOR_GET_ROLES, writes: R, returns: "string value or nil", doc: a.description,
            accessor_get(node_id_or_hostname: IdOrName)
        });
        all.push(method! {
            a.set, roles: a.set_roles, writes: W, returns: "string value", doc: a.description,
            accessor_set(node_id_or_hostname: IdOrName, value: String)
        });
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
async fn accessor_get(cx: &mut Cx<'_>, node_id_or_hostname: IdOrName) -> MethodResult<Option<String>> {
    let name = cx.spec.name;
    match ACCESSORS.iter().find(|acc| acc.get == name) {
        Some(acc) => accessors::get(cx, acc, &node_id_or_hostname).await,
        None => Err(Fault::invalid_method(name)),
    }
}

async fn accessor_set(cx: &mut Cx<'_>, node_id_or_hostname: IdOrName, value: String) -> MethodResult<String> {
    let name = cx.spec.name;
    match ACCESSORS.iter().find(|acc| acc.set == name) {
        Some(acc) => accessors::set(cx, acc, &node_id_or_hostname, value).await,
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
