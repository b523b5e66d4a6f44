//! The event log of calls that only read (node-preview): recorded through the group commit,
//! each one committed before its call returns, none lost or doubled under concurrency.

use crate::support::{admin, databases, pi, value};
use bootmedium_plc::bootstrap::DEMO;
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

async fn preview_events(api: &bootmedium_plc::Api) -> Vec<Value> {
    let mut filter = BTreeMap::new();
    filter.insert("call_name".to_string(), Value::from("GetBootMedium"));
    let events = value(
        api,
        "GetEvents",
        vec![
            admin(),
            Value::Struct(filter),
            Value::Array(vec![
                "message".into(),
                "call".into(),
                "person_id".into(),
                "object_types".into(),
                "object_ids".into(),
            ]),
        ],
    )
    .await;
    events.as_array().unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_previews_each_commit_their_event_before_answering() {
    for db in databases().await {
        let api = db.api.clone();
        let calls = 24;
        let mut tasks = Vec::new();
        for _ in 0..calls {
            let api = api.clone();
            tasks.push(tokio::spawn(async move {
                let params = vec![pi(), Value::from(DEMO.hostname), Value::from("node-preview"), Value::from("")];
                let text = value(&api, "GetBootMedium", params).await;
                assert!(text.as_str().unwrap().contains("IP_ADDRESS"));
                // Returned: its event is there already.
                assert!(!preview_events(&api).await.is_empty());
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let events = preview_events(&api).await;
        assert_eq!(events.len(), calls, "{}: one event per call", db.backend);
        let id_of = |rows: Value, id: &str| rows.as_array().unwrap()[0].get(id).cloned().unwrap();
        let ids = |name: &str| Value::Array(vec![name.into()]);
        let node_id =
            id_of(value(&api, "GetNodes", vec![admin(), DEMO.hostname.into(), ids("node_id")]).await, "node_id");
        let pi_id =
            id_of(value(&api, "GetPersons", vec![admin(), DEMO.pi_email.into(), ids("person_id")]).await, "person_id");
        for e in &events {
            let message = e.get("message").and_then(Value::as_str).unwrap();
            assert_eq!(message, format!("GetBootMedium on node {} - action=node-preview", DEMO.hostname));
            // The node it was about, as the event's one object.
            let types = e.get("object_types").and_then(Value::as_array).unwrap();
            let ids = e.get("object_ids").and_then(Value::as_array).unwrap();
            assert_eq!(types, [Value::from("Node")], "{}", db.backend);
            assert_eq!(ids, std::slice::from_ref(&node_id), "{}", db.backend);
            assert_eq!(e.get("person_id"), Some(&pi_id), "{}: the PI made the call", db.backend);
            let call = e.get("call").and_then(Value::as_str).unwrap();
            assert!(call.contains("Removed by API") && !call.contains(DEMO.pi_password), "{call}");
        }
    }
}
