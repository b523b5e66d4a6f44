//! The reference store in the data directory (docs/media.md §2 steps 1–3): listing, finding,
//! importing and removing references. Where things are kept is [`crate::layout`]'s
//! (`<data-dir>/references/`: `objects/`, `families/<family>/<version>/`, `staging/`, `tmp/`,
//! `generation`); what one stored reference does is [`Reference`]'s (reference.rs).
//!
//! Import computes what never changes for a reference once (the uncompressed root size for
//! `ramdisk_size`, the root's passwd, the generic merged cramfs that sizes the cramfs slot),
//! and the UEFI loader the request chose (`grub-mkimage`, or the distribution's signed files;
//! docs/uefi.md), and whether each kernel is signed, then builds each template with
//! our writers and, for FAT, Debian's `syslinux` (docs/media.md §2 step 1), in `staging/`, and
//! renames the whole reference into `families/`.
//!
//! The manifest cache: [`ReferenceStore::find`] runs on every image API call and download
//! request, so the references it found are kept in the store (shared by its clones) instead
//! of listing the family and parsing `manifest.json` each time. The contract across processes
//! (`bootmedium reference import/remove` beside `bootmedium serve` on one data directory):
//! references change only by import and remove, and each of them, once its change is in place
//! (after the rename into `families/`, after the removal), rewrites `references/generation`
//! with new content by a temporary file and a rename. `find` reads that small file on every
//! call and drops the whole cache when its content differs from what the cache was filled
//! under; no file means generation "none" (a data directory from before the marker), and the
//! first import or removal creates it. A manifest edited by hand is not seen by a process
//! that has it cached until the next import or removal. The check that a template still has
//! the size its manifest records stays in [`Reference::prepare`], on every medium.
//!
//! Concurrency: imports of different references may run at once; removing a reference deletes
//! the objects no manifest names (including those a failed import left behind), so it should not
//! run during an import.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use crate::cramfs_medium::BuiltCramfs;
use crate::error::{MediaError, io_error};
use crate::hash::{hex, sha256_with_prefix};
use crate::image;
use crate::initrd;
use crate::layout::{Layout, MANIFEST_FILE, VARIANT_DEFAULT_DIR, create_dir};
use crate::manifest::{HashPrefix, Inputs, MANIFEST_FORMAT, Manifest, SlotSizes, Template, UefiLoader};
use crate::reference::Reference;
use crate::render;
use crate::request::{ImageType, MediumRequest};
use crate::settings::BootSettings;
use crate::tools;

/// ISOLINUX's boot image in Debian.
pub const DEFAULT_ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
/// ISOLINUX's core module in Debian.
pub const DEFAULT_LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
/// SYSLINUX's MBR boot code in Debian.
pub const DEFAULT_MBR: &str = "/usr/lib/syslinux/mbr/mbr.bin";
/// ISOLINUX's hybrid MBR boot code in Debian (package isolinux): starts `isolinux.bin` when
/// an ISO is booted as a disk.
pub const DEFAULT_ISOHYBRID_MBR: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
/// Debian's shim signed by the Microsoft UEFI CA (package shim-signed).
pub const DEFAULT_SHIM: &str = "/usr/lib/shim/shimx64.efi.signed";
/// Debian's signed MokManager (package shim-helpers-amd64-signed, which shim-signed pulls in).
pub const DEFAULT_MOK_MANAGER: &str = "/usr/lib/shim/mmx64.efi.signed";
/// Debian's GRUB signed with Debian's key, which its shim trusts (package
/// grub-efi-amd64-signed); it finds its medium by `/.disk/info` and reads `boot/grub/grub.cfg`.
pub const DEFAULT_SIGNED_GRUB: &str = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";

const COPY_BUFFER: usize = 128 * 1024;

