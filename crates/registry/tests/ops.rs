//! The named statements in `ops` whose behaviour is more than a lookup: conditional updates
//! (a node's nonce, a mail claim and its outcome, a primary site), expiry windows (sessions,
//! download links), superseding, key renewal. Each test runs on SQLite and, when
//! `BOOTMEDIUM_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database of its own.

use bootmedium_registry::testing::{self, TestDb};
use bootmedium_registry::{SqlValue, Tx, ops};

async fn databases() -> Vec<TestDb> {
    testing::databases("ops").await
}

async fn site(tx: &mut Tx, login_base: &str) -> i64 {
    tx.insert(
        "sites",
        "site_id",
        &[
            ("name", SqlValue::text(login_base)),
            ("abbreviated_name", SqlValue::text(login_base)),
            ("login_base", SqlValue::text(login_base)),
            ("date_created", SqlValue::int(1)),
            ("last_updated", SqlValue::int(1)),
        ],
    )
    .await
    .unwrap()
}

async fn node(tx: &mut Tx, site_id: i64, hostname: &str, key: Option<&str>) -> i64 {
    tx.insert(
        "nodes",
        "node_id",
        &[
            ("hostname", SqlValue::text(hostname)),
            ("site_id", SqlValue::int(site_id)),
            ("node_key", SqlValue::Text(key.map(str::to_string))),
            ("date_created", SqlValue::int(1)),
            ("last_updated", SqlValue::int(1)),
        ],
    )
    .await
    .unwrap()
}

async fn person(tx: &mut Tx, email: &str) -> i64 {
    let cols = [
        ("email", SqlValue::text(email)),
        ("first_name", SqlValue::text("P")),
        ("last_name", SqlValue::text("Q")),
        ("date_created", SqlValue::int(1)),
        ("last_updated", SqlValue::int(1)),
    ];
    tx.insert("persons", "person_id", &cols).await.unwrap()
}

async fn soft_delete_node(tx: &mut Tx, node_id: i64) {
    assert_eq!(ops::nodes::soft_delete(tx, node_id, 2).await.unwrap(), 1);
}

