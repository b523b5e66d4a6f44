#!/usr/bin/env bash
# "Install day": N (1,000) nodes fetch their own media from one `bootmedium serve` (release
# build, SQLite) at once through download links, fast and deliberately slow readers mixed, against
# Debian's nginx serving the same files in the same run:
#   - N nodes with static interfaces and one link each (POST /api/v1/media): N distinct media;
#   - the same N images, fetched once through their links and checked against the links'
#     sha256, are nginx's files (sendfile on, as Debian's nginx.conf);
#   - per round and server: SLOW (200) transfers read at RATE (64 KiB/s) each (python3
#     asyncio, a quarter of RATE every 250 ms) and, once they are under way, the other N - SLOW
#     transfers read as fast as curl can (curl -Z, 300 transfers per curl process, all at once);
#     throughput = the fast transfers' bytes / the time until the last one ends, with all N
#     transfers in flight; the slow ones are then stopped;
#   - meanwhile (ours only) an AuthCheck on a keep-alive connection every 20 ms (latency
#     percentiles) and the server's VmRSS every 50 ms (peak over idle).
# ROUNDS (3) rounds alternate ours and nginx; medians are reported.
#
# The media come from scripts/make-test-reference.sh with a 2 MB stand-in kernel (KERNEL=…), so
# that N images (~3.3 MB each) fit the page cache for both servers; the bytes' content does not
# matter to delivery.
#
# Usage: bench/install_day.sh      (env: BENCH_WORK=/var/tmp/plbench, N=1000, SLOW=200,
#                                   RATE=64k, ROUNDS=3)
# Needs: curl (--parallel), nginx (Debian nginx-light or nginx), python3, busybox-static, cpio.
# Runs nginx as root on a free loopback port with a private configuration; stops it and the
# server on exit. Writes bench/results/install_day.md.
source "$(dirname "$0")/lib.sh"
require "curl nginx-light python3 busybox-static cpio" curl nginx python3 cpio
release_build
N=${N:-1000} SLOW=${SLOW:-200} RATE=${RATE:-64k} ROUNDS=${ROUNDS:-3}
FAST=$((N - SLOW))
CURLS=$(((FAST + 299) / 300))
RATE_BYTES=$(python3 -c 'import sys; t = sys.argv[1].lower(); print(int(float(t.rstrip("km")) * {"k": 1024, "m": 1 << 20}.get(t[-1], 1)))' "$RATE")
HELP=$ROOT/bench/install_day.py

