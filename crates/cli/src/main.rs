//! The `bootmedium` command: set up a data directory, run the PLCAPI server, and operator tools.
#![forbid(unsafe_code)]

mod bootmanager_cmd;
mod config;
mod media_cmd;
mod verify;

use anyhow::{Context, Result, bail};
use bootmedium_plc::bootstrap::{self, InitOutcome};
use bootmedium_plc::caller::Caller;
use bootmedium_plc::{Api, Issued, NodeRef, PlcConfig};
use bootmedium_registry::Registry;
use clap::{Parser, Subcommand};
use config::FileConfig;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(name = "bootmedium", version, about = "PlanetLab Central boot-medium service (PLCAPI-compatible)")]
struct Cli {
    /// The data directory (settings, SQLite database, results).
    #[arg(long, env = "BOOTMEDIUM_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL (`postgres://…` to share a registry between instances); default: SQLite in
    /// the data directory.
    #[arg(long, env = "BOOTMEDIUM_DATABASE_URL", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the data directory, settings, schema, system site and administrator.
    Init {
        #[arg(long)]
        plc_name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_password: String,
    },
    /// Run the XML-RPC server.
    Serve {
        /// HOST:PORT to listen on for HTTP (port 0 picks a free one), or `none`; default from
        /// bootmedium.toml.
        #[arg(long)]
        listen: Option<String>,
        /// HOST:PORT to listen on for HTTPS, or `none`; default from bootmedium.toml (the
        /// certificate and key are `[server] tls_certificate` and `tls_key`).
        #[arg(long)]
        tls_listen: Option<String>,
        /// Seed a demo site, PI and node (with a static primary interface) if missing.
        #[arg(long)]
        demo: bool,
    },
    /// GetBootMedium as an admin, without a server: a node's configuration file or medium.
    Medium {
        /// Node id or hostname.
        node: String,
        /// node-preview, node-floppy, ...
        action: String,
        /// GetBootMedium options (repeatable).
        #[arg(long = "option")]
        options: Vec<String>,
        /// Write the result to this file (atomically) instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Reference BootCDs: import (builds the templates), list, remove.
    Reference {
        #[command(subcommand)]
        command: media_cmd::ReferenceCommand,
    },
    /// The signed BootManager payloads the /boot/ page serves to booting nodes: add, list,
    /// remove.
    Bootmanager {
        #[command(subcommand)]
        command: bootmanager_cmd::BootmanagerCommand,
    },
    /// Build a boot medium from an imported reference (bootcd build.sh's job).
    Build(media_cmd::BuildArgs),
    /// Show what a boot image is: type, reference, kernel arguments, console, node configuration.
    Inspect(media_cmd::InspectArgs),
    /// Ask a server whether a node medium's key is current, superseded or unknown (exit 0, 2, 3);
    /// the key signs the question and never leaves this machine.
    Verify {
        /// The image (ISO or USB) or plnode.txt-carrying medium to check.
        image: PathBuf,
        /// The server's XML-RPC URL, e.g. https://plc.example.org/PLCAPI/.
        #[arg(long)]
        server: String,
        /// For https://: trust only the CA certificate(s) in this PEM file, not the system's.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOOTMEDIUM_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Some(result) = run_without_runtime(&cli) {
        return result;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // serve reports an unreadable settings file itself.
    if let (Command::Serve { .. }, Some(dir)) = (&cli.command, cli.data_dir.as_deref())
        && let Ok(file) = FileConfig::load(dir)
    {
        builder.max_blocking_threads(file.server.blocking_threads.max(1));
    }
    let runtime = builder.build().context("starting the async runtime")?;
    let result = runtime.block_on(run(cli));
    // Whatever file work is still running (a client's image build) is not waited for: the
    // server has already stopped answering within its shutdown grace period.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// The image commands are synchronous: they run without starting the async runtime.
fn run_without_runtime(cli: &Cli) -> Option<Result<()>> {
    match &cli.command {
        Command::Reference { command } => Some(data_dir(cli).and_then(|dir| media_cmd::reference(dir, command))),
        Command::Build(args) => Some(data_dir(cli).and_then(|dir| media_cmd::build(dir, args))),
        Command::Bootmanager { command } => Some(data_dir(cli).and_then(|dir| bootmanager_cmd::run(dir, command))),
        Command::Inspect(args) => Some(media_cmd::inspect(args)),
        Command::Verify { image, server, ca, json } => {
            Some(verify::verify(image, server, ca.as_deref(), *json).map(|status| {
                if status != 0 {
                    std::process::exit(i32::from(status));
                }
            }))
        }
        _ => None,
    }
}

fn data_dir(cli: &Cli) -> Result<&Path> {
    cli.data_dir.as_deref().context("no data directory: pass --data-dir DIR or set BOOTMEDIUM_DATA_DIR")
}

/// The database URL: the flag or environment, else the settings file, else SQLite in the data
/// directory.
fn database_url(cli: &Cli, dir: &Path, file: Option<&FileConfig>) -> Result<String> {
    if let Some(u) = cli.database.as_ref().filter(|u| !u.is_empty()) {
        return Ok(u.clone());
    }
    if let Some(u) = file.map(|f| f.database.url.clone()).filter(|u| !u.is_empty()) {
        return Ok(u);
    }
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    Ok(format!("sqlite:{}", abs.join("bootmedium.db").display()))
}

async fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Init { plc_name, admin_email, admin_password } => {
            init(&cli, plc_name, admin_email, admin_password).await
        }
        Command::Serve { listen, tls_listen, demo } => {
            serve(&cli, listen.as_deref(), tls_listen.as_deref(), *demo).await
        }
        Command::Medium { node, action, options, output } => {
            medium(&cli, node, action, options, output.as_deref()).await
        }
        Command::Reference { .. }
        | Command::Build(_)
        | Command::Bootmanager { .. }
        | Command::Inspect(_)
        | Command::Verify { .. } => run_without_runtime(&cli).unwrap_or(Ok(())),
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

async fn init(cli: &Cli, plc_name: &str, admin_email: &str, admin_password: &str) -> Result<()> {
    let dir = data_dir(cli)?;
    let settings = dir.join(config::FILE_NAME);
    if settings.exists() {
        println!("{} is already initialised ({} exists); nothing changed", dir.display(), settings.display());
        return Ok(());
    }
    if plc_name.trim().is_empty() || plc_name.chars().any(char::is_control) {
        bail!("--plc-name must be a non-empty single line");
    }
    create_private_dir(dir)?;
    // A database given on the command line is remembered, so later commands need only --data-dir.
    let text = config::template(plc_name, cli.database.as_deref().filter(|u| !u.is_empty()));
    let file: FileConfig = toml::from_str(&text).context("the settings template does not parse")?;
    let url = database_url(cli, dir, None)?;
    let registry = Registry::open(&url).await.with_context(|| format!("opening the registry at {url}"))?;
    bootmedium_plc::standard_tags::ensure_all(&registry)
        .await
        .map_err(|f| anyhow::anyhow!(f.message))
        .context("creating the standard tag types")?;
    bootstrap::ensure_messages(&registry).await.context("creating the default message templates")?;
    let outcome = bootstrap::initialise(&registry, &file.plc(dir)?, admin_email, admin_password)
        .await
        .context("creating the system site and administrator")?;
    registry.close().await;
    // The settings file is written last: its presence means "initialised".
    write_private(&settings, &text).with_context(|| format!("writing {}", settings.display()))?;
    match outcome {
        InitOutcome::Created { admin_person_id } => println!(
            "initialised {}: system site '{}', administrator {} (person_id {admin_person_id})",
            dir.display(),
            file.plc.slice_prefix,
            admin_email.to_lowercase()
        ),
        InitOutcome::AlreadyInitialised => {
            println!(
                "initialised {}: the registry at {url} already had its system site; it was left as it was",
                dir.display()
            )
        }
    }
    Ok(())
}

/// Writes a file only its owner and group can read (it may hold a database password),
/// atomically and durably (synced, then renamed into place).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut pending = bootmedium_media::files::Pending::create(path)?;
    pending.file().write_all(text.as_bytes())?;
    pending.publish(0o640)
}

/// Removes what a killed server left: partial file results (private temporary files beside
/// their targets, in the results directory and the admins' extra ones, and a killed
/// `bootmanager add`'s in the payload store, a killed `reference import`'s generation marker) and
/// scratch files of the reference store. Files a live process holds locked (another instance sharing the directory)
/// are left alone.
fn sweep_temporary_files(dir: &Path, plc: &PlcConfig) {
    use bootmedium_media::files;
    let references = bootmedium_media::ReferenceStore::open(dir).root().to_path_buf();
    let scratch = references.join("tmp");
    let payloads = bootmedium_plc::bootmanager::PayloadStore::of_data_dir(dir).dir().to_path_buf();
    let result_dirs = std::iter::once(&plc.medium.results_dir).chain(&plc.medium.admin_result_dirs);
    let swept = result_dirs
        .map(|d| (format!("partial file results in {}", d.display()), files::sweep(d)))
        .chain(std::iter::once((format!("partial payloads in {}", payloads.display()), files::sweep(&payloads))))
        // A killed import or removal's unfinished generation marker.
        .chain(std::iter::once((format!("partial files in {}", references.display()), files::sweep(&references))))
        .chain(std::iter::once((format!("scratch files in {}", scratch.display()), files::sweep_all(&scratch))));
    for (what, swept) in swept {
        match swept {
            Ok(0) => {}
            Ok(n) => tracing::warn!("removed {n} {what} left by an earlier run"),
            Err(e) => tracing::warn!("could not sweep the {what}: {e}"),
        }
    }
}

async fn serve(cli: &Cli, listen: Option<&str>, tls_listen: Option<&str>, demo: bool) -> Result<()> {
    let dir = data_dir(cli)?;
    let file = FileConfig::load(dir)?;
    let http_addr = config::address(listen.unwrap_or(&file.server.listen));
    let https_addr = config::address(tls_listen.unwrap_or(&file.server.tls_listen));
    if http_addr.is_none() && https_addr.is_none() {
        bail!("nothing to listen on: [server] listen and tls_listen are both empty (or `none`)");
    }
    // The certificate is checked before anything else starts: a server that cannot serve the
    // HTTPS it was asked for does not start.
    let certificates = match https_addr {
        Some(addr) => {
            let (certificate, key) = file.server.tls_files(dir, addr)?;
            let loaded = bootmedium_server::tls::Certificates::load(&certificate, &key)?;
            Some(std::sync::Arc::new(loaded))
        }
        None => None,
    };
    let url = database_url(cli, dir, Some(&file))?;
    let registry = Registry::open(&url).await.with_context(|| format!("opening the registry at {url}"))?;
    bootmedium_plc::standard_tags::ensure_all(&registry)
        .await
        .map_err(|f| anyhow::anyhow!(f.message))
        .context("creating the standard tag types")?;
    bootstrap::ensure_messages(&registry).await.context("creating the default message templates")?;
    if demo && bootstrap::seed_demo(&registry).await.context("seeding the demo data")? {
        let d = bootstrap::DEMO;
        eprintln!("demo: seeded site 'demo', PI {} (password {}), node {}", d.pi_email, d.pi_password, d.hostname);
    }
    let plc: PlcConfig = file.plc(dir)?;
    sweep_temporary_files(dir, &plc);
    let mut settings = file.server.settings()?;
    settings.max_connections = fit_open_file_limit(settings.max_connections);
    let payloads = bootmedium_plc::bootmanager::PayloadStore::of_data_dir(
        &std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?,
    );
    let mail = plc.mail.clone();
    let api = Api::new(registry.clone(), plc).with_media(media_env(dir, &file)).with_bootmanager(payloads);
    let mut listeners = Vec::new();
    let mut lines = Vec::new();
    if let Some(listen) = http_addr {
        let tcp = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        let addr = tcp.local_addr().context("reading the bound address")?;
        lines.push(format!("listening on http://{addr}/PLCAPI/"));
        listeners.push(bootmedium_server::Listener::http(tcp));
    }
    if let (Some(listen), Some(certificates)) = (https_addr, &certificates) {
        let tcp =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening for HTTPS on {listen}"))?;
        let addr = tcp.local_addr().context("reading the bound address")?;
        lines.push(format!("listening on https://{addr}/PLCAPI/"));
        listeners.push(bootmedium_server::Listener::https(tcp, std::sync::Arc::clone(certificates)));
        reload_on_sighup(std::sync::Arc::clone(certificates));
    }
    // Delivery starts before the server announces itself (a bad relay setting stops it first),
    // and so do the signal handlers.
    let mail_loop = start_mail_delivery(&registry, mail, &api)?;
    let shutdown = shutdown_signal();
    // Printed once every listener is bound, HTTP first: scripts read the addresses from here.
    let mut stdout = std::io::stdout().lock();
    for line in &lines {
        writeln!(stdout, "{line}").context("writing to stdout")?;
    }
    stdout.flush().context("writing to stdout")?;
    drop(stdout);
    let app = bootmedium_server::router(api, settings.clone());
    bootmedium_server::serve(listeners, app, settings, shutdown).await.context("serving HTTP")?;
    if let Some((stop, task, limit)) = mail_loop {
        let _ = stop.send(());
        // An attempt in progress finishes (its outcome recorded) within its timeout.
        if tokio::time::timeout(limit, task).await.is_err() {
            tracing::warn!("mail delivery did not stop in time");
        }
    }
    registry.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A running mail delivery loop: its stop signal, its task, and how long stopping may take.
type MailLoop = (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>, std::time::Duration);

/// Starts delivering queued mail when `[mail] enabled` (otherwise queued mail waits, and the
/// composing side only logs what it would send).
fn start_mail_delivery(
    registry: &Registry,
    mail: bootmedium_mail::MailSettings,
    api: &Api,
) -> Result<Option<MailLoop>> {
    if !mail.enabled {
        tracing::info!("mail is off ([mail] enabled = false): mail is logged, not sent");
        return Ok(None);
    }
    let mailer = bootmedium_mail::Mailer::new(&mail).context("setting up mail delivery")?;
    tracing::info!(relay = %mail.relay, port = mail.port, "delivering mail through the relay");
    let limit = std::time::Duration::from_secs(mail.timeout_seconds.saturating_add(5));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task =
        tokio::spawn(bootmedium_plc::outbox::run(registry.clone(), mail, mailer, api.mail_wake.clone(), async {
            let _ = stopped.await;
        }));
    Ok(Some((stop, task, limit)))
}

/// Open files kept free for the database, references, templates and results.
const FILE_RESERVE: usize = 100;

/// `max_connections`, fitted under the process's open-file limit: the soft limit is first
/// raised to the hard one (as nginx's `worker_rlimit_nofile`), then every connection is given
/// two descriptors (its socket, and the template or cached medium a download reads) beside a
/// reserve: past the limit, accepting or opening would fail instead of the cap making room.
fn fit_open_file_limit(max_connections: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = Rlimit { current: limit.maximum, maximum: limit.maximum };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "could not raise the open-file limit to its hard limit");
        }
    }
    let Some(soft) = getrlimit(Resource::Nofile).current.and_then(|n| usize::try_from(n).ok()) else {
        return max_connections;
    };
    let room = soft.saturating_sub(FILE_RESERVE) / 2;
    if max_connections <= room {
        return max_connections;
    }
    let fitted = room.max(1);
    tracing::warn!(
        max_connections,
        open_file_limit = soft,
        using = fitted,
        "[server] max_connections does not fit under the open-file limit (ulimit -n); using fewer"
    );
    fitted
}

