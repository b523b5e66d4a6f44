//! Limits and ordering, in process on every backend: the multicall size cap, each password
//! checked once per multicall; authentication before the write lock; password checks that take
//! as long for unknown as for known accounts; failed-login limits per account and per address;
//! list filters as sets, with their cap. (Image actions inside multicall and a medium built
//! beside writes need the test reference: crates/cli/tests/it/limits.rs.)

use crate::support::{Plc, each_backend, each_backend_with, on_sqlite_with};
use bootmedium_plc::PlcConfig;
use bootmedium_testkit::*;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[test]
fn a_multicall_over_the_cap_is_refused_before_any_call_runs() {
    each_backend(|plc| {
        plc.use_admin_session();
        let site = add_site(plc, "cap");
        let auth = plc.admin_auth();
        // (calls, whether they run); 100 is the documented default cap.
        let cases: &[(usize, bool)] = &[(1, true), (100, true), (101, false), (2_000, false)];
        for &(n, runs) in cases {
            let url = format!("http://n{n}.example.org/");
            let calls: Vec<Value> = (0..n)
                .map(|_| multicall_entry("UpdateSite", vec![auth.clone(), i(site), st! { "url" => url.as_str() }]))
                .collect();
            let before = plc.db_snapshot();
            let result = plc.call("system.multicall", vec![Value::Array(calls)]);
            if runs {
                let results = result.unwrap_or_else(|f| panic!("{n} calls: {f:?}"));
                assert_eq!(array_of(&results).len(), n);
                assert_eq!(site_url(plc, site), s(&url), "{n} calls ran");
            } else {
                assert_fault(&result, 102, "at most 100 calls");
                let after = plc.db_snapshot();
                assert_eq!(before, after, "{n} calls: something ran:\n{}", snapshot_diff(&before, &after));
            }
        }
    });
}

#[test]
fn a_multicall_checks_each_password_once() {
    each_backend(|plc| {
        plc.use_admin_session();
        let site = add_site(plc, "memo");
        add_person(plc, "user@memo.example.org", "User-pw-1", &["user"], Some(site));
        let admin = password_auth(ADMIN_EMAIL, ADMIN_PASSWORD);
        let user = password_auth("user@memo.example.org", "User-pw-1");
        let wrong = password_auth("user@memo.example.org", "not-it");
        let auth_check = |auth: &Value| multicall_entry("AuthCheck", vec![auth.clone()]);
        // Each entry still gets its own answer: a wrong password among right ones is a fault there.
        let (auths, expected): (Vec<&Value>, Vec<bool>) =
            [(&admin, true), (&wrong, false), (&user, true), (&admin, true), (&wrong, false), (&user, true)]
                .into_iter()
                .unzip();
        let results = plc.ok("system.multicall", vec![Value::Array(auths.iter().map(|a| auth_check(a)).collect())]);
        for (n, (r, ok)) in array_of(&results).iter().zip(expected).enumerate() {
            if ok {
                assert_eq!(r, &Value::Array(vec![Value::Int(1)]), "entry {n}");
            } else {
                assert!(matches!(r.get("faultCode"), Some(Value::Int(103))), "entry {n}: {r:?}");
            }
        }
        // A hundred calls with one password cost about one password check, not a hundred.
        let single = median_max(
            (0..5)
                .map(|_| {
                    let started = Instant::now();
                    assert_eq!(plc.call("AuthCheck", vec![admin.clone()]), Ok(Value::Int(1)));
                    started.elapsed()
                })
                .collect(),
        )
        .0;
        let started = Instant::now();
        let results = plc.ok("system.multicall", vec![Value::Array((0..100).map(|_| auth_check(&admin)).collect())]);
        let hundred = started.elapsed();
        assert_eq!(array_of(&results).len(), 100);
        eprintln!("one password call {single:?}; a multicall of 100 with that password {hundred:?}");
        assert!(hundred < single * 15, "100 calls took {hundred:?}, one {single:?}");
    });
}

/// Median and maximum of a set of durations.
fn median_max(mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    (d[d.len() / 2], d[d.len() - 1])
}

