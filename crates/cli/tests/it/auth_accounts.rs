//! Accounts that do not come from AddPerson's own hashing (docs/plc-api.md §2.2): the maintenance
//! account (`capability`/`password` auth with PLC_API_MAINTENANCE_*), accepted only from its
//! source addresses, and persons imported from a PLC database with MD5-crypt (`$1$`) hashes.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::*;

const MAINT: &str = "maint@localhost.localdomain";
const MAINT_PW: &str = "maint-secret";

/// A server whose bootmedium.toml names the maintenance account, allowed from `sources`.
fn with_maintenance(sources: &str) -> Server {
    Server::start_with(|dir| {
        let path = dir.join("bootmedium.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace("maintenance_user = \"\"", &format!("maintenance_user = \"{MAINT}\""))
            .replace("maintenance_password = \"\"", &format!("maintenance_password = \"{MAINT_PW}\""))
            .replace("maintenance_sources = []", &format!("maintenance_sources = [{sources}]"));
        std::fs::write(&path, text).unwrap();
    })
}

fn maint_auth(method: &str, password: &str) -> bootmedium_xmlrpc::Value {
    st! { "AuthMethod" => method, "Username" => MAINT, "AuthString" => password }
}

#[test]
fn the_maintenance_account_works_from_its_sources_only() {
    let server = with_maintenance("\"127.0.0.1\"");
    for method in ["capability", "password"] {
        assert_eq!(server.ok("AuthCheck", vec![maint_auth(method, MAINT_PW)]), i(1));
    }
    // It holds the admin role: it may add a site.
    let site = server.ok_int(
        "AddSite",
        vec![maint_auth("capability", MAINT_PW), st! { "name" => "M", "abbreviated_name" => "M", "login_base" => "m" }],
    );
    assert!(site > 0);
    let wrong = server.call("AuthCheck", vec![maint_auth("capability", "nope")]);
    assert_fault(&wrong, 103, "PasswordAuth: Maintenance account password verification failed");

    let elsewhere = with_maintenance("\"192.0.2.77\"");
    let refused = elsewhere.call("AuthCheck", vec![maint_auth("capability", MAINT_PW)]);
    assert_fault(&refused, 103, "PasswordAuth: Not allowed to login to maintenance account");
}

#[test]
fn md5_crypt_hashes_imported_from_plc_still_verify() {
    let server = Server::start();
    // crypt("secret", "$1$abcdefgh$"), stored as given (§2.2 validate_password).
    let hash = "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1";
    let email = "imported@example.org";
    server.admin_int(
        "AddPerson",
        vec![st! { "email" => email, "first_name" => "I", "last_name" => "P", "password" => hash }],
    );
    server.admin_one("UpdatePerson", vec![s(email), st! { "enabled" => true }]);
    server.admin_one("AddRoleToPerson", vec![s("user"), s(email)]);
    assert_eq!(server.ok("AuthCheck", vec![password_auth(email, "secret")]), i(1));
    let wrong = server.call("AuthCheck", vec![password_auth(email, "Secret")]);
    assert_fault(&wrong, 103, "PasswordAuth: Password verification failed");
    // A password set through the API is hashed anew (argon2id), never stored as given.
    server.admin_one("UpdatePerson", vec![s(email), st! { "password" => "plain-new" }]);
    assert_eq!(server.ok("AuthCheck", vec![password_auth(email, "plain-new")]), i(1));
    assert_fault(&server.call("AuthCheck", vec![password_auth(email, "secret")]), 103, "Password verification failed");
}