#[tokio::test]
async fn a_nonce_is_stored_only_for_a_live_keyless_node() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let keyless = node(&mut tx, s, "a.example.org", None).await;
        let empty_key = node(&mut tx, s, "b.example.org", Some("")).await;
        let keyed = node(&mut tx, s, "c.example.org", Some("k")).await;
        let deleted = node(&mut tx, s, "d.example.org", None).await;
        soft_delete_node(&mut tx, deleted).await;
        assert!(ops::nodes::store_boot_nonce(&mut tx, keyless, "ab12").await.unwrap(), "{}", db.url);
        assert!(ops::nodes::store_boot_nonce(&mut tx, empty_key, "ab12").await.unwrap(), "{}", db.url);
        assert!(!ops::nodes::store_boot_nonce(&mut tx, keyed, "ab12").await.unwrap(), "{}", db.url);
        assert!(!ops::nodes::store_boot_nonce(&mut tx, deleted, "ab12").await.unwrap(), "{}", db.url);
        // Deleted nodes are neither callers nor found by address.
        assert!(ops::nodes::local_live(&mut tx, deleted).await.unwrap().is_none());
        let live = ops::nodes::local_live(&mut tx, keyed).await.unwrap().unwrap();
        assert_eq!((live.hostname.as_str(), live.site_id), ("c.example.org", s));
        assert_eq!(ops::nodes::key(&mut tx, keyed).await.unwrap().as_deref(), Some("k"));
        assert_eq!(ops::nodes::key(&mut tx, keyless).await.unwrap(), None);
        assert_eq!(ops::nodes::key(&mut tx, 9999).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn recording_a_keyed_medium_stores_its_key_ends_sessions_and_refuses_a_deleted_node() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let n = node(&mut tx, s, "a.example.org", None).await;
        let session = [("session_id", SqlValue::text("node-session")), ("node_id", SqlValue::int(n))];
        tx.insert_plain("sessions", &session).await.unwrap();
        let first = ops::ledger::record(&mut tx, &issued(n, Some("k1"), None)).await.unwrap().unwrap();
        assert!(ops::sessions::find(&mut tx, "node-session").await.unwrap().is_none(), "{}", db.url);
        let second = ops::ledger::record(&mut tx, &issued(n, Some("k2"), None)).await.unwrap().unwrap();
        let generations = (first.stored_key.unwrap().key_generation, second.stored_key.unwrap());
        assert_eq!(generations, (1, ops::nodes::StoredKey { key_generation: 2, site_id: s }), "{}", db.url);
        assert_eq!(ops::nodes::key(&mut tx, n).await.unwrap().as_deref(), Some("k2"));
        let keys = ops::ledger::node_keys(&mut tx, n).await.unwrap();
        let summary: Vec<_> = keys.iter().map(|k| (k.node_key.as_str(), k.superseded_by)).collect();
        assert_eq!(summary, [("k2", None), ("k1", Some(second.issued_medium_id))], "{}", db.url);
        // A node deleted meanwhile: nothing is written (no key, no row, nothing superseded).
        soft_delete_node(&mut tx, n).await;
        assert_eq!(ops::ledger::record(&mut tx, &issued(n, Some("k3"), None)).await.unwrap(), None, "{}", db.url);
        assert_eq!(ops::nodes::key(&mut tx, n).await.unwrap().as_deref(), Some("k2"));
        assert_eq!(ops::ledger::node_keys(&mut tx, n).await.unwrap(), keys, "{}", db.url);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn sessions_expire_and_only_node_sessions_are_extended() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let n = node(&mut tx, s, "a.example.org", None).await;
        let p = person(&mut tx, "p@example.org").await;
        let session = |id: &str, expires: Option<i64>, owner: (&'static str, i64)| {
            [("session_id", SqlValue::text(id)), ("expires", SqlValue::Int(expires)), (owner.0, SqlValue::int(owner.1))]
        };
        tx.insert_plain("sessions", &session("node", None, ("node_id", n))).await.unwrap();
        tx.insert_plain("sessions", &session("old", Some(99), ("person_id", p))).await.unwrap();
        tx.insert_plain("sessions", &session("now", Some(100), ("person_id", p))).await.unwrap();
        tx.insert_plain("sessions", &session("keep", Some(500), ("person_id", p))).await.unwrap();
        // Expired strictly before now; a node session without an expiry stays.
        assert_eq!(ops::sessions::purge_expired(&mut tx, 100).await.unwrap(), 1, "{}", db.url);
        assert!(ops::sessions::find(&mut tx, "old").await.unwrap().is_none());
        assert_eq!(
            ops::sessions::find(&mut tx, "node").await.unwrap(),
            Some(ops::sessions::Session { expires: None, person_id: None, node_id: Some(n), account: None })
        );
        assert_eq!(ops::sessions::extend_node_session(&mut tx, "node", 700).await.unwrap(), 1);
        assert_eq!(ops::sessions::extend_node_session(&mut tx, "keep", 700).await.unwrap(), 0);
        assert_eq!(ops::sessions::find(&mut tx, "node").await.unwrap().unwrap().expires, Some(700));
        assert_eq!(ops::sessions::find(&mut tx, "keep").await.unwrap().unwrap().expires, Some(500));
        assert_eq!(ops::sessions::end_person_sessions_except(&mut tx, p, "keep").await.unwrap(), 1);
        assert!(ops::sessions::find(&mut tx, "now").await.unwrap().is_none());
        assert!(ops::sessions::find(&mut tx, "keep").await.unwrap().is_some());
        tx.commit().await.unwrap();
    }
}

async fn queue(tx: &mut Tx, now: i64) -> i64 {
    let mail = ops::outbox::NewMail {
        created: now,
        message_id: Some("installfinished"),
        sender: "support@plc.example.org",
        reply_to: None,
        recipients: "pi@site.example.org\ntech@site.example.org",
        subject: "s",
        body: "b",
        next_attempt: now,
    };
    ops::outbox::enqueue(tx, &mail).await.unwrap()
}

