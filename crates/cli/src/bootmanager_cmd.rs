//! `bootmedium bootmanager add|list|remove`: the BootManager payloads the `/boot/` page serves
//! (docs/plc-api.md §12.4), in `<data dir>/bootmanager/`. A payload is added only when `gpgv`
//! verifies its signature against the PLC's public keyring (`[boot] gpg_public_keyring`), the
//! ring every medium carries as `pubring.gpg`.

use crate::config::FileConfig;
use anyhow::{Context, Result};
use bootmedium_plc::bootmanager::{self, PayloadName, PayloadStore};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum BootmanagerCommand {
    /// Add (or replace) a signed payload: for one node (--hostname), the nodes of a deployment
    /// (--deployment), or every other node (neither).
    Add {
        /// The payload: an OpenPGP signed message (`gpg --sign`), as nodes download it.
        file: PathBuf,
        #[command(flatten)]
        target: AddTarget,
    },
    /// List the payloads: name, kind, size, sha256 and signer (verified again now).
    List,
    /// Remove a payload.
    Remove {
        #[command(flatten)]
        target: RemoveTarget,
    },
}

#[derive(Args, Debug)]
#[group(multiple = false)]
pub struct AddTarget {
    /// For the node with this hostname.
    #[arg(long)]
    hostname: Option<String>,
    /// For the nodes whose `deployment` tag has this value.
    #[arg(long)]
    deployment: Option<String>,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct RemoveTarget {
    #[arg(long)]
    hostname: Option<String>,
    #[arg(long)]
    deployment: Option<String>,
    /// The regular payload.
    #[arg(long)]
    regular: bool,
}

fn name_of(hostname: Option<&str>, deployment: Option<&str>) -> Result<PayloadName> {
    Ok(match (hostname, deployment) {
        (Some(h), _) => PayloadName::hostname(h)?,
        (None, Some(d)) => PayloadName::deployment(d)?,
        (None, None) => PayloadName::Regular,
    })
}

/// The PLC's public keyring (relative to the data directory).
fn keyring(dir: &Path) -> Result<PathBuf> {
    let file = FileConfig::load(dir)?;
    Ok(dir.join(&file.boot.gpg_public_keyring))
}

pub fn run(dir: &Path, command: &BootmanagerCommand) -> Result<()> {
    let store = PayloadStore::of_data_dir(dir);
    match command {
        BootmanagerCommand::Add { file, target } => {
            let name = name_of(target.hostname.as_deref(), target.deployment.as_deref())?;
            let ring = keyring(dir)?;
            let (stored, signer) = store
                .add(file, &name, &ring)
                .with_context(|| format!("adding {} as the {name} payload", file.display()))?;
            println!(
                "added {} ({name}): {} bytes, sha256 {}, signed by {} {}",
                stored.path.display(),
                stored.size,
                stored.sha256,
                signer.fingerprint,
                signer.user_id
            );
        }
        BootmanagerCommand::List => {
            let ring = keyring(dir)?;
            let payloads = store.list()?;
            if payloads.is_empty() {
                println!("no payloads in {}", store.dir().display());
                return Ok(());
            }
            println!("{:<40} {:<10} {:>10} {:<64} SIGNER", "NAME", "KIND", "SIZE", "SHA256");
            for p in payloads {
                let signer = match bootmanager::verify(&p.path, &ring) {
                    Ok(s) => format!("{} {}", s.fingerprint, s.user_id),
                    Err(e) => format!("NOT VERIFIED: {e}"),
                };
                println!("{:<40} {:<10} {:>10} {:<64} {signer}", p.name.stem(), p.name.kind(), p.size, p.sha256);
            }
        }
        BootmanagerCommand::Remove { target } => {
            let name = if target.regular {
                PayloadName::Regular
            } else {
                name_of(target.hostname.as_deref(), target.deployment.as_deref())?
            };
            let path = store.remove(&name)?;
            println!("removed {} ({name})", path.display());
        }
    }
    Ok(())
}
