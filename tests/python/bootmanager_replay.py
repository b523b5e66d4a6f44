#!/usr/bin/env python3
"""Replay the BootManager's calls against a bootmedium server with Python's own xmlrpc.client,
hmac and hashlib, written from the rules of docs/plc-api.md §12.1 (call sequence) and §12.2 / §2.5
(signatures), not from the BootManager's code:

* setup (as the admin): a site with a tech, a node in 'reinstall' with a static primary
  interface, and its plnode.txt from GetBootMedium(node-floppy), from which the node reads
  NODE_ID and NODE_KEY as the BootManager does;
* reinstall: steps 1-10 (GetSession by hmac over "[]", the session saved, then session auth:
  BootCheckAuthentication, BootUpdateNode({}), ReportRunlevel, GetNodes, GetInterfaces,
  GetNodeFlavour, GetNodeTags, BootUpdateNode({'boot_state': 'boot'}),
  BootNotifyOwners('installfinished', 0, 1, 0));
* boot: step 0 with the saved session (AuthCheck works, no new GetSession), steps 2-7, 11-13
  (GetInterfaceTags, BootUpdateNode({'ssh_rsa_key': ...}), ReportRunlevel boot);
* the key renewed (a new medium): the saved session fails AuthCheck, the old key fails hmac, the
  new key's GetSession works;
* safeboot: steps 0-7 and the run-level agent's ReportRunlevel('safeboot');
* failboot: a hostname that does not resolve: GetSession, ReportRunlevel('failboot'),
  BootNotifyOwners('hostnamenotresolve', 0, 1, 0);
* legacy: every call hmac-signed (§12.2's general rule), with struct, list, bool and None
  arguments, and signatures made for other arguments refused;

and checks the node's fields and events as the admin afterwards.

Usage: bootmanager_replay.py URL ADMIN_EMAIL ADMIN_PASSWORD
Prints one line per path and finally "N passed, 0 failed"; exits non-zero at the first failed
check.

Section numbers (§N) refer to docs/plc-api.md.
"""

import hashlib
import hmac
import os
import sys
import tempfile
import time
import xmlrpc.client

from checks import check, eq, summary


def fault(code, fn, *args, contains=""):
    try:
        result = fn(*args)
    except xmlrpc.client.Fault as f:
        eq(f.faultCode, code, "fault code (%s)" % f.faultString)
        check(contains in f.faultString, "fault text %r should contain %r" % (f.faultString, contains))
        return f
    raise AssertionError("%r: expected fault %d, got %r" % (args, code, result))


# --- §2.5 / §12.2: what an hmac signs ------------------------------------------------------------