#[tokio::test]
async fn a_mail_is_claimed_once_and_its_outcome_needs_the_claim() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        assert_eq!(ops::outbox::next_due(&mut tx).await.unwrap(), None);
        let id = queue(&mut tx, 1000).await;
        assert_eq!(ops::outbox::due(&mut tx, 999).await.unwrap(), None, "not due before its next attempt");
        assert_eq!(ops::outbox::due(&mut tx, 1000).await.unwrap(), Some(id), "{}", db.url);
        assert!(ops::outbox::claim(&mut tx, id, 1060, 1000).await.unwrap());
        // A second claimer while the claim holds gets nothing; the row is not due for it.
        assert!(!ops::outbox::claim(&mut tx, id, 1070, 1010).await.unwrap());
        assert_eq!(ops::outbox::due(&mut tx, 1010).await.unwrap(), None);
        // The loop that claimed it may come back just after its claim ends.
        assert_eq!(ops::outbox::next_due(&mut tx).await.unwrap(), Some(1061));
        let q = ops::outbox::mail(&mut tx, id).await.unwrap().unwrap();
        assert_eq!((q.created, q.attempts, q.message_id.as_deref()), (1000, 0, Some("installfinished")));
        assert_eq!(q.recipients.lines().count(), 2);
        // Past its end another instance may claim the row; the first one's outcome then no
        // longer counts.
        assert!(ops::outbox::claim(&mut tx, id, 1200, 1061).await.unwrap());
        assert!(!ops::outbox::mark_sent(&mut tx, id, 1060, 1, 1100).await.unwrap());
        assert!(ops::outbox::schedule_retry(&mut tx, id, 1200, 1, 1300, "421 busy").await.unwrap());
        assert_eq!(ops::outbox::next_due(&mut tx).await.unwrap(), Some(1300));
        assert_eq!(ops::outbox::due(&mut tx, 1299).await.unwrap(), None);
        assert!(ops::outbox::claim(&mut tx, id, 1400, 1300).await.unwrap());
        assert!(ops::outbox::mark_failed(&mut tx, id, 1400, 2, 1310, "550 no").await.unwrap());
        // A finished row is never claimed again.
        assert!(!ops::outbox::claim(&mut tx, id, 9999, 9000).await.unwrap());
        let states = ops::outbox::delivery_states(&mut tx).await.unwrap();
        assert_eq!(
            states,
            [ops::outbox::DeliveryState {
                mail_id: id,
                state: "failed".into(),
                attempts: 2,
                last_error: Some("550 no".into()),
                finished: Some(1310),
                claimed_until: None,
            }],
            "{}",
            db.url
        );
        // Purged only once finished before the cut-off; queued rows never.
        let other = queue(&mut tx, 0).await;
        assert_eq!(ops::outbox::purge_finished(&mut tx, 1310).await.unwrap(), 0);
        assert_eq!(ops::outbox::purge_finished(&mut tx, 1311).await.unwrap(), 1);
        assert_eq!(ops::outbox::delivery_states(&mut tx).await.unwrap()[0].mail_id, other);
        tx.commit().await.unwrap();
    }
}

/// A medium of `node_id` for the ledger, keyed or not, offered as a download or not.
fn issued<'a>(node_id: i64, key: Option<&'a str>, download: Option<(&'a str, i64)>) -> ops::ledger::NewIssued<'a> {
    ops::ledger::NewIssued {
        node_id,
        action: "node-iso",
        image_type: "iso",
        console: "",
        kargs: "",
        variant: None,
        reference_family: Some("f"),
        reference_version: Some("1"),
        key: key.map(|key| ops::ledger::NewKey { key, renewed_at: 10 }),
        sha256: "00",
        size: 2048,
        person_id: None,
        issued: 1,
        filename: None,
        download_id: download.map(|d| d.0),
        download_expires: download.map(|d| d.1),
        node_config: download.map(|_| "NODE_ID=1"),
        options: &[],
    }
}

async fn medium(tx: &mut Tx, node_id: i64, key: Option<&str>, download: Option<(&str, i64)>) -> i64 {
    ops::ledger::record(tx, &issued(node_id, key, download)).await.unwrap().unwrap().issued_medium_id
}

#[tokio::test]
async fn ledger_supersedes_keyed_media_and_downloads_expire() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let n = node(&mut tx, s, "a.example.org", None).await;
        let other = node(&mut tx, s, "b.example.org", None).await;
        let k1 = medium(&mut tx, n, Some("k1"), None).await;
        let generic = medium(&mut tx, n, None, Some(("aa", 500))).await;
        let elsewhere = medium(&mut tx, other, Some("x"), None).await;
        let k2 = medium(&mut tx, n, Some("k2"), Some(("bb", 600))).await;
        let keys = ops::ledger::node_keys(&mut tx, n).await.unwrap();
        let summary: Vec<_> = keys.iter().map(|k| (k.issued_medium_id, k.node_key.as_str(), k.superseded_by)).collect();
        assert_eq!(summary, [(k2, "k2", None), (k1, "k1", Some(k2))], "{}", db.url);
        assert_eq!(ops::ledger::node_keys(&mut tx, other).await.unwrap()[0].superseded_by, None);
        let _ = (generic, elsewhere);

        // A link works until (not at) its expiry.
        let d = ops::ledger::live_download(&mut tx, "aa", 499).await.unwrap().unwrap();
        assert_eq!(
            (d.hostname.as_str(), d.size, d.key_generation, d.download_expires),
            ("a.example.org", 2048, None, 500)
        );
        assert!(ops::ledger::live_download(&mut tx, "aa", 500).await.unwrap().is_none());
        let d = ops::ledger::live_download(&mut tx, "bb", 500).await.unwrap().unwrap();
        assert_eq!((d.issued_medium_id, d.key_generation, d.node_config.as_deref()), (k2, Some(2), Some("NODE_ID=1")));
        // Expiry clears what an expired link kept, and nothing of a live one.
        assert_eq!(ops::ledger::expire_downloads(&mut tx, 500).await.unwrap(), 1);
        let kept = ops::ledger::kept_for_downloads(&mut tx).await.unwrap();
        assert_eq!((kept.download_ids, kept.node_configs), (1, 1), "{}", db.url);
        tx.commit().await.unwrap();
    }
}