DIR=$W/install_day
DATA=$DIR/data
SERVER= NGINX_PID=
stop() {
  set +e
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null
  [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null
  wait 2>/dev/null
  # The server's log and the raw samples stay for a look afterwards; the data and media go.
  rm -rf "$W/install_day.last" && mkdir -p "$W/install_day.last"
  cp "$DIR"/serve.err "$DIR"/probe.* "$DIR"/rss.* "$DIR"/*.rounds "$W/install_day.last/" 2>/dev/null || true
  rm -rf "$DIR"
}
trap stop EXIT
rm -rf "$DIR"
mkdir -p "$DIR/www" "$DIR/nginx" "$DIR/ref"
# 1,000 connections each for the server, nginx and curl.
ulimit -n "$(ulimit -Hn)"

python3 -c 'import random, sys; random.seed(1); sys.stdout.buffer.write(random.randbytes(2_000_000))' > "$DIR/kernel"
KERNEL=$DIR/kernel bash scripts/make-test-reference.sh "$DIR/ref" >&2
"$BIN" --data-dir "$DATA" init --plc-name "PlanetLab Bench" --admin-email admin@bench.example.org \
  --admin-password bench >/dev/null
mkdir -p "$DATA/boot"
cp "$DIR/ref/cacert.pem" "$DIR/ref/pubring.gpg" "$DATA/boot/"
"$BIN" --data-dir "$DATA" reference import --family lxc-f22-x86_64 --version 1.0 \
  --kernel "$DIR/ref/kernel" --initrd "$DIR/ref/bootcd.img" >/dev/null 2>&1
# Every node here is on one address (loopback): the per-address cap must admit them all.
sed -i -e "s/^max_connections = .*/max_connections = $((N + 500))/" \
  -e "s/^max_connections_per_ip = .*/max_connections_per_ip = $((N + 500))/" "$DATA/bootmedium.toml"
BOOTMEDIUM_LOG=warn "$BIN" --data-dir "$DATA" serve --listen 127.0.0.1:0 > "$DIR/serve.out" 2>"$DIR/serve.err" &
SERVER=$!
for _ in $(seq 1 100); do grep -q '^listening on' "$DIR/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$DIR/serve.out")
[[ -n $URL ]] || { cat "$DIR/serve.err" >&2; exit 1; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

python3 "$HELP" setup "$URL" "$DIR" "$N"
# nginx's files: each image fetched once through its link, then checked.
python3 -c 'import json, sys
for i, l in enumerate(json.load(open(sys.argv[1]))["links"]):
    print("url = \"%s\"\noutput = \"%s/%04d.iso\"" % (l["url"], sys.argv[2], i))' "$DIR/links.json" "$DIR/www" > "$DIR/fetch.cfg"
curl -s --no-progress-meter -f -Z --parallel-max 16 -K "$DIR/fetch.cfg"
python3 "$HELP" verify "$DIR"

PORT=$(free_port)
nginx_conf "$DIR" 4096 "listen 127.0.0.1:$PORT backlog=4096; root $DIR/www;"
nginx -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 1 50); do curl -s -f -o /dev/null -I "http://127.0.0.1:$PORT/0000.iso" && break; sleep 0.1; done

# curl configurations: the slow share and the fast share (in CURLS parts: curl runs at most 300
# transfers at once) of the N transfers, per server.
python3 - "$DIR" "$PORT" "$SLOW" "$CURLS" <<'PY'
import json, sys
d, port, slow, parts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
links = json.load(open(f"{d}/links.json"))["links"]
for name, url in (("ours", lambda i, l: l["url"]), ("nginx", lambda i, l: f"http://127.0.0.1:{port}/{i:04d}.iso")):
    rows = list(enumerate(links))
    with open(f"{d}/{name}.slow.cfg", "w") as f:
        for i, l in rows[:slow]:
            f.write(f'url = "{url(i, l)}"\noutput = "/dev/null"\n')
    fast = rows[slow:]
    for p in range(parts):
        with open(f"{d}/{name}.fast{p}.cfg", "w") as f:
            for i, l in fast[p::parts]:
                f.write(f'url = "{url(i, l)}"\noutput = "/dev/null"\n')
PY

sleep 1
IDLE_KIB=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$SERVER/status")
WRITE="%{http_code} %{size_download}\n"
# round NAME R: one round against NAME (ours or nginx); appends "wall bytes ok slow_alive" to
# $DIR/NAME.rounds.
round() {
  local name=$1 r=$2 stopfile=$DIR/stop.$1.$2
  watchers=()
  if [[ $name == ours ]]; then
    python3 "$HELP" rss "$SERVER" "$DIR/rss.$r" "$stopfile" &
    watchers+=($!)
    python3 "$HELP" probe "$URL" "$DIR" "$stopfile" &
    watchers+=($!)
  fi
  python3 "$HELP" slow "$DIR/$name.slow.cfg" "$RATE_BYTES" "$DIR/$name.slow.$r" "$stopfile" &
  watchers+=($!)
  sleep 2
  local start end p pids=()
  start=$(date +%s.%N)
  for p in $(seq 0 $((CURLS - 1))); do
    curl -s --no-progress-meter -Z --parallel-immediate --parallel-max 300 -w "$WRITE" -K "$DIR/$name.fast$p.cfg" \
      > "$DIR/$name.fast.$r.$p" 2>/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  end=$(date +%s.%N)
  touch "$stopfile"
  for p in "${watchers[@]}"; do wait "$p"; done
  cat "$DIR/$name.fast.$r".* > "$DIR/$name.fast.$r"
  local alive
  alive=$(awk '{print ($3 == $1) ? 1 : 0}' "$DIR/$name.slow.$r")
  [[ $name == ours ]] && mv "$DIR/probe.txt" "$DIR/probe.$r"
  local bytes ok
  bytes=$(awk '{s += $2} END {print s + 0}' "$DIR/$name.fast.$r")
  ok=$(awk '$1 == 200 {n++} END {print n + 0}' "$DIR/$name.fast.$r")
  echo "$(echo "$end - $start" | bc) $bytes $ok $alive" >> "$DIR/$name.rounds"
  echo "$name round $r: $(tail -1 "$DIR/$name.rounds") (wall s, bytes, 200s, slow readers still reading)" >&2
}
for r in $(seq 1 "$ROUNDS"); do
  round ours "$r"
  round nginx "$r"
done
PEAK_KIB=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$SERVER/status")
cat "$DIR"/rss.* | sort -n | tail -1 > "$DIR/rss_peak"
cat "$DIR"/probe.* > "$DIR/probe_all"
[[ -s $DIR/nginx/error.log ]] && { echo "nginx error log:" >&2; tail -5 "$DIR/nginx/error.log" >&2; }
grep -c -i -E 'warn|error' "$DIR/serve.err" > "$DIR/server_warnings" || true

python3 - "$DIR" "$ROOT/bench/results/install_day.md" "$N" "$SLOW" "$RATE" "$ROUNDS" "$IDLE_KIB" "$PEAK_KIB" \
  "$LOAD_START" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import datetime, json, platform, statistics, subprocess, sys
d, target, n, slow, rate, rounds, idle, peak_hwm, load_start, nginx_v, curl_v = sys.argv[1:12]
n, slow, rounds, idle, peak_hwm = int(n), int(slow), int(rounds), int(idle), int(peak_hwm)
links = json.load(open(f"{d}/links.json"))["links"]
size = statistics.median(l["size"] for l in links)
def rows(name):
    return [tuple(float(x) for x in line.split()) for line in open(f"{d}/{name}.rounds")]
ours, ngx = rows("ours"), rows("nginx")
fast = n - slow
expected = sum(l["size"] for l in links[slow:])
def rate_of(r):
    return r[1] / r[0] / 1e6
o = statistics.median(rate_of(r) for r in ours)
g = statistics.median(rate_of(r) for r in ngx)
complete = all(r[1] == expected and r[2] == fast for r in ours + ngx)
slow_alive = all(r[3] == 1 for r in ours + ngx)
rss_peak = int(open(f"{d}/rss_peak").read().split()[0])
lat = [line.split() for line in open(f"{d}/probe_all") if line.strip()]
ms = sorted(float(x) for x, _ in lat)
failed = sum(1 for _, ok in lat if ok != "1")
q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
met = lambda ok: "met" if ok else "**missed**"
warnings = open(f"{d}/server_warnings").read().strip() or "0"
cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[:3]
over = (rss_peak - idle) / 1024
lines = [
    "# Install day: 1,000 concurrent download-link transfers from one instance",
    "",
    f"Produced by `bench/install_day.sh` on {datetime.date.today()} (release build, SQLite; {rounds} rounds",
    f"alternating ours and nginx, medians). Machine: {cpus} cores, Linux {platform.release()}, warm page cache;",
    f"load average {load_start} at the start, {' '.join(load)} at the end (shared machine: read ratios).",
    f"Media: {n} nodes, one link each, {n} distinct node ISOs of {size/1e6:.1f} MB (scripts/make-test-reference.sh",
    f"with a 2 MB stand-in kernel). nginx {nginx_v} (Debian; sendfile on, tcp_nopush on, worker_processes auto)",
    f"serving the same {n} files, checked against the links' sha256. Clients: {curl_v}, all on loopback.",
    "",
    f"Per round and server: {slow} transfers read at {rate}/s each (python3 asyncio), and once they run, the",
    f"other {fast} as fast as curl reads (`curl -Z`, ≤ 300 transfers per process, all started at once); all {n} in",
    "flight together. Throughput =",
    f"the fast transfers' bytes / the time until the last of them ended.",
    "",
    "| measure | ours | nginx | ratio | target | |",
    "|---|---|---|---|---|---|",
    f"| aggregate throughput, MB/s (median of {rounds}) | {o:.0f} | {g:.0f} | {o/g:.2f} | ≥ 0.9 × nginx | {met(o/g >= 0.9)} |",
    f"| per round, s for {expected/1e9:.2f} GB | {', '.join(f'{r[0]:.2f}' for r in ours)} | {', '.join(f'{r[0]:.2f}' for r in ngx)} | | | |",
    f"| server RSS peak over idle, MiB (sampled every 50 ms) | {over:.0f} | | | ≤ 128 | {met(over <= 128)} |",
    f"| AuthCheck latency meanwhile, p50 / p99 / max ms ({len(ms)} calls) | {q(0.5):.1f} / {q(0.99):.1f} / {ms[-1]:.1f} | | | p99 ≤ 50 | {met(q(0.99) <= 50)} |",
    "",
    f"Every fast transfer answered 200 with the full image: {'yes' if complete else '**no**'}; the slow readers were",
    f"still reading when the fast ones had finished: {'yes' if slow_alive else '**no**'}; failed AuthChecks: {failed};",
    f"server log lines with warn/error: {warnings}. Server RSS idle (after the {n} links were issued) {idle/1024:.0f} MiB,",
    f"VmHWM over the whole run (setup included) {peak_hwm/1024:.0f} MiB.",
    "",
]
open(target, "w").write("\n".join(lines))
print("\n".join(lines))
PY
