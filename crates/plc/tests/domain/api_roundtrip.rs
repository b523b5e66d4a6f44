//! PLCAPI in process: the §11.2 add/update/delete round trips, sessions, node (hmac) auth, 103
//! vs 108, filters, events and the system.* methods (docs/plc-api.md §1–5, §10). Every test
//! runs on each backend (SQLite, and PostgreSQL with BOOTMEDIUM_TEST_POSTGRES_URL).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::{Plc, each_backend};
use bootmedium_testkit::*;
use bootmedium_xmlrpc::Value;
use std::time::Duration;

const T: Value = Value::Bool(true);
const F: Value = Value::Bool(false);

fn count(plc: &Plc, method: &str, id_field: &str) -> usize {
    plc.admin_rows(method, vec![st! {}, strs(&[id_field])]).len()
}

// ---------------------------------------------------------------------------------------------
// Sites

#[test]
fn sites_add_get_update_delete() {
    each_backend(|plc| {
        let sites_before = count(plc, "GetSites", "site_id");
        let t0 = now();
        let id = plc.admin_int(
            "AddSite",
            vec![st! {
                "name" => "Test Site One", "abbreviated_name" => "TS1", "login_base" => "ts1",
                "latitude" => 48.5, "longitude" => 2.25,
            }],
        );
        let t1 = now();
        assert!(id > 1, "new site id {id}");
        let site = plc.admin_row("GetSites", vec![ints(&[id])]);
        assert_keys(&site, SITE_FIELDS);
        assert_fields(
            &site,
            &[
                ("site_id", i(id)),
                ("name", s("Test Site One")),
                ("abbreviated_name", s("TS1")),
                ("login_base", s("ts1")),
                ("latitude", Value::Double(48.5)),
                ("longitude", Value::Double(2.25)),
                ("is_public", T),
                ("enabled", T),
                ("url", nil()),
                ("max_slices", i(0)),
                ("max_slivers", i(1000)),
                ("person_ids", arr![]),
                ("slice_ids", arr![]),
                ("address_ids", arr![]),
                ("pcu_ids", arr![]),
                ("node_ids", arr![]),
                ("peer_id", nil()),
                ("peer_site_id", nil()),
                ("ext_consortium_id", nil()),
            ],
        );
        // AddSite also sets the site's hrn tag (§4.7): at most that one tag.
        assert!(sorted_ints(field(&site, "site_tag_ids")).len() <= 1, "{site:?}");
        assert_time_between(&site, "date_created", t0, t1);
        assert_time_between(&site, "last_updated", t0, t1);

        plc.admin_one(
            "UpdateSite",
            vec![
                i(id),
                st! {
                    "name" => "Test Site Uno", "abbreviated_name" => "TSU", "url" => "http://ts1.example.org/",
                    "max_slices" => 10, "max_slivers" => 500, "is_public" => false, "enabled" => false,
                    "latitude" => -33.75, "longitude" => 151.5,
                },
            ],
        );
        let site = plc.admin_row("GetSites", vec![ints(&[id])]);
        assert_keys(&site, SITE_FIELDS);
        assert_fields(
            &site,
            &[
                ("site_id", i(id)),
                ("name", s("Test Site Uno")),
                ("abbreviated_name", s("TSU")),
                ("login_base", s("ts1")),
                ("url", s("http://ts1.example.org/")),
                ("max_slices", i(10)),
                ("max_slivers", i(500)),
                ("is_public", F),
                ("enabled", F),
                ("latitude", Value::Double(-33.75)),
                ("longitude", Value::Double(151.5)),
            ],
        );

        // Filter forms: bare string (login_base), bare int, list of both, return_fields.
        assert_eq!(field(&plc.admin_row("GetSites", vec![s("ts1")]), "site_id"), &i(id));
        assert_eq!(field(&plc.admin_row("GetSites", vec![i(id)]), "login_base"), &s("ts1"));
        let both = plc.admin_rows("GetSites", vec![arr![1, "ts1"], strs(&["site_id", "login_base"])]);
        let mut pairs: Vec<(i64, String)> =
            both.iter().map(|r| (int_of(field(r, "site_id")), str_of(field(r, "login_base")).to_owned())).collect();
        pairs.sort();
        assert_eq!(pairs, vec![(1, "pl".to_owned()), (id, "ts1".to_owned())]);
        both.iter().for_each(|r| assert_keys(r, &["site_id", "login_base"]));
        // Anonymous may read sites (§2.6).
        let anon = plc.ok_rows("GetSites", vec![anonymous_auth(), strs(&["ts1"]), strs(&["site_id"])]);
        assert_eq!(anon, vec![st! { "site_id" => id }]);

        plc.admin_one("DeleteSite", vec![i(id)]);
        assert_eq!(plc.admin_rows("GetSites", vec![ints(&[id])]), Vec::<Value>::new());
        assert_eq!(plc.admin_rows("GetSites", vec![s("ts1")]), Vec::<Value>::new());
        assert_eq!(count(plc, "GetSites", "site_id"), sites_before);
    });
}

// ---------------------------------------------------------------------------------------------
// Persons

