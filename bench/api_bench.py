#!/usr/bin/env python3
"""API benchmark with real PLC clients: Python's xmlrpc.client, one ServerProxy per thread.

Measures calls/s and latency percentiles of
  * GetNodes(session, hostname)  (the lookup the web UI and GetBootMedium callers make), and
  * AuthCheck(session)
with N concurrent client threads (default 8), each making a fixed number of calls, after a
warm-up. Prints a markdown table. Not a test: nothing is asserted beyond every call succeeding.

Usage: api_bench.py URL ADMIN_EMAIL ADMIN_PASSWORD [--threads 8] [--calls 500] [--label sqlite]
The server needs a node to look up: the script adds a site and a node (bench.example.org) when
missing, so it also works on a server started without --demo.
"""

import argparse
import threading
import time
import xmlrpc.client


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def ensure_node(url, root):
    api = xmlrpc.client.ServerProxy(url, allow_none=True)
    hostname = "bench.example.org"
    if not api.GetNodes(root, [hostname], ["node_id"]):
        if not api.GetSites(root, ["benchsite"], ["site_id"]):
            api.AddSite(root, {"name": "Bench site", "abbreviated_name": "Bench", "login_base": "benchsite"})
        api.AddNode(root, "benchsite", {"hostname": hostname})
    return hostname


def run(url, threads, calls, make_call):
    """Each thread makes `calls` calls through its own ServerProxy; returns (elapsed, latencies)."""
    latencies = [[] for _ in range(threads)]
    errors = []
    barrier = threading.Barrier(threads + 1)

    def worker(n):
        api = xmlrpc.client.ServerProxy(url, allow_none=True)
        for _ in range(min(20, calls)):  # warm-up, not measured
            make_call(api)
        barrier.wait()
        mine = latencies[n]
        try:
            for _ in range(calls):
                t0 = time.perf_counter()
                make_call(api)
                mine.append(time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit("benchmark calls failed: %s" % errors[:3])
    return elapsed, sorted(x for per in latencies for x in per)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("admin_email")
    parser.add_argument("admin_password")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=500, help="calls per thread")
    parser.add_argument("--label", default="", help="backend name for the table (e.g. sqlite)")
    args = parser.parse_args()

    root = {"AuthMethod": "password", "Username": args.admin_email, "AuthString": args.admin_password}
    hostname = ensure_node(args.url, root)
    session = xmlrpc.client.ServerProxy(args.url, allow_none=True).GetSession(root)
    auth = {"AuthMethod": "session", "session": session}

    def get_nodes(api):
        rows = api.GetNodes(auth, hostname)
        if len(rows) != 1:
            raise RuntimeError("GetNodes returned %r" % rows)

    def auth_check(api):
        if api.AuthCheck(auth) != 1:
            raise RuntimeError("AuthCheck failed")

    label = (" (%s)" % args.label) if args.label else ""
    print("| call%s | clients | calls | calls/s | p50 ms | p90 ms | p99 ms | max ms |" % label)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, fn in [("GetNodes by hostname, session auth", get_nodes), ("AuthCheck, session auth", auth_check)]:
        elapsed, lat = run(args.url, args.threads, args.calls, fn)
        total = len(lat)
        ms = lambda v: "%.2f" % (v * 1000.0)  # noqa: E731
        print("| %s | %d | %d | %.0f | %s | %s | %s | %s |" % (
            name, args.threads, total, total / elapsed, ms(percentile(lat, 50)), ms(percentile(lat, 90)),
            ms(percentile(lat, 99)), ms(lat[-1])))


if __name__ == "__main__":
    main()
