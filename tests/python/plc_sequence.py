#!/usr/bin/env python3
"""Drive a bootmedium server exactly as PlanetLab's own test suites drive PLCAPI, using only
Python's standard xmlrpc.client (docs/plc-api.md §11):

* §11.3 ([tests] system/: TestPlc, TestSite, TestUser, TestNode, config_default.py), steps 1-8:
  site, users, the node created by its PI, its static interface, node groups, flavour, and (when
  IMAGE is given) step 6's GetBootMedium(root, hostname, 'node-iso', '', ['serial',
  'no-hangcheck', 'systemd-console']), base64-decoded as TestNode does and written to IMAGE, with
  IMAGE.json holding the node's id, hostname and key for the caller to boot and check it;
* §11.2 ([tests] system/plcsh_stress_test.py with -c): the add / update / delete round trips of
  sites, persons, tag types, node groups, nodes, node tags and interfaces, every returned field
  checked, and the object counts back to where they started.

Not exercised because this server does not implement them: AddSiteAddress, AddPersonKey,
slices, PCUs, conf files, ilinks, GetPlcRelease.

Usage: plc_sequence.py URL ADMIN_EMAIL ADMIN_PASSWORD [IMAGE]
Prints one line per phase and finally "N passed, 0 failed"; exits non-zero on the first failed
check (with the check's description).

Section numbers (§N) refer to docs/plc-api.md.
"""

import base64
import hashlib
import json
import random
import sys
import xmlrpc.client

from checks import check, eq, summary


def fields_eq(row, expected, what):
    """Every expected field is present with exactly that value."""
    for key, value in expected.items():
        check(key in row, "%s: field %r missing from %r" % (what, key, row))
        eq(row[key], value, "%s[%r]" % (what, key))


def keys_eq(row, keys, what):
    eq(sorted(row.keys()), sorted(keys), "%s: returned fields" % what)


def fault(code, fn, *args, contains=""):
    """Calls fn(*args), which must fail with fault `code` whose text contains `contains`."""
    try:
        result = fn(*args)
    except xmlrpc.client.Fault as f:
        eq(f.faultCode, code, "fault code of %s (%s)" % (fn, f.faultString))
        check(contains in f.faultString, "fault text %r should contain %r" % (f.faultString, contains))
        return f
    raise AssertionError("%s%r: expected fault %d, got %r" % (fn, args, code, result))


def is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


SITE_FIELDS = [
    "site_id", "name", "abbreviated_name", "login_base", "is_public", "enabled", "latitude", "longitude", "url",
    "date_created", "last_updated", "max_slices", "max_slivers", "person_ids", "slice_ids", "address_ids",
    "pcu_ids", "node_ids", "site_tag_ids", "peer_id", "peer_site_id", "ext_consortium_id",
]
PERSON_FIELDS = [
    "person_id", "first_name", "last_name", "title", "email", "phone", "url", "bio", "enabled",
    "verification_key", "verification_expires", "last_updated", "date_created", "role_ids", "roles", "site_ids",
    "key_ids", "slice_ids", "peer_id", "peer_person_id", "person_tag_ids",
]
NODE_FIELDS = [
    "node_id", "node_type", "hostname", "site_id", "boot_state", "run_level", "model", "boot_nonce", "version",
    "ssh_rsa_key", "key", "session", "verified", "date_created", "last_updated", "last_contact", "last_boot",
    "last_download", "last_pcu_reboot", "last_pcu_confirmation", "last_time_spent_online",
    "last_time_spent_offline", "interface_ids", "conf_file_ids", "slice_ids", "slice_ids_whitelist", "pcu_ids",
    "ports", "node_tag_ids", "nodegroup_ids", "peer_id", "peer_node_id",
]
NODE_ADMIN_ONLY = ["key", "session", "boot_nonce"]
INTERFACE_FIELDS = [
    "interface_id", "node_id", "is_primary", "type", "method", "ip", "mac", "gateway", "network", "broadcast",
    "netmask", "dns1", "dns2", "hostname", "bwlimit", "interface_tag_ids", "last_updated",
]
TAG_TYPE_FIELDS = ["tag_type_id", "tagname", "description", "category", "role_ids", "roles"]
NODEGROUP_FIELDS = ["nodegroup_id", "groupname", "tag_type_id", "value", "tagname", "conf_file_ids", "node_ids"]