#[test]
fn persons_roles_sites_and_primary_site() {
    each_backend(|plc| {
        let persons_before = count(plc, "GetPersons", "person_id");
        let site_a = add_site(plc, "psite");
        let pw = "Ada-pw-1815";
        let t0 = now();
        let id = plc.admin_int(
            "AddPerson",
            vec![st! {
                "first_name" => "Ada", "last_name" => "Lovelace", "email" => "Ada.Lovelace@Example.ORG",
                "title" => "Countess", "phone" => "+44 20 0000 0000", "url" => "http://ada.example.org/",
                "bio" => "Analyst", "password" => pw, "enabled" => true,
            }],
        );
        let t1 = now();
        let email = "ada.lovelace@example.org";
        let person = plc.admin_row("GetPersons", vec![ints(&[id])]);
        assert_keys(&person, PERSON_FIELDS);
        assert_fields(
            &person,
            &[
                ("person_id", i(id)),
                ("first_name", s("Ada")),
                ("last_name", s("Lovelace")),
                ("email", s(email)),
                ("title", s("Countess")),
                ("phone", s("+44 20 0000 0000")),
                ("url", s("http://ada.example.org/")),
                ("bio", s("Analyst")),
                // AddPerson always creates the account disabled (§4.8).
                ("enabled", F),
                ("verification_key", nil()),
                ("verification_expires", nil()),
                ("role_ids", arr![]),
                ("roles", arr![]),
                ("site_ids", arr![]),
                ("key_ids", arr![]),
                ("slice_ids", arr![]),
                ("peer_id", nil()),
                ("peer_person_id", nil()),
                ("person_tag_ids", arr![]),
            ],
        );
        assert_time_between(&person, "date_created", t0, t1);
        assert_time_between(&person, "last_updated", t0, t1);

        let auth = password_auth(email, pw);
        // Disabled: the account does not authenticate.
        assert_fault(&plc.call("AuthCheck", vec![auth.clone()]), 103, "PasswordAuth: No such account");

        plc.admin_one("AddRoleToPerson", vec![s("user"), s(email)]);
        plc.admin_one("AddRoleToPerson", vec![i(40), i(id)]);
        let person = plc.admin_row("GetPersons", vec![s(email)]);
        assert_eq!(sorted_ints(field(&person, "role_ids")), vec![30, 40]);
        assert_eq!(sorted_strs(field(&person, "roles")), vec!["tech", "user"]);

        plc.admin_one("UpdatePerson", vec![i(id), st! { "enabled" => true }]);
        assert_eq!(plc.call("AuthCheck", vec![auth.clone()]), Ok(i(1)));
        // Username is lower-cased before the lookup (§2.2).
        assert_eq!(plc.call("AuthCheck", vec![password_auth("Ada.Lovelace@Example.ORG", pw)]), Ok(i(1)));
        // Extra keys in the auth struct are ignored (§2.1: the tests send 'Role').
        let mut with_role = auth.as_struct().cloned().unwrap_or_default();
        with_role.insert("Role".into(), s("user"));
        assert_eq!(plc.call("AuthCheck", vec![Value::Struct(with_role)]), Ok(i(1)));

        plc.admin_one("AddPersonToSite", vec![i(id), i(site_a)]);
        plc.admin_one("AddPersonToSite", vec![s(email), s("pl")]);
        let person = plc.admin_row("GetPersons", vec![ints(&[id])]);
        assert_eq!(sorted_ints(field(&person, "site_ids")), {
            let mut v = vec![1, site_a];
            v.sort();
            v
        });
        assert!(array_of(field(&person, "person_tag_ids")).len() <= 1, "only the hrn tag: {person:?}");
        plc.admin_one("SetPersonPrimarySite", vec![i(id), i(1)]);
        assert_eq!(field(&plc.admin_row("GetPersons", vec![ints(&[id])]), "site_ids"), &ints(&[1, site_a]));
        plc.admin_one("SetPersonPrimarySite", vec![s(email), s("psite")]);
        assert_eq!(field(&plc.admin_row("GetPersons", vec![ints(&[id])]), "site_ids"), &ints(&[site_a, 1]));
        let site = plc.admin_row("GetSites", vec![ints(&[site_a])]);
        assert_eq!(sorted_ints(field(&site, "person_ids")), vec![id]);

        plc.admin_one(
            "UpdatePerson",
            vec![i(id), st! { "first_name" => "Augusta", "title" => nil(), "password" => "n3w-Pw-1852" }],
        );
        let person = plc.admin_row("GetPersons", vec![ints(&[id])]);
        assert_fields(&person, &[("first_name", s("Augusta")), ("title", nil()), ("last_name", s("Lovelace"))]);
        assert_fault(&plc.call("AuthCheck", vec![auth.clone()]), 103, "PasswordAuth: Password verification failed");
        let auth = password_auth(email, "n3w-Pw-1852");
        assert_eq!(plc.call("AuthCheck", vec![auth.clone()]), Ok(i(1)));

        plc.admin_one("DeleteRoleFromPerson", vec![s("tech"), i(id)]);
        plc.admin_one("DeletePersonFromSite", vec![i(id), i(1)]);
        let person = plc.admin_row("GetPersons", vec![ints(&[id])]);
        assert_fields(&person, &[("role_ids", ints(&[30])), ("roles", strs(&["user"])), ("site_ids", ints(&[site_a]))]);

        let session = str_of(&plc.ok("GetSession", vec![auth.clone()])).to_owned();
        plc.admin_one("DeletePerson", vec![i(id)]);
        assert_eq!(plc.admin_rows("GetPersons", vec![ints(&[id])]), Vec::<Value>::new());
        assert_fault(&plc.call("AuthCheck", vec![auth]), 103, "PasswordAuth: No such account");
        assert_fault(&plc.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth");
        assert_eq!(
            sorted_ints(field(&plc.admin_row("GetSites", vec![ints(&[site_a])]), "person_ids")),
            Vec::<i64>::new()
        );
        // The email is free again.
        let again = plc.admin_int("AddPerson", vec![st! { "first_name" => "A", "last_name" => "L", "email" => email }]);
        assert_ne!(again, id);
        plc.admin_one("DeletePerson", vec![s(email)]);
        plc.admin_one("DeleteSite", vec![i(site_a)]);
        assert_eq!(count(plc, "GetPersons", "person_id"), persons_before);
    });
}

// ---------------------------------------------------------------------------------------------
// Roles, tag types, node groups

#[test]
fn roles_tag_types_and_node_groups() {
    each_backend(|plc| {
        let mut roles = plc.admin_rows("GetRoles", vec![]);
        roles.sort_by_key(|r| int_of(field(r, "role_id")));
        assert_eq!(
            roles,
            vec![
                st! { "role_id" => 10, "name" => "admin" },
                st! { "role_id" => 20, "name" => "pi" },
                st! { "role_id" => 30, "name" => "user" },
                st! { "role_id" => 40, "name" => "tech" },
                st! { "role_id" => 50, "name" => "node" },
            ]
        );
        let tag_types_before = count(plc, "GetTagTypes", "tag_type_id");
        let tt = plc.admin_int(
            "AddTagType",
            vec![st! { "tagname" => "test-tag", "category" => "xxxx/yyyyyy", "description" => "A test tag" }],
        );
        let row = plc.admin_row("GetTagTypes", vec![ints(&[tt])]);
        assert_keys(&row, TAG_TYPE_FIELDS);
        assert_eq!(
            row,
            st! {
                "tag_type_id" => tt, "tagname" => "test-tag", "category" => "xxxx/yyyyyy",
                "description" => "A test tag", "role_ids" => arr![], "roles" => arr![],
            }
        );
        assert_eq!(field(&plc.admin_row("GetTagTypes", vec![s("test-tag")]), "tag_type_id"), &i(tt));
        plc.admin_one("AddRoleToTagType", vec![s("pi"), i(tt)]);
        plc.admin_one("AddRoleToTagType", vec![i(40), s("test-tag")]);
        let row = plc.admin_row("GetTagTypes", vec![ints(&[tt])]);
        assert_eq!(sorted_ints(field(&row, "role_ids")), vec![20, 40]);
        assert_eq!(sorted_strs(field(&row, "roles")), vec!["pi", "tech"]);
        plc.admin_one("DeleteRoleFromTagType", vec![i(20), i(tt)]);
        plc.admin_one("UpdateTagType", vec![i(tt), st! { "description" => "Changed", "category" => "a/b" }]);
        assert_eq!(
            plc.admin_row("GetTagTypes", vec![ints(&[tt])]),
            st! {
                "tag_type_id" => tt, "tagname" => "test-tag", "category" => "a/b",
                "description" => "Changed", "role_ids" => ints(&[40]), "roles" => strs(&["tech"]),
            }
        );
        // Default category (§4.9: DB default 'general').
        let plain = plc.admin_int("AddTagType", vec![st! { "tagname" => "plain-tag" }]);
        assert_eq!(field(&plc.admin_row("GetTagTypes", vec![ints(&[plain])]), "category"), &s("general"));

        let groups_before = count(plc, "GetNodeGroups", "nodegroup_id");
        let g = plc.admin_int("AddNodeGroup", vec![s("testgroup"), s("test-tag"), s("yes")]);
        let row = plc.admin_row("GetNodeGroups", vec![ints(&[g])]);
        assert_keys(&row, NODEGROUP_FIELDS);
        assert_eq!(
            row,
            st! {
                "nodegroup_id" => g, "groupname" => "testgroup", "tag_type_id" => tt, "value" => "yes",
                "tagname" => "test-tag", "conf_file_ids" => arr![], "node_ids" => arr![],
            }
        );
        assert_eq!(field(&plc.admin_row("GetNodeGroups", vec![s("testgroup")]), "nodegroup_id"), &i(g));
        let g2 = plc.admin_int("AddNodeGroup", vec![s("testgroup-b"), i(tt), s("no")]);
        plc.admin_one("UpdateNodeGroup", vec![i(g), st! { "groupname" => "testgroup2" }]);
        let row = plc.admin_row("GetNodeGroups", vec![ints(&[g])]);
        assert_fields(&row, &[("groupname", s("testgroup2")), ("value", s("yes")), ("tagname", s("test-tag"))]);
        // Anonymous may read node groups (§2.6).
        let anon = plc.ok_rows("GetNodeGroups", vec![anonymous_auth(), ints(&[g2]), strs(&["groupname"])]);
        assert_eq!(anon, vec![st! { "groupname" => "testgroup-b" }]);

        plc.admin_one("DeleteNodeGroup", vec![i(g)]);
        plc.admin_one("DeleteNodeGroup", vec![s("testgroup-b")]);
        assert_eq!(plc.admin_rows("GetNodeGroups", vec![ints(&[g, g2])]), Vec::<Value>::new());
        assert_eq!(count(plc, "GetNodeGroups", "nodegroup_id"), groups_before);
        plc.admin_one("DeleteTagType", vec![i(tt)]);
        plc.admin_one("DeleteTagType", vec![s("plain-tag")]);
        assert_eq!(plc.admin_rows("GetTagTypes", vec![ints(&[tt, plain])]), Vec::<Value>::new());
        assert_eq!(count(plc, "GetTagTypes", "tag_type_id"), tag_types_before);
    });
}

#[test]
fn reference_lists() {
    each_backend(|plc| {
        let node_types = sorted_strs(&plc.admin("GetNodeTypes", vec![]));
        assert!(
            node_types.contains(&"regular".to_owned()) && node_types.contains(&"reservable".to_owned()),
            "{node_types:?}"
        );
        assert_eq!(
            sorted_strs(&plc.admin("GetBootStates", vec![])),
            vec!["boot", "disabled", "failboot", "install", "reinstall", "safeboot", "upgrade"]
        );
        assert_eq!(
            sorted_strs(&plc.admin("GetNetworkMethods", vec![])),
            vec!["dhcp", "ipmi", "proxy", "static", "tap", "unknown"]
        );
        assert_eq!(plc.admin("GetNetworkTypes", vec![]), strs(&["ipv4"]));
        // AddNodeType / DeleteNodeType (admin only).
        plc.admin_one("AddNodeType", vec![s("testtype")]);
        assert!(sorted_strs(&plc.admin("GetNodeTypes", vec![])).contains(&"testtype".to_owned()));
        let site = add_site(plc, "nt");
        let n = plc.admin_int("AddNode", vec![i(site), st! { "hostname" => "t.nt.org", "node_type" => "testtype" }]);
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[n])]), "node_type"), &s("testtype"));
        plc.admin_one("DeleteNode", vec![i(n)]);
        plc.admin_one("DeleteNodeType", vec![s("testtype")]);
        assert!(!sorted_strs(&plc.admin("GetNodeTypes", vec![])).contains(&"testtype".to_owned()));
    });
}

