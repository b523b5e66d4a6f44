//! Node sessions against the real binary: a node session ends with the key that made it, on
//! every renewal path (the image actions and the download API need the test reference and
//! HTTP), and with the node. The rest of the session and tag-scope rules are domain tests
//! (crates/plc/tests/domain/sessions_scope.rs).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// `POST /api/v1/media` with a bearer session; returns the HTTP status.
fn issue_download(server: &Server, session: &str, node: &str, action: &str) -> u16 {
    let body = serde_json::json!({ "node": node, "action": action, "options": [] }).to_string();
    let request = format!(
        "POST /api/v1/media HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {session}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let (status, _, answer) = server.raw_exchange(request.as_bytes()).unwrap();
    assert!(status == 201, "POST /api/v1/media: {status} {}", String::from_utf8_lossy(&answer));
    status
}

// ---------------------------------------------------------------------------------------------
// Node sessions

#[test]
fn a_node_session_ends_with_every_renewal_of_its_key_and_with_the_node() {
    const HOST: &str = "renew1.one.example.org";
    let server = Server::start_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    server.use_admin_session();
    let site = add_site(&server, "one");
    let node = add_node(&server, site, HOST);
    add_static_interface(&server, node, 5);
    let admin_session = str_of(&server.admin("GetSession", vec![])).to_owned();

    type Action<'a> = Box<dyn Fn(&Server) + 'a>;
    let gbm = |action: &'static str| -> Action {
        Box::new(move |sv: &Server| {
            sv.admin("GetBootMedium", vec![s(HOST), s(action), s(""), strs(&[])]);
        })
    };
    // (path, whether it renews the key)
    let paths: Vec<(&str, Action, bool)> = vec![
        ("GetBootMedium node-preview", gbm("node-preview"), false),
        ("GetBootMedium node-floppy", gbm("node-floppy"), true),
        ("GetBootMedium node-iso", gbm("node-iso"), true),
        ("GetBootMedium node-usb", gbm("node-usb"), true),
        ("GetBootMedium generic-iso", gbm("generic-iso"), false),
        (
            "GetBootMedium node-iso to a file",
            Box::new(|sv: &Server| {
                sv.admin("GetBootMedium", vec![s(HOST), s("node-iso"), s("%d/%n.iso"), strs(&[])]);
            }),
            true,
        ),
        (
            "POST /api/v1/media node-iso",
            Box::new(|sv: &Server| {
                issue_download(sv, &admin_session, HOST, "node-iso");
            }),
            true,
        ),
        (
            "UpdateNode key",
            Box::new(|sv: &Server| sv.admin_one("UpdateNode", vec![s(HOST), st! { "key" => "a-key-set-by-hand" }])),
            true,
        ),
    ];
    let mut wrong = Vec::new();
    for (path, action, renews) in &paths {
        let session = node_session(&server, node);
        assert_eq!(session_check(&server, &session), 0, "{path}: fresh session");
        action(&server);
        let expected = if *renews { 103 } else { 0 };
        let got = session_check(&server, &session);
        if got != expected {
            wrong.push(format!("{path}: the old node session answers {got}, expected {expected}"));
        }
        // The node gets a session again with whatever key it now holds.
        let again = node_session(&server, node);
        assert_eq!(session_check(&server, &again), 0, "{path}: a session with the current key");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // A deleted node's session is dead.
    let session = node_session(&server, node);
    server.admin_one("DeleteNode", vec![i(node)]);
    assert_fault(&server.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth");
}