def counts(api, root):
    return (
        len(api.GetNodes(root, {}, ["node_id"])),
        len(api.GetSites(root, {}, ["site_id"])),
        len(api.GetPersons(root, {}, ["person_id"])),
        len(api.GetTagTypes(root, {}, ["tag_type_id"])),
        len(api.GetNodeGroups(root, {}, ["nodegroup_id"])),
        len(api.GetInterfaces(root, {}, ["interface_id"])),
    )


# ---------------------------------------------------------------------------------------------
# §11.3: TestPlc / TestSite / TestUser / TestNode with config_default.py

DOMAIN = "onelab.eu"
SITE = {
    "name": "mainsite",
    "login_base": "main",
    "abbreviated_name": "PLanettest",
    "max_slices": 100,
    "url": "http://test.onelab.eu",
    "latitude": 43.6166,
    "longitude": 7.0666,
}
USERS = [
    # (name, user_fields, roles) as config_default.py; 'enabled' strings are dropped by AddPerson
    ("pi", {"first_name": "PI", "last_name": "PI", "enabled": "True", "email": "fake-pi1@" + DOMAIN, "password": "testpi"}, ["pi"]),
    ("tech", {"first_name": "Tech", "last_name": "Tech", "enabled": "true", "email": "fake-tech1@" + DOMAIN, "password": "testtech"}, ["tech"]),
    ("user", {"first_name": "User", "last_name": "User", "enabled": "true", "email": "fake-user1@" + DOMAIN, "password": "testuser"}, ["user"]),
    ("techuser", {"first_name": "UserTech", "last_name": "UserTech", "enabled": "true", "email": "fake-tech2@" + DOMAIN, "password": "testusertech"}, ["tech", "user"]),
    ("pitech", {"first_name": "PiTech", "last_name": "PiTech", "enabled": "true", "email": "fake-pi2@" + DOMAIN, "password": "testusertech"}, ["pi", "tech"]),
    ("admin", {"first_name": "Admin", "last_name": "Admin", "enabled": "true", "email": "admin@" + DOMAIN, "password": "testuseradmin"}, ["admin"]),
]
ROLE_IDS = {"admin": 10, "pi": 20, "user": 30, "tech": 40, "node": 50}
HOSTNAME = "node1.test.onelab.eu"
INTERFACE = {
    "method": "static",
    "type": "ipv4",
    "ip": "192.168.122.10",
    "gateway": "192.168.122.1",
    "network": "192.168.122.0",
    "broadcast": "192.168.122.255",
    "netmask": "255.255.255.0",
    "dns1": "192.168.122.2",
    "dns2": "192.168.122.3",
    "mac": "52:54:00:12:34:56",
}
EXTRA_INTERFACE = {
    "method": "static",
    "type": "ipv4",
    "ip": "192.168.123.10",
    "network": "192.168.123.0",
    "broadcast": "192.168.123.255",
    "netmask": "255.255.255.0",
    "mac": "52:54:00:12:34:57",
}
EXTRA_SETTINGS = {"ifname": "eth1", "test-driver": "e1000"}
NODEGROUP = "mynodegroup"


def user_auth(fields, roles):
    return {"Username": fields["email"], "AuthMethod": "password", "AuthString": fields["password"], "Role": roles[0]}


def boot_medium(api, root, image_out):
    """Step 6 (TestNode.qemu_local_init): the node's ISO, inline, decoded as upstream's tests do."""
    options = ["serial", "no-hangcheck", "systemd-console"]
    encoded = api.GetBootMedium(root, HOSTNAME, "node-iso", "", options)
    check(isinstance(encoded, str), "an inline image is a base64 string")
    image = base64.b64decode(encoded)
    eq(image[0x8001:0x8006], b"CD001", "an ISO 9660 volume descriptor")
    node = api.GetNodes(root, [HOSTNAME], ["node_id", "hostname", "key", "last_download"])[0]
    check(node["key"] and node["last_download"], "the key was renewed with the download")
    issued = api.GetIssuedMedia(root, {"hostname": HOSTNAME, "superseded_by": None})
    eq(len(issued), 1, "one current issued medium")
    fields_eq(issued[0], {"node_id": node["node_id"], "action": "node-iso", "options": options, "image_type": "iso",
                          "sha256": hashlib.sha256(image).hexdigest(), "size": len(image)}, "the ledger row")
    with open(image_out, "wb") as f:
        f.write(image)
    with open(image_out + ".json", "w") as f:
        json.dump({"node_id": node["node_id"], "hostname": node["hostname"], "key": node["key"]}, f)
    print("step 6: node-iso, %d bytes" % len(image))