// ---------------------------------------------------------------------------------------------
// Nodes, node tags, node groups

#[test]
fn nodes_tags_and_group_membership() {
    each_backend(|plc| {
        let nodes_before = count(plc, "GetNodes", "node_id");
        let site = add_site(plc, "nodesite");
        let tt1 = plc.admin_int("AddTagType", vec![st! { "tagname" => "grp1", "category" => "test" }]);
        let tt2 = plc.admin_int("AddTagType", vec![st! { "tagname" => "grp2", "category" => "test" }]);
        let g1 = plc.admin_int("AddNodeGroup", vec![s("group1"), s("grp1"), s("yes")]);
        let g2 = plc.admin_int("AddNodeGroup", vec![s("group2"), i(tt2), s("yes")]);

        let t0 = now();
        let nid = plc.admin_int(
            "AddNode",
            vec![
                i(site),
                st! {
                    "hostname" => "N1.Example.ORG", "node_type" => "regular", "boot_state" => "boot",
                    "model" => "qemu/minhw", "version" => "7.0", "arch" => "x86_64",
                },
            ],
        );
        let t1 = now();
        let node = plc.admin_row("GetNodes", vec![ints(&[nid])]);
        assert_keys(&node, NODE_FIELDS);
        assert_fields(
            &node,
            &[
                ("node_id", i(nid)),
                ("hostname", s("n1.example.org")),
                ("node_type", s("regular")),
                ("site_id", i(site)),
                ("boot_state", s("boot")),
                ("model", s("qemu/minhw")),
                ("version", s("7.0")),
                ("run_level", nil()),
                ("boot_nonce", nil()),
                ("ssh_rsa_key", nil()),
                ("key", nil()),
                ("session", nil()),
                ("verified", F),
                ("last_contact", nil()),
                ("last_boot", nil()),
                ("last_download", nil()),
                ("last_pcu_reboot", nil()),
                ("last_pcu_confirmation", nil()),
                ("last_time_spent_online", nil()),
                ("last_time_spent_offline", nil()),
                ("interface_ids", arr![]),
                ("conf_file_ids", arr![]),
                ("slice_ids", arr![]),
                ("slice_ids_whitelist", arr![]),
                ("pcu_ids", arr![]),
                ("ports", arr![]),
                ("nodegroup_ids", arr![]),
                ("peer_id", nil()),
                ("peer_node_id", nil()),
            ],
        );
        assert_time_between(&node, "date_created", t0, t1);
        assert_time_between(&node, "last_updated", t0, t1);
        // Tags are not returned by default (§10.3); arch and hrn exist as node tags.
        let tags = plc.admin_rows("GetNodeTags", vec![st! { "node_id" => nid }]);
        let mut tagnames: Vec<String> = tags.iter().map(|t| str_of(field(t, "tagname")).to_owned()).collect();
        tagnames.sort();
        assert_eq!(tagnames, vec!["arch", "hrn"]);
        let tag_ids: Vec<i64> = {
            let mut v: Vec<i64> = tags.iter().map(|t| int_of(field(t, "node_tag_id"))).collect();
            v.sort();
            v
        };
        assert_eq!(sorted_ints(field(&node, "node_tag_ids")), tag_ids);
        let with_tags = plc.admin_row("GetNodes", vec![ints(&[nid]), strs(&["hostname", "arch", "hrn"])]);
        assert_keys(&with_tags, &["hostname", "arch", "hrn"]);
        assert_eq!(field(&with_tags, "arch"), &s("x86_64"));
        let hrn = str_of(field(&with_tags, "hrn"));
        assert!(
            hrn.ends_with(".nodesite.n1\\.example\\.org") && hrn.len() > ".nodesite.n1\\.example\\.org".len(),
            "hrn {hrn:?}"
        );
        assert_eq!(plc.admin("GetNodeArch", vec![i(nid)]), s("x86_64"));
        assert_eq!(plc.admin("GetNodePldistro", vec![i(nid)]), nil());
        assert_eq!(sorted_ints(field(&plc.admin_row("GetSites", vec![ints(&[site])]), "node_ids")), vec![nid]);

        // Node tags drive group membership (§4.5).
        let t1id = plc.admin_int("AddNodeTag", vec![i(nid), s("grp1"), s("yes")]);
        let tag = plc.admin_row("GetNodeTags", vec![ints(&[t1id])]);
        assert_keys(&tag, NODE_TAG_FIELDS);
        assert_fields(
            &tag,
            &[
                ("node_tag_id", i(t1id)),
                ("node_id", i(nid)),
                ("hostname", s("n1.example.org")),
                ("tag_type_id", i(tt1)),
                ("value", s("yes")),
                ("tagname", s("grp1")),
                ("category", s("test")),
            ],
        );
        // No description was given to AddTagType: nil or empty.
        assert!(matches!(field(&tag, "description"), Value::Nil | Value::String(_)));
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "nodegroup_ids"), &ints(&[g1]));
        assert_eq!(field(&plc.admin_row("GetNodeGroups", vec![ints(&[g1])]), "node_ids"), &ints(&[nid]));
        let t2id = plc.admin_int("AddNodeTag", vec![s("n1.example.org"), i(tt2), s("no")]);
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "nodegroup_ids"), &ints(&[g1]));
        plc.admin_one("UpdateNodeTag", vec![i(t2id), s("yes")]);
        assert_eq!(sorted_ints(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "nodegroup_ids")), {
            let mut v = vec![g1, g2];
            v.sort();
            v
        });
        let by_name = plc.admin_rows("GetNodeTags", vec![st! { "node_id" => nid, "tagname" => "grp2" }]);
        assert_eq!(by_name.len(), 1);
        assert_fields(&by_name[0], &[("node_tag_id", i(t2id)), ("value", s("yes"))]);
        let by_host = plc.admin_rows(
            "GetNodeTags",
            vec![st! { "hostname" => "n1.example.org", "tagname" => "grp1" }, strs(&["value"])],
        );
        assert_eq!(by_host, vec![st! { "value" => "yes" }]);
        plc.admin_one("UpdateNodeTag", vec![i(t1id), s("")]);
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "nodegroup_ids"), &ints(&[g2]));
        assert_eq!(field(&plc.admin_row("GetNodeGroups", vec![ints(&[g1])]), "node_ids"), &arr![]);

        // UpdateNode with native fields and an exposed tag.
        plc.admin_one(
            "UpdateNode",
            vec![
                i(nid),
                st! {
                    "hostname" => "n1-renamed.example.org", "boot_state" => "safeboot", "model" => "m2",
                    "version" => "7.1", "node_type" => "reservable", "arch" => "i386",
                },
            ],
        );
        let fields = ["hostname", "boot_state", "model", "version", "node_type", "arch"];
        assert_eq!(
            plc.admin_row("GetNodes", vec![ints(&[nid]), strs(&fields)]),
            st! {
                "hostname" => "n1-renamed.example.org", "boot_state" => "safeboot", "model" => "m2",
                "version" => "7.1", "node_type" => "reservable", "arch" => "i386",
            }
        );
        assert_eq!(field(&plc.admin_row("GetNodeTags", vec![ints(&[t2id])]), "hostname"), &s("n1-renamed.example.org"));

        plc.admin_one("DeleteNodeTag", vec![i(t2id)]);
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "nodegroup_ids"), &arr![]);
        assert_eq!(plc.admin_rows("GetNodeTags", vec![ints(&[t2id])]), Vec::<Value>::new());

        plc.admin_one("DeleteNode", vec![s("n1-renamed.example.org")]);
        assert_eq!(plc.admin_rows("GetNodes", vec![ints(&[nid])]), Vec::<Value>::new());
        assert_eq!(plc.admin_rows("GetNodes", vec![s("n1-renamed.example.org")]), Vec::<Value>::new());
        assert_eq!(plc.admin_rows("GetNodeTags", vec![st! { "node_id" => nid }]), Vec::<Value>::new());
        assert_eq!(field(&plc.admin_row("GetSites", vec![ints(&[site])]), "node_ids"), &arr![]);
        // Hostnames are unique among non-deleted nodes only.
        let again = add_node(plc, site, "n1-renamed.example.org");
        assert_ne!(again, nid);
        plc.admin_one("DeleteNode", vec![i(again)]);
        for g in [g1, g2] {
            plc.admin_one("DeleteNodeGroup", vec![i(g)]);
        }
        for tt in [tt1, tt2] {
            plc.admin_one("DeleteTagType", vec![i(tt)]);
        }
        plc.admin_one("DeleteSite", vec![i(site)]);
        assert_eq!(count(plc, "GetNodes", "node_id"), nodes_before);
    });
}