#[test]
fn wrong_password_loops_do_not_delay_real_writes() {
    // The failed-login limits are off here: what is measured is that a failing password check
    // never holds the write lock (with the limits on, the loops would be refused early anyway).
    // SQLite: its one writer at a time is the lock in question (PostgreSQL's BEGIN takes none).
    let no_limits = |c: &mut PlcConfig| {
        c.api.failed_logins_per_account = 0;
        c.api.failed_logins_per_address = 0;
    };
    on_sqlite_with(no_limits, |plc| {
        plc.use_admin_session();
        let site = add_site(plc, "loop");
        let writes = |n: usize| -> Vec<Duration> {
            (0..n)
                .map(|k| {
                    let started = Instant::now();
                    plc.admin_one("UpdateSite", vec![i(site), st! { "url" => format!("http://w{k}.example.org/") }]);
                    started.elapsed()
                })
                .collect()
        };
        let (idle, _) = median_max(writes(10));
        let stop = std::sync::atomic::AtomicBool::new(false);
        let under_load = std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let wrong = password_auth(ADMIN_EMAIL, "not-the-password");
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let r = plc.call("UpdateSite", vec![wrong.clone(), i(site), st! { "url" => "http://x/" }]);
                        assert_fault(&r, 103, "Password verification failed");
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(500));
            let measured = writes(20);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            measured
        });
        let (median, max) = median_max(under_load);
        eprintln!("session writes: idle median {idle:?}; under 8 wrong-password loops median {median:?}, max {max:?}");
        // Eight loops keep the CPU busy with password checks, so writes slow down somewhat; what
        // must not happen is a write queueing behind password checks that hold the write lock.
        assert!(
            median < Duration::from_millis(200),
            "median write {median:?} under wrong-password loops (idle {idle:?})"
        );
        assert!(max < Duration::from_millis(1000), "slowest write {max:?} under wrong-password loops");
    });
}

#[test]
fn unknown_and_known_account_failures_take_the_same_time() {
    each_backend(|plc| {
        plc.use_admin_session();
        let site = add_site(plc, "timing");
        add_person(plc, "known@timing.example.org", "Right-pw-1", &["user"], Some(site));
        // AddPerson makes a disabled account with a password.
        plc.admin_int(
        "AddPerson",
        vec![st! { "first_name" => "D", "last_name" => "D", "email" => "disabled@timing.example.org", "password" => "Right-pw-1" }],
    );
        let kinds: &[(&str, &str, &str)] = &[
            ("known account, wrong password", "known@timing.example.org", "Password verification failed"),
            ("unknown account", "nobody@timing.example.org", "No such account"),
            ("disabled account", "disabled@timing.example.org", "No such account"),
        ];
        // Round-robin, so that load from elsewhere on the machine hits every kind alike.
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
        for _ in 0..9 {
            for (k, &(_, user, needle)) in kinds.iter().enumerate() {
                let started = Instant::now();
                let r = plc.call("AuthCheck", vec![password_auth(user, "wrong-password")]);
                times[k].push(started.elapsed());
                assert_fault(&r, 103, needle);
            }
        }
        let medians: Vec<(&str, Duration)> = kinds.iter().zip(times).map(|(k, t)| (k.0, median_max(t).0)).collect();
        eprintln!("failure medians: {medians:?}");
        let known = medians[0].1.as_secs_f64();
        for &(what, median) in &medians[1..] {
            let ratio = median.as_secs_f64() / known;
            assert!((0.5..2.0).contains(&ratio), "{what}: {median:?} vs known account {known:.4}s (ratio {ratio:.2})");
        }
    });
}

#[test]
fn failed_logins_are_limited_per_account_and_per_address_until_the_window_ends() {
    let limits = |c: &mut PlcConfig| {
        c.api.failed_login_window_seconds = 8;
        c.api.failed_logins_per_account = 3;
        c.api.failed_logins_per_address = 5;
    };
    each_backend_with(limits, |plc| {
        plc.use_admin_session();
        let site = add_site(plc, "limit");
        for who in ["a", "b", "c"] {
            add_person(plc, &format!("{who}@limit.example.org"), "Right-pw-1", &["user"], Some(site));
        }
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        let login = |from: IpAddr, who: &str, password: &str| {
            plc.call_from(from, "AuthCheck", vec![password_auth(&format!("{who}@limit.example.org"), password)])
        };
        let started = Instant::now();
        // (from, account, password, expected: Ok or a fault's text)
        let steps: &[(IpAddr, &str, &str, Result<(), &str>)] = &[
            (one, "a", "wrong", Err("Password verification failed")),
            (one, "a", "wrong", Err("Password verification failed")),
            (one, "a", "wrong", Err("Password verification failed")),
            // Account a has had its 3 failures: even the right password is refused, from anywhere.
            (one, "a", "Right-pw-1", Err("Too many failed logins")),
            (two, "a", "Right-pw-1", Err("Too many failed logins")),
            // Other accounts are not limited by a's failures.
            (one, "b", "Right-pw-1", Ok(())),
            // Address 127.0.0.1 reaches its 5 failures (a's 3 and these 2)...
            (one, "b", "wrong", Err("Password verification failed")),
            (one, "c", "wrong", Err("Password verification failed")),
            // ...so every account is refused from it, but not from 127.0.0.2.
            (one, "c", "Right-pw-1", Err("Too many failed logins")),
            (two, "c", "Right-pw-1", Ok(())),
        ];
        for (n, &(from, who, password, expected)) in steps.iter().enumerate() {
            let r = login(from, who, password);
            match expected {
                Ok(()) => assert_eq!(r, Ok(Value::Int(1)), "step {n}: {who} from {from}"),
                Err(needle) => assert_fault(&r, 103, needle),
            }
        }
        // (Eight seconds leave room for the password checks of a debug build on a busy machine.)
        let window = Duration::from_secs(8);
        assert!(started.elapsed() < window, "the steps took longer than the window");
        // The window ends: both the account and the address are accepted again.
        std::thread::sleep(window.saturating_sub(started.elapsed()) + Duration::from_millis(300));
        assert_eq!(login(one, "a", "Right-pw-1"), Ok(Value::Int(1)), "a after the window");
        assert_eq!(login(one, "c", "Right-pw-1"), Ok(Value::Int(1)), "127.0.0.1 after the window");
    });
}

