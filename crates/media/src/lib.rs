//! The boot image engine: BootCD references as slotted templates, per-node media at the cost of
//! copying bytes, and `inspect` (docs/media.md §1–§3; docs/plc-api.md §6–7 and §9.2 steps 4 and 11 for
//! what bootcd's build.sh put on a medium).
//!
//! # Use
//! ```no_run
//! # fn main() -> Result<(), bootmedium_media::MediaError> {
//! use bootmedium_media::{BootConfig, Console, ImageType, KernelArg, MediumRequest, ReferenceStore};
//! # let data_dir = std::path::Path::new("/var/lib/bootmedium");
//! let settings = BootConfig::default().load("PlanetLab Test", data_dir)?;
//! let reference = ReferenceStore::open(data_dir).find("planetlab-f37-x86_64", None)?;
//! let request = MediumRequest {
//!     image_type: ImageType::Iso,
//!     console: Console::parse("default")?,
//!     kargs: vec![KernelArg::new("hcheck_reboot0")?],
//!     variant: None,
//!     node_config: Some("NODE_ID=\"1\"\n".to_owned()),
//! };
//! let mut medium = reference.prepare(&request, &settings)?;
//! medium.write_to(std::path::Path::new("/tmp/node.iso"))?; // or medium.reader(), medium.copy_to(..)
//! # Ok(()) }
//! ```
//!
//! # How
//! [`ReferenceStore::import`] stores a reference's inputs content-addressed and builds, once,
//! a template per image type and kernel in which the overlay (for the cramfs types, the merged
//! `cramfs.img`), the bootloader configuration and `pl_version` occupy fixed-size slots
//! ([`Manifest`]). [`Reference::prepare`] renders those files for one node (building its
//! cramfs natively, into an unlinked temporary file, for the cramfs types) and returns a
//! [`PreparedMedium`] that splices them over the template while streaming — no external
//! program, memory independent of the image size.
//! [`Reference::build_full`] builds the same bytes without templates, which the tests compare.
//!
//! Where: the store (list, find, import, remove) is store.rs, its directory layout layout.rs,
//! one stored reference and what it makes reference.rs. [`ReferenceStore::find`] answers from a
//! cache of the references it found, shared by the store's clones and dropped whenever
//! `references/generation` changes; import and remove rewrite that file, in whichever process
//! they run, so references change only through them (see store.rs for the contract).
//!
//! Everything is reproducible: every timestamp comes from the inputs, volume serials from their
//! hashes, and `syslinux` runs with `SOURCE_DATE_EPOCH`.
#![forbid(unsafe_code)]

mod cramfs_medium;
mod error;
pub mod files;
mod hash;
mod image;
mod initrd;
mod inspect;
mod layout;
mod loader_config;
mod manifest;
mod overlay;
mod pe;
mod prepared;
mod reference;
mod render;
mod request;
mod settings;
mod store;
mod tools;

pub use error::MediaError;
pub use hash::sha256_hex;
pub use image::Marker;
pub use inspect::{BootCatalogEntry, Container, Inspection, PartitionEntry, UefiBoot, inspect, mask_node_key};
pub use manifest::{Inputs, Manifest, SlotKind, SlotLocation, SlotSizes, Template, UefiLoader};
pub use prepared::{MediumReader, PreparedMedium, Segment};
pub use reference::Reference;
pub use request::{Console, ImageType, KernelArg, MAX_KARG_LEN, MediumRequest, Parity, SerialConsole};
pub use settings::{BootConfig, BootSettings};
pub use store::{
    DEFAULT_ISOHYBRID_MBR, DEFAULT_ISOLINUX, DEFAULT_LDLINUX, DEFAULT_MBR, DEFAULT_MOK_MANAGER, DEFAULT_SHIM,
    DEFAULT_SIGNED_GRUB, ImportRequest, Progress, ReferenceStore,
};