#[test]
fn node_accessors_and_flavour() {
    each_backend(|plc| {
        let site = add_site(plc, "acc");
        let nid = add_node(plc, site, "acc1.example.org");
        let h = "acc1.example.org";
        assert_eq!(plc.admin("GetNodeFcdistro", vec![s(h)]), nil());
        assert_eq!(plc.admin("SetNodeFcdistro", vec![s(h), s("f22")]), s("f22"));
        assert_eq!(plc.admin("SetNodePldistro", vec![i(nid), s("lxc")]), s("lxc"));
        assert_eq!(plc.admin("GetNodeFcdistro", vec![i(nid)]), s("f22"));
        assert_eq!(plc.admin("GetNodePldistro", vec![s(h)]), s("lxc"));
        for (accessor, value) in [
            ("Serial", "ttyS0:115200:n:8"),
            ("Cramfs", "yes"),
            ("Kvariant", "bigmem"),
            ("Kargs", "console=ttyS0 quiet"),
            ("NoHangcheck", "yes"),
            ("Arch", "i386"),
        ] {
            assert_eq!(plc.admin(&format!("GetNode{accessor}"), vec![i(nid)]), nil(), "GetNode{accessor} before");
            assert_eq!(plc.admin(&format!("SetNode{accessor}"), vec![i(nid), s(value)]), s(value), "SetNode{accessor}");
            assert_eq!(plc.admin(&format!("GetNode{accessor}"), vec![s(h)]), s(value), "GetNode{accessor}");
        }
        // Setting again updates the one tag.
        assert_eq!(plc.admin("SetNodeArch", vec![i(nid), s("x86_64")]), s("x86_64"));
        let arch_tags = plc.admin_rows("GetNodeTags", vec![st! { "node_id" => nid, "tagname" => "arch" }]);
        assert_eq!(arch_tags.len(), 1);
        assert_eq!(field(&arch_tags[0], "value"), &s("x86_64"));
        // Bootcd tags are not exposed as node fields (§4.1).
        assert_fault(&plc.admin_call("GetNodes", vec![ints(&[nid]), strs(&["serial"])]), 102, "");
        // Unknown objects.
        assert_eq!(plc.admin("GetNodeArch", vec![s("nosuch.example.org")]), nil());
        assert_fault(
            &plc.admin_call("SetNodeArch", vec![s("nosuch.example.org"), s("x")]),
            102,
            "Cannot set tag on Node",
        );

        // GetNodeFlavour (§5): nodefamily = pldistro-fcdistro-arch.
        let flavour = plc.admin("GetNodeFlavour", vec![s(h)]);
        assert_keys(&flavour, &["arch", "fcdistro", "pldistro", "virt", "nodefamily", "extensions", "plain"]);
        assert_fields(
            &flavour,
            &[
                ("arch", s("x86_64")),
                ("fcdistro", s("f22")),
                ("pldistro", s("lxc")),
                ("nodefamily", s("lxc-f22-x86_64")),
                ("extensions", arr![]),
                ("plain", F),
            ],
        );
        assert_eq!(field(&flavour, "virt"), &s("lxc"), "PLC_FLAVOUR_VIRT_MAP default:lxc for f22");
        // Missing tags are written back from the configured defaults.
        let n2 = add_node(plc, site, "acc2.example.org");
        let flavour = plc.admin("GetNodeFlavour", vec![i(n2)]);
        let (arch, fc, pl) = (
            plc.config().flavour.arch.clone(),
            plc.config().flavour.fcdistro.clone(),
            plc.config().flavour.pldistro.clone(),
        );
        assert_fields(
            &flavour,
            &[
                ("arch", s(&arch)),
                ("fcdistro", s(&fc)),
                ("pldistro", s(&pl)),
                ("nodefamily", s(&format!("{pl}-{fc}-{arch}"))),
            ],
        );
        assert_eq!(plc.admin("GetNodeFcdistro", vec![i(n2)]), s(&fc));
        assert_eq!(plc.admin("GetNodeArch", vec![i(n2)]), s(&arch));
        // GetNodeFlavour roles: admin, user, node; not pi or tech (§5).
        add_person(plc, "pi@acc.org", "pi-pw-123", &["pi"], Some(site));
        assert_fault(
            &plc.call("GetNodeFlavour", vec![password_auth("pi@acc.org", "pi-pw-123"), i(nid)]),
            103,
            "missing role",
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Interfaces and interface tags

#[test]
fn interfaces_static_dhcp_and_tags() {
    each_backend(|plc| {
        let site = add_site(plc, "ifsite");
        let nid = add_node(plc, site, "if1.example.org");
        let t0 = now();
        let iid = plc.admin_int(
            "AddInterface",
            vec![
                i(nid),
                st! {
                    "method" => "static", "type" => "ipv4", "ip" => "10.1.2.10", "netmask" => "255.255.255.0",
                    "network" => "10.1.2.0", "broadcast" => "10.1.2.255", "gateway" => "10.1.2.1",
                    "dns1" => "10.1.2.2", "dns2" => "10.1.2.3", "mac" => "52:54:00:AB:cd:0F", "bwlimit" => 1_000_000,
                    "hostname" => "if1.example.org",
                },
            ],
        );
        let t1 = now();
        let row = plc.admin_row("GetInterfaces", vec![ints(&[iid])]);
        assert_keys(&row, INTERFACE_FIELDS);
        assert_fields(
            &row,
            &[
                ("interface_id", i(iid)),
                ("node_id", i(nid)),
                // The first interface of a node is forced primary (§4.2).
                ("is_primary", T),
                ("type", s("ipv4")),
                ("method", s("static")),
                ("ip", s("10.1.2.10")),
                ("mac", s("52:54:00:ab:cd:0f")),
                ("gateway", s("10.1.2.1")),
                ("network", s("10.1.2.0")),
                ("broadcast", s("10.1.2.255")),
                ("netmask", s("255.255.255.0")),
                ("dns1", s("10.1.2.2")),
                ("dns2", s("10.1.2.3")),
                ("hostname", s("if1.example.org")),
                ("bwlimit", i(1_000_000)),
                ("interface_tag_ids", arr![]),
            ],
        );
        assert_time_between(&row, "last_updated", t0, t1);
        // Bare string and {'ip': …} filters (§4.2: the secondary key is ip).
        assert_eq!(field(&plc.admin_row("GetInterfaces", vec![s("10.1.2.10")]), "interface_id"), &i(iid));
        assert_eq!(
            plc.admin_rows("GetInterfaces", vec![st! { "ip" => "10.1.2.10" }, strs(&["interface_id"])]),
            vec![st! { "interface_id" => iid }]
        );

        let dhcp =
            plc.admin_int("AddInterface", vec![s("if1.example.org"), st! { "method" => "dhcp", "type" => "ipv4" }]);
        let row = plc.admin_row("GetInterfaces", vec![ints(&[dhcp])]);
        assert_keys(&row, INTERFACE_FIELDS);
        assert_fields(
            &row,
            &[
                ("interface_id", i(dhcp)),
                ("node_id", i(nid)),
                ("is_primary", F),
                ("type", s("ipv4")),
                ("method", s("dhcp")),
                ("ip", nil()),
                ("mac", nil()),
                ("gateway", nil()),
                ("network", nil()),
                ("broadcast", nil()),
                ("netmask", nil()),
                ("dns1", nil()),
                ("dns2", nil()),
                ("hostname", nil()),
                ("bwlimit", nil()),
                ("interface_tag_ids", arr![]),
            ],
        );
        // Primary first (§4.1 interface_ids).
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "interface_ids"), &ints(&[iid, dhcp]));

        plc.admin_one("UpdateInterface", vec![i(dhcp), st! { "bwlimit" => 500_000, "mac" => "52:54:00:00:00:02" }]);
        assert_fields(
            &plc.admin_row("GetInterfaces", vec![ints(&[dhcp])]),
            &[("bwlimit", i(500_000)), ("mac", s("52:54:00:00:00:02")), ("is_primary", F)],
        );
        plc.admin_one("UpdateInterface", vec![i(iid), st! { "ip" => "10.1.2.20", "dns2" => nil() }]);
        assert_fields(
            &plc.admin_row("GetInterfaces", vec![ints(&[iid])]),
            &[("ip", s("10.1.2.20")), ("dns2", nil()), ("gateway", s("10.1.2.1")), ("is_primary", T)],
        );

        // Interface tags, and the exposed `ifname` (§4.2).
        let itid = plc.admin_int("AddInterfaceTag", vec![i(iid), s("ifname"), s("eth0")]);
        let tag = plc.admin_row("GetInterfaceTags", vec![ints(&[itid])]);
        assert_keys(&tag, INTERFACE_TAG_FIELDS);
        assert_fields(
            &tag,
            &[
                ("interface_tag_id", i(itid)),
                ("interface_id", i(iid)),
                ("ip", s("10.1.2.20")),
                ("tagname", s("ifname")),
                ("category", s("interface/config")),
                ("value", s("eth0")),
            ],
        );
        let ifname_tt = plc.admin_row("GetTagTypes", vec![s("ifname")]);
        assert_eq!(field(&tag, "tag_type_id"), field(&ifname_tt, "tag_type_id"));
        assert_eq!(field(&tag, "description"), field(&ifname_tt, "description"));
        assert_eq!(field(&plc.admin_row("GetInterfaces", vec![ints(&[iid])]), "interface_tag_ids"), &ints(&[itid]));
        assert_eq!(
            plc.admin_row("GetInterfaces", vec![ints(&[iid]), strs(&["interface_id", "ifname"])]),
            st! { "interface_id" => iid, "ifname" => "eth0" }
        );
        assert_fault(&plc.admin_call("AddInterfaceTag", vec![i(iid), s("ifname"), s("eth9")]), 102, "already has");
        plc.admin_one("UpdateInterfaceTag", vec![i(itid), s("eth1")]);
        assert_eq!(field(&plc.admin_row("GetInterfaceTags", vec![ints(&[itid])]), "value"), &s("eth1"));
        plc.admin_one("DeleteInterfaceTag", vec![i(itid)]);
        assert_eq!(plc.admin_rows("GetInterfaceTags", vec![ints(&[itid])]), Vec::<Value>::new());
        assert_eq!(field(&plc.admin_row("GetInterfaces", vec![ints(&[iid])]), "interface_tag_ids"), &arr![]);

        // A second primary is refused; deleting the dhcp one works.
        assert_fault(
            &plc.admin_call("UpdateInterface", vec![i(dhcp), st! { "is_primary" => true }]),
            102,
            "Can only set one primary interface per node",
        );
        plc.admin_one("DeleteInterface", vec![i(dhcp)]);
        assert_eq!(plc.admin_rows("GetInterfaces", vec![ints(&[dhcp])]), Vec::<Value>::new());
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid])]), "interface_ids"), &ints(&[iid]));
        // DeleteNode deletes its interfaces (§4.1).
        plc.admin_one("DeleteNode", vec![i(nid)]);
        assert_eq!(plc.admin_rows("GetInterfaces", vec![ints(&[iid])]), Vec::<Value>::new());
        assert_eq!(plc.admin_rows("GetInterfaces", vec![st! { "node_id" => nid }]), Vec::<Value>::new());
    });
}

