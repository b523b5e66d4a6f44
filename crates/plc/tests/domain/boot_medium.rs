//! GetBootMedium's typed entry points: what the command line and the download API get.

use crate::support::{databases, pi, session, value};
use bootmedium_plc::bootstrap::DEMO;
use bootmedium_plc::caller::Caller;
use bootmedium_plc::{Credentials, Issued, NodeRef};
use bootmedium_xmlrpc::Value;

fn demo_node() -> NodeRef {
    NodeRef::Hostname(DEMO.hostname.to_string())
}

async fn key_generation(api: &bootmedium_plc::Api) -> i64 {
    let nodes = value(
        api,
        "GetIssuedMedia",
        vec![crate::support::admin(), Value::Struct(Default::default()), Value::Array(vec!["key_generation".into()])],
    )
    .await;
    nodes.as_array().unwrap().iter().filter_map(|m| m.get("key_generation").and_then(Value::as_int)).max().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_gets_text_files_and_a_renewed_key_in_the_ledger() {
    for db in databases().await {
        let api = &db.api;
        let preview = api.boot_medium_as(Caller::local_operator(), &demo_node(), "node-preview", None, &[]).await;
        let Ok(Issued::Text(text)) = preview else { panic!("{}: node-preview", db.backend) };
        assert!(text.contains(&format!("HOST_NAME=\"{}\"", DEMO.hostname.split('.').next().unwrap())), "{text}");
        assert!(!text.contains("NODE_KEY"), "a preview carries no key");
        assert_eq!(key_generation(api).await, 0, "a preview renews nothing");

        let out = db.dir.join("out").join("plnode.txt");
        let floppy = api.boot_medium_as(Caller::local_operator(), &demo_node(), "node-floppy", Some(&out), &[]).await;
        let Ok(Issued::File(path)) = floppy else { panic!("{}: node-floppy to a file", db.backend) };
        assert_eq!(path, out);
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.contains("NODE_KEY="), "{written}");
        assert_eq!(key_generation(api).await, 1, "{}: the renewed key has its ledger row", db.backend);

        // Options a configuration file cannot take are refused, and nothing is renewed.
        let refused = api
            .boot_medium_as(Caller::local_operator(), &demo_node(), "node-floppy", None, &["serial".to_string()])
            .await;
        let Err(f) = refused else { panic!("options on a configuration file") };
        assert_eq!(f.code, 102, "{}", f.message);
        assert_eq!(key_generation(api).await, 1);

        let unknown =
            api.boot_medium_as(Caller::local_operator(), &NodeRef::Id(999_999), "node-preview", None, &[]).await;
        let Err(f) = unknown else { panic!("an unknown node") };
        assert_eq!((f.code, f.message.as_str()), (102, "Invalid argument: No such node 999999"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_download_api_gets_links_only_for_images() {
    for db in databases().await {
        let api = &db.api;
        let credentials = Credentials::Session(session(api, pi()).await);
        // A configuration file is not offered as a download; the key is not renewed.
        let out = api.issue_download(&credentials, &demo_node(), "node-floppy", &[], None).await;
        let f = out.result.expect_err("node-floppy as a link");
        assert_eq!(f.code, 102, "{}", f.message);
        assert!(f.message.contains("not offered as a download"), "{}", f.message);
        assert!(out.caller.starts_with("person_id "), "the log line names the caller: {:?}", out.caller);
        assert_eq!(key_generation(api).await, 0);
        // This API has no boot image engine: an image action is fault 111 (before any key
        // is stored), not a crash or a half-issued link.
        let out = api.issue_download(&credentials, &demo_node(), "node-iso", &[], None).await;
        let f = out.result.expect_err("no media engine");
        assert_eq!(f.code, 111, "{}", f.message);
        assert_eq!(key_generation(api).await, 0);
        // A session that does not exist is refused like any session auth (103).
        let bogus = Credentials::Session("not-a-session".into());
        let f = api.issue_download(&bogus, &demo_node(), "node-iso", &[], None).await.result.expect_err("bogus");
        assert_eq!(f.code, 103, "{}", f.message);
    }
}