def plc_sequence(api, root, image_out):
    # Step 1: the site (TestSite.create_site). AddSiteAddress is not implemented here.
    site_id = api.AddSite(root, SITE)
    check(is_id(site_id), "AddSite returns a new id")
    site = api.GetSites(root, [SITE["login_base"]])[0]
    keys_eq(site, SITE_FIELDS, "GetSites")
    fields_eq(site, dict(SITE, site_id=site_id, is_public=True, enabled=True, max_slivers=1000, person_ids=[],
                         slice_ids=[], address_ids=[], pcu_ids=[], node_ids=[], peer_id=None, peer_site_id=None,
                         ext_consortium_id=None), "new site")
    print("step 1: site %s (%d)" % (SITE["login_base"], site_id))

    # Step 2: the users (TestUser.create_user, add_keys is not implemented here).
    person_ids = {}
    for name, fields, roles in USERS:
        person_id = api.AddPerson(root, fields)
        check(is_id(person_id), "AddPerson %s" % name)
        person = api.GetPersons(root, [fields["email"]])[0]
        keys_eq(person, PERSON_FIELDS, "GetPersons")
        fields_eq(person, {"person_id": person_id, "first_name": fields["first_name"], "last_name": fields["last_name"],
                           "email": fields["email"], "enabled": False, "roles": [], "role_ids": [], "site_ids": [],
                           "title": None, "phone": None, "url": None, "bio": None, "key_ids": [], "slice_ids": [],
                           "peer_id": None, "peer_person_id": None}, "new person %s" % name)
        check("password" not in person, "GetPersons never returns the password")
        eq(api.UpdatePerson(root, fields["email"], {"enabled": True}), 1, "UpdatePerson enabled")
        for role in roles:
            eq(api.AddRoleToPerson(root, role, fields["email"]), 1, "AddRoleToPerson %s %s" % (role, name))
        eq(api.AddPersonToSite(root, fields["email"], SITE["login_base"]), 1, "AddPersonToSite %s" % name)
        person = api.GetPersons(root, [person_id])[0]
        fields_eq(person, {"enabled": True, "site_ids": [site_id]}, "person %s" % name)
        eq(sorted(person["roles"]), sorted(roles), "roles of %s" % name)
        eq(sorted(person["role_ids"]), sorted(ROLE_IDS[r] for r in roles), "role_ids of %s" % name)
        eq(api.AuthCheck(user_auth(fields, roles)), 1, "AuthCheck as %s" % name)
        person_ids[name] = person_id
    eq(sorted(api.GetSites(root, [site_id])[0]["person_ids"]), sorted(person_ids.values()), "site person_ids")
    print("step 2: %d users" % len(person_ids))

    # Step 3: the node, created by its owner, the PI (TestNode.create_node).
    _, pi_fields, pi_roles = USERS[0]
    piauth = user_auth(pi_fields, pi_roles)
    methods = api.system.listMethods()
    check("AddInterface" in methods and "AddIpAddress" not in methods, "system.listMethods chooses AddInterface")
    node_id = api.AddNode(piauth, SITE["login_base"], {"hostname": HOSTNAME, "model": "qemu/minhw"})
    check(is_id(node_id), "AddNode as the PI")
    eq(api.UpdateNode(piauth, HOSTNAME, {"boot_state": "reinstall"}), 1, "UpdateNode boot_state")
    interface_id = api.AddInterface(piauth, HOSTNAME, INTERFACE)
    check(is_id(interface_id), "AddInterface as the PI")
    node = api.GetNodes(piauth, [HOSTNAME])[0]
    keys_eq(node, [f for f in NODE_FIELDS if f not in NODE_ADMIN_ONLY], "GetNodes as the PI")
    fields_eq(node, {"node_id": node_id, "hostname": HOSTNAME, "model": "qemu/minhw", "boot_state": "reinstall",
                     "node_type": "regular", "site_id": site_id, "interface_ids": [interface_id], "nodegroup_ids": [],
                     "peer_id": None, "peer_node_id": None, "version": None, "run_level": None}, "the node")
    interface = api.GetInterfaces(piauth, [interface_id])[0]
    keys_eq(interface, INTERFACE_FIELDS, "GetInterfaces")
    fields_eq(interface, dict(INTERFACE, interface_id=interface_id, node_id=node_id, is_primary=True, hostname=None,
                              bwlimit=None, interface_tag_ids=[]), "the primary interface")
    # An extra interface with settings, as TestNode does for 'extra_interfaces'.
    extra_id = api.AddInterface(piauth, HOSTNAME, EXTRA_INTERFACE)
    check(is_id(extra_id), "AddInterface extra")
    eq(api.GetNodes(piauth, HOSTNAME, ["interface_ids"])[0]["interface_ids"], [interface_id, extra_id], "primary first")
    for attribute, value in sorted(EXTRA_SETTINGS.items()):
        found = api.GetInterfaces(piauth, {"ip": EXTRA_INTERFACE["ip"]})[0]
        eq(found["interface_id"], extra_id, "GetInterfaces by ip")
        try:
            api.GetTagTypes(piauth, {"name": attribute})[0]
            raise AssertionError("GetTagTypes with the invalid filter field 'name' should fail")
        except xmlrpc.client.Fault as f:
            # 'name' is not a TagType field: upstream's test then falls back to AddTagType.
            eq(f.faultCode, 102, "GetTagTypes {'name': ...} fault code")
            check("Invalid filter field" in f.faultString, "GetTagTypes {'name': ...}: %s" % f.faultString)
            existing = api.GetTagTypes(root, {"tagname": attribute})
            if not existing:
                check(is_id(api.AddTagType(root, {"category": "test", "tagname": attribute})), "AddTagType %s" % attribute)
                # A tag type made by AddTagType has no roles, so only admins may write it (§4.3):
                fault(108, api.AddInterfaceTag, piauth, extra_id, attribute, value)
                eq(api.AddRoleToTagType(root, "pi", attribute), 1, "AddRoleToTagType pi %s" % attribute)
        tag_id = api.AddInterfaceTag(piauth, extra_id, attribute, value)
        check(is_id(tag_id), "AddInterfaceTag %s" % attribute)
        tag = api.GetInterfaceTags(piauth, [tag_id])[0]
        fields_eq(tag, {"interface_tag_id": tag_id, "interface_id": extra_id, "ip": EXTRA_INTERFACE["ip"],
                        "tagname": attribute, "value": value}, "interface tag %s" % attribute)
    eq(api.GetInterfaces(root, [extra_id], ["ifname"])[0]["ifname"], "eth1", "exposed interface tag ifname")
    print("step 3: node %s (%d), interfaces %d and %d" % (HOSTNAME, node_id, interface_id, extra_id))

    # Step 4: node groups, as root (TestPlc.nodegroups).
    tag_types = api.GetTagTypes(root, {"tagname": NODEGROUP})
    if tag_types:
        tag_type_id = tag_types[0]["tag_type_id"]
    else:
        tag_type_id = api.AddTagType(root, {"tagname": NODEGROUP, "description": "for nodegroup " + NODEGROUP, "category": "test"})
    check(is_id(tag_type_id), "tag type for the node group")
    groups = api.GetNodeGroups(root, {"groupname": NODEGROUP})
    eq(groups, [], "no such node group yet")
    nodegroup_id = api.AddNodeGroup(root, NODEGROUP, tag_type_id, "yes")
    check(is_id(nodegroup_id), "AddNodeGroup")
    node_tag_id = api.AddNodeTag(root, HOSTNAME, NODEGROUP, "yes")
    check(is_id(node_tag_id), "AddNodeTag")
    eq(api.GetNodeTags(root, {"hostname": HOSTNAME, "tagname": NODEGROUP}, ["value"])[0]["value"], "yes", "GetNodeTags value")
    eq(api.GetNodes(root, [HOSTNAME], ["nodegroup_ids"])[0]["nodegroup_ids"], [nodegroup_id], "node in group")
    eq(api.GetNodeGroups(root, {"groupname": NODEGROUP}, ["node_ids"])[0]["node_ids"], [node_id], "group has node")
    print("step 4: node group %s (%d)" % (NODEGROUP, nodegroup_id))

    # Step 5: flavour, as root.
    eq(api.SetNodeFcdistro(root, HOSTNAME, "f22"), "f22", "SetNodeFcdistro")
    eq(api.SetNodePldistro(root, HOSTNAME, "lxc"), "lxc", "SetNodePldistro")
    eq(api.GetNodeFcdistro(root, HOSTNAME), "f22", "GetNodeFcdistro")
    eq(api.GetNodePldistro(root, HOSTNAME), "lxc", "GetNodePldistro")
    flavour = api.GetNodeFlavour(root, HOSTNAME)
    keys_eq(flavour, ["arch", "fcdistro", "pldistro", "virt", "nodefamily", "extensions", "plain"], "GetNodeFlavour")
    fields_eq(flavour, {"fcdistro": "f22", "pldistro": "lxc", "virt": "lxc", "extensions": [], "plain": False}, "flavour")
    eq(flavour["nodefamily"], "lxc-f22-" + flavour["arch"], "nodefamily")
    eq(api.GetNodeArch(root, HOSTNAME), flavour["arch"], "GetNodeFlavour writes the arch tag back")
    print("step 5: flavour %s" % flavour["nodefamily"])

    if image_out:
        boot_medium(api, root, image_out)

    # Step 7: node states, polled as TestPlc does.
    for state in ["reinstall", "upgrade", "safeboot", "boot"]:
        eq(api.UpdateNode(root, HOSTNAME, {"boot_state": state}), 1, "UpdateNode %s" % state)
        eq(api.GetNodes(root, [HOSTNAME], ["boot_state"])[0]["boot_state"], state, "boot_state by list")
        eq(api.GetNodes(root, HOSTNAME, ["boot_state"]), [{"boot_state": state}], "boot_state by name")

    # Step 8: cleanup.
    eq(api.DeleteNode(piauth, HOSTNAME), 1, "DeleteNode")
    eq(api.GetNodes(root, [HOSTNAME]), [], "node gone")
    eq(api.GetInterfaces(root, [interface_id, extra_id]), [], "its interfaces gone")
    eq(api.DeleteNodeGroup(root, NODEGROUP), 1, "DeleteNodeGroup")
    for name, fields, _ in USERS:
        eq(api.DeletePerson(root, fields["email"]), 1, "DeletePerson %s" % name)
    eq(api.DeleteSite(root, SITE["login_base"]), 1, "DeleteSite")
    eq(api.GetSites(root, [SITE["login_base"]]), [], "site gone")
    for tagname in [NODEGROUP] + sorted(EXTRA_SETTINGS):
        if api.GetTagTypes(root, {"tagname": tagname, "category": "test"}):
            eq(api.DeleteTagType(root, tagname), 1, "DeleteTagType %s" % tagname)
    print("step 8: cleaned up")