// ---------------------------------------------------------------------------------------------
// Sessions

fn assert_session_id(session: &str) {
    assert_eq!(session.len(), 44, "session id {session:?}: 32 bytes base64 with padding (§2.4)");
    assert!(session.ends_with('='), "session id {session:?}");
    assert!(
        session.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='),
        "session id {session:?}"
    );
}

#[test]
fn person_sessions() {
    each_backend(|plc| {
        let session = str_of(&plc.admin("GetSession", vec![])).to_owned();
        assert_session_id(&session);
        let auth = session_auth(&session);
        assert_eq!(plc.call("AuthCheck", vec![auth.clone()]), Ok(i(1)));
        // A session auth struct gets its own session back (§2.4).
        assert_eq!(plc.call("GetSession", vec![auth.clone()]), Ok(s(&session)));
        // The session carries the admin's roles.
        assert_eq!(field(&plc.ok_rows("GetSites", vec![auth.clone(), ints(&[1])])[0], "login_base"), &s("pl"));
        let other = str_of(&plc.admin("GetSession", vec![])).to_owned();
        assert_ne!(other, session, "each GetSession makes a new random session");

        assert_eq!(plc.call("DeleteSession", vec![auth.clone()]), Ok(i(1)));
        assert_fault(&plc.call("AuthCheck", vec![auth]), 103, "SessionAuth: No such session");
        assert_eq!(plc.call("AuthCheck", vec![session_auth(&other)]), Ok(i(1)), "other sessions survive");
        // DeleteSession accepts only session auth.
        assert!(plc.call("DeleteSession", vec![admin_auth()]).is_err());

        // Expiry: a person session of 1 s is refused (103, then deleted) once it has expired.
        let short = str_of(&plc.admin("GetSession", vec![i(1)])).to_owned();
        std::thread::sleep(Duration::from_millis(2500));
        assert_fault(&plc.call("AuthCheck", vec![session_auth(&short)]), 103, "SessionAuth: Invalid session");
        assert_fault(&plc.call("AuthCheck", vec![session_auth(&short)]), 103, "SessionAuth: No such session");
        assert_fault(&plc.admin_call("GetSession", vec![i(-10)]), 102, "Expiration date must be in the future");
        let long = str_of(&plc.admin("GetSession", vec![i(3600)])).to_owned();
        assert_eq!(plc.call("AuthCheck", vec![session_auth(&long)]), Ok(i(1)));

        // AddSession (admin "sudo"): a session of another user with that user's rights.
        let site = add_site(plc, "sess");
        let uid = add_person(plc, "u@sess.org", "user-pw-1", &["user"], Some(site));
        let sudo = str_of(&plc.admin("AddSession", vec![s("u@sess.org")])).to_owned();
        assert_session_id(&sudo);
        assert_eq!(plc.call("AuthCheck", vec![session_auth(&sudo)]), Ok(i(1)));
        let seen = plc.ok_rows("GetPersons", vec![session_auth(&sudo), st! {}, strs(&["person_id"])]);
        assert_eq!(seen, vec![st! { "person_id" => uid }], "a user sees only themself");
        assert_fault(
            &plc.call("AddSession", vec![password_auth("u@sess.org", "user-pw-1"), i(uid)]),
            103,
            "missing role",
        );
        // Disabling the person kills their sessions' use.
        plc.admin_one("UpdatePerson", vec![i(uid), st! { "enabled" => false }]);
        assert_fault(&plc.call("AuthCheck", vec![session_auth(&sudo)]), 103, "SessionAuth");
    });
}