/// What `reference import` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// `<pldistro>-<fcdistro>-<arch>`.
    pub family: String,
    /// The BootCD version.
    pub version: String,
    /// The kernel (bzImage).
    pub kernel: PathBuf,
    /// The root initramfs (`bootcd.img`, gzip'd newc cpio).
    pub initrd: PathBuf,
    /// Other kernels by variant name.
    pub variants: Vec<(String, PathBuf)>,
    /// ISOLINUX's `isolinux.bin` (Debian package isolinux).
    pub isolinux: PathBuf,
    /// ISOLINUX's `ldlinux.c32` (Debian package syslinux-common).
    pub ldlinux: PathBuf,
    /// SYSLINUX's `mbr.bin` (Debian package syslinux-common).
    pub mbr: PathBuf,
    /// ISOLINUX's `isohdpfx.bin` (Debian package isolinux), the hybrid ISO's MBR code.
    pub isohybrid_mbr: PathBuf,
    /// The UEFI loader the media carry.
    pub uefi: UefiLoader,
    /// The signed shim, for [`UefiLoader::SignedShim`].
    pub shim: PathBuf,
    /// The signed GRUB, for [`UefiLoader::SignedShim`].
    pub signed_grub: PathBuf,
    /// The signed MokManager, for [`UefiLoader::SignedShim`].
    pub mok_manager: PathBuf,
    /// The time stamped on every file; `None` takes the newest modification time of the kernels
    /// and the initrd.
    pub timestamp: Option<i64>,
}

impl ImportRequest {
    /// A request with Debian's bootloader files and no variants.
    pub fn new(family: &str, version: &str, kernel: &Path, initrd: &Path) -> Self {
        ImportRequest {
            family: family.to_owned(),
            version: version.to_owned(),
            kernel: kernel.to_owned(),
            initrd: initrd.to_owned(),
            variants: Vec::new(),
            isolinux: PathBuf::from(DEFAULT_ISOLINUX),
            ldlinux: PathBuf::from(DEFAULT_LDLINUX),
            mbr: PathBuf::from(DEFAULT_MBR),
            isohybrid_mbr: PathBuf::from(DEFAULT_ISOHYBRID_MBR),
            uefi: UefiLoader::default(),
            shim: PathBuf::from(DEFAULT_SHIM),
            signed_grub: PathBuf::from(DEFAULT_SIGNED_GRUB),
            mok_manager: PathBuf::from(DEFAULT_MOK_MANAGER),
            timestamp: None,
        }
    }
}

/// What a long import is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Copying the inputs into the store.
    StoringInputs,
    /// Decompressing `bootcd.img` for `ramdisk_size`.
    ReadingInitrd,
    /// Building template `index` of `total`.
    Building {
        /// The variant (`None`: default kernel).
        variant: Option<String>,
        /// The type.
        image_type: ImageType,
        /// 1-based.
        index: usize,
        /// Templates in all.
        total: usize,
    },
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::StoringInputs => f.write_str("storing the inputs"),
            Progress::ReadingInitrd => f.write_str("reading bootcd.img (ramdisk_size, /etc/passwd)"),
            Progress::Building { variant, image_type, index, total } => write!(
                f,
                "building template {index}/{total}: {} {image_type}",
                variant.as_deref().unwrap_or(VARIANT_DEFAULT_DIR)
            ),
        }
    }
}

/// The references of one data directory. Clones share the manifest cache; the store is
/// `Send + Sync`, for the server's tasks to share.
#[derive(Debug, Clone)]
pub struct ReferenceStore {
    layout: Layout,
    cache: Arc<Mutex<Cache>>,
}

/// The content of `references/generation` when it was read: `None` while there is no such
/// file (a data directory from before the marker, or one nothing was imported into yet).
type Generation = Option<Vec<u8>>;

/// What `find` answered, valid while the generation marker holds `generation`. Only found
/// references are kept (at most two entries per stored reference: by version and as its
/// family's highest); errors are looked up again every time.
#[derive(Default)]
struct Cache {
    generation: Generation,
    found: HashMap<(String, Option<String>), Reference>,
}

/// Not the cached manifests: a store in a debug message should not print every one of them.
impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("generation", &self.generation.as_deref().map(String::from_utf8_lossy))
            .field("entries", &self.found.len())
            .finish()
    }
}

