//! Accounts that do not come from AddPerson's own hashing (docs/plc-api.md §2.2): the maintenance
//! account (`capability`/`password` auth with PLC_API_MAINTENANCE_*), accepted only from its
//! source addresses, and persons imported from a PLC database with MD5-crypt (`$1$`) hashes.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::{each_backend, each_backend_with};
use bootmedium_testkit::*;
use std::net::IpAddr;

const MAINT: &str = "maint@localhost.localdomain";
const MAINT_PW: &str = "maint-secret";

fn maint_auth(method: &str, password: &str) -> Value {
    st! { "AuthMethod" => method, "Username" => MAINT, "AuthString" => password }
}

#[test]
fn the_maintenance_account_works_from_its_sources_only() {
    let configure = |c: &mut bootmedium_plc::PlcConfig| {
        c.api.maintenance_user = MAINT.to_string();
        c.api.maintenance_password = MAINT_PW.to_string();
        c.api.maintenance_sources = vec!["127.0.0.1".to_string()];
    };
    each_backend_with(configure, |plc| {
        for method in ["capability", "password"] {
            assert_eq!(plc.ok("AuthCheck", vec![maint_auth(method, MAINT_PW)]), i(1));
        }
        // It holds the admin role: it may add a site.
        let site = plc.ok_int(
            "AddSite",
            vec![
                maint_auth("capability", MAINT_PW),
                st! { "name" => "M", "abbreviated_name" => "M", "login_base" => "m" },
            ],
        );
        assert!(site > 0);
        let wrong = plc.call("AuthCheck", vec![maint_auth("capability", "nope")]);
        assert_fault(&wrong, 103, "PasswordAuth: Maintenance account password verification failed");

        // From an address that is not one of its sources.
        let elsewhere: IpAddr = "192.0.2.77".parse().unwrap();
        let refused = plc.call_from(elsewhere, "AuthCheck", vec![maint_auth("capability", MAINT_PW)]);
        assert_fault(&refused, 103, "PasswordAuth: Not allowed to login to maintenance account");
    });
}

#[test]
fn md5_crypt_hashes_imported_from_plc_still_verify() {
    each_backend(|plc| {
        // crypt("secret", "$1$abcdefgh$"), stored as given (§2.2 validate_password).
        let hash = "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1";
        let email = "imported@example.org";
        plc.admin_int(
            "AddPerson",
            vec![st! { "email" => email, "first_name" => "I", "last_name" => "P", "password" => hash }],
        );
        plc.admin_one("UpdatePerson", vec![s(email), st! { "enabled" => true }]);
        plc.admin_one("AddRoleToPerson", vec![s("user"), s(email)]);
        assert_eq!(plc.ok("AuthCheck", vec![password_auth(email, "secret")]), i(1));
        let wrong = plc.call("AuthCheck", vec![password_auth(email, "Secret")]);
        assert_fault(&wrong, 103, "PasswordAuth: Password verification failed");
        // A password set through the API is hashed anew (argon2id), never stored as given.
        plc.admin_one("UpdatePerson", vec![s(email), st! { "password" => "plain-new" }]);
        assert_eq!(plc.ok("AuthCheck", vec![password_auth(email, "plain-new")]), i(1));
        assert_fault(&plc.call("AuthCheck", vec![password_auth(email, "secret")]), 103, "Password verification failed");
    });
}
