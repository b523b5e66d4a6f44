//! The image commands: `reference import|list|remove`, `build` and `inspect`, thin
//! glue over `bootmedium-media`. They need no async runtime; `main` runs them before starting
//! one.

use crate::config::FileConfig;
use anyhow::{Context, Result, bail};
use bootmedium_media::{
    BootSettings, Console, DEFAULT_ISOHYBRID_MBR, DEFAULT_ISOLINUX, DEFAULT_LDLINUX, DEFAULT_MBR, DEFAULT_MOK_MANAGER,
    DEFAULT_SHIM, DEFAULT_SIGNED_GRUB, ImageType, ImportRequest, Inspection, KernelArg, MediumRequest, Progress,
    ReferenceStore, UefiLoader,
};
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum ReferenceCommand {
    /// Store a reference BootCD (kernel + bootcd.img) and build its iso, usb, usb_partition,
    /// iso_cramfs and usb_cramfs templates.
    Import(Box<ImportArgs>),
    /// List the imported references.
    List {
        /// Print the manifests as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a reference (and the stored files no other reference uses).
    Remove {
        #[arg(long)]
        family: String,
        #[arg(long)]
        version: String,
    },
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Node family `<pldistro>-<fcdistro>-<arch>`.
    #[arg(long)]
    family: String,
    /// BootCD version.
    #[arg(long)]
    version: String,
    /// The kernel (bzImage).
    #[arg(long)]
    kernel: PathBuf,
    /// The root initramfs (`bootcd.img`: gzip'd or plain newc cpio).
    #[arg(long)]
    initrd: PathBuf,
    /// Another kernel, selectable as a variant (repeatable).
    #[arg(long = "variant", value_name = "NAME=KERNEL_PATH")]
    variants: Vec<String>,
    /// ISOLINUX's isolinux.bin.
    #[arg(long, default_value = DEFAULT_ISOLINUX)]
    isolinux: PathBuf,
    /// ISOLINUX's ldlinux.c32 (same SYSLINUX version as isolinux.bin).
    #[arg(long, default_value = DEFAULT_LDLINUX)]
    ldlinux: PathBuf,
    /// SYSLINUX's mbr.bin (for usb_partition).
    #[arg(long, default_value = DEFAULT_MBR)]
    mbr: PathBuf,
    /// ISOLINUX's isohdpfx.bin (the hybrid ISO's MBR boot code).
    #[arg(long, default_value = DEFAULT_ISOHYBRID_MBR)]
    isohybrid_mbr: PathBuf,
    /// The UEFI loader every medium carries: `standalone-grub` (a GRUB made here by
    /// grub-mkimage; Secure Boot off), `signed-shim` (the distribution's signed shim and GRUB,
    /// packages shim-signed and grub-efi-amd64-signed: boots with Secure Boot on when the
    /// kernel is signed by a trusted key) or `none` (BIOS only).
    #[arg(long, value_name = "LOADER", default_value = "standalone-grub")]
    uefi: UefiLoader,
    /// The signed shim (with --uefi signed-shim).
    #[arg(long, default_value = DEFAULT_SHIM)]
    shim: PathBuf,
    /// The signed GRUB (with --uefi signed-shim).
    #[arg(long, default_value = DEFAULT_SIGNED_GRUB)]
    signed_grub: PathBuf,
    /// The signed MokManager (with --uefi signed-shim).
    #[arg(long, default_value = DEFAULT_MOK_MANAGER)]
    mok_manager: PathBuf,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Node family of the reference.
    #[arg(long)]
    family: String,
    /// Reference version (default: the highest imported).
    #[arg(long)]
    version: Option<String>,
    /// iso, usb, usb_partition, iso_cramfs or usb_cramfs.
    #[arg(long = "type", value_name = "TYPE")]
    image_type: String,
    /// Serial console `tty:baud:parity:bits`, `default` (ttyS0:115200:n:8) or `graphic`.
    #[arg(long, default_value = "graphic")]
    console: String,
    /// Extra kernel argument (repeatable).
    #[arg(long = "karg", value_name = "ARG")]
    kargs: Vec<String>,
    /// Kernel variant.
    #[arg(long)]
    variant: Option<String>,
    /// The node's plnode.txt (omit for a generic medium).
    #[arg(long, value_name = "PLNODE_TXT")]
    node_config: Option<PathBuf>,
    /// Output file, or `-` for standard output.
    #[arg(long, value_name = "FILE|-")]
    output: PathBuf,
    /// Build from the stored inputs without the template (slow; for verification).
    #[arg(long)]
    no_template: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The image file.
    image: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Show the node key instead of masking it.
    #[arg(long)]
    show_key: bool,
}

/// The PLC settings media carry, from `bootmedium.toml`.
fn boot_settings(data_dir: &Path) -> Result<BootSettings> {
    let file = FileConfig::load(data_dir)?;
    file.boot.load(&file.plc.name, data_dir).with_context(|| {
        format!("reading the [boot] settings of {}", data_dir.join(crate::config::FILE_NAME).display())
    })
}

pub fn reference(data_dir: &Path, command: &ReferenceCommand) -> Result<()> {
    let store = ReferenceStore::open(data_dir);
    match command {
        ReferenceCommand::Import(args) => import(&store, data_dir, args),
        ReferenceCommand::List { json } => list(&store, *json),
        ReferenceCommand::Remove { family, version } => {
            store.remove(family, version).with_context(|| format!("removing {family} {version}"))?;
            eprintln!("removed {family} {version}");
            Ok(())
        }
    }
}

fn import(store: &ReferenceStore, data_dir: &Path, args: &ImportArgs) -> Result<()> {
    let settings = boot_settings(data_dir)?;
    let mut request = ImportRequest::new(&args.family, &args.version, &args.kernel, &args.initrd);
    for variant in &args.variants {
        let (name, path) =
            variant.split_once('=').with_context(|| format!("--variant {variant:?}: expected NAME=KERNEL_PATH"))?;
        request.variants.push((name.to_owned(), PathBuf::from(path)));
    }
    request.isolinux = args.isolinux.clone();
    request.ldlinux = args.ldlinux.clone();
    request.mbr = args.mbr.clone();
    request.isohybrid_mbr = args.isohybrid_mbr.clone();
    request.uefi = args.uefi;
    request.shim = args.shim.clone();
    request.signed_grub = args.signed_grub.clone();
    request.mok_manager = args.mok_manager.clone();
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        request.timestamp = Some(epoch.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={epoch:?}"))?);
    }
    let started = Instant::now();
    let mut progress = |step: &Progress| eprintln!("[{:6.1}s] {step}", started.elapsed().as_secs_f64());
    let reference = store
        .import(&request, &settings, &mut progress)
        .with_context(|| format!("importing {} {}", args.family, args.version))?;
    let m = reference.manifest();
    eprintln!(
        "[{:6.1}s] imported {} {}: {} templates, ramdisk_size={} KiB, UEFI loader {}, in {}",
        started.elapsed().as_secs_f64(),
        m.family,
        m.version,
        m.templates.len(),
        m.ramdisk_size_kib,
        m.uefi,
        reference.dir().display()
    );
    Ok(())
}

fn list(store: &ReferenceStore, json: bool) -> Result<()> {
    let manifests = store.list()?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &manifests).context("writing JSON")?;
        writeln!(out).context("writing to stdout")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<32} {:<16} {:<20} {:<16} {:<11} {:>9} TEMPLATES",
        "FAMILY", "VERSION", "VARIANTS", "UEFI", "SECUREBOOT", "SIZE(MB)"
    )
    .context("writing to stdout")?;
    for m in manifests {
        let variants = m.variants();
        let size: u64 = m.templates.iter().map(|t| t.size).sum();
        writeln!(
            out,
            "{:<32} {:<16} {:<20} {:<16} {:<11} {:>9.1} {}",
            m.family,
            m.version,
            if variants.is_empty() { "-".to_owned() } else { variants.join(",") },
            m.uefi.name(),
            if m.secure_boot() {
                "yes"
            } else if m.uefi.secure_boot() {
                "no (kernel)"
            } else {
                "no"
            },
            size as f64 / 1e6,
            m.templates.len()
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

fn medium_request(args: &BuildArgs) -> Result<MediumRequest> {
    let node_config = match &args.node_config {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the node configuration {}", path.display()))?,
        ),
        None => None,
    };
    Ok(MediumRequest {
        image_type: args.image_type.parse()?,
        console: Console::parse(&args.console)?,
        kargs: args.kargs.iter().map(|k| KernelArg::new(k)).collect::<Result<_, _>>()?,
        variant: args.variant.clone(),
        node_config,
    })
}

pub fn build(data_dir: &Path, args: &BuildArgs) -> Result<()> {
    let request = medium_request(args)?;
    let settings = boot_settings(data_dir)?;
    let reference = ReferenceStore::open(data_dir).find(&args.family, args.version.as_deref())?;
    let to_stdout = args.output.as_os_str() == "-";
    if args.no_template {
        if to_stdout {
            bail!("--no-template writes a file: give --output FILE");
        }
        reference.build_full(&request, &settings, &args.output)?;
        eprintln!("wrote {} (built without the template)", args.output.display());
        return Ok(());
    }
    let mut medium = reference.prepare(&request, &settings)?;
    if to_stdout {
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            bail!("refusing to write a boot image to a terminal: redirect standard output or give --output FILE");
        }
        // Unbuffered (a duplicate of fd 1): std's stdout is line-buffered.
        let fd = std::os::fd::AsFd::as_fd(&stdout).try_clone_to_owned().context("duplicating standard output")?;
        medium.copy_to(&mut std::fs::File::from(fd)).context("writing the medium to standard output")?;
    } else {
        medium.write_to(&args.output)?;
        eprintln!(
            "wrote {}: {} {} {}, {} bytes",
            args.output.display(),
            reference.family(),
            reference.version(),
            ImageType::as_str(request.image_type),
            medium.len()
        );
    }
    Ok(())
}

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let found = bootmedium_media::inspect(&args.image, args.show_key)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &found).context("writing JSON")?;
        writeln!(out).context("writing to stdout")?;
    } else {
        out.write_all(describe(&found).as_bytes()).context("writing to stdout")?;
    }
    Ok(())
}