fn check_name(what: &'static str, value: &str) -> Result<(), MediaError> {
    let invalid = |reason| MediaError::InvalidName { what, value: value.to_owned(), reason };
    if value.is_empty() || value.len() > 64 {
        return Err(invalid("must be 1-64 characters"));
    }
    if value.starts_with(['.', '-']) {
        return Err(invalid("must not start with `.` or `-`"));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')) {
        return Err(invalid("only letters, digits, `.`, `_`, `-` and `+` are allowed"));
    }
    Ok(())
}

/// Natural order of versions: digit runs compare as numbers (`5.10` after `5.9`).
fn compare_versions(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, AtomicOrdering::Relaxed))
}

fn modification_time(path: &Path) -> Result<i64, MediaError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).map_err(io_error(format!("reading {}", path.display())))?;
    Ok(metadata.mtime())
}

impl ReferenceStore {
    /// The store of `data_dir` (nothing is read or created until used).
    pub fn open(data_dir: &Path) -> ReferenceStore {
        ReferenceStore { layout: Layout::new(data_dir), cache: Arc::default() }
    }

    /// `<data-dir>/references`.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    fn families(&self) -> PathBuf {
        self.layout.families()
    }

    fn object(&self, sha256: &str) -> PathBuf {
        self.layout.object(sha256)
    }

    fn reference_dir(&self, family: &str, version: &str) -> Result<PathBuf, MediaError> {
        check_name("family", family)?;
        check_name("version", version)?;
        Ok(self.families().join(family).join(version))
    }

    /// Every imported reference, by family then version.
    pub fn list(&self) -> Result<Vec<Manifest>, MediaError> {
        let mut manifests = Vec::new();
        for family in read_dir_names(&self.families())? {
            for version in read_dir_names(&self.families().join(&family))? {
                let path = self.families().join(&family).join(&version).join(MANIFEST_FILE);
                if path.is_file() {
                    manifests.push(Manifest::load(&path)?);
                }
            }
        }
        manifests.sort_by(|a, b| a.family.cmp(&b.family).then_with(|| compare_versions(&a.version, &b.version)));
        Ok(manifests)
    }

    /// The reference of `family` at `version`, or its highest version (digit runs compared as
    /// numbers) when `version` is `None`.
    ///
    /// Answered from memory while the store's generation marker is unchanged: one small file
    /// read per call, outside the lock. A reference changes only by [`ReferenceStore::import`]
    /// and [`ReferenceStore::remove`] (in this process or another on the same data directory),
    /// which rewrite the marker; a manifest edited by hand is seen after the next of those.
    /// The template files are not checked here but by [`Reference::prepare`], every time.
    pub fn find(&self, family: &str, version: Option<&str>) -> Result<Reference, MediaError> {
        check_name("family", family)?;
        if let Some(version) = version {
            check_name("version", version)?;
        }
        // Read before the manifest: a reference loaded after a change the marker announces
        // is at least as new as the generation it is filed under.
        let generation = self.read_generation()?;
        let key = (family.to_owned(), version.map(str::to_owned));
        {
            let cache = self.lock_cache();
            if cache.generation == generation
                && let Some(found) = cache.found.get(&key)
            {
                return Ok(found.clone());
            }
        }
        let found = self.load(family, version)?;
        let mut cache = self.lock_cache();
        if cache.generation != generation {
            // Whichever thread saw a generation last starts the cache over with it; an entry
            // filed under an older one is dropped by the next call that reads the newer.
            cache.found.clear();
            cache.generation = generation;
        }
        cache.found.insert(key, found.clone());
        Ok(found)
    }

    /// The cache; a thread that panicked holding it left no half-made entry (every change is
    /// one insert or clear), so a poisoned lock is used as it is.
    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The generation marker's content, `None` when there is none.
    fn read_generation(&self) -> Result<Generation, MediaError> {
        let path = self.layout.generation();
        match std::fs::read(&path) {
            Ok(content) => Ok(Some(content)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(MediaError::Io { context: format!("reading {}", path.display()), source: e }),
        }
    }

    /// Announces a change of the stored references to every process with this store open:
    /// rewrites the generation marker with content no earlier marker had (this process's id,
    /// the time and a counter), by a temporary file renamed over it, so readers see the old
    /// content or the new, never a partial one.
    fn bump_generation(&self) -> Result<(), MediaError> {
        let path = self.layout.generation();
        let context = || format!("writing {}", path.display());
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let mut pending = crate::files::Pending::create(&path).map_err(io_error(context()))?;
        writeln!(pending.file(), "{nanos} {}", unique_suffix()).map_err(io_error(context()))?;
        pending.publish(0o644).map_err(io_error(context()))
    }

    /// `find` without the cache.
    fn load(&self, family: &str, version: Option<&str>) -> Result<Reference, MediaError> {
        let not_found = || MediaError::NotFound { family: family.to_owned(), version: version.map(str::to_owned) };
        let version = match version {
            Some(v) => v.to_owned(),
            None => read_dir_names(&self.families().join(family))?
                .into_iter()
                .filter(|v| self.families().join(family).join(v).join(MANIFEST_FILE).is_file())
                .max_by(|a, b| compare_versions(a, b))
                .ok_or_else(not_found)?,
        };
        let dir = self.reference_dir(family, &version)?;
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(not_found());
        }
        Ok(Reference::new(self.layout.clone(), dir, Manifest::load(&path)?))
    }

    /// Removes a reference and the stored inputs no other reference uses.
    pub fn remove(&self, family: &str, version: &str) -> Result<(), MediaError> {
        let dir = self.reference_dir(family, version)?;
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(MediaError::NotFound { family: family.to_owned(), version: Some(version.to_owned()) });
        }
        // Renamed first, so that a reference is never seen half removed.
        let doomed = self.layout.staging().join(format!("removed-{}", unique_suffix()));
        create_dir(&self.layout.staging())?;
        std::fs::rename(&dir, &doomed).map_err(io_error(format!("removing {}", dir.display())))?;
        let result = std::fs::remove_dir_all(&doomed)
            .map_err(io_error(format!("removing {}", doomed.display())))
            .and_then(|()| {
                let _ = std::fs::remove_dir(self.families().join(family));
                self.collect_garbage()
            });
        // The reference is gone from families/ since the rename, whatever failed after it.
        let bumped = self.bump_generation();
        result.and(bumped)
    }

    fn collect_garbage(&self) -> Result<(), MediaError> {
        let mut used = BTreeSet::new();
        for family in read_dir_names(&self.families())? {
            for version in read_dir_names(&self.families().join(&family))? {
                let path = self.families().join(&family).join(&version).join(MANIFEST_FILE);
                if path.is_file() {
                    // Of any format: a reference waiting to be imported again keeps its inputs.
                    let inputs = Manifest::load_inputs(&path)?;
                    used.extend([
                        inputs.kernel,
                        inputs.initrd,
                        inputs.isolinux,
                        inputs.ldlinux,
                        inputs.mbr,
                        inputs.grub_efi,
                        inputs.isohybrid_mbr,
                    ]);
                    used.extend(inputs.shim.into_iter().chain(inputs.mok_manager));
                    used.extend(inputs.variants.into_values());
                }
            }
        }
        for name in read_dir_names(&self.layout.objects())? {
            if !used.contains(&name) {
                let path = self.object(&name);
                std::fs::remove_file(&path).map_err(io_error(format!("removing {}", path.display())))?;
            }
        }
        Ok(())
    }

    /// Copies a file into `objects/` under its sha256 and returns the hash.
    fn store_object(&self, source: &Path) -> Result<String, MediaError> {
        use sha2::{Digest, Sha256};
        let objects = self.layout.objects();
        create_dir(&objects)?;
        let tmp = objects.join(format!(".incoming-{}", unique_suffix()));
        let result = (|| {
            let mut input = File::open(source).map_err(io_error(format!("reading {}", source.display())))?;
            let mut output = File::create(&tmp).map_err(io_error(format!("creating {}", tmp.display())))?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; COPY_BUFFER];
            loop {
                let n = input.read(&mut buffer).map_err(io_error(format!("reading {}", source.display())))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                output.write_all(&buffer[..n]).map_err(io_error(format!("writing {}", tmp.display())))?;
            }
            let hash = hex(&hasher.finalize());
            let target = self.object(&hash);
            if target.is_file() {
                std::fs::remove_file(&tmp).map_err(io_error(format!("removing {}", tmp.display())))?;
            } else {
                // Durable before it appears: a manifest will name it.
                output.sync_all().map_err(io_error(format!("writing {}", tmp.display())))?;
                std::fs::rename(&tmp, &target).map_err(io_error(format!("storing {}", target.display())))?;
                crate::files::sync_dir(&objects).map_err(io_error(format!("storing {}", target.display())))?;
            }
            Ok(hash)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Makes the UEFI GRUB with `grub-mkimage` in `tmp/` and stores it as an
    /// input, so every later build of the reference (templates, `build_full`) uses those bytes.
    fn make_grub_efi(&self) -> Result<String, MediaError> {
        let work = self.layout.tmp_dir()?.join(format!("grub-{}", unique_suffix()));
        create_dir(&work)?;
        let result = (|| {
            let out = work.join("BOOTX64.EFI");
            let embedded = tools::grub_embedded_config(&format!("/{}", image::DISK_INFO_PATH), image::GRUB_PREFIX);
            tools::make_grub_efi(&work, &out, &embedded, image::GRUB_PREFIX)?;
            self.store_object(&out)
        })();
        let _ = std::fs::remove_dir_all(&work);
        result
    }

    /// Imports a reference: stores its inputs, reads its root once, builds every template
    /// (every type for the default kernel and each variant) carrying the
    /// PLC-wide generic overlay of `settings`, and writes the manifest. `progress` hears about
    /// each long step.
    pub fn import(
        &self,
        request: &ImportRequest,
        settings: &BootSettings,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Reference, MediaError> {
        let final_dir = self.reference_dir(&request.family, &request.version)?;
        for (name, _) in &request.variants {
            check_name("variant", name)?;
            if name == VARIANT_DEFAULT_DIR {
                return Err(MediaError::InvalidName { what: "variant", value: name.clone(), reason: "reserved" });
            }
        }
        if final_dir.exists() {
            return Err(MediaError::AlreadyExists { family: request.family.clone(), version: request.version.clone() });
        }
        settings.validate()?;
        let syslinux = tools::syslinux_version()?;
        check_bootloader_file(&request.isolinux, "isolinux", "isolinux")?;
        check_bootloader_file(&request.ldlinux, "syslinux-common", "ldlinux")?;
        check_bootloader_file(&request.mbr, "syslinux-common", "mbr")?;
        check_bootloader_file(&request.isohybrid_mbr, "isolinux", "isohybrid-mbr")?;
        if request.uefi == UefiLoader::SignedShim {
            check_bootloader_file(&request.shim, "shim-signed", "shim")?;
            check_bootloader_file(&request.signed_grub, "grub-efi-amd64-signed", "signed-grub")?;
            check_bootloader_file(&request.mok_manager, "shim-helpers-amd64-signed", "mok-manager")?;
        }

        let timestamp = match request.timestamp {
            Some(t) => t,
            None => {
                let mut newest = modification_time(&request.kernel)?.max(modification_time(&request.initrd)?);
                for (_, kernel) in &request.variants {
                    newest = newest.max(modification_time(kernel)?);
                }
                newest
            }
        };
        progress(&Progress::StoringInputs);
        let mut variants = std::collections::BTreeMap::new();
        for (name, kernel) in &request.variants {
            if variants.insert(name.clone(), self.store_object(kernel)?).is_some() {
                return Err(MediaError::InvalidName { what: "variant", value: name.clone(), reason: "given twice" });
            }
        }
        let (grub_efi, shim, mok_manager) = match request.uefi {
            UefiLoader::StandaloneGrub => (self.make_grub_efi()?, None, None),
            UefiLoader::SignedShim => (
                self.store_object(&request.signed_grub)?,
                Some(self.store_object(&request.shim)?),
                Some(self.store_object(&request.mok_manager)?),
            ),
            UefiLoader::None => (String::new(), None, None),
        };
        let inputs = Inputs {
            grub_efi,
            shim,
            mok_manager,
            isohybrid_mbr: self.store_object(&request.isohybrid_mbr)?,
            kernel: self.store_object(&request.kernel)?,
            initrd: self.store_object(&request.initrd)?,
            isolinux: self.store_object(&request.isolinux)?,
            ldlinux: self.store_object(&request.ldlinux)?,
            mbr: self.store_object(&request.mbr)?,
            variants,
        };
        let mut unsigned_kernels = Vec::new();
        for (name, kernel) in std::iter::once((VARIANT_DEFAULT_DIR, &request.kernel))
            .chain(request.variants.iter().map(|(name, kernel)| (name.as_str(), kernel)))
        {
            if !kernel_signed(kernel)? {
                unsigned_kernels.push(name.to_owned());
            }
        }
        progress(&Progress::ReadingInitrd);
        let scan = initrd::scan(&self.object(&inputs.initrd))?;
        let slot_sizes = SlotSizes::DEFAULT;
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            family: request.family.clone(),
            version: request.version.clone(),
            timestamp,
            ramdisk_size_kib: (scan.uncompressed_bytes + slot_sizes.overlay).div_ceil(1024),
            initrd_uncompressed_bytes: scan.uncompressed_bytes,
            root_passwd: scan.passwd.unwrap_or_default(),
            inputs,
            syslinux,
            uefi: request.uefi,
            unsigned_kernels,
            slot_sizes,
            templates: Vec::new(),
            cramfs_unavailable: None,
        };
        create_dir(&self.layout.staging())?;
        let staging = self.layout.staging().join(format!("{}-{}-{}", request.family, request.version, unique_suffix()));
        create_dir(&staging)?;
        let result =
            self.build_templates(Reference::new(self.layout.clone(), staging.clone(), manifest), settings, progress);
        let reference = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        let family_dir = self.families().join(&request.family);
        create_dir(&family_dir)?;
        if let Err(e) = std::fs::rename(&staging, &final_dir) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(if final_dir.exists() {
                MediaError::AlreadyExists { family: request.family.clone(), version: request.version.clone() }
            } else {
                MediaError::Io { context: format!("moving the reference to {}", final_dir.display()), source: e }
            });
        }
        crate::files::sync_dir(&family_dir)
            .map_err(io_error(format!("moving the reference to {}", final_dir.display())))?;
        // After the rename: a process that sees the new generation finds the reference.
        self.bump_generation()?;
        Ok(reference.moved_to(final_dir))
    }

    /// Builds the templates of `reference` (in its staging directory) and writes its manifest.
    fn build_templates(
        &self,
        mut reference: Reference,
        settings: &BootSettings,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Reference, MediaError> {
        let dir = reference.dir().to_path_buf();
        let variants: Vec<Option<String>> =
            std::iter::once(None).chain(reference.manifest().variants().into_iter().map(Some)).collect();
        let total = variants.len() * ImageType::TEMPLATED.len();
        let mut templates = Vec::new();
        // The generic merged cramfs (the same for every cramfs template unless the overlay
        // differs), built at the first cramfs template; its size fixes the cramfs slot.
        let mut generic_cramfs: Option<(Vec<u8>, BuiltCramfs)> = None;
        for variant in &variants {
            let dir_name = variant.as_deref().unwrap_or(VARIANT_DEFAULT_DIR);
            create_dir(&dir.join(dir_name))?;
            for image_type in ImageType::TEMPLATED {
                progress(&Progress::Building {
                    variant: variant.clone(),
                    image_type,
                    index: templates.len() + 1,
                    total,
                });
                if image_type.is_cramfs() && reference.manifest().cramfs_unavailable.is_some() {
                    continue;
                }
                let request = MediumRequest { variant: variant.clone(), ..MediumRequest::generic(image_type) };
                let file = format!("{dir_name}/{image_type}.img");
                let path = dir.join(&file);
                let rendered = render::render(reference.manifest(), &request, settings)?;
                let cramfs = if image_type.is_cramfs() {
                    if generic_cramfs.as_ref().is_none_or(|(overlay, _)| *overlay != rendered.overlay) {
                        let built = match reference.build_cramfs(&rendered.overlay) {
                            Ok(built) => built,
                            // A root cramfs cannot hold: the reference is still good for the
                            // other types, and its cramfs types say why they are refused.
                            Err(e) if !matches!(e, MediaError::Io { .. }) => {
                                reference.manifest_mut().cramfs_unavailable = Some(e.to_string());
                                continue;
                            }
                            Err(e) => return Err(e),
                        };
                        if reference.manifest().slot_sizes.cramfs == 0 {
                            reference.manifest_mut().slot_sizes.cramfs = SlotSizes::cramfs_slot(built.len());
                        }
                        generic_cramfs = Some((rendered.overlay.clone(), built));
                    }
                    generic_cramfs.as_ref().map(|(_, built)| built)
                } else {
                    None
                };
                let slots = reference.build_image(&request, &rendered, cramfs, &path)?;
                let image = File::open(&path).map_err(io_error(format!("reading {}", path.display())))?;
                // Durable before the reference appears (renamed out of staging).
                image.sync_all().map_err(io_error(format!("writing {}", path.display())))?;
                let size = image.metadata().map_err(io_error(format!("reading {}", path.display())))?.len();
                // The state after the bytes before the first slot, from which a node medium's
                // sha256 is finished; `slots` is sorted by offset.
                let prefix_len = slots.first().map_or(size, |slot| slot.offset);
                let (sha256, prefix) =
                    sha256_with_prefix(image, prefix_len).map_err(io_error(format!("reading {}", path.display())))?;
                let hash_prefix = HashPrefix { len: prefix.len(), state: prefix.state_hex() };
                templates.push(Template {
                    variant: variant.clone(),
                    image_type,
                    file,
                    size,
                    sha256,
                    slots,
                    hash_prefix,
                });
            }
        }
        reference.manifest_mut().templates = templates;
        let manifest = dir.join(MANIFEST_FILE);
        reference.manifest().save(&manifest)?;
        let sync = |path: &Path| {
            File::open(path).and_then(|f| f.sync_all()).map_err(io_error(format!("writing {}", path.display())))
        };
        sync(&manifest)?;
        for variant in &variants {
            sync(&dir.join(variant.as_deref().unwrap_or(VARIANT_DEFAULT_DIR)))?;
        }
        sync(&dir)?;
        Ok(reference)
    }
}

/// Whether a kernel carries an Authenticode signature (its EFI stub's PE headers).
fn kernel_signed(kernel: &Path) -> Result<bool, MediaError> {
    let mut head = Vec::with_capacity(crate::pe::HEADER_BYTES);
    File::open(kernel)
        .and_then(|f| f.take(crate::pe::HEADER_BYTES as u64).read_to_end(&mut head))
        .map_err(io_error(format!("reading {}", kernel.display())))?;
    Ok(crate::pe::authenticode_signed(&head).unwrap_or(false))
}

fn check_bootloader_file(path: &Path, package: &'static str, flag: &'static str) -> Result<(), MediaError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(MediaError::MissingInput {
            path: path.display().to_string(),
            reason: "not a regular file".to_owned(),
            package,
            flag,
        }),
        Err(e) => {
            Err(MediaError::MissingInput { path: path.display().to_string(), reason: e.to_string(), package, flag })
        }
    }
}

/// Names in a directory (none if it does not exist), hidden ones left out, sorted.
fn read_dir_names(dir: &Path) -> Result<Vec<String>, MediaError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(MediaError::Io { context: format!("listing {}", dir.display()), source: e }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(format!("listing {}", dir.display())))?;
        if let Some(name) = entry.file_name().to_str().filter(|n| !n.starts_with('.')) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        for good in ["planetlab-f37-x86_64", "5.4", "2024.01+b1", "a_b"] {
            check_name("x", good).unwrap();
        }
        for bad in ["", ".hidden", "-x", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(check_name("x", bad).is_err(), "{bad:?}");
        }
        let mut versions = vec!["5.10", "5.9", "5.9.1", "10.0", "5.09a", "1"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(versions, ["1", "5.9", "5.9.1", "5.09a", "5.10", "10.0"]);
    }
}