/// The first of the (only) person's sites as the Person view lists them: the primary one.
async fn primary_site(tx: &mut Tx) -> Option<i64> {
    use bootmedium_registry::{Cond, FieldRef, Query, views::PERSON};
    let site_ids = FieldRef::Field(PERSON.field("site_ids").unwrap());
    let q = Query { table: &PERSON, cond: Cond::True, fields: vec![site_ids], sort: vec![], offset: None, limit: None };
    tx.select(&q).await.unwrap()[0].int_list("site_ids").first().copied()
}

#[tokio::test]
async fn a_person_keeps_one_primary_site() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let a = site(&mut tx, "a").await;
        let b = site(&mut tx, "b").await;
        let c = site(&mut tx, "c").await;
        let p = person(&mut tx, "p@example.org").await;
        for s in [a, b, c] {
            tx.insert_plain("person_site", &[("person_id", SqlValue::int(p)), ("site_id", SqlValue::int(s))])
                .await
                .unwrap();
        }
        assert!(ops::persons::set_primary_site(&mut tx, p, c).await.unwrap());
        assert_eq!(primary_site(&mut tx).await, Some(c), "{}", db.url);
        // While one is primary, nothing changes.
        assert_eq!(ops::persons::ensure_primary_site(&mut tx, p).await.unwrap(), 0);
        tx.delete("person_site", &[("person_id", SqlValue::int(p)), ("site_id", SqlValue::int(c))]).await.unwrap();
        // Without one, the lowest site becomes primary.
        assert_eq!(ops::persons::ensure_primary_site(&mut tx, p).await.unwrap(), 1);
        assert_eq!(primary_site(&mut tx).await, Some(a), "{}", db.url);
        assert!(!ops::persons::set_primary_site(&mut tx, p, c).await.unwrap(), "not a member");
        tx.commit().await.unwrap();
    }
}