/// Nodes `n0 … n{count-1}` at one site with an interface each; returns (ids, hostnames,
/// interface ids).
fn many_nodes(plc: &Plc, count: usize) -> (Vec<i64>, Vec<String>, Vec<i64>) {
    let site = add_site(plc, "many");
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..count {
        let host = format!("n{k}.many.example.org");
        let node = add_node(plc, site, &host);
        let iface = add_static_interface(plc, node, (k % 200) as u8 + 1);
        out.0.push(node);
        out.1.push(host);
        out.2.push(iface);
    }
    out
}

fn list_filters(plc: &Plc) {
    plc.use_admin_session();
    let (ids, hosts, ifaces) = many_nodes(plc, 6);
    let anon = anonymous_auth();
    let node_ids = |filter: Value| -> (Vec<i64>, Duration) {
        let started = Instant::now();
        let rows = plc.ok_rows("GetNodes", vec![anon.clone(), filter, strs(&["node_id"])]);
        let took = started.elapsed();
        let mut got: Vec<i64> = rows.iter().map(|r| int_of(field(r, "node_id"))).collect();
        got.sort();
        (got, took)
    };
    let max_id = *ids.iter().max().unwrap();
    for size in [2_000usize, 10_000] {
        // Ids above every real node pad the lists to `size`; a few real ones are in them.
        let padding = |n: usize| (0..n as i64).map(|k| max_id + 1000 + k);
        let some: Vec<i64> = vec![ids[1], ids[3]];
        let id_list: Vec<i64> = some.iter().copied().chain(padding(size - some.len())).collect();
        let name_list: Vec<String> = vec![hosts[0].clone(), hosts[4].clone()]
            .into_iter()
            .chain((0..size - 2).map(|k| format!("absent{k}.example.org")))
            .collect();
        let mixed: Vec<Value> = vec![i(ids[2]), s(&hosts[5])].into_iter().chain(padding(size - 2).map(i)).collect();
        let iface_list: Vec<i64> = vec![ifaces[0]].into_iter().chain(padding(size - 1)).collect();
        let name_values: Vec<&str> = name_list.iter().map(String::as_str).collect();
        let cases: Vec<(&str, Value, Vec<i64>)> = vec![
            ("[ids]", ints(&id_list), some.clone()),
            ("{node_id: ids}", st! { "node_id" => ints(&id_list) }, some.clone()),
            ("{~node_id: ids}", st! { "~node_id" => ints(&id_list) }, vec![ids[0], ids[2], ids[4], ids[5]]),
            ("[hostnames]", strs(&name_values), vec![ids[0], ids[4]]),
            ("{hostname: hostnames}", st! { "hostname" => strs(&name_values) }, vec![ids[0], ids[4]]),
            ("[ids and hostnames]", Value::Array(mixed), vec![ids[2], ids[5]]),
            ("{|interface_ids: ids}", st! { "|interface_ids" => ints(&iface_list) }, vec![ids[0]]),
        ];
        for (what, filter, mut expected) in cases {
            expected.sort();
            let (got, took) = node_ids(filter);
            eprintln!("{size} values, {what}: {took:?}");
            assert_eq!(got, expected, "{size} values, {what}");
            assert!(took < Duration::from_secs(2), "{size} values, {what}: {took:?}");
        }
    }
    // Every value of a list and every occurrence is a value: `&` needs them all (once each).
    let (got, _) = node_ids(st! { "&interface_ids" => ints(&[ifaces[1], ifaces[1]]) });
    assert_eq!(got, vec![ids[1]]);
    let (got, _) = node_ids(st! { "&interface_ids" => ints(&[ifaces[1], ifaces[2]]) });
    assert_eq!(got, Vec::<i64>::new());
    // Beyond the cap (10,000 values in one filter, however they are spread): fault 102.
    let over: Vec<i64> = (1..=10_001).collect();
    let half: Vec<i64> = (1..=5_001).collect();
    let over_cases: Vec<(&str, Value)> = vec![
        ("[ids]", ints(&over)),
        ("{node_id: ids}", st! { "node_id" => ints(&over) }),
        ("two lists", st! { "node_id" => ints(&half), "|interface_ids" => ints(&half) }),
    ];
    for (what, filter) in over_cases {
        let r = plc.call("GetNodes", vec![anon.clone(), filter, strs(&["node_id"])]);
        assert!(matches!(&r, Err((102, m)) if m.contains("at most 10000 values")), "{what}: {r:?}");
    }
}

#[test]
fn list_filters_of_thousands_are_sets() {
    each_backend(list_filters);
}
