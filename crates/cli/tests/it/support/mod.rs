//! Shared harness of the integration tests: runs the real `bootmedium` binary (`init`, then
//! `serve --listen 127.0.0.1:0`) on a fresh data dir and talks XML-RPC to it over plain HTTP/1.1.
//! A data dir whose `[server] tls_listen` is set gets `--tls-listen 127.0.0.1:0` too, and the
//! server's HTTPS URL in [`Server::https_url`].
//!
//! When `BOOTMEDIUM_TEST_POSTGRES_URL` is set (e.g. `postgres://root@127.0.0.1:5432/test`), every
//! [`Server`] gets its own freshly created PostgreSQL database (dropped again on `Drop`), so the
//! same tests run on SQLite by default and on PostgreSQL when the variable is set.
//!
//! [`media`] holds the image commands' and QEMU boots' harness, [`node`] the node chain's; the
//! helpers every test uses (values, auth structs, assertions, fixtures, [`Client`]) come from
//! `bootmedium-testkit`.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

pub mod media;
pub mod node;

// The values, auth structs, field lists, assertions, refusal tables and fixtures are shared with
// the in-process domain tests; `Server` is their `Client` over HTTP.
pub use bootmedium_testkit::*;

use bootmedium_xmlrpc::{Limits, MethodResponse, parse_method_response, write_method_call};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BIN: &str = env!("CARGO_BIN_EXE_bootmedium");

/// How long a single HTTP exchange may take before the test fails.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `serve` may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Processes

/// A `bootmedium` command with the harness's environment scrubbed of the binary's env settings.
pub fn bootmedium() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("BOOTMEDIUM_DATABASE_URL").env_remove("BOOTMEDIUM_DATA_DIR");
    cmd.env("RUST_LOG", std::env::var("BOOTMEDIUM_TEST_LOG").unwrap_or_else(|_| "info".into()));
    cmd
}

/// A fresh PostgreSQL database for one server, dropped on `Drop`.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), nanos)
}

/// `url` with its database name replaced by `db` (query string kept).
pub fn with_database(url: &str, db: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{db}{query}")
}