async fn interface(tx: &mut Tx, node_id: i64, ip: &str, mac: &str) {
    tx.insert(
        "interfaces",
        "interface_id",
        &[
            ("node_id", SqlValue::int(node_id)),
            ("type", SqlValue::text("ipv4")),
            ("method", SqlValue::text("dhcp")),
            ("ip", SqlValue::text(ip)),
            ("mac", SqlValue::text(mac)),
            ("last_updated", SqlValue::int(1)),
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn nodes_by_address_are_live_local_and_distinct() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let a = node(&mut tx, s, "a.example.org", Some("k")).await;
        let gone = node(&mut tx, s, "gone.example.org", None).await;
        let peer = node(&mut tx, s, "peer.example.org", None).await;
        tx.update("nodes", "node_id", SqlValue::int(peer), &[("peer_id", SqlValue::int(1))]).await.unwrap();
        interface(&mut tx, a, "10.0.0.1", "AA:BB:CC:DD:EE:01").await;
        interface(&mut tx, a, "10.0.0.1", "AA:BB:CC:DD:EE:02").await;
        interface(&mut tx, gone, "10.0.0.1", "AA:BB:CC:DD:EE:03").await;
        interface(&mut tx, peer, "10.0.0.1", "aa:bb:cc:dd:ee:04").await;
        soft_delete_node(&mut tx, gone).await;
        let at = ops::nodes::at_address(&mut tx, "10.0.0.1").await.unwrap();
        assert_eq!(
            at,
            [ops::nodes::AddressNode { node_id: a, hostname: "a.example.org".into(), node_key: Some("k".into()) }],
            "{}",
            db.url
        );
        assert_eq!(ops::nodes::with_mac(&mut tx, "aa:bb:cc:dd:ee:02").await.unwrap(), [a]);
        assert!(ops::nodes::with_mac(&mut tx, "aa:bb:cc:dd:ee:03").await.unwrap().is_empty());
        assert!(ops::nodes::with_mac(&mut tx, "aa:bb:cc:dd:ee:04").await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_sites_contacts_are_its_enabled_live_persons_with_the_roles_asked() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let elsewhere = site(&mut tx, "t").await;
        // (email, enabled, roles, site)
        let people: [(&str, i64, &[i64], i64); 6] = [
            ("pi@s.org", 1, &[20], s),
            ("tech@s.org", 1, &[40, 30], s),
            ("both@s.org", 1, &[20, 40], s),
            ("off@s.org", 0, &[20], s),
            ("user@s.org", 1, &[30], s),
            ("pi@t.org", 1, &[20], elsewhere),
        ];
        for (email, enabled, roles, site_id) in people {
            let p = tx
                .insert(
                    "persons",
                    "person_id",
                    &[
                        ("email", SqlValue::text(email)),
                        ("first_name", SqlValue::text("P")),
                        ("last_name", SqlValue::text("Q")),
                        ("enabled", SqlValue::int(enabled)),
                        ("date_created", SqlValue::int(1)),
                        ("last_updated", SqlValue::int(1)),
                    ],
                )
                .await
                .unwrap();
            for r in roles {
                tx.insert_plain("person_role", &[("person_id", SqlValue::int(p)), ("role_id", SqlValue::int(*r))])
                    .await
                    .unwrap();
            }
            tx.insert_plain("person_site", &[("person_id", SqlValue::int(p)), ("site_id", SqlValue::int(site_id))])
                .await
                .unwrap();
            if email == "tech@s.org" {
                // Deleted persons are nobody's contact.
                let gone = tx
                    .insert(
                        "persons",
                        "person_id",
                        &[
                            ("email", SqlValue::text("gone@s.org")),
                            ("first_name", SqlValue::text("G")),
                            ("last_name", SqlValue::text("Q")),
                            ("enabled", SqlValue::int(1)),
                            ("date_created", SqlValue::int(1)),
                            ("last_updated", SqlValue::int(1)),
                        ],
                    )
                    .await
                    .unwrap();
                tx.insert_plain("person_role", &[("person_id", SqlValue::int(gone)), ("role_id", SqlValue::int(20))])
                    .await
                    .unwrap();
                tx.insert_plain("person_site", &[("person_id", SqlValue::int(gone)), ("site_id", SqlValue::int(s))])
                    .await
                    .unwrap();
                ops::persons::soft_delete(&mut tx, gone, 2).await.unwrap();
            }
        }
        assert_eq!(
            ops::persons::site_emails_with_roles(&mut tx, s, [Some(20), Some(40)]).await.unwrap(),
            ["both@s.org", "pi@s.org", "tech@s.org"],
            "{}",
            db.url
        );
        assert_eq!(
            ops::persons::site_emails_with_roles(&mut tx, s, [Some(20), None]).await.unwrap(),
            ["both@s.org", "pi@s.org"]
        );
        assert!(ops::persons::site_emails_with_roles(&mut tx, s, [None, None]).await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
}

async fn tag_type(tx: &mut Tx, tagname: &str, category: &str) -> i64 {
    let cols = [("tagname", SqlValue::text(tagname)), ("category", SqlValue::text(category))];
    tx.insert("tag_types", "tag_type_id", &cols).await.unwrap()
}

async fn tagged(tx: &mut Tx, table: &'static str, pk: &'static str, owner: (&'static str, i64), tt: i64, v: &str) {
    let cols = [(owner.0, SqlValue::int(owner.1)), ("tag_type_id", SqlValue::int(tt)), ("value", SqlValue::text(v))];
    tx.insert(table, pk, &cols).await.unwrap();
}

#[tokio::test]
async fn a_medium_node_brings_its_tags_groups_interfaces_and_settings_in_one_read() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "tg").await;
        let n = node(&mut tx, s, "n.tg.example.org", None).await;
        let other = node(&mut tx, s, "o.tg.example.org", None).await;
        let arch = tag_type(&mut tx, "arch", "node/config").await;
        let deploy = tag_type(&mut tx, "deployment", "node/deployment").await;
        let ifname = tag_type(&mut tx, "ifname", "interface/config").await;
        let mtu = tag_type(&mut tx, "mtu", "interface/config").await;
        tagged(&mut tx, "node_tag", "node_tag_id", ("node_id", n), deploy, "alpha").await;
        tagged(&mut tx, "node_tag", "node_tag_id", ("node_id", n), arch, "i386").await;
        tagged(&mut tx, "node_tag", "node_tag_id", ("node_id", other), arch, "x86_64").await;
        // Two groups on one tag value and one on the other: every group, once, by id.
        for (name, tt, value) in [("zeta", deploy, "alpha"), ("i386", arch, "i386"), ("beta", deploy, "alpha")] {
            let cols = [
                ("groupname", SqlValue::text(name)),
                ("tag_type_id", SqlValue::int(tt)),
                ("value", SqlValue::text(value)),
            ];
            tx.insert("nodegroups", "nodegroup_id", &cols).await.unwrap();
        }
        let mut made = Vec::new();
        for (ip, primary) in [("10.0.0.2", 0), ("10.0.0.1", 1)] {
            let cols = [
                ("node_id", SqlValue::int(n)),
                ("type", SqlValue::text("ipv4")),
                ("method", SqlValue::text("dhcp")),
                ("ip", SqlValue::text(ip)),
                ("is_primary", SqlValue::int(primary)),
                ("last_updated", SqlValue::int(1)),
            ];
            made.push(tx.insert("interfaces", "interface_id", &cols).await.unwrap());
        }
        let (secondary, primary) = (made[0], made[1]);
        tagged(&mut tx, "interface_tag", "interface_tag_id", ("interface_id", primary), mtu, "1400").await;
        tagged(&mut tx, "interface_tag", "interface_tag_id", ("interface_id", primary), ifname, "eth0").await;
        tagged(&mut tx, "interface_tag", "interface_tag_id", ("interface_id", secondary), ifname, "eth1").await;

        use ops::nodes::NodeKey;
        let node = ops::nodes::medium_node(&mut tx, NodeKey::Hostname("n.tg.example.org")).await.unwrap().unwrap();
        assert_eq!(ops::nodes::medium_node(&mut tx, NodeKey::Id(n)).await.unwrap().as_ref(), Some(&node));
        assert_eq!((node.node_id, node.site_id, node.node_type.as_str(), node.peer_id), (n, s, "regular", None));
        let read = &node.tags;
        let tags: Vec<(&str, &str)> = read.tags.iter().map(|t| (t.tagname.as_str(), t.value.as_str())).collect();
        assert_eq!(tags, [("deployment", "alpha"), ("arch", "i386")], "{}", db.url);
        assert_eq!(read.groups, ["zeta", "i386", "beta"], "{}", db.url);
        assert_eq!(ops::nodes::medium_node(&mut tx, NodeKey::Id(999_999)).await.unwrap(), None);

        let interfaces = &node.interfaces;
        assert_eq!(interfaces.len(), 2, "{}", db.url);
        assert!(interfaces[0].interface.is_primary && !interfaces[1].interface.is_primary);
        assert_eq!(interfaces[0].interface.network.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(interfaces[0].interface.network.method, "dhcp");
        let settings = |i: usize| -> Vec<(String, String)> {
            interfaces[i].settings.iter().map(|s| (s.tagname.clone(), s.value.clone())).collect()
        };
        assert_eq!(settings(0), [("mtu".to_string(), "1400".to_string()), ("ifname".into(), "eth0".into())]);
        assert_eq!(settings(1), [("ifname".to_string(), "eth1".to_string())]);
        assert_eq!(interfaces[0].settings[0].category, "interface/config");
        let other = ops::nodes::medium_node(&mut tx, NodeKey::Id(other)).await.unwrap().unwrap();
        assert!(other.interfaces.is_empty() && other.tags.groups.is_empty(), "{}", db.url);
        assert_eq!(other.tags.tags.len(), 1);
        // A deleted node is not found, by id or by name.
        soft_delete_node(&mut tx, n).await;
        assert_eq!(ops::nodes::medium_node(&mut tx, NodeKey::Id(n)).await.unwrap(), None, "{}", db.url);
        assert_eq!(ops::nodes::medium_node(&mut tx, NodeKey::Hostname("n.tg.example.org")).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn reading_transactions_refuse_writes_on_both_backends() {
    use bootmedium_registry::Error;
    for db in databases().await {
        let mut tx = db.registry.begin_read().await.unwrap();
        let refused = [
            ops::sessions::delete(&mut tx, "s").await.err(),
            ops::sessions::extend_node_session(&mut tx, "s", 1).await.err(),
            tx.insert("events", "event_id", &[("call_name", SqlValue::text("x"))]).await.err(),
            tx.delete("sessions", &[("session_id", SqlValue::text("s"))]).await.err(),
        ];
        for (i, e) in refused.into_iter().enumerate() {
            assert!(matches!(e, Some(Error::ReadOnly)), "{}: write {i}: {e:?}", db.url);
        }
        // Reads work on it (on PostgreSQL without a BEGIN), and it ends cleanly.
        assert_eq!(ops::sessions::find(&mut tx, "s").await.unwrap(), None, "{}", db.url);
        tx.commit().await.unwrap();
        let mut tx = db.registry.begin_write().await.unwrap();
        assert_eq!(ops::sessions::delete(&mut tx, "s").await.unwrap(), 0, "{}", db.url);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_session_and_an_email_bring_the_usable_account_in_one_read() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let (a, b, gone) = (site(&mut tx, "a").await, site(&mut tx, "b").await, site(&mut tx, "gone").await);
        let p = person(&mut tx, "p@example.org").await;
        tx.update(
            "persons",
            "person_id",
            SqlValue::int(p),
            &[("enabled", SqlValue::int(1)), ("password", SqlValue::text("$1$h"))],
        )
        .await
        .unwrap();
        for role in [40, 20] {
            tx.insert_plain("person_role", &[("person_id", SqlValue::int(p)), ("role_id", SqlValue::int(role))])
                .await
                .unwrap();
        }
        for (s, primary) in [(a, 0), (b, 1), (gone, 0)] {
            let cols = [
                ("person_id", SqlValue::int(p)),
                ("site_id", SqlValue::int(s)),
                ("is_primary", SqlValue::int(primary)),
            ];
            tx.insert_plain("person_site", &cols).await.unwrap();
        }
        assert_eq!(ops::sites::soft_delete(&mut tx, gone, 2).await.unwrap(), 1);
        let session =
            [("session_id", SqlValue::text("s")), ("expires", SqlValue::int(9)), ("person_id", SqlValue::int(p))];
        tx.insert_plain("sessions", &session).await.unwrap();

        // Roles by role id, live sites with the primary one first.
        let expected = ops::persons::Account {
            person_id: p,
            email: "p@example.org".into(),
            roles: vec!["pi".into(), "tech".into()],
            role_ids: vec![20, 40],
            site_ids: vec![b, a],
        };
        let found = ops::sessions::find(&mut tx, "s").await.unwrap().unwrap();
        assert_eq!((found.person_id, found.account.as_ref()), (Some(p), Some(&expected)), "{}", db.url);
        let by_email = ops::persons::account_by_email(&mut tx, "p@example.org").await.unwrap();
        assert_eq!(by_email, Some((expected, Some("$1$h".to_string()))), "{}", db.url);

        // A disabled account: the session is still found, without an account; the email finds none.
        tx.update("persons", "person_id", SqlValue::int(p), &[("enabled", SqlValue::int(0))]).await.unwrap();
        let found = ops::sessions::find(&mut tx, "s").await.unwrap().unwrap();
        assert_eq!((found.person_id, found.account), (Some(p), None), "{}", db.url);
        assert_eq!(ops::persons::account_by_email(&mut tx, "p@example.org").await.unwrap(), None);
        // An account without roles or sites has empty lists.
        let q = person(&mut tx, "q@example.org").await;
        tx.update("persons", "person_id", SqlValue::int(q), &[("enabled", SqlValue::int(1))]).await.unwrap();
        let (account, _) = ops::persons::account_by_email(&mut tx, "q@example.org").await.unwrap().unwrap();
        assert_eq!((account.roles.len(), account.site_ids.len()), (0, 0), "{}", db.url);
        tx.commit().await.unwrap();
    }
}

/// A renewal that waits for another renewal of the same node still supersedes its row (on
/// PostgreSQL, a statement that began before the other committed would not see it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_waiting_for_another_supersedes_its_row() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let n = node(&mut tx, s, "a.example.org", None).await;
        tx.commit().await.unwrap();
        let mut first = db.registry.begin_write().await.unwrap();
        let k1 = medium(&mut first, n, Some("k1"), None).await;
        let registry = db.registry.clone();
        let second = tokio::spawn(async move {
            let mut tx = registry.begin_write().await.unwrap();
            let k2 = medium(&mut tx, n, Some("k2"), None).await;
            tx.commit().await.unwrap();
            k2
        });
        // Give the second renewal time to start and wait for the first.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!second.is_finished(), "{}: the second renewal did not wait", db.url);
        first.commit().await.unwrap();
        let k2 = second.await.unwrap();
        let mut tx = db.registry.begin_read().await.unwrap();
        let keys = ops::ledger::node_keys(&mut tx, n).await.unwrap();
        let summary: Vec<_> = keys.iter().map(|k| (k.issued_medium_id, k.superseded_by)).collect();
        assert_eq!(summary, [(k2, None), (k1, Some(k2))], "{}", db.url);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_batch_of_events_is_written_with_its_objects_in_one_write() {
    for db in databases().await {
        let event = |i: i64, objects: &'static [(&'static str, i64)]| ops::events::NewEvent {
            person_id: Some(i),
            node_id: None,
            auth_type: Some("session"),
            fault_code: 0,
            call_name: "GetBootMedium",
            call: "GetBootMedium({'AuthMethod': 'session'}, 'n', 'node-preview', '')",
            message: Some("it's \"quoted\" \\ and ünïcode"),
            runtime: 0.25,
            time: 1_700_000_000 + i,
            objects,
        };
        let batch = [event(1, &[("Node", 7)]), event(2, &[]), event(3, &[("Node", 8), ("Site", 1)])];
        ops::events::record_batch(&db.registry, &batch).await.unwrap();
        ops::events::record_batch(&db.registry, &batch[..1]).await.unwrap();
        let mut tx = db.registry.begin_read().await.unwrap();
        use bootmedium_registry::{Cond, FieldRef, Query, TableSpec, views};
        let all = |table: &'static TableSpec| {
            let fields = table.fields.iter().map(FieldRef::Field).collect();
            Query { table, cond: Cond::True, fields, sort: vec![], offset: None, limit: None }
        };
        let events = tx.select(&all(&views::EVENT)).await.unwrap();
        let people: Vec<i64> = events.iter().map(|e| e.int("person_id").unwrap()).collect();
        assert_eq!(people, [1, 2, 3, 1], "{}", db.url);
        assert_eq!(events[0].text("message"), Some("it's \"quoted\" \\ and ünïcode"), "{}", db.url);
        assert_eq!(events[2].int_list("object_ids"), [8, 1], "{}", db.url);
        let objects = tx.select(&all(&views::EVENT_OBJECT)).await.unwrap();
        assert_eq!(objects.len(), 4, "{}", db.url);
        assert!(ops::events::node_message_since(&mut tx, 8, "it's \"quoted\" \\ and ünïcode", 0).await.unwrap());
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_calls_last_write_and_its_commit_are_one_step() {
    for db in databases().await {
        let mut tx = db.registry.begin_write().await.unwrap();
        let s = site(&mut tx, "s").await;
        let event = ops::events::NewEvent {
            person_id: None,
            node_id: None,
            auth_type: None,
            fault_code: 0,
            call_name: "AddSite",
            call: "AddSite(...)",
            message: Some("Site created"),
            runtime: 0.0,
            time: 5,
            objects: &[("Site", s)],
        };
        ops::events::record_and_commit(tx, &event).await.unwrap();
        // Both the call's write and its event are committed: another transaction sees them,
        // and the writer lock is free again.
        let mut tx = db.registry.begin_write().await.unwrap();
        assert!(ops::sites::login_base_taken(&mut tx, "s", 0).await.unwrap(), "{}", db.url);
        tx.commit().await.unwrap();
        let mut tx = db.registry.begin_read().await.unwrap();
        use bootmedium_registry::{Cond, FieldRef, Query, views};
        let fields = views::EVENT.fields.iter().map(FieldRef::Field).collect();
        let q = Query { table: &views::EVENT, cond: Cond::True, fields, sort: vec![], offset: None, limit: None };
        let events = tx.select(&q).await.unwrap();
        assert_eq!(events.len(), 1, "{}", db.url);
        assert_eq!((events[0].text("message"), events[0].int_list("object_ids")), (Some("Site created"), &[s][..]));
        tx.commit().await.unwrap();
    }
}