# ---------------------------------------------------------------------------------------------
# §11.2: plcsh_stress_test.py -c (sites, persons, tag types, node groups, nodes, interfaces)

def stress(api, root, rng):
    roles = api.GetRoles(root)
    eq(sorted((r["role_id"], r["name"]) for r in roles),
       [(10, "admin"), (20, "pi"), (30, "user"), (40, "tech"), (50, "node")], "GetRoles")
    node_types = api.GetNodeTypes(root)
    boot_states = api.GetBootStates(root)
    methods = api.GetNetworkMethods(root)
    types = api.GetNetworkTypes(root)
    for name, values in [("GetNodeTypes", node_types), ("GetBootStates", boot_states),
                         ("GetNetworkMethods", methods), ("GetNetworkTypes", types)]:
        check(isinstance(values, list) and values and all(isinstance(v, str) for v in values),
              "%s: non-empty list of strings, got %r" % (name, values))
    eq(sorted(methods), ["dhcp", "ipmi", "proxy", "static", "tap", "unknown"], "GetNetworkMethods")
    eq(types, ["ipv4"], "GetNetworkTypes")

    # --- Add phase -----------------------------------------------------------------------
    sites = {}
    for n in range(2):
        fields = {"name": "Stress Site %d" % n, "abbreviated_name": "SS%d" % n, "login_base": "stress%d" % n,
                  "latitude": rng.choice([10.5, -45.25, 0.0]), "longitude": rng.choice([20.75, -120.5, 0.0])}
        site_id = api.AddSite(root, fields)
        check(is_id(site_id), "AddSite")
        update = {"max_slices": rng.randint(1, 10), "url": "http://stress%d.example.org/" % n}
        eq(api.UpdateSite(root, site_id, update), 1, "UpdateSite")
        site = api.GetSites(root, [site_id])[0]
        keys_eq(site, SITE_FIELDS, "GetSites")
        fields_eq(site, dict(fields, **update), "stress site")
        sites[site_id] = dict(fields, **update)

    persons = {}
    site_ids = sorted(sites)
    for n in range(3):
        fields = {"first_name": "First%d" % n, "last_name": "Last%d" % n, "email": "stress%d@example.org" % n,
                  "bio": "Bio %d" % n, "enabled": False, "password": "pw-%d-%d" % (n, rng.randint(0, 10 ** 6))}
        person_id = api.AddPerson(root, fields)
        check(is_id(person_id), "AddPerson")
        person = api.GetPersons(root, [person_id])[0]
        keys_eq(person, PERSON_FIELDS, "GetPersons")
        fields_eq(person, {k: v for k, v in fields.items() if k != "password"}, "stress person")
        auth = {"AuthMethod": "password", "Username": fields["email"], "AuthString": fields["password"]}
        fault(103, api.AuthCheck, auth)
        role_ids = sorted(rng.sample([20, 30, 40], rng.randint(1, 3)))
        for role_id in role_ids:
            eq(api.AddRoleToPerson(root, role_id, person_id), 1, "AddRoleToPerson")
        eq(sorted(api.GetPersons(root, [person_id])[0]["role_ids"]), role_ids, "role_ids")
        eq(api.UpdatePerson(root, person_id, {"enabled": True}), 1, "UpdatePerson enabled")
        check(api.AuthCheck(auth), "AuthCheck once enabled")
        site_id = site_ids[n % 2]
        eq(api.AddPersonToSite(root, person_id, site_id), 1, "AddPersonToSite")
        eq(api.SetPersonPrimarySite(root, person_id, site_id), 1, "SetPersonPrimarySite")
        eq(api.GetPersons(root, [person_id])[0]["site_ids"][0], site_id, "primary site first")
        persons[person_id] = (fields, role_ids, site_id)

    tag_types = {}
    for n in range(3):
        fields = {"tagname": "stresstag%d" % n, "category": "xxxx/yyyyyy", "description": "Stress tag %d" % n}
        tag_type_id = api.AddTagType(root, fields)
        check(is_id(tag_type_id), "AddTagType")
        role_ids = sorted(rng.sample([r["role_id"] for r in roles], rng.randint(1, 3)))
        for role_id in role_ids:
            eq(api.AddRoleToTagType(root, role_id, tag_type_id), 1, "AddRoleToTagType")
        tag_type = api.GetTagTypes(root, [tag_type_id])[0]
        keys_eq(tag_type, TAG_TYPE_FIELDS, "GetTagTypes")
        fields_eq(tag_type, fields, "stress tag type")
        eq(sorted(tag_type["role_ids"]), role_ids, "tag type role_ids")
        tag_types[tag_type_id] = fields

    nodegroups = {}
    for tag_type_id, tfields in sorted(tag_types.items()):
        groupname = "stressgroup%d" % tag_type_id
        nodegroup_id = api.AddNodeGroup(root, groupname, tfields["tagname"], "yes")
        check(is_id(nodegroup_id), "AddNodeGroup")
        group = api.GetNodeGroups(root, [nodegroup_id])[0]
        keys_eq(group, NODEGROUP_FIELDS, "GetNodeGroups")
        fields_eq(group, {"groupname": groupname, "tagname": tfields["tagname"], "value": "yes",
                          "tag_type_id": tag_type_id, "node_ids": []}, "stress node group")
        nodegroups[nodegroup_id] = tfields["tagname"]

    nodes = {}
    for n, method in enumerate(sorted(methods)):
        fields = {"hostname": "stress%d.example.org" % n, "node_type": rng.choice(node_types),
                  "boot_state": rng.choice(boot_states), "model": "Model %d" % n, "version": "5.%d" % n,
                  "arch": rng.choice(["x86_64", "i386"])}
        node_id = api.AddNode(root, site_ids[n % 2], fields)
        check(is_id(node_id), "AddNode")
        groups = sorted(rng.sample(sorted(nodegroups), rng.randint(0, len(nodegroups))))
        for nodegroup_id in groups:
            check(is_id(api.AddNodeTag(root, node_id, nodegroups[nodegroup_id], "yes")), "AddNodeTag")
        node = api.GetNodes(root, [node_id])[0]
        keys_eq(node, NODE_FIELDS, "GetNodes")
        fields_eq(node, {k: v for k, v in fields.items() if k != "arch"}, "stress node")
        eq(sorted(node["nodegroup_ids"]), groups, "nodegroup_ids")
        eq(api.GetNodes(root, [node_id], list(fields))[0], fields, "GetNodes with the arch tag")
        # One interface per addressing method, consistent values (gateway inside the network).
        net = 100 + n
        ifields = {"method": method, "type": "ipv4", "bwlimit": rng.choice([500000, 1000000, 10 ** 8])}
        if method != "dhcp":
            ifields.update({"ip": "10.%d.0.%d" % (net, rng.randint(10, 200)), "netmask": "255.255.255.0",
                            "network": "10.%d.0.0" % net, "broadcast": "10.%d.0.255" % net,
                            "gateway": "10.%d.0.1" % net, "dns1": "10.%d.0.2" % net})
            if rng.random() < 0.5:
                ifields["hostname"] = fields["hostname"]
        interface_id = api.AddInterface(root, node_id, ifields)
        check(is_id(interface_id), "AddInterface %s" % method)
        interface = api.GetInterfaces(root, [interface_id])[0]
        keys_eq(interface, INTERFACE_FIELDS, "GetInterfaces")
        fields_eq(interface, ifields, "stress interface %s" % method)
        fields_eq(interface, {"node_id": node_id, "is_primary": True}, "stress interface %s" % method)
        nodes[node_id] = (fields, groups, interface_id, ifields)
    print("stress add: %d sites, %d persons, %d tag types, %d node groups, %d nodes" %
          (len(sites), len(persons), len(tag_types), len(nodegroups), len(nodes)))

    # --- Update phase ----------------------------------------------------------------------
    for site_id in site_ids:
        update = {"name": "Renamed %d" % site_id, "abbreviated_name": "R%d" % site_id, "max_slivers": 42,
                  "is_public": False}
        eq(api.UpdateSite(root, site_id, update), 1, "UpdateSite")
        fields_eq(api.GetSites(root, [site_id])[0], update, "updated site")
    for person_id, (fields, role_ids, site_id) in sorted(persons.items()):
        update = {"first_name": "New" + fields["first_name"], "bio": None, "title": "Dr", "phone": "+1 555 0100"}
        eq(api.UpdatePerson(root, person_id, update), 1, "UpdatePerson")
        other = [s for s in site_ids if s != site_id][0]
        eq(api.AddPersonToSite(root, person_id, other), 1, "AddPersonToSite other")
        eq(api.SetPersonPrimarySite(root, person_id, other), 1, "SetPersonPrimarySite other")
        person = api.GetPersons(root, [person_id])[0]
        fields_eq(person, update, "updated person")
        eq(person["site_ids"], [other, site_id], "primary site first after the switch")
        eq(api.DeletePersonFromSite(root, person_id, site_id), 1, "DeletePersonFromSite")
        eq(api.GetPersons(root, [person_id])[0]["site_ids"], [other], "site removed")
        persons[person_id] = (fields, role_ids, other)
    for tag_type_id, fields in sorted(tag_types.items()):
        update = {"description": "Updated " + fields["description"], "category": "zzzz/wwwwww"}
        eq(api.UpdateTagType(root, tag_type_id, update), 1, "UpdateTagType")
        fields_eq(api.GetTagTypes(root, [tag_type_id])[0], dict(fields, **update), "updated tag type")
    for nodegroup_id in sorted(nodegroups):
        groupname = "renamedgroup%d" % nodegroup_id
        eq(api.UpdateNodeGroup(root, nodegroup_id, {"groupname": groupname}), 1, "UpdateNodeGroup")
        eq(api.GetNodeGroups(root, [nodegroup_id])[0]["groupname"], groupname, "renamed group")
    for n, (node_id, (fields, groups, interface_id, ifields)) in enumerate(sorted(nodes.items())):
        update = {"hostname": "renamed%d.example.org" % n, "node_type": rng.choice(node_types),
                  "boot_state": rng.choice(boot_states), "model": "New model %d" % n, "version": "6.%d" % n,
                  "arch": rng.choice(["x86_64", "i386", "aarch64"])}
        eq(api.UpdateNode(root, node_id, update), 1, "UpdateNode")
        new_groups = sorted(rng.sample(sorted(nodegroups), rng.randint(0, len(nodegroups))))
        for nodegroup_id, tagname in sorted(nodegroups.items()):
            tags = api.GetNodeTags(root, {"node_id": node_id, "tagname": tagname})
            value = "yes" if nodegroup_id in new_groups else "no"
            if tags:
                eq(api.UpdateNodeTag(root, tags[0]["node_tag_id"], value), 1, "UpdateNodeTag")
            else:
                check(is_id(api.AddNodeTag(root, node_id, tagname, value)), "AddNodeTag")
        node = api.GetNodes(root, [node_id])[0]
        fields_eq(node, {k: v for k, v in update.items() if k != "arch"}, "updated node")
        eq(sorted(node["nodegroup_ids"]), new_groups, "updated nodegroup_ids")
        eq(api.GetNodes(root, [node_id], list(update))[0], update, "updated node with the arch tag")
        iupdate = {"bwlimit": rng.choice([600000, 2000000])}
        if ifields["method"] != "dhcp":
            iupdate.update({"ip": "10.%d.0.250" % (100 + n), "dns2": "10.%d.0.3" % (100 + n)})
        eq(api.UpdateInterface(root, interface_id, iupdate), 1, "UpdateInterface")
        fields_eq(api.GetInterfaces(root, [interface_id])[0], dict(ifields, **iupdate), "updated interface")
        nodes[node_id] = (update, new_groups, interface_id, ifields)
    print("stress update: done")

    # --- Delete phase ----------------------------------------------------------------------
    for node_id in sorted(nodes):
        for tag in api.GetNodeTags(root, {"node_id": node_id}):
            eq(api.UpdateNodeTag(root, tag["node_tag_id"], ""), 1, "UpdateNodeTag ''")
        eq(api.GetNodes(root, [node_id])[0]["nodegroup_ids"], [], "no groups once tags are empty")
    for node_id, (_, _, interface_id, _) in sorted(nodes.items()):
        eq(api.DeleteInterface(root, interface_id), 1, "DeleteInterface")
        eq(api.GetInterfaces(root, [interface_id]), [], "interface gone")
        eq(api.DeleteNode(root, node_id), 1, "DeleteNode")
        eq(api.GetNodes(root, [node_id]), [], "node gone")
    for person_id, (fields, role_ids, site_id) in sorted(persons.items()):
        eq(api.DeletePersonFromSite(root, person_id, site_id), 1, "DeletePersonFromSite")
        for role_id in role_ids:
            eq(api.DeleteRoleFromPerson(root, role_id, person_id), 1, "DeleteRoleFromPerson")
        eq(api.UpdatePerson(root, person_id, {"enabled": False}), 1, "UpdatePerson disabled")
        person = api.GetPersons(root, [person_id])[0]
        fields_eq(person, {"site_ids": [], "role_ids": [], "roles": [], "enabled": False}, "stripped person")
        eq(api.DeletePerson(root, person_id), 1, "DeletePerson")
        eq(api.GetPersons(root, [person_id]), [], "person gone")
    for nodegroup_id in sorted(nodegroups):
        eq(api.DeleteNodeGroup(root, nodegroup_id), 1, "DeleteNodeGroup")
        eq(api.GetNodeGroups(root, [nodegroup_id]), [], "node group gone")
    for tag_type_id in sorted(tag_types):
        eq(api.DeleteTagType(root, tag_type_id), 1, "DeleteTagType")
        eq(api.GetTagTypes(root, [tag_type_id]), [], "tag type gone")
    for site_id in site_ids:
        eq(api.DeleteSite(root, site_id), 1, "DeleteSite")
        eq(api.GetSites(root, [site_id]), [], "site gone")
    print("stress delete: done")


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    url, root_user, root_password = sys.argv[1:4]
    image_out = sys.argv[4] if len(sys.argv) == 5 else None
    api = xmlrpc.client.ServerProxy(url, allow_none=True, use_builtin_types=True)
    root = {"Username": root_user, "AuthMethod": "password", "AuthString": root_password, "Role": "root"}
    eq(api.AuthCheck(root), 1, "AuthCheck as root")
    before = counts(api, root)
    plc_sequence(api, root, image_out)
    eq(counts(api, root), before, "object counts after the §11.3 sequence")
    stress(api, root, random.Random(20240501))
    eq(counts(api, root), before, "object counts after the §11.2 round trips")
    summary()


if __name__ == "__main__":
    main()