/// The boot image engine of a data directory; unusable [boot] settings are reported, and make
/// the image actions fault, rather than stop the server.
fn media_env(dir: &Path, file: &FileConfig) -> bootmedium_plc::MediaEnv {
    let settings = file.boot.load(&file.plc.name, dir).map_err(|e| e.to_string());
    if let Err(e) = &settings {
        tracing::warn!("boot images are unavailable until the [boot] settings are fixed: {e}");
    }
    bootmedium_plc::MediaEnv { store: bootmedium_media::ReferenceStore::open(dir), settings }
}

async fn open_api(cli: &Cli) -> Result<Api> {
    let dir = data_dir(cli)?;
    let file = FileConfig::load(dir)?;
    let url = database_url(cli, dir, Some(&file))?;
    let registry = Registry::open(&url).await.with_context(|| format!("opening the registry at {url}"))?;
    Ok(Api::new(registry, file.plc(dir)?).with_media(media_env(dir, &file)))
}

async fn medium(cli: &Cli, node: &str, action: &str, options: &[String], output: Option<&Path>) -> Result<()> {
    let api = open_api(cli).await?;
    let node = match node.parse::<i64>() {
        Ok(id) => NodeRef::Id(id),
        Err(_) => NodeRef::Hostname(node.to_string()),
    };
    let output = match output {
        Some(p) => Some(std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?),
        None => None,
    };
    let result = api.boot_medium_as(Caller::local_operator(), &node, action, output.as_deref(), options).await;
    api.registry.close().await;
    let issued = result.map_err(|f| anyhow::anyhow!("GetBootMedium failed: {} (fault {})", f.message, f.code))?;
    let mut out = std::io::stdout().lock();
    match issued {
        // An inline image: its raw bytes (the XML-RPC answer would be their base64).
        Issued::Medium(m) => {
            m.copy_to(&mut out).context("writing the image to stdout")?;
        }
        Issued::Text(text) => out.write_all(text.as_bytes()).context("writing to stdout")?,
        Issued::File(path) => eprintln!("wrote {}", path.display()),
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// Reads the TLS certificate and key again on every SIGHUP (a failure keeps the one in use).
fn reload_on_sighup(certificates: std::sync::Arc<bootmedium_server::tls::Certificates>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot install the SIGHUP handler; certificates reload only when their files change");
            return;
        }
    };
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reading the TLS certificate and key again");
            if let Err(e) = certificates.reload() {
                tracing::warn!(error = %e, "the TLS certificate was not reloaded; still serving the previous one");
            }
        }
    });
}

/// Resolves on SIGTERM or SIGINT.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    // The handlers are installed now, before the server announces itself, not when the future
    // is first polled: a SIGTERM right after the `listening on` line would otherwise kill the
    // process instead of stopping it.
    let signals = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        let (Ok(mut term), Ok(mut int)) = signals else {
            tracing::error!("cannot install signal handlers; stop the server with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    }
}