def leaves(value):
    """Lists flattened, structs by their values only (keys dropped), everything else str()."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    else:
        yield str(value)


def message(args):
    return "[" + "".join(sorted(leaves(list(args)))) + "]"


def sign(key, args):
    return hmac.new(key.encode("utf-8"), message(args).encode("utf-8"), hashlib.sha1).hexdigest()


# The spec's test vectors, so the signer itself is known good before it is used.
eq(sign("testkey123", ()), "cadef9fe49834569acbc2c4077ad2fd77ec84f71", "vector ()")
eq(sign("testkey123", (5, "node-preview", "", [])), "b8a81200acae510effba8ee91a77ef85e9a8a83f", "vector 2")
eq(sign("testkey123", ({"boot_state": "boot", "x": True, "n": None},)),
   "28386abf52714642d1044afada704114b240100e", "vector 3")


class BootAPI:
    """The node's side: hmac for GetSession, then the saved session (§12.2); or, `legacy`,
    every call signed."""

    def __init__(self, url, node_id, key, ip, session_file, legacy=False):
        self.proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
        self.node_id, self.key, self.ip = node_id, key, ip
        self.session_file = session_file
        self.legacy = legacy
        self.session = None

    def hmac_auth(self, args):
        return {"AuthMethod": "hmac", "node_id": self.node_id, "node_ip": self.ip, "value": sign(self.key, args)}

    def call(self, method, *args):
        if self.legacy or self.session is None:
            auth = self.hmac_auth(args)
        else:
            auth = {"AuthMethod": "session", "session": self.session}
        return getattr(self.proxy, method)(auth, *args)

    def start(self):
        """Step 0: a saved session is tried with AuthCheck; a fault falls back to hmac."""
        if os.path.exists(self.session_file):
            with open(self.session_file) as f:
                self.session = f.read().strip()
            try:
                eq(self.call("AuthCheck"), 1, "AuthCheck with the saved session")
                return "saved"
            except xmlrpc.client.Fault as f:
                eq(f.faultCode, 103, "a dead saved session is fault 103 (%s)" % f.faultString)
                self.session = None
        # Step 1.
        session = self.call("GetSession")
        check(isinstance(session, str) and len(session) >= 32, "GetSession returns a session: %r" % session)
        with open(self.session_file, "w") as f:
            f.write(session)
        self.session = session
        return "new"

    def authenticate(self):
        # Step 2: must be 1, else the BootManager stops.
        eq(self.call("BootCheckAuthentication"), 1, "BootCheckAuthentication")

    def node_details(self):
        """Steps 5-7."""
        nodes = self.call("GetNodes", self.node_id, ["boot_state", "nodegroup_ids", "interface_ids", "model", "site_id"])
        eq(len(nodes), 1, "GetNodes(node_id)")
        node = nodes[0]
        node["model"] = node["model"].strip()  # the BootManager's own use: nil would crash it
        interfaces = self.call("GetInterfaces", node["interface_ids"])
        primary = [i for i in interfaces if i["is_primary"]]
        eq(len(primary), 1, "one primary interface")
        for f in ["mac", "ip", "method", "netmask", "gateway", "dns1", "dns2", "hostname", "interface_tag_ids"]:
            check(f in primary[0], "interface field %s" % f)
        flavour = self.call("GetNodeFlavour", self.node_id)
        for f in ["virt", "nodefamily", "extensions", "plain"]:
            check(f in flavour, "flavour field %s in %r" % (f, flavour))
        return node, primary[0]


def main():
    url, admin_email, admin_password = sys.argv[1:4]
    api = xmlrpc.client.ServerProxy(url, allow_none=True)
    admin = {"AuthMethod": "password", "Username": admin_email, "AuthString": admin_password}
    work = tempfile.mkdtemp(prefix="bm-replay-")
    session_file = os.path.join(work, "session")

    # --- setup, as the admin -------------------------------------------------------------------
    site = api.AddSite(admin, {"name": "Replay Site", "abbreviated_name": "Replay", "login_base": "replay"})
    tech = api.AddPerson(admin, {"first_name": "T", "last_name": "Tech", "email": "tech@replay.example.org",
                                 "password": "tech-passw0rd"})
    api.UpdatePerson(admin, tech, {"enabled": True})
    api.AddRoleToPerson(admin, "tech", tech)
    api.AddPersonToSite(admin, tech, site)
    hostname = "bm1.replay.example.org"
    node_id = api.AddNode(admin, site, {"hostname": hostname, "boot_state": "reinstall", "model": "qemu/minhw"})
    api.AddInterface(admin, node_id, {
        "method": "static", "type": "ipv4", "ip": "10.7.0.10", "netmask": "255.255.255.0",
        "network": "10.7.0.0", "broadcast": "10.7.0.255", "gateway": "10.7.0.1", "dns1": "10.7.0.2",
        "mac": "52:54:00:07:00:10"})

    def plnode(text):
        values = {}
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                values[k.strip()] = v.strip().strip('"')
        return values

    conf = plnode(api.GetBootMedium(admin, hostname, "node-floppy", ""))
    eq(int(conf["NODE_ID"]), node_id, "plnode.txt NODE_ID")
    key = conf["NODE_KEY"]
    check(len(key) > 20, "plnode.txt carries a key")
    node = BootAPI(url, int(conf["NODE_ID"]), key, "10.7.0.10", session_file)
    print("setup: node %d with its plnode.txt" % node_id)

    # --- reinstall: steps 1-10 -----------------------------------------------------------------
    t0 = int(time.time())
    eq(node.start(), "new", "no saved session at the first boot")
    node.authenticate()
    eq(node.call("BootUpdateNode", {}), 1, "step 3 UpdateLastBootOnce")
    eq(node.call("ReportRunlevel", {"run_level": "reinstall"}), 1, "step 4 run level")
    details, primary = node.node_details()
    eq(details["boot_state"], "reinstall", "step 5 boot_state")
    eq(details["model"], "qemu/minhw", "step 5 model")
    eq(primary["ip"], "10.7.0.10", "step 6 primary ip")
    tags = node.call("GetNodeTags", {"node_id": node_id})
    check(all(t.get("tagname") != "raid_enabled" or t.get("value") in ("0", "1") for t in tags), "step 8 tags")
    eq(node.call("BootUpdateNode", {"boot_state": "boot"}), 1, "step 9")
    check(node.call("BootNotifyOwners", "installfinished", 0, 1, 0) != 0, "step 10 BootNotifyOwners")
    row = api.GetNodes(admin, node_id, ["boot_state", "run_level", "last_boot", "last_contact"])[0]
    eq(row["boot_state"], "boot", "reinstall left reinstall")
    eq(row["run_level"], "reinstall", "run level during the install")
    check(row["last_boot"] >= t0 - 2, "last_boot recorded: %r" % row)
    print("reinstall: steps 1-10")

    # --- boot: the saved session is re-used (step 0), then 2-7, 11-13 -----------------------------
    eq(node.start(), "saved", "the saved session is re-used")
    node.authenticate()
    eq(node.call("BootUpdateNode", {}), 1, "step 3")
    details, primary = node.node_details()
    eq(details["boot_state"], "boot", "step 5 boot_state")
    itags = node.call("GetInterfaceTags", {"interface_tag_id": primary["interface_tag_ids"]})
    eq(itags, [], "step 11 no interface tags")
    pubkey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDreplay root@" + hostname
    eq(node.call("BootUpdateNode", {"ssh_rsa_key": pubkey}), 1, "step 12 ChainBootNode (fatal if it fails)")
    eq(node.call("ReportRunlevel", {"run_level": "boot"}), 1, "step 13")
    row = api.GetNodes(admin, node_id, ["ssh_rsa_key", "run_level", "boot_state"])[0]
    eq(row, {"ssh_rsa_key": pubkey, "run_level": "boot", "boot_state": "boot"}, "after the boot path")
    print("boot: saved session, steps 2-7 and 11-13")

    # --- a new medium renews the key: the saved session dies, the old key fails ----------------------
    conf2 = plnode(api.GetBootMedium(admin, hostname, "node-floppy", ""))
    check(conf2["NODE_KEY"] != key, "a new key")
    old = BootAPI(url, node_id, key, "10.7.0.10", os.path.join(work, "old-session"))
    fault(103, old.call, "GetSession", contains="BootAuth: Call could not be authenticated")
    node.key = conf2["NODE_KEY"]
    eq(node.start(), "new", "the saved session fails AuthCheck; hmac with the new key works")
    node.authenticate()
    print("key renewal: saved session refused, old key refused, new key accepted")

    # --- safeboot: steps 0-7 and the run-level agent ------------------------------------------------
    api.UpdateNode(admin, node_id, {"boot_state": "safeboot"})
    eq(node.start(), "saved", "safeboot re-uses the session")
    node.authenticate()
    details, _ = node.node_details()
    eq(details["boot_state"], "safeboot", "safeboot state")
    eq(node.call("AuthCheck"), 1, "run-level agent AuthCheck")
    eq(node.call("ReportRunlevel", {"run_level": "safeboot"}), 1, "run-level agent report")
    eq(api.GetNodes(admin, node_id, ["run_level"])[0]["run_level"], "safeboot", "safeboot reported")
    print("safeboot: steps 0-7 and ReportRunlevel")

    # --- failboot: the hostname does not resolve ----------------------------------------------------
    os.remove(session_file)
    eq(node.start(), "new", "GetSession before the hostname check")
    eq(node.call("ReportRunlevel", {"run_level": "failboot"}), 1, "failboot reported")
    check(node.call("BootNotifyOwners", "hostnamenotresolve", 0, 1, 0) != 0, "hostnamenotresolve notice")
    eq(api.GetNodes(admin, node_id, ["run_level"])[0]["run_level"], "failboot", "failboot run level")
    print("failboot: hostnamenotresolve")

    # --- legacy: every call signed -------------------------------------------------------------------
    api.UpdateNode(admin, node_id, {"boot_state": "boot"})
    legacy = BootAPI(url, node_id, node.key, "10.7.0.10", os.path.join(work, "legacy"), legacy=True)
    eq(legacy.call("BootCheckAuthentication"), 1, "signed ()")
    eq(legacy.call("BootUpdateNode", {}), 1, "signed ({},)")
    eq(legacy.call("BootUpdateNode", {"boot_state": "boot", "later_key": True}), 1, "signed struct with a bool")
    eq(legacy.call("ReportRunlevel", {"run_level": "boot"}, None), 1, "signed with None")
    eq(legacy.call("ReportRunlevel", {"run_level": "boot"}, node_id), 1, "signed with the node's own id")
    eq(legacy.call("BootNotifyOwners", "insufficientdisk", False, True, False), 1, "signed bools")
    rows = legacy.call("GetNodes", {"node_id": [node_id], "hostname": hostname}, ["boot_state", "hostname"])
    eq(rows, [{"boot_state": "boot", "hostname": hostname}], "signed struct with a list, and a list")
    rows = legacy.call("GetNodes", None, ["node_id"])
    check({"node_id": node_id} in rows, "signed None filter")
    iface_ids = legacy.call("GetNodes", node_id, ["interface_ids"])[0]["interface_ids"]
    eq(len(legacy.call("GetInterfaces", iface_ids)), 1, "signed list of ids")
    check("plain" in legacy.call("GetNodeFlavour", node_id), "signed int")
    old_details = legacy.call("BootGetNodeDetails")
    eq(old_details["hostname"], hostname, "BootGetNodeDetails hostname")
    eq(old_details["networks"][0]["dns2"], "", "BootGetNodeDetails nil as ''")
    eq(xmlrpc.client.ServerProxy(url).AuthCheck({"AuthMethod": "session", "session": old_details["session"]}), 1,
       "BootGetNodeDetails' session")
    # A signature made for other arguments, or replayed onto other arguments, is refused.
    proxy = legacy.proxy
    signed_for_boot = legacy.hmac_auth(({"boot_state": "boot"},))
    fault(103, proxy.BootUpdateNode, signed_for_boot, {"boot_state": "disabled"}, contains="could not be authenticated")
    fault(103, proxy.ReportRunlevel, legacy.hmac_auth(({"run_level": "boot"},)), {"run_level": "failboot"},
          contains="could not be authenticated")
    fault(103, proxy.BootUpdateNode, legacy.hmac_auth(()), {"ssh_rsa_key": "ssh-rsa forged"},
          contains="could not be authenticated")
    print("legacy: every call signed")

    # --- the node as the admin sees it afterwards ------------------------------------------------------
    row = api.GetNodes(admin, node_id, ["boot_state", "run_level", "ssh_rsa_key", "last_boot", "last_contact",
                                        "last_time_spent_online", "last_time_spent_offline"])[0]
    eq(row["boot_state"], "boot", "final boot_state")
    eq(row["run_level"], "boot", "final run_level")
    eq(row["ssh_rsa_key"], pubkey, "the forged key was not stored")
    now = int(time.time())
    check(t0 - 2 <= row["last_boot"] <= now + 2 and t0 - 2 <= row["last_contact"] <= now + 2, "times: %r" % row)
    check(isinstance(row["last_time_spent_online"], int) and row["last_time_spent_online"] >= 0, "online: %r" % row)
    check(isinstance(row["last_time_spent_offline"], int) and row["last_time_spent_offline"] >= 0, "offline: %r" % row)
    sent = [e["message"] for e in api.GetEvents(admin, {"node_id": node_id, "call_name": "BootNotifyOwners"})]
    eq(sorted(sent), ["Sent message hostnamenotresolve", "Sent message installfinished",
                      "Sent message insufficientdisk"], "notices sent")
    changes = [e["message"] for e in api.GetEvents(admin, {"node_id": node_id, "call_name": "BootUpdateNode"})]
    eq(changes, ["Boot updated: boot_state", "Boot updated: ssh_rsa_key"], "BootUpdateNode events (changes only)")
    print("admin view: boot_state, run_level, ssh key, times and events")
    summary()


if __name__ == "__main__":
    main()