impl PgDatabase {
    pub fn from_env() -> Option<PgDatabase> {
        let admin_url = std::env::var("BOOTMEDIUM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
        let name = format!("bm_{}", unique_suffix());
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = with_database(&admin_url, &name);
        Some(PgDatabase { admin_url, name, url })
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .expect("run psql (install postgresql-client)");
    assert!(out.status.success(), "psql {sql:?} failed: {}", describe(&out));
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([&self.admin_url, "-q", "-c", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .stdin(Stdio::null())
            .output();
    }
}

/// Runs `init` on `data_dir` with the harness's admin and PLC name.
pub fn init(data_dir: &Path, database: Option<&str>) -> Output {
    let mut cmd = bootmedium();
    cmd.arg("--data-dir").arg(data_dir);
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    cmd.args(["init", "--plc-name", PLC_NAME, "--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD]);
    cmd.stdin(Stdio::null()).output().expect("run bootmedium init")
}

/// A running `bootmedium serve` on a fresh data dir; stopped (SIGTERM) on `Drop`.
pub struct Server {
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `https://127.0.0.1:PORT/PLCAPI/` when `[server] tls_listen` was set (by `prepare`; the
    /// address is the one given to [`Server::start_with_tls_on`], if any).
    pub https_url: Option<String>,
    pub data_dir: PathBuf,
    child: Option<Child>,
    stderr_path: PathBuf,
    // Field order matters for Drop: the server is stopped in `Drop for Server` before these go.
    pg: Option<PgDatabase>,
    _tmp: tempfile::TempDir,
    /// When set (see [`Server::use_admin_session`]), the `admin*` helpers and `db_snapshot`
    /// authenticate with this admin session instead of the password.
    admin_session: std::sync::OnceLock<String>,
}

impl Server {
    /// `init` + `serve` on a fresh temporary data dir (and a fresh PostgreSQL database when
    /// `BOOTMEDIUM_TEST_POSTGRES_URL` is set).
    pub fn start() -> Server {
        Server::start_with(|_| {})
    }

    /// Like [`Server::start`], running `prepare` on the data dir between `init` and `serve`.
    pub fn start_with(prepare: impl FnOnce(&Path)) -> Server {
        Server::start_on(PgDatabase::from_env(), prepare)
    }

    /// A server on its embedded SQLite database, whatever the environment says.
    pub fn start_sqlite_with(prepare: impl FnOnce(&Path)) -> Server {
        Server::start_on(None, prepare)
    }

    /// A server on a fresh PostgreSQL database, or `None` when `BOOTMEDIUM_TEST_POSTGRES_URL`
    /// is not set (scripts/test.sh sets it whenever PostgreSQL answers).
    pub fn start_postgres_with(prepare: impl FnOnce(&Path)) -> Option<Server> {
        PgDatabase::from_env().map(|pg| Server::start_on(Some(pg), prepare))
    }

    /// Like [`Server::start_with`], the server started by `launcher` (e.g. `prlimit
    /// --nofile=256:256 --`), which runs the `bootmedium` command line it is given.
    pub fn start_launched_with(launcher: &[&str], prepare: impl FnOnce(&Path)) -> Server {
        Server::start_via(PgDatabase::from_env(), launcher, prepare)
    }

    /// Like [`Server::start_with`], the HTTPS listener (which `prepare` configures) on
    /// `tls_listen` instead of a free loopback port: for clients that cannot reach loopback,
    /// such as a QEMU node on a tap device.
    pub fn start_with_tls_on(tls_listen: &str, prepare: impl FnOnce(&Path)) -> Server {
        Server::start_full(PgDatabase::from_env(), &[], Some(tls_listen), prepare)
    }

    fn start_on(pg: Option<PgDatabase>, prepare: impl FnOnce(&Path)) -> Server {
        Server::start_via(pg, &[], prepare)
    }

    fn start_via(pg: Option<PgDatabase>, launcher: &[&str], prepare: impl FnOnce(&Path)) -> Server {
        Server::start_full(pg, launcher, None, prepare)
    }

    fn start_full(
        pg: Option<PgDatabase>,
        launcher: &[&str],
        tls_listen: Option<&str>,
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let tmp = tempfile::Builder::new().prefix("bootmedium-it-").tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let out = init(&data_dir, pg.as_ref().map(|p| p.url.as_str()));
        assert!(out.status.success(), "bootmedium init failed: {}", describe(&out));
        prepare(&data_dir);
        let stderr_path = tmp.path().join("serve.stderr");
        let https = tls_configured(&data_dir);
        let mut cmd = serve_command(launcher, &data_dir, pg.as_ref().map(|p| p.url.as_str()), &[]);
        if https {
            cmd.args(["--tls-listen", tls_listen.unwrap_or("127.0.0.1:0")]);
        }
        let (child, urls) = spawn_listening_lines(cmd, &stderr_path, if https { 2 } else { 1 });
        let url = urls[0].clone();
        assert!(url.starts_with("http://"), "the first listening line is {url:?}");
        let https_url = urls.get(1).cloned();
        let addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
        Server {
            url,
            addr,
            https_url,
            data_dir,
            child: Some(child),
            stderr_path,
            pg,
            _tmp: tmp,
            admin_session: Default::default(),
        }
    }

    /// The PostgreSQL database this server uses, if any (to start a second instance on it).
    pub fn database_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.url.as_str())
    }

    /// The serve process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Everything the server wrote on stderr so far (its logs).
    pub fn stderr_log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.stderr_log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Sends `signal` (e.g. "TERM", "INT") and waits for the exit (at most 20 s, then SIGKILL
    /// and a panic).
    pub fn stop_with(&mut self, signal: &str) -> ExitStatus {
        let mut child = self.child.take().expect("server already stopped");
        let status = stop_child(&mut child, signal);
        status.unwrap_or_else(|| panic!("serve did not exit within 20 s of SIG{signal}; log:\n{}", self.log_tail()))
    }

    /// Stops the server (SIGTERM) and starts `serve` again on the same data dir and database.
    pub fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = stop_child(&mut child, "TERM");
        }
        let database = self.pg.as_ref().map(|p| p.url.clone());
        let (child, url) = spawn_serve(&self.data_dir, database.as_deref(), &self.stderr_path, &[]);
        self.addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
        self.url = url;
        self.child = Some(child);
    }

    /// Decodes an XML-RPC response, panicking on anything but HTTP 200 with a methodResponse.
    pub fn decode(&self, what: &str, status: u16, response: &[u8]) -> Result<Value, (i64, String)> {
        assert_eq!(
            status,
            200,
            "{what}: HTTP status {status}, body {:?}\nserver log tail:\n{}",
            String::from_utf8_lossy(&response[..response.len().min(2000)]),
            self.log_tail()
        );
        let limits = Limits { max_depth: 200, max_values: 10_000_000 };
        match parse_method_response(response, &limits) {
            Ok(MethodResponse::Success(v)) => Ok(v),
            Ok(MethodResponse::Fault { code, message }) => Err((code, message)),
            Err(e) => panic!(
                "{what}: unparseable response ({e:?}): {:?}",
                String::from_utf8_lossy(&response[..response.len().min(2000)])
            ),
        }
    }

    fn post_request(&self, path: &str, body: &[u8]) -> Vec<u8> {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bootmedium-tests\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        request
    }

    /// POST `body` to `path`; returns the status and the body.
    pub fn post_raw(&self, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let request = self.post_request(path, body);
        let (status, _headers, body) = http_exchange(&self.addr, &request)
            .unwrap_or_else(|e| panic!("POST {path}: {e}\nserver log tail:\n{}", self.log_tail()));
        (status, body)
    }

    /// GET `path`; returns the status, headers and body.
    pub fn get(&self, path: &str) -> HttpResponse {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr);
        http_exchange(&self.addr, request.as_bytes())
            .unwrap_or_else(|e| panic!("GET {path}: {e}\nserver log tail:\n{}", self.log_tail()))
    }

    /// Sends raw bytes as the whole request; returns what came back (or the I/O error).
    pub fn raw_exchange(&self, request: &[u8]) -> std::io::Result<HttpResponse> {
        http_exchange(&self.addr, request)
    }

    /// Asserts the server still answers: `/healthz` and an admin `AuthCheck`.
    #[track_caller]
    pub fn assert_alive(&self) {
        let (status, _, body) = self.get("/healthz");
        assert_eq!(status, 200, "healthz");
        assert_eq!(String::from_utf8_lossy(&body).trim(), "ok");
        assert_eq!(self.call("AuthCheck", vec![self.admin_auth()]), Ok(Value::Int(1)), "admin AuthCheck");
    }
}

/// Over HTTP: transport errors, non-200 answers and unparseable responses panic (they are never
/// acceptable).
impl Client for Server {
    fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)> {
        let body = write_method_call(method, &params);
        let (status, response) = self.post_raw("/PLCAPI/", body.as_bytes());
        self.decode(method, status, &response)
    }

    fn admin_session(&self) -> &std::sync::OnceLock<String> {
        &self.admin_session
    }

    fn registry_url(&self) -> String {
        match self.database_url() {
            Some(url) => url.to_owned(),
            None => format!("sqlite:{}", self.data_dir.join("bootmedium.db").display()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // stop_child falls back to SIGKILL itself.
            let _ = stop_child(&mut child, "TERM");
        }
        // `pg` (dropped after this) now drops the database the server no longer uses.
    }
}

/// Runs a Python driver of `tests/python/` (`script` relative to it) with `args`, requires it to
/// succeed with its summary line `N passed, 0 failed` (checks.py) and at least `min_checks`
/// checks; returns its standard output.
pub fn run_python_checks(script: &str, args: &[&std::ffi::OsStr], min_checks: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run python3 (install python3)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed ({:?}):\n{stdout}\n{stderr}", out.status);
    let last = stdout.lines().last().unwrap_or_default();
    let passed: usize = last
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected summary line {last:?}:\n{stdout}"));
    assert!(passed >= min_checks, "only {passed} checks ran:\n{stdout}");
    stdout
}

/// Sends a signal with `kill -SIG pid` and waits up to 20 s. None when it did not exit.
pub fn stop_child(child: &mut Child, signal: &str) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let _ = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Spawns `serve --listen 127.0.0.1:0` and waits for its `listening on URL` line.
pub fn spawn_serve(data_dir: &Path, database: Option<&str>, stderr_path: &Path, extra: &[&str]) -> (Child, String) {
    spawn_serve_via(&[], data_dir, database, stderr_path, extra)
}

/// [`spawn_serve`] through `launcher` (a command that runs the command line after it).
pub fn spawn_serve_via(
    launcher: &[&str],
    data_dir: &Path,
    database: Option<&str>,
    stderr_path: &Path,
    extra: &[&str],
) -> (Child, String) {
    spawn_listening(serve_command(launcher, data_dir, database, extra), stderr_path)
}

/// Whether the data dir's bootmedium.toml sets `[server] tls_listen` (then the harness's
/// servers listen for HTTPS on a free port too).
pub fn tls_configured(data_dir: &Path) -> bool {
    std::fs::read_to_string(data_dir.join("bootmedium.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|doc| doc.get("server")?.get("tls_listen")?.as_str().map(|v| !v.is_empty()))
        .unwrap_or(false)
}

/// `serve --listen 127.0.0.1:0 EXTRA…` on `data_dir`, through `launcher` when given.
pub fn serve_command(launcher: &[&str], data_dir: &Path, database: Option<&str>, extra: &[&str]) -> Command {
    let mut cmd = match launcher.split_first() {
        None => bootmedium(),
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(BIN);
            cmd.env_remove("BOOTMEDIUM_DATABASE_URL").env_remove("BOOTMEDIUM_DATA_DIR");
            cmd
        }
    };
    cmd.arg("--data-dir").arg(data_dir);
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
    cmd
}

/// Spawns a prepared `serve` command (stderr to `stderr_path`) and waits for its
/// `listening on URL` line; returns the child and the URL.
pub fn spawn_listening(cmd: Command, stderr_path: &Path) -> (Child, String) {
    let (child, mut urls) = spawn_listening_lines(cmd, stderr_path, 1);
    let url = urls.remove(0);
    assert!(url.starts_with("http://"), "serve's first listening line is {url:?}, expected http://");
    (child, url)
}

/// Spawns a prepared `serve` command (stderr to `stderr_path`) and waits for its first `count`
/// `listening on URL` lines (`http://127.0.0.1:PORT/PLCAPI/` or `https://…`, HTTP first);
/// returns the child and the URLs.
pub fn spawn_listening_lines(mut cmd: Command, stderr_path: &Path, count: usize) -> (Child, Vec<String>) {
    let stderr = std::fs::File::create(stderr_path).expect("create stderr log");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(stderr));
    let mut child = cmd.spawn().expect("spawn bootmedium serve");
    let stdout = child.stdout.take().expect("stdout pipe");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        for _ in 0..count {
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            if tx.send(line).is_err() {
                break;
            }
        }
        // Keep draining so later prints never block or SIGPIPE the server.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    let deadline = Instant::now() + START_TIMEOUT;
    let mut urls = Vec::new();
    for _ in 0..count {
        let got = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_default();
        let line = got.trim_end_matches(['\r', '\n']).to_owned();
        let url = line.strip_prefix("listening on ").map(str::to_owned);
        match url {
            Some(url)
                // HTTPS may listen elsewhere (Server::start_with_tls_on).
                if (url.starts_with("http://127.0.0.1:") || url.starts_with("https://")) && url.ends_with("/PLCAPI/") =>
            {
                urls.push(url)
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(stderr_path).unwrap_or_default();
                panic!(
                    "serve's stdout line {} was {line:?}, expected `listening on http(s)://127.0.0.1:PORT/PLCAPI/`; \
                     stderr:\n{log}",
                    urls.len() + 1
                );
            }
        }
    }
    (child, urls)
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 client

/// Status, headers (names lower-cased) and body.
pub type HttpResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends `request` as-is on a new connection and reads the whole response (the request should
/// say `Connection: close`). The request is written completely before reading, like Python's
/// `xmlrpc.client`; a write error (the server closed early) is remembered and reported only when
/// no response can be read either.
pub fn http_exchange(addr: &str, request: &[u8]) -> std::io::Result<HttpResponse> {
    let sockaddr =
        addr.to_socket_addrs()?.next().ok_or_else(|| std::io::Error::other(format!("cannot resolve {addr}")))?;
    let stream = TcpStream::connect_timeout(&sockaddr, Duration::from_secs(10))?;
    http_exchange_on(stream, request)
}

/// [`http_exchange`] from a chosen local address (any of 127.0.0.0/8 works on loopback), for
/// tests of per-address behaviour.
pub fn http_exchange_from(source: std::net::IpAddr, addr: &str, request: &[u8]) -> std::io::Result<HttpResponse> {
    let sockaddr =
        addr.to_socket_addrs()?.next().ok_or_else(|| std::io::Error::other(format!("cannot resolve {addr}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(std::net::SocketAddr::new(source, 0))?;
        socket.connect(sockaddr).await
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    http_exchange_on(stream, request)
}

fn http_exchange_on(mut stream: TcpStream, request: &[u8]) -> std::io::Result<HttpResponse> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let write_error = stream.write_all(request).and_then(|()| stream.flush()).err();
    let mut response = Vec::new();
    let read_result = stream.read_to_end(&mut response);
    if response.is_empty() {
        let why = match (write_error, read_result) {
            (Some(w), Err(r)) => format!("write failed ({w}), then read failed ({r})"),
            (Some(w), Ok(_)) => format!("write failed ({w}) and no response"),
            (None, Err(r)) => format!("read failed ({r})"),
            (None, Ok(_)) => "connection closed without a response".to_owned(),
        };
        return Err(std::io::Error::other(why));
    }
    parse_http_response(&response)
}

fn parse_http_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let bad =
        |why: &str| std::io::Error::other(format!("{why}: {:?}", String::from_utf8_lossy(&raw[..raw.len().min(500)])));
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| bad("non-UTF-8 headers"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1.x status line"));
    }
    let status: u16 = parts.next().and_then(|c| c.parse().ok()).ok_or_else(|| bad("bad status code"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let rest = &raw[head_end + 4..];
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        decode_chunked(rest).ok_or_else(|| bad("bad chunked body"))?
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if rest.len() < len {
            return Err(bad(&format!("body shorter ({}) than Content-Length {len}", rest.len())));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, headers, body))
}

fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Sets `key = value` in the table `table` (dotted, e.g. `medium.node_types.dummynet`) of the
/// data dir's bootmedium.toml, creating the tables as needed (for [`Server::start_with`]).
pub fn set_config(data_dir: &Path, table: &str, key: &str, value: impl Into<toml::Value>) {
    let path = data_dir.join("bootmedium.toml");
    let mut doc: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let mut at = &mut doc;
    for name in table.split('.') {
        let entry = at.entry(name).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = entry.as_table_mut().unwrap_or_else(|| panic!("{name} of {table} is not a table"));
    }
    at.insert(key.to_owned(), value.into());
    std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
}

/// Writes an inline GetBootMedium result (a base64 string) decoded to `path`.
pub fn write_inline(result: &Value, path: &Path) {
    use base64::Engine;
    let text = result.as_str().unwrap_or_else(|| panic!("expected a base64 string, got {result:?}"));
    std::fs::write(path, base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap();
}

/// `GetBootMedium(admin, node, action, filename, options)` made by Python's own xmlrpc.client
/// (tests/python/get_boot_medium.py): an inline image is base64-decoded by Python into `out`;
/// returns what the call returned for a file result (its path), or an empty string.
pub fn python_get_boot_medium(
    server: &Server,
    node: &str,
    action: &str,
    filename: &str,
    options: &[&str],
    out: &Path,
) -> String {
    const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/get_boot_medium.py");
    let result = Command::new("python3")
        .arg(SCRIPT)
        .args([server.url.as_str(), ADMIN_EMAIL, ADMIN_PASSWORD, node, action, filename])
        .arg(out)
        .args(options)
        .stdin(Stdio::null())
        .output()
        .expect("run python3 (install python3)");
    assert!(result.status.success(), "get_boot_medium.py failed: {}", String::from_utf8_lossy(&result.stderr));
    String::from_utf8_lossy(&result.stdout).trim_end().to_owned()
}

/// Every path below `dir` (symlinks listed, not followed), sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            out.push(e.path().display().to_string());
            let is_real_dir = std::fs::symlink_metadata(e.path()).map(|m| m.is_dir()).unwrap_or(false);
            if is_real_dir {
                out.extend(entries(&e.path()));
            }
        }
    }
    out.sort();
    out
}