fn describe(found: &Inspection) -> String {
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
    let mut text = format!(
        "image type:    {} ({:?}{}), made by {}\n",
        found.image_type,
        found.container,
        found.partition_offset.map(|o| format!(", partition at byte {o}")).unwrap_or_default(),
        found.made_by
    );
    text += &format!(
        "reference:     family {}, version {}, variant {}\n",
        or_unknown(&found.family),
        or_unknown(&found.version),
        found.variant.as_deref().unwrap_or("default")
    );
    text += &format!("pl_version:    {}\n", or_unknown(&found.version_string));
    text += &format!("config file:   {}\n", or_unknown(&found.config_file));
    text += &format!("kernel:        {}\n", or_unknown(&found.kernel));
    text += &format!("initrds:       {}\n", found.initrds.join(" "));
    text += &format!("kernel args:   {}\n", found.kernel_args.join(" "));
    text += &format!(
        "console:       {}{}\n",
        found.console,
        found.serial.as_ref().map(|s| format!(" ({s})")).unwrap_or_default()
    );
    match &found.node_config {
        Some(node) => {
            let masked = if found.node_key_masked { ", NODE_KEY masked (--show-key shows it)" } else { "" };
            text += &format!("node config:   usr/boot/plnode.txt{masked}\n");
            for line in node.lines() {
                text += &format!("  {line}\n");
            }
        }
        None => text += "node config:   none (generic medium)\n",
    }
    for (i, entry) in found.el_torito.iter().enumerate() {
        text += &format!(
            "El Torito {}:   {}, {} sectors of 512 bytes at LBA {}\n",
            i + 1,
            entry.platform,
            entry.sector_count,
            entry.load_lba
        );
    }
    for p in &found.partitions {
        text += &format!(
            "partition {}:   type {}{}, {} sectors of 512 bytes at LBA {}\n",
            p.number,
            p.partition_type,
            if p.bootable { ", active" } else { "" },
            p.sectors,
            p.start_lba
        );
    }
    match &found.uefi {
        Some(uefi) => {
            let esp = match (&uefi.esp_image, found.container) {
                (Some(image), _) => image.clone(),
                (None, bootmedium_media::Container::Iso9660) => "not ours".to_owned(),
                (None, _) => "the FAT volume itself".to_owned(),
            };
            let signed = |s: Option<bool>| match s {
                Some(true) => "signed",
                Some(false) => "unsigned",
                None => "unknown",
            };
            text += &format!(
                "UEFI:          loader {} ({}), kernel {}, Secure Boot {}\n",
                uefi.loader,
                signed(Some(uefi.loader_signed)),
                signed(uefi.kernel_signed),
                if uefi.secure_boot { "capable" } else { "no" }
            );
            text += &format!("ESP:           {}: {}\n", esp, uefi.loader_files.join(" "));
            text += &format!(
                "grub config:   {}\n",
                if uefi.grub_config.is_some() { "boot/grub/grub.cfg" } else { "missing" }
            );
            for line in uefi.grub_config.as_deref().unwrap_or_default().lines() {
                text += &if line.is_empty() { "\n".to_owned() } else { format!("  {line}\n") };
            }
        }
        None => text += "UEFI:          none (BIOS only)\n",
    }
    text
}