// ---------------------------------------------------------------------------------------------
// Node authentication (hmac, node sessions)

#[test]
fn hmac_node_auth_and_node_sessions() {
    each_backend(|plc| {
        let site = add_site(plc, "hm");
        let nid = add_node(plc, site, "hm1.example.org");
        add_static_interface(plc, nid, 7);
        // No key yet.
        assert_fault(&plc.call("GetSession", vec![hmac_auth(nid, "", &[])]), 103, "BootAuth: No node key");
        plc.admin_one("UpdateNode", vec![i(nid), st! { "key" => "testkey123" }]);
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[nid]), strs(&["key"])]), "key"), &s("testkey123"));

        assert_eq!(plc.call("BootCheckAuthentication", vec![hmac_auth(nid, "testkey123", &[])]), Ok(i(1)));
        assert_eq!(
            plc.call("BootCheckAuthentication", vec![hmac_auth_with("hmac_dummybox", nid, "testkey123", &[])]),
            Ok(i(1))
        );
        // Extra keys (node_ip, as the BootManager sends) are ignored.
        let mut with_ip = hmac_auth(nid, "testkey123", &[]).as_struct().cloned().unwrap_or_default();
        with_ip.insert("node_ip".into(), s("10.7.0.10"));
        assert_eq!(plc.call("BootCheckAuthentication", vec![Value::Struct(with_ip)]), Ok(i(1)));

        let session = str_of(&plc.ok("GetSession", vec![hmac_auth(nid, "testkey123", &[])])).to_owned();
        assert_session_id(&session);
        let node_auth = session_auth(&session);
        assert_eq!(plc.call("BootCheckAuthentication", vec![node_auth.clone()]), Ok(i(1)));
        assert_eq!(plc.call("AuthCheck", vec![node_auth.clone()]), Ok(i(1)));
        // A node caller does not see key, session, boot_nonce (§4.1).
        let me = plc.ok_rows("GetNodes", vec![node_auth.clone(), ints(&[nid])]);
        assert_eq!(me.len(), 1);
        assert_keys(&me[0], &node_fields_non_admin());
        // Signed arguments: the same canonicalisation as the §2.5 vectors.
        let args = [ints(&[nid]), strs(&["hostname", "boot_state"])];
        let rows = plc.ok_rows("GetNodes", vec![hmac_auth(nid, "testkey123", &args), args[0].clone(), args[1].clone()]);
        assert_eq!(rows, vec![st! { "hostname" => "hm1.example.org", "boot_state" => "boot" }]);
        let args = [st! { "node_id" => nid, "tagname" => "hrn" }];
        assert_eq!(plc.ok_rows("GetNodeTags", vec![hmac_auth(nid, "testkey123", &args), args[0].clone()]).len(), 1);
        // Signing other arguments than those sent fails.
        assert_fault(
            &plc.call("GetNodes", vec![hmac_auth(nid, "testkey123", &[ints(&[nid])]), ints(&[nid + 1])]),
            103,
            "BootAuth: Call could not be authenticated",
        );
        // A node has at most one session: a new GetSession replaces it.
        let second = str_of(&plc.ok("GetSession", vec![hmac_auth(nid, "testkey123", &[])])).to_owned();
        assert_ne!(second, session);
        assert_fault(&plc.call("AuthCheck", vec![node_auth]), 103, "SessionAuth: No such session");
        let node_auth = session_auth(&second);
        assert_eq!(plc.call("AuthCheck", vec![node_auth.clone()]), Ok(i(1)));
        // A node session on a method without the node role: 108 and the session is kept (§2.3).
        assert_fault(
            &plc.call(
                "AddSite",
                vec![node_auth.clone(), st! { "name" => "x", "abbreviated_name" => "x", "login_base" => "x" }],
            ),
            108,
            "SessionAuth: Not allowed to call method AddSite, missing 'node' role",
        );
        assert_eq!(plc.call("AuthCheck", vec![node_auth.clone()]), Ok(i(1)));
        // hmac on a method without the node role: 103 (§2.5).
        let fields = st! { "name" => "x", "abbreviated_name" => "x", "login_base" => "x" };
        assert_fault(
            &plc.call("AddSite", vec![hmac_auth(nid, "testkey123", std::slice::from_ref(&fields)), fields.clone()]),
            103,
            "BootAuth: Not allowed to call method, missing 'node' role",
        );
        assert_fault(
            &plc.call("GetSession", vec![hmac_auth(nid, "wrongkey", &[])]),
            103,
            "BootAuth: Call could not be authenticated",
        );
        assert_fault(
            &plc.call("GetSession", vec![hmac_auth(nid + 1000, "testkey123", &[])]),
            103,
            "BootAuth: No such node",
        );
        // Deleting the node ends its session.
        plc.admin_one("DeleteNode", vec![i(nid)]);
        assert_fault(&plc.call("AuthCheck", vec![node_auth]), 103, "SessionAuth");
        assert_fault(
            &plc.call("BootCheckAuthentication", vec![hmac_auth(nid, "testkey123", &[])]),
            103,
            "BootAuth: No such node",
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Roles and site scoping: 103 vs 108

#[test]
fn roles_103_versus_108_and_site_scoping() {
    each_backend(|plc| {
        let site_a = add_site(plc, "sitea");
        let site_b = add_site(plc, "siteb");
        add_person(plc, "user@a.org", "user-pw-1", &["user"], Some(site_a));
        add_person(plc, "pi@a.org", "pi-a-pw-1", &["pi"], Some(site_a));
        add_person(plc, "pi@b.org", "pi-b-pw-1", &["pi"], Some(site_b));
        add_person(plc, "tech@a.org", "tech-pw-1", &["tech"], Some(site_a));
        let node_a = add_node(plc, site_a, "na.a.org");
        let fields = st! { "hostname" => "new.a.org" };

        // A user-only account: 103 with password auth, 108 with a session (§2.2, §2.3, §11.5).
        let user_pw = password_auth("user@a.org", "user-pw-1");
        assert_fault(
            &plc.call("AddNode", vec![user_pw.clone(), s("sitea"), fields.clone()]),
            103,
            "PasswordAuth: missing role",
        );
        let user_session = session_auth(str_of(&plc.ok("GetSession", vec![user_pw])));
        assert_fault(
            &plc.call("AddNode", vec![user_session.clone(), s("sitea"), fields.clone()]),
            108,
            "SessionAuth: missing role",
        );
        // 108 keeps the session.
        assert_eq!(plc.call("AuthCheck", vec![user_session]), Ok(i(1)));

        // A PI of another site may not touch site A's node; site A's PI and tech may.
        let pi_b = password_auth("pi@b.org", "pi-b-pw-1");
        let r = plc.call("UpdateNode", vec![pi_b.clone(), i(node_a), st! { "model" => "hacked" }]);
        assert_fault(&r, 108, "Permission denied");
        let (_, message) = r.err().unwrap_or_default();
        assert!(message.starts_with("person_id "), "faults carry the caller prefix (§1): {message:?}");
        assert!(message.contains(": UpdateNode: Permission denied"), "{message:?}");
        assert_fault(&plc.call("AddNode", vec![pi_b.clone(), s("sitea"), fields.clone()]), 108, "");
        assert_fault(&plc.call("DeleteNode", vec![pi_b.clone(), i(node_a)]), 108, "");
        assert_fault(&plc.call("AddInterface", vec![pi_b.clone(), i(node_a), static_interface_fields(3)]), 108, "");
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[node_a])]), "model"), &nil(), "unchanged");
        let pi_a = password_auth("pi@a.org", "pi-a-pw-1");
        assert_eq!(plc.call("UpdateNode", vec![pi_a.clone(), s("na.a.org"), st! { "model" => "ok" }]), Ok(i(1)));
        // Admin-only fields are silently dropped for non-admins (§4.1).
        assert_eq!(plc.call("UpdateNode", vec![pi_a.clone(), i(node_a), st! { "key" => "pi-set-key" }]), Ok(i(1)));
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[node_a]), strs(&["key"])]), "key"), &nil());
        let tech = password_auth("tech@a.org", "tech-pw-1");
        let n2 = plc.ok_int("AddNode", vec![tech.clone(), s("sitea"), st! { "hostname" => "n2.a.org" }]);
        assert_eq!(field(&plc.admin_row("GetNodes", vec![ints(&[n2])]), "site_id"), &i(site_a));
        // Non-admin callers never see node keys.
        let rows = plc.ok_rows("GetNodes", vec![pi_a.clone(), ints(&[node_a])]);
        assert_keys(&rows[0], &node_fields_non_admin());
        // The prefix of an unauthenticated failure is a bare ": " (§1).
        let r = plc.call("AddNode", vec![password_auth("nobody@a.org", "x"), s("sitea"), fields.clone()]);
        assert_fault(&r, 103, "PasswordAuth: No such account");
        assert_eq!(
            r.err().map(|(_, m)| m).unwrap_or_default(),
            ": AddNode: Failed to authenticate call: PasswordAuth: No such account"
        );

        // Anonymous: allowed on GetNodes (without keys), refused on AddNode (§2.6).
        let anon = plc.ok_rows("GetNodes", vec![anonymous_auth(), ints(&[node_a])]);
        assert_keys(&anon[0], &node_fields_non_admin());
        assert_fault(
            &plc.call("AddNode", vec![anonymous_auth(), s("sitea"), fields]),
            103,
            "AnonymousAuth: method cannot be called anonymously",
        );
        // GetPersons scoping: a PI sees their site's people, a user only themself (§4.8).
        let emails = |auth: Value| {
            let rows = plc.ok_rows("GetPersons", vec![auth, st! {}, strs(&["email"])]);
            let mut v: Vec<String> = rows.iter().map(|r| str_of(field(r, "email")).to_owned()).collect();
            v.sort();
            v
        };
        assert_eq!(emails(password_auth("user@a.org", "user-pw-1")), vec!["user@a.org"]);
        assert_eq!(emails(pi_a), vec!["pi@a.org", "tech@a.org", "user@a.org"]);
        // AddRoleToPerson: a PI may grant only roles above their own (§3).
        let r = plc.call("AddRoleToPerson", vec![password_auth("pi@b.org", "pi-b-pw-1"), s("admin"), s("pi@b.org")]);
        assert!(matches!(r, Err((102 | 108, _))), "a PI granting admin: {r:?}");
        let person = plc.admin_row("GetPersons", vec![s("pi@b.org")]);
        assert_eq!(sorted_ints(field(&person, "role_ids")), vec![20]);
    });
}

