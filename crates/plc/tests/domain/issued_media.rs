//! The issued-media ledger and its methods in process, on every backend (issue 5, deliverables
//! 2 and 4): every keyed medium is recorded and supersedes the ones before, `GetIssuedMedia`'s
//! filters and scope, and `VerifyIssuedMedium`'s answers. The keyed media here are
//! configuration files (`node-floppy`), which need no boot image engine; the images' own rows,
//! `bootmedium verify` and the HTTP downloads are tested against the binary
//! (crates/cli/tests/it/issued_media.rs).

use crate::support::{Plc, each_backend};
use bootmedium_testkit::*;

const HOST: &str = "node1.one.example.org";

/// A site and a node with a static primary interface: (site, node).
fn fixture(plc: &Plc) -> (i64, i64) {
    plc.use_admin_session();
    let site = add_site(plc, "one");
    let node = add_node(plc, site, HOST);
    add_static_interface(plc, node, 5);
    (site, node)
}

fn ledger(plc: &Plc, node: i64) -> Vec<Value> {
    let mut rows = plc.admin_rows("GetIssuedMedia", vec![st! { "node_id" => node }]);
    rows.sort_by_key(|r| int_of(field(r, "issued_medium_id")));
    rows
}

/// A node-floppy (a renewed key in a configuration file) by node id or hostname.
fn floppy(plc: &Plc, node: Value) -> String {
    str_of(&plc.admin("GetBootMedium", vec![node, s("node-floppy"), s("")])).to_string()
}

#[test]
fn every_keyed_configuration_file_is_recorded_and_supersedes_the_ones_before() {
    each_backend(|plc| {
        let (site, node) = fixture(plc);
        let texts = [floppy(plc, i(node)), floppy(plc, s(HOST)), floppy(plc, i(node))];
        // A preview carries no key: no row.
        plc.admin("GetBootMedium", vec![s(HOST), s("node-preview"), s("")]);

        let rows = ledger(plc, node);
        assert_eq!(rows.len(), 3, "{rows:#?}");
        let ids: Vec<i64> = rows.iter().map(|r| int_of(field(r, "issued_medium_id"))).collect();
        let admin_id =
            int_of(field(&plc.admin_row("GetPersons", vec![s(ADMIN_EMAIL), strs(&["person_id"])]), "person_id"));
        let now = now();
        for (row, text) in rows.iter().zip(&texts) {
            assert_eq!(str_of(field(row, "action")), "node-floppy");
            assert_eq!(str_of(field(row, "image_type")), "txt");
            assert_eq!(field(row, "options"), &strs(&[]));
            assert_eq!(field(row, "node_id"), &i(node));
            assert_eq!(str_of(field(row, "hostname")), HOST);
            assert_eq!(field(row, "site_id"), &i(site));
            assert_eq!(field(row, "person_id"), &i(admin_id));
            assert_eq!(field(row, "filename"), &nil());
            assert_time_between(row, "issued", now - 60, now + 1);
            assert!(!keys_of(row).iter().any(|k| k.contains("key") && k != "key_generation"), "no key field: {row:?}");
            // Checksums and sizes are those of what the caller got.
            assert_eq!(str_of(field(row, "sha256")), bootmedium_media::sha256_hex(text.as_bytes()).unwrap());
            assert_eq!(int_of(field(row, "size")), text.len() as i64);
        }
        // Key generations count renewals; each row is superseded by the next.
        let generations: Vec<i64> = rows.iter().map(|r| int_of(field(r, "key_generation"))).collect();
        assert_eq!(generations, vec![1, 2, 3]);
        assert_eq!(field(&rows[0], "superseded_by"), &i(ids[1]));
        assert_eq!(field(&rows[1], "superseded_by"), &i(ids[2]));
        assert_eq!(field(&rows[2], "superseded_by"), &nil());

        // GetNodes' filter rules: a string in a list is a checksum, structs filter, return_fields
        // pick.
        let found = plc.admin_rows("GetIssuedMedia", vec![strs(&[str_of(field(&rows[1], "sha256"))])]);
        assert_eq!(found.len(), 1);
        assert_eq!(field(&found[0], "issued_medium_id"), &i(ids[1]));
        let picked = plc.admin_rows(
            "GetIssuedMedia",
            vec![st! { "superseded_by" => nil() }, strs(&["issued_medium_id", "sha256"])],
        );
        assert_eq!(picked.len(), 1);
        assert_keys(&picked[0], &["issued_medium_id", "sha256"]);
        let newest_first =
            plc.admin_rows("GetIssuedMedia", vec![st! { "-SORT" => "-issued_medium_id", "-LIMIT" => 1 }]);
        assert_eq!(newest_first.len(), 1, "-LIMIT");
        assert_eq!(field(&newest_first[0], "issued_medium_id"), &i(ids[2]));
        assert_eq!(plc.admin_rows("GetIssuedMedia", vec![ints(&[ids[0], ids[2]])]).len(), 2);
        for bad in [st! { "node_key" => "x" }, st! { "download_id" => "x" }, st! { "nonsense" => 1 }] {
            assert_fault(&plc.admin_call("GetIssuedMedia", vec![bad]), 102, "");
        }
        assert_fault(&plc.admin_call("GetIssuedMedia", vec![st! {}, strs(&["node_config"])]), 102, "");

        // PIs see their own sites' media only.
        let other_site = add_site(plc, "two");
        add_person(plc, "pi1@one.example.org", "pi1-password", &["pi"], Some(site));
        add_person(plc, "pi2@two.example.org", "pi2-password", &["pi"], Some(other_site));
        let own = plc.ok_rows("GetIssuedMedia", vec![password_auth("pi1@one.example.org", "pi1-password")]);
        assert_eq!(own.len(), 3);
        let foreign = plc.ok_rows("GetIssuedMedia", vec![password_auth("pi2@two.example.org", "pi2-password")]);
        assert!(foreign.is_empty(), "{foreign:?}");
    });
}

#[test]
fn verify_issued_medium_answers_unknown_keys_and_refuses_other_auth() {
    each_backend(|plc| {
        let (_, node) = fixture(plc);
        floppy(plc, i(node));
        let rows = ledger(plc, node);
        // Keys the API never issued, nodes it does not have, and malformed auth.
        let sha = s(&"0".repeat(64));
        for (node, key) in [(node, "not-the-key"), (node + 1000, "whatever"), (node, "")] {
            let answer =
                plc.ok("VerifyIssuedMedium", vec![hmac_auth(node, key, std::slice::from_ref(&sha)), sha.clone()]);
            assert_eq!(answer, st! { "status" => "unknown" }, "node {node} key {key:?}");
        }
        let current = stored_key(plc, node);
        let answer = plc.ok("VerifyIssuedMedium", vec![hmac_auth(node, str_of(&current), &[])]);
        assert_eq!(str_of(field(&answer, "status")), "current");
        for bad in
            [admin_auth(), anonymous_auth(), st! { "AuthMethod" => "hmac", "node_id" => "x", "value" => "y" }, s("x")]
        {
            assert_fault(&plc.call("VerifyIssuedMedium", vec![bad, sha.clone()]), 102, "");
        }
        // Verifying writes nothing.
        assert_eq!(ledger(plc, node), rows);
    });
}
