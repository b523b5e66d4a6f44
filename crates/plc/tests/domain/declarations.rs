//! Every declared method is answered by its own handler and described from its declaration.

use crate::support::{admin, databases, fault, value};
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
        }
        // A declared method is reached through its handler: the ones that need no arguments
        // answer an admin with their own results, never "unhandled".
        for name in ["GetRoles", "GetBootStates", "GetNodeTypes", "AuthCheck", "BootCheckAuthentication"] {
            let v = value(api, name, vec![admin()]).await;
            assert!(!matches!(v, Value::Nil), "{name}");
        }
        let f = fault(api, "NoSuchMethod", vec![admin()]).await;
        assert_eq!(f.code, 100);
    }
}