// ---------------------------------------------------------------------------------------------
// Filters

#[test]
fn get_filters_patterns_comparisons_sort_and_paging() {
    each_backend(|plc| {
        let site = add_site(plc, "flt");
        let mut ids = std::collections::BTreeMap::new();
        for (h, boot_state, arch) in [
            ("a1.alpha.org", "boot", "x86_64"),
            ("a2.alpha.org", "reinstall", "x86_64"),
            ("b1.beta.edu", "boot", "i386"),
            ("b2.beta.edu", "safeboot", "i386"),
            ("c1.gamma.net", "boot", "aarch64"),
        ] {
            let id = plc.admin_int(
                "AddNode",
                vec![i(site), st! { "hostname" => h, "boot_state" => boot_state, "arch" => arch }],
            );
            ids.insert(h, id);
        }
        plc.admin_one("UpdateNode", vec![s("c1.gamma.net"), st! { "model" => "special" }]);
        let hosts = |filter: Value| -> Vec<String> {
            plc.admin_rows("GetNodes", vec![filter, strs(&["hostname"])])
                .iter()
                .map(|r| str_of(field(r, "hostname")).to_owned())
                .collect()
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let all = ["a1.alpha.org", "a2.alpha.org", "b1.beta.edu", "b2.beta.edu", "c1.gamma.net"];
        // `*` patterns, case-insensitive (ILIKE).
        assert_eq!(sorted(hosts(st! { "hostname" => "*.beta.edu" })), vec!["b1.beta.edu", "b2.beta.edu"]);
        assert_eq!(sorted(hosts(st! { "hostname" => "*.BETA.Edu" })), vec!["b1.beta.edu", "b2.beta.edu"]);
        assert_eq!(sorted(hosts(st! { "hostname" => "a%" })), vec!["a1.alpha.org", "a2.alpha.org"]);
        // `~` negation.
        assert_eq!(
            sorted(hosts(st! { "~hostname" => "*.beta.edu", "site_id" => site })),
            vec!["a1.alpha.org", "a2.alpha.org", "c1.gamma.net"]
        );
        // Comparisons: < > strict, [ is <=, ] is >=.
        let a2 = ids["a2.alpha.org"];
        let b2 = ids["b2.beta.edu"];
        assert_eq!(
            sorted(hosts(st! { ">node_id" => a2, "<node_id" => b2 + 1, "site_id" => site })),
            vec!["b1.beta.edu", "b2.beta.edu"]
        );
        assert_eq!(sorted(hosts(st! { "[node_id" => a2, "site_id" => site })), vec!["a1.alpha.org", "a2.alpha.org"]);
        assert_eq!(sorted(hosts(st! { "]node_id" => b2, "site_id" => site })), vec!["b2.beta.edu", "c1.gamma.net"]);
        // Values: list → IN, empty list → nothing, nil → IS NULL, plain → =.
        assert_eq!(
            sorted(hosts(st! { "boot_state" => strs(&["safeboot", "reinstall"]) })),
            vec!["a2.alpha.org", "b2.beta.edu"]
        );
        assert_eq!(hosts(st! { "boot_state" => arr![] }), Vec::<String>::new());
        assert_eq!(sorted(hosts(st! { "model" => nil(), "site_id" => site })), all[..4].to_vec());
        assert_eq!(hosts(st! { "model" => "special" }), vec!["c1.gamma.net"]);
        assert_eq!(hosts(st! { "~model" => nil(), "site_id" => site }), vec!["c1.gamma.net"]);
        // -SORT, -LIMIT, -OFFSET.
        assert_eq!(hosts(st! { "site_id" => site, "-SORT" => "hostname" }), all.to_vec());
        let mut rev = all.to_vec();
        rev.reverse();
        assert_eq!(hosts(st! { "site_id" => site, "-SORT" => "-hostname" }), rev);
        assert_eq!(
            hosts(st! { "site_id" => site, "-SORT" => strs(&["+boot_state", "-hostname"]) }),
            vec!["c1.gamma.net", "b1.beta.edu", "a1.alpha.org", "a2.alpha.org", "b2.beta.edu"]
        );
        assert_eq!(hosts(st! { "site_id" => site, "-SORT" => "hostname", "-LIMIT" => 2 }), all[..2].to_vec());
        assert_eq!(
            hosts(st! { "site_id" => site, "-SORT" => "hostname", "-LIMIT" => 2, "-OFFSET" => 1 }),
            all[1..3].to_vec()
        );
        assert_eq!(hosts(st! { "site_id" => site, "-SORT" => "-hostname", "-OFFSET" => 4 }), vec!["a1.alpha.org"]);
        // List filters mix ids and names (OR); bare int and bare string.
        assert_eq!(sorted(hosts(arr![ids["a1.alpha.org"], "b2.beta.edu"])), vec!["a1.alpha.org", "b2.beta.edu"]);
        assert_eq!(hosts(arr![]), Vec::<String>::new());
        assert_eq!(hosts(i(ids["c1.gamma.net"])), vec!["c1.gamma.net"]);
        assert_eq!(hosts(s("b1.beta.edu")), vec!["b1.beta.edu"]);
        assert_eq!(hosts(s("B1.BETA.EDU")), Vec::<String>::new(), "a bare string is an exact match");
        // Exposed tags as filter keys and return fields.
        let rows = plc
            .admin_rows("GetNodes", vec![st! { "arch" => "i386", "-SORT" => "hostname" }, strs(&["hostname", "arch"])]);
        assert_eq!(
            rows,
            vec![
                st! { "hostname" => "b1.beta.edu", "arch" => "i386" },
                st! { "hostname" => "b2.beta.edu", "arch" => "i386" },
            ]
        );
        assert_eq!(sorted(hosts(st! { "arch" => "*86*", "site_id" => site })), all[..4].to_vec());
        // Exact key sets with return_fields.
        let rows =
            plc.admin_rows("GetNodes", vec![i(ids["a1.alpha.org"]), strs(&["node_id", "boot_state", "pldistro"])]);
        assert_eq!(rows, vec![st! { "node_id" => ids["a1.alpha.org"], "boot_state" => "boot", "pldistro" => nil() }]);
        // Errors.
        assert_fault(&plc.admin_call("GetNodes", vec![st! { "nosuch" => 1 }]), 102, "Invalid filter field 'nosuch'");
        assert_fault(&plc.admin_call("GetNodes", vec![st! { "~nosuch" => 1 }]), 102, "nosuch");
        assert_fault(&plc.admin_call("GetNodes", vec![st! { "-SORT" => "nosuch" }]), 102, "nosuch");
        assert_fault(&plc.admin_call("GetNodes", vec![nil(), strs(&["hostname", "nosuch"])]), 102, "nosuch");
        assert_fault(&plc.admin_call("GetNodes", vec![nil(), arr![]]), 102, "No valid return fields");
        // Other classes' secondary keys.
        assert_eq!(
            plc.admin_rows("GetPersons", vec![arr![ADMIN_EMAIL], strs(&["email"])]),
            vec![st! { "email" => ADMIN_EMAIL }]
        );
        assert_eq!(
            plc.admin_rows("GetTagTypes", vec![strs(&["arch"]), strs(&["tagname"])]),
            vec![st! { "tagname" => "arch" }]
        );
        let persons = plc.admin_rows("GetPersons", vec![st! { "|role_ids" => ints(&[10]) }, strs(&["email"])]);
        assert_eq!(persons, vec![st! { "email" => ADMIN_EMAIL }]);
    });
}

// ---------------------------------------------------------------------------------------------
// Events

#[test]
fn events_record_calls_with_secrets_redacted() {
    each_backend(|plc| {
        let admin_id = int_of(field(&plc.admin_row("GetPersons", vec![s(ADMIN_EMAIL)]), "person_id"));
        let secret1 = "Very-Secret-Pw-1";
        let secret2 = "Very-Secret-Pw-2";
        let t0 = now();
        let pid = plc.admin_int(
            "AddPerson",
            vec![st! { "first_name" => "E", "last_name" => "V", "email" => "ev@example.org", "password" => secret1 }],
        );
        let session = str_of(&plc.admin("GetSession", vec![])).to_owned();
        plc.ok_one("UpdatePerson", vec![session_auth(&session), i(pid), st! { "password" => secret2 }]);
        let site = add_site(plc, "evsite");
        let t1 = now();
        let events = plc.admin_rows("GetEvents", vec![st! {}]);
        assert!(!events.is_empty());
        for e in &events {
            assert_keys(e, EVENT_FIELDS);
            let call = str_of(field(e, "call"));
            for secret in [secret1, secret2, ADMIN_PASSWORD, session.as_str()] {
                assert!(!call.contains(secret), "event call leaks a secret {secret:?}: {call}");
            }
            assert!(!str_of(field(e, "call_name")).starts_with("system."), "system.* is never logged");
        }
        let add = events.iter().find(|e| field(e, "call_name") == &s("AddPerson")).expect("an AddPerson event");
        assert_fields(
            add,
            &[("person_id", i(admin_id)), ("node_id", nil()), ("auth_type", s("password")), ("fault_code", i(0))],
        );
        let call = str_of(field(add, "call"));
        // MethodName + Python repr of the argument tuple (§2.8).
        assert!(call.starts_with("AddPerson({'AuthMethod': 'password', 'AuthString': 'Removed by API'"), "{call}");
        assert!(call.ends_with("})"), "{call}");
        assert!(call.contains("Removed by API"), "redacted: {call}");
        assert!(call.contains("ev@example.org"), "{call}");
        assert!(sorted_ints(field(add, "object_ids")).contains(&pid), "{add:?}");
        assert!(sorted_strs(field(add, "object_types")).contains(&"Person".to_owned()), "{add:?}");
        assert_time_between(add, "time", t0, t1);
        assert!(field(add, "runtime").as_double().is_some_and(|r| r >= 0.0), "{add:?}");
        let update =
            events.iter().find(|e| field(e, "call_name") == &s("UpdatePerson")).expect("an UpdatePerson event");
        assert_fields(update, &[("auth_type", s("session")), ("person_id", i(admin_id)), ("fault_code", i(0))]);
        let add_site = events.iter().find(|e| field(e, "call_name") == &s("AddSite")).expect("an AddSite event");
        assert!(sorted_ints(field(add_site, "object_ids")).contains(&site));
        // Event objects.
        let objects = plc.admin_rows("GetEventObjects", vec![st! { "object_type" => "Person", "object_id" => pid }]);
        assert!(!objects.is_empty());
        assert!(objects.iter().all(|o| field(o, "object_id") == &i(pid) && field(o, "object_type") == &s("Person")));
        // Admin only.
        let uid = add_person(plc, "pi@evsite.org", "pi-pw-123", &["pi"], Some(site));
        assert!(uid > 0);
        assert_fault(&plc.call("GetEvents", vec![password_auth("pi@evsite.org", "pi-pw-123")]), 103, "missing role");
        // Failed calls are not logged (PLC_API_DEBUG off).
        let before = plc.admin_rows("GetEvents", vec![st! {}]).len();
        let _ = plc.admin_call("AddSite", vec![st! { "login_base" => "BAD BASE" }]);
        assert_eq!(plc.admin_rows("GetEvents", vec![st! {}]).len(), before);
    });
}

// ---------------------------------------------------------------------------------------------
// system.*

#[test]
fn system_methods() {
    each_backend(|plc| {
        let methods = sorted_strs(&plc.ok("system.listMethods", vec![]));
        for m in [
            "AddNode",
            "GetNodes",
            "UpdateNode",
            "DeleteNode",
            "AddInterface",
            "GetSession",
            "AuthCheck",
            "BootCheckAuthentication",
            "GetNodeFlavour",
            "SetNodeArch",
            "GetEvents",
            "system.listMethods",
            "system.methodHelp",
            "system.methodSignature",
            "system.multicall",
        ] {
            assert!(methods.iter().any(|x| x == m), "system.listMethods lacks {m}");
        }
        // The §11.3 tests look for AddIpAddress to choose the interface API.
        assert!(!methods.iter().any(|x| x == "AddIpAddress"));
        let help = plc.ok("system.methodHelp", vec![s("AddNode")]);
        assert!(!str_of(&help).is_empty());
        let sigs = plc.ok("system.methodSignature", vec![s("GetNodes")]);
        for sig in array_of(&sigs) {
            assert!(array_of(sig).iter().all(|t| t.as_str().is_some()), "{sigs:?}");
        }
        assert!(!array_of(&sigs).is_empty());
        assert_fault(&plc.call("system.methodHelp", vec![s("NoSuchMethod")]), 100, "");

        let calls = arr![
            st! { "methodName" => "AuthCheck", "params" => arr![admin_auth()] },
            st! { "methodName" => "GetSites", "params" => arr![admin_auth(), ints(&[1]), strs(&["login_base"])] },
            st! { "methodName" => "AddNode", "params" => arr![admin_auth()] },
            st! { "methodName" => "NoSuchMethod", "params" => arr![] },
            st! { "methodName" => "system.multicall", "params" => arr![arr![]] },
            st! { "methodName" => "AuthCheck", "params" => arr![password_auth(ADMIN_EMAIL, "wrong")] },
        ];
        let results = plc.ok("system.multicall", vec![calls]);
        let results = array_of(&results);
        assert_eq!(results.len(), 6, "{results:?}");
        assert_eq!(results[0], arr![1]);
        assert_eq!(results[1], arr![arr![st! { "login_base" => "pl" }]]);
        let fault = |r: &Value| (int_of(field(r, "faultCode")), str_of(field(r, "faultString")).to_owned());
        let (code, message) = fault(&results[2]);
        assert_eq!(code, 101, "{message}");
        assert!(message.contains("Expected 3 arguments, got 1"), "{message}");
        assert_eq!(fault(&results[3]).0, 100);
        assert!(fault(&results[3]).1.contains("Invalid method NoSuchMethod"));
        assert_eq!(fault(&results[4]).0, -507);
        assert_eq!(fault(&results[5]).0, 103);
        assert_keys(&results[5], &["faultCode", "faultString"]);
    });
}
