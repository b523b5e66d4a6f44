//! Every declared method is answered by its own handler and described from its declaration.

use crate::support::{admin, databases, fault, value};
use bootmedium_plc::bootstrap::DEMO;
use bootmedium_xmlrpc::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_method_has_help_a_signature_and_a_handler() {
    for db in databases().await {
        let api = &db.api;
        let names = value(api, "system.listMethods", vec![]).await;
        let names: Vec<String> = names.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert!(names.len() > 60, "{}: {} methods", db.backend, names.len());
        for name in names.iter().filter(|n| !n.starts_with("system.")) {
            let help = value(api, "system.methodHelp", vec![Value::from(name.as_str())]).await;
            assert!(help.as_str().unwrap().contains("Roles:"), "{name}");
            let sigs = value(api, "system.methodSignature", vec![Value::from(name.as_str())]).await;
            assert!(!sigs.as_array().unwrap().is_empty(), "{name}");
            // Called with too many arguments, every method answers the declared count (101),
            // which the dispatcher checks from the same declaration before any handler runs.
            let too_many: Vec<Value> = std::iter::repeat_n(Value::Nil, 9).collect();
            let f = fault(api, name, too_many).await;
            assert_eq!(f.code, 101, "{name}: {}", f.message);
            // The longest signature (its return type first) is the declared maximum.
            let max = sigs.as_array().unwrap().iter().map(|s| s.as_array().unwrap().len() - 1).max().unwrap();
            assert!(f.message.ends_with(&format!("{max} arguments, got 9")), "{name}: {}", f.message);
        }
        // A declared method is reached through its handler: the ones that need no arguments
        // answer an admin with their own results, never "unhandled".
        for name in ["AuthCheck", "BootCheckAuthentication"] {
            assert_eq!(value(api, name, vec![admin()]).await, Value::Int(1), "{name}");
        }
        let roles = value(api, "GetRoles", vec![admin()]).await;
        let role_names: Vec<&str> =
            roles.as_array().unwrap().iter().filter_map(|r| r.get("name").and_then(Value::as_str)).collect();
        assert_eq!(role_names, ["admin", "pi", "user", "tech", "node"], "{}", db.backend);
        let boot_states = value(api, "GetBootStates", vec![admin()]).await;
        assert!(boot_states.as_array().unwrap().contains(&Value::from("safeboot")), "{boot_states:?}");
        let node_types = value(api, "GetNodeTypes", vec![admin()]).await;
        assert!(node_types.as_array().unwrap().contains(&Value::from("dummynet")), "{node_types:?}");
        let f = fault(api, "NoSuchMethod", vec![admin()]).await;
        assert_eq!(f.code, 100);
    }
}

/// The declared types are checked before any handler runs, with upstream's texts; the typed
/// handlers then receive what the check let through: nil where the type allows it, nothing for
/// a left-out optional argument, ids and names, filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_are_checked_then_converted_from_the_declaration() {
    for db in databases().await {
        let api = &db.api;
        let refused = [
            ("GetNodes", vec![admin(), Value::Double(1.5)], "Invalid node_filter value: expected struct, got double"),
            ("GetSession", vec![admin(), Value::from("x")], "Invalid expires value: expected int, got string"),
            (
                "UpdateInterface",
                vec![admin(), Value::from("1"), Value::Struct(Default::default())],
                "Invalid interface_id value: expected int, got string",
            ),
            (
                "AddNodeTag",
                vec![admin(), Value::Int(1), Value::from("arch"), Value::Int(5)],
                "Invalid value value: expected string, got int",
            ),
            (
                "GetBootMedium",
                vec![admin(), Value::Int(1), Value::from("node-preview"), Value::from(""), Value::Nil],
                "Invalid options value: expected array, got nil",
            ),
        ];
        for (method, params, message) in refused {
            let f = fault(api, method, params).await;
            assert_eq!(f.code, 102, "{}: {method}: {}", db.backend, f.message);
            assert!(f.message.ends_with(&format!("{method}: {message}")), "{}: {}", db.backend, f.message);
        }
        // nil and a left-out argument reach ReportRunlevel as no node, which an admin must name.
        let report = Value::Struct([("run_level".to_string(), Value::from("boot"))].into());
        for params in [vec![admin(), report.clone(), Value::Nil], vec![admin(), report.clone()]] {
            let f = fault(api, "ReportRunlevel", params).await;
            assert!(f.message.ends_with("ReportRunlevel: Invalid argument: No such node"), "{}", f.message);
        }
        assert_eq!(
            value(api, "ReportRunlevel", vec![admin(), report, Value::from(DEMO.hostname)]).await,
            Value::Int(1)
        );
        // GetSession takes nil for its default lifetime.
        assert!(value(api, "GetSession", vec![admin(), Value::Nil]).await.as_str().is_some());
        // A filter by name, by a list of ids and names, and by criteria finds the same node.
        let hostname =
            |v: Value| v.as_array().map(|rows| rows.iter().map(|r| r.get("hostname").cloned()).collect::<Vec<_>>());
        let node_id = value(
            api,
            "GetNodes",
            vec![admin(), Value::from(DEMO.hostname), Value::Array(vec![Value::from("node_id")])],
        )
        .await;
        let node_id = node_id.as_array().unwrap()[0].get("node_id").cloned().unwrap();
        let fields = Value::Array(vec![Value::from("hostname")]);
        let by_criteria = Value::Struct([("node_id".to_string(), node_id.clone())].into());
        for filter in [
            Value::from(DEMO.hostname),
            Value::Array(vec![node_id.clone(), Value::from("none.example.org")]),
            by_criteria,
        ] {
            let found = value(api, "GetNodes", vec![admin(), filter.clone(), fields.clone()]).await;
            assert_eq!(hostname(found), Some(vec![Some(Value::from(DEMO.hostname))]), "{filter:?}");
        }
    }
}
