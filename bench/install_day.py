#!/usr/bin/env python3
"""Helpers of bench/install_day.sh (run from it; not meant to be used alone).

  install_day.py setup URL DIR N        a site, N nodes with static interfaces, one download
                                        link each (POST /api/v1/media); writes DIR/links.json
  install_day.py verify DIR             the files nginx will serve have the links' sha256
  install_day.py probe URL DIR STOP     AuthCheck (session) every 20 ms on one keep-alive
                                        connection until the file STOP exists; latencies in ms
                                        to DIR/probe.txt
  install_day.py rss PID OUT STOP       VmRSS of PID every 50 ms (KiB) to OUT until STOP exists
  install_day.py slow CFG RATE OUT STOP  every URL of the curl config CFG read at RATE bytes/s
                                        per transfer, concurrently, until STOP exists; writes
                                        "transfers bytes still_reading" to OUT
"""

import asyncio

import hashlib
import http.client
import json
import os
import sys
import time
import urllib.parse
import xmlrpc.client

ADMIN = {"AuthMethod": "password", "Username": "admin@bench.example.org", "AuthString": "bench"}


def setup(url, d, n):
    api = xmlrpc.client.ServerProxy(url, allow_none=True)
    session = api.GetSession(ADMIN)
    auth = {"AuthMethod": "session", "session": session}
    site = api.AddSite(auth, {"name": "Install day", "abbreviated_name": "ID", "login_base": "inst"})
    base = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(base.hostname, base.port)
    links = []
    for i in range(n):
        host = f"node{i:04d}.install.example.org"
        node = api.AddNode(auth, site, {"hostname": host, "boot_state": "boot"})
        a, b = divmod(i, 250)
        net = f"10.{a + 1}.{b}"
        api.AddInterface(auth, node, {
            "method": "static", "type": "ipv4", "ip": f"{net}.10", "netmask": "255.255.255.0",
            "network": f"{net}.0", "broadcast": f"{net}.255", "gateway": f"{net}.1", "dns1": f"{net}.2",
        })
        body = json.dumps({"node": host, "action": "node-iso"})
        conn.request("POST", "/api/v1/media", body, {
            "Authorization": f"Bearer {session}", "Content-Type": "application/json"})
        r = conn.getresponse()
        answer = json.loads(r.read())
        assert r.status == 201, answer
        links.append({"url": answer["url"], "sha256": answer["sha256"], "size": answer["size"]})
    json.dump({"session": session, "links": links}, open(f"{d}/links.json", "w"))
    print(f"{n} nodes, {n} links, {sum(l['size'] for l in links)} bytes of media", file=sys.stderr)


def verify(d):
    links = json.load(open(f"{d}/links.json"))["links"]
    for i, link in enumerate(links):
        h = hashlib.sha256()
        with open(f"{d}/www/{i:04d}.iso", "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        assert h.hexdigest() == link["sha256"], (i, link)
    print(f"{len(links)} files have their links' sha256", file=sys.stderr)


def probe(url, d, stop):
    session = json.load(open(f"{d}/links.json"))["session"]
    body = xmlrpc.client.dumps(({"AuthMethod": "session", "session": session},), "AuthCheck").encode()
    base = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    out = []
    while not os.path.exists(stop):
        start = time.perf_counter()
        try:
            conn.request("POST", base.path, body, {"Content-Type": "text/xml"})
            r = conn.getresponse()
            text = r.read()
            ok = r.status == 200 and b"<int>1</int>" in text
        except OSError:
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
        out.append(f"{(time.perf_counter() - start) * 1000:.2f} {int(ok)}")
        time.sleep(0.02)
    open(f"{d}/probe.txt", "w").write("\n".join(out) + "\n")


def rss(pid, out, stop):
    samples = []
    while not os.path.exists(stop):
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                samples.append(line.split()[1])
        time.sleep(0.05)
    open(out, "w").write("\n".join(samples) + "\n")


def slow(cfg, rate, out, stop):
    urls = [line.split('"')[1] for line in open(cfg) if line.startswith("url")]
    rate = int(rate)
    got = [0] * len(urls)
    done = [False] * len(urls)

    async def reader(i, url):
        u = urllib.parse.urlsplit(url)
        r, w = await asyncio.open_connection(u.hostname, u.port)
        w.write(f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}\r\nConnection: close\r\n\r\n".encode())
        await w.drain()
        piece = max(1, rate // 4)
        while not os.path.exists(stop):
            data = await r.read(piece)
            if not data:
                done[i] = True
                break
            got[i] += len(data)
            await asyncio.sleep(0.25)
        w.close()

    async def main():
        await asyncio.gather(*(reader(i, u) for i, u in enumerate(urls)))

    asyncio.run(main())
    open(out, "w").write(f"{len(urls)} {sum(got)} {done.count(False)}\n")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "setup":
        setup(args[0], args[1], int(args[2]))
    elif cmd == "verify":
        verify(args[0])
    elif cmd == "probe":
        probe(*args)
    elif cmd == "rss":
        rss(*args)
    elif cmd == "slow":
        slow(*args)
    else:
        sys.exit(__doc__)
