//! The layout plan (every sector decided before any byte is written) and the sequential writer
//! that follows it. The order of the regions is described in the parent module.

use std::io::Write;

use super::directory_record::{self, FLAG_DIRECTORY, MAX_RECORD_LEN};
use super::el_torito::{self, LoadSize, ResolvedEntry};
use super::path_table::{self, ByteOrder, PathTableEntry};
use super::rock_ridge;
use super::volume_descriptor::{self, VolumeDescriptor, VolumeIds};
use super::{
    BootImageLayout, FileExtent, IsoBuilder, IsoError, IsoLayout, IsoOptions, PRIMARY_VOLUME_DESCRIPTOR_LBA,
    SECTOR_SIZE, SECTOR_SIZE_USIZE, names,
};
use crate::source::{self, CountingWriter, FileSource};
use crate::tree::{DirectoryNode, Node};

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;

/// What a directory record points at.
#[derive(Clone, Copy)]
enum Target {
    Directory(usize),
    File(usize),
}

/// One directory record, everything but the extent numbers decided.
struct RecordPlan {
    identifier: Vec<u8>,
    target: Target,
    flags: u8,
    /// Rock Ridge entries kept in the record itself (a `CE` is appended when `continuation`).
    system_use: Vec<u8>,
    /// (offset in the continuation pool, length) of the entries that did not fit.
    continuation: Option<(u64, u32)>,
    /// Offset of the record within its directory extent.
    offset: u64,
}

struct DirectoryPlan {
    path: String,
    parent: usize,
    permissions: u32,
    serial: u32,
    subdirectories: u32,
    /// Children in name order (the order clash resolution and the file layout follow).
    children: Vec<Target>,
    iso_identifier: Vec<u8>,
    joliet_identifier: Vec<u8>,
    primary_records: Vec<RecordPlan>,
    primary_size: u64,
    primary_lba: u32,
    primary_number: u16,
    joliet_records: Vec<RecordPlan>,
    joliet_size: u64,
    joliet_lba: u32,
    joliet_number: u16,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Regular,
    BootCatalog,
}

struct FilePlan<'a> {
    path: String,
    source: Option<&'a dyn FileSource>,
    kind: FileKind,
    permissions: u32,
    serial: u32,
    content_len: u64,
    recorded_len: u64,
    fill: u8,
    is_slot: bool,
    lba: u32,
    iso_identifier: Vec<u8>,
    joliet_identifier: Vec<u8>,
    /// Whether the boot-info-table is patched into this file.
    boot_info_table: bool,
}

struct BootPlan {
    entries: Vec<(usize, ResolvedEntry)>,
    catalog_file: usize,
}

pub(crate) struct Plan<'a> {
    options: &'a IsoOptions,
    directories: Vec<DirectoryPlan>,
    files: Vec<FilePlan<'a>>,
    /// File indices in data order (the boot catalog excluded): tree order, slots last.
    data_order: Vec<usize>,
    primary_order: Vec<usize>,
    joliet_order: Vec<usize>,
    boot: Option<BootPlan>,
    continuation_pool: Vec<u8>,
    // Sector numbers of the fixed regions.
    boot_record_lba: Option<u32>,
    joliet_descriptor_lba: Option<u32>,
    terminator_lba: u32,
    primary_path_table: (u32, u32, u32),
    joliet_path_table: (u32, u32, u32),
    catalog_lba: Option<u32>,
    continuation_lba: u32,
    data_end_lba: u32,
    total_sectors: u32,
}

fn sectors_for(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR_SIZE)
}

fn to_lba(value: u64) -> Result<u32, IsoError> {
    u32::try_from(value).map_err(|_| IsoError::ImageTooLarge)
}

impl<'a> Plan<'a> {
    pub(crate) fn new(builder: &'a IsoBuilder) -> Result<Self, IsoError> {
        let options = &builder.options;
        let mut plan = Plan {
            options,
            directories: Vec::new(),
            files: Vec::new(),
            data_order: Vec::new(),
            primary_order: Vec::new(),
            joliet_order: Vec::new(),
            boot: None,
            continuation_pool: Vec::new(),
            boot_record_lba: None,
            joliet_descriptor_lba: None,
            terminator_lba: 0,
            primary_path_table: (0, 0, 0),
            joliet_path_table: (0, 0, 0),
            catalog_lba: None,
            continuation_lba: 0,
            data_end_lba: 0,
            total_sectors: 0,
        };
        plan.flatten(builder)?;
        plan.put_slots_last();
        plan.assign_identifiers();
        plan.order_directories();
        plan.resolve_boot_files(builder)?;
        plan.plan_records();
        plan.assign_sectors()?;
        plan.resolve_boot_entries(builder)?;
        Ok(plan)
    }

    // ---- tree flattening -------------------------------------------------------------

    fn flatten(&mut self, builder: &'a IsoBuilder) -> Result<(), IsoError> {
        let catalog_path = builder.boot.as_ref().map(|b| b.catalog_path.trim_start_matches('/').to_owned());
        self.directories.push(Self::new_directory(String::new(), 0, builder.root.permissions));
        self.flatten_directory(&builder.root, 0, catalog_path.as_deref())?;
        if let Some(catalog_path) = catalog_path {
            let present = self.files.iter().any(|f| f.kind == FileKind::BootCatalog);
            if !present {
                // The catalog's parent directories do not exist in the tree.
                return Err(IsoError::Boot(format!(
                    "the parent directory of the boot catalog {catalog_path:?} must be in the tree"
                )));
            }
        }
        Ok(())
    }

    fn new_directory(path: String, parent: usize, permissions: u32) -> DirectoryPlan {
        DirectoryPlan {
            path,
            parent,
            permissions,
            serial: 0,
            subdirectories: 0,
            children: Vec::new(),
            iso_identifier: vec![0],
            joliet_identifier: vec![0],
            primary_records: Vec::new(),
            primary_size: 0,
            primary_lba: 0,
            primary_number: 0,
            joliet_records: Vec::new(),
            joliet_size: 0,
            joliet_lba: 0,
            joliet_number: 0,
        }
    }

    fn flatten_directory(
        &mut self,
        node: &'a DirectoryNode,
        index: usize,
        catalog_path: Option<&str>,
    ) -> Result<(), IsoError> {
        let prefix = self.directories[index].path.clone();
        let join = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
        // The boot catalog is a virtual file merged into its directory in name order.
        let catalog_name = catalog_path.and_then(|p| {
            let (parent, name) = p.rsplit_once('/').unwrap_or(("", p));
            (parent == prefix).then_some(name)
        });
        if let Some(name) = catalog_name
            && node.children.contains_key(name)
        {
            return Err(IsoError::AlreadyExists(join(name)));
        }
        let mut names: Vec<&str> = node.children.keys().map(String::as_str).collect();
        if let Some(name) = catalog_name {
            names.push(name);
            names.sort_unstable();
        }
        for name in names {
            let path = join(name);
            match node.children.get(name) {
                Some(Node::Directory(child)) => {
                    let child_index = self.directories.len();
                    self.directories.push(Self::new_directory(path, index, child.permissions));
                    self.directories[index].children.push(Target::Directory(child_index));
                    self.directories[index].subdirectories += 1;
                    self.flatten_directory(child, child_index, catalog_path)?;
                }
                Some(Node::File(file)) => {
                    let content_len = file.source.len();
                    let (recorded_len, fill, is_slot) = match file.slot {
                        Some(slot) => (slot.size, slot.fill, true),
                        None => (content_len, 0, false),
                    };
                    if recorded_len > u64::from(u32::MAX) {
                        return Err(IsoError::FileTooLarge { path, size: recorded_len });
                    }
                    let file_index = self.push_file(FilePlan {
                        path,
                        source: Some(file.source.as_ref()),
                        kind: FileKind::Regular,
                        permissions: file.permissions,
                        serial: 0,
                        content_len,
                        recorded_len,
                        fill,
                        is_slot,
                        lba: 0,
                        iso_identifier: Vec::new(),
                        joliet_identifier: Vec::new(),
                        boot_info_table: false,
                    });
                    self.directories[index].children.push(Target::File(file_index));
                    self.data_order.push(file_index);
                }
                None => {
                    let file_index = self.push_file(FilePlan {
                        path,
                        source: None,
                        kind: FileKind::BootCatalog,
                        permissions: 0o444,
                        serial: 0,
                        content_len: SECTOR_SIZE,
                        recorded_len: SECTOR_SIZE,
                        fill: 0,
                        is_slot: false,
                        lba: 0,
                        iso_identifier: Vec::new(),
                        joliet_identifier: Vec::new(),
                        boot_info_table: false,
                    });
                    self.directories[index].children.push(Target::File(file_index));
                }
            }
        }
        Ok(())
    }

    /// Moves the slot files to the end of the data order, keeping the relative order of both
    /// groups. Everything before the first slot is then the same for every medium made from
    /// the image, so a hash of that prefix can be computed once and resumed per medium.
    fn put_slots_last(&mut self) {
        let files = &self.files;
        // A stable sort: tree order within each group.
        self.data_order.sort_by_key(|&index| files[index].is_slot);
    }

    fn push_file(&mut self, file: FilePlan<'a>) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }

    fn child_name(&self, target: Target) -> &str {
        let path = match target {
            Target::Directory(d) => &self.directories[d].path,
            Target::File(f) => &self.files[f].path,
        };
        path.rsplit('/').next().unwrap_or(path)
    }

    fn assign_identifiers(&mut self) {
        // Serial numbers for Rock Ridge PX: directories first, then files, in tree order.
        let mut serial = 1u32;
        for dir in &mut self.directories {
            dir.serial = serial;
            serial = serial.wrapping_add(1);
        }
        for file in &mut self.files {
            file.serial = serial;
            serial = serial.wrapping_add(1);
        }
        for index in 0..self.directories.len() {
            let children = self.directories[index].children.clone();
            let entries: Vec<(&str, bool)> =
                children.iter().map(|&t| (self.child_name(t), matches!(t, Target::Directory(_)))).collect();
            let iso = names::assign_iso_identifiers(&entries);
            let joliet: Vec<Vec<u8>> = entries.iter().map(|(name, _)| names::joliet_identifier(name)).collect();
            for ((target, iso), joliet) in children.into_iter().zip(iso).zip(joliet) {
                match target {
                    Target::Directory(d) => {
                        self.directories[d].iso_identifier = iso;
                        self.directories[d].joliet_identifier = joliet;
                    }
                    Target::File(f) => {
                        self.files[f].iso_identifier = iso;
                        self.files[f].joliet_identifier = joliet;
                    }
                }
            }
        }
    }

    /// Children of a directory in record order for one name space.
    fn sorted_children(&self, index: usize, joliet: bool) -> Vec<Target> {
        let mut children = self.directories[index].children.clone();
        let identifier = |t: &Target| -> &[u8] {
            match (*t, joliet) {
                (Target::Directory(d), false) => &self.directories[d].iso_identifier,
                (Target::Directory(d), true) => &self.directories[d].joliet_identifier,
                (Target::File(f), false) => &self.files[f].iso_identifier,
                (Target::File(f), true) => &self.files[f].joliet_identifier,
            }
        };
        if joliet {
            children.sort_by(|a, b| identifier(a).cmp(identifier(b)));
        } else {
            children.sort_by(|a, b| names::compare_iso_identifiers(identifier(a), identifier(b)));
        }
        children
    }

    /// Path-table order (ECMA-119 6.9.1): breadth first, siblings by identifier.
    fn order_directories(&mut self) {
        for joliet in [false, true] {
            let mut order = vec![0usize];
            let mut next = 0;
            while next < order.len() {
                let current = order[next];
                next += 1;
                for child in self.sorted_children(current, joliet) {
                    if let Target::Directory(d) = child {
                        order.push(d);
                    }
                }
            }
            for (position, &d) in order.iter().enumerate() {
                // More than 65535 directories cannot be numbered; such trees are absurd for
                // boot media and the numbers merely wrap in the (unused by Linux) path table.
                let number = (position + 1) as u16;
                if joliet {
                    self.directories[d].joliet_number = number;
                } else {
                    self.directories[d].primary_number = number;
                }
            }
            if joliet {
                self.joliet_order = order;
            } else {
                self.primary_order = order;
            }
        }
    }

    fn resolve_boot_files(&mut self, builder: &IsoBuilder) -> Result<(), IsoError> {
        let Some(boot) = &builder.boot else { return Ok(()) };
        for entry in &boot.entries {
            let path = entry.image_path.trim_start_matches('/');
            let Some(index) = self.files.iter().position(|f| f.path == path && f.kind == FileKind::Regular) else {
                return Err(IsoError::Boot(format!("boot image {path:?} is not a file of the tree")));
            };
            if entry.boot_info_table {
                let file = &mut self.files[index];
                if file.is_slot {
                    return Err(IsoError::Boot(format!("boot image {path:?} with a boot-info-table cannot be a slot")));
                }
                if file.content_len < el_torito::BOOT_INFO_CHECKSUM_START as u64 {
                    return Err(IsoError::Boot(format!("boot image {path:?} is too short for a boot-info-table")));
                }
                file.boot_info_table = true;
            }
        }
        Ok(())
    }

    // ---- directory records -----------------------------------------------------------

    fn rock_ridge_entries(&self, target: Target) -> Vec<Vec<u8>> {
        let options = self.options;
        let (mode, nlink, serial) = match target {
            Target::Directory(d) => {
                let dir = &self.directories[d];
                (S_IFDIR | dir.permissions, 2 + dir.subdirectories, dir.serial)
            }
            Target::File(f) => (S_IFREG | self.files[f].permissions, 1, self.files[f].serial),
        };
        vec![rock_ridge::px(mode, nlink, options.uid, options.gid, serial), rock_ridge::tf(options.timestamp)]
    }

    fn allocate_continuation(&mut self, bytes: &[u8]) -> (u64, u32) {
        // A continuation area never crosses a sector boundary.
        let used = self.continuation_pool.len() as u64 % SECTOR_SIZE;
        if used + bytes.len() as u64 > SECTOR_SIZE {
            let padding = (SECTOR_SIZE - used) as usize;
            self.continuation_pool.resize(self.continuation_pool.len() + padding, 0);
        }
        let offset = self.continuation_pool.len() as u64;
        self.continuation_pool.extend_from_slice(bytes);
        (offset, bytes.len() as u32)
    }

    /// Builds a record, moving Rock Ridge entries that do not fit into a continuation area.
    /// `forced_continuation` entries always go there (the root's `ER`).
    fn record(
        &mut self,
        identifier: Vec<u8>,
        target: Target,
        inline: Vec<Vec<u8>>,
        forced_continuation: Vec<Vec<u8>>,
    ) -> RecordPlan {
        let flags = if matches!(target, Target::Directory(_)) { FLAG_DIRECTORY } else { 0 };
        let total: usize = inline.iter().map(Vec::len).sum();
        let fits = |len: usize| directory_record::record_len(identifier.len(), len) <= MAX_RECORD_LEN;
        let (kept, moved): (Vec<Vec<u8>>, Vec<Vec<u8>>) = if forced_continuation.is_empty() && fits(total) {
            (inline, Vec::new())
        } else {
            let mut kept_len = rock_ridge::CE_LEN;
            let mut kept = Vec::new();
            let mut moved = Vec::new();
            for entry in inline {
                if moved.is_empty() && fits(kept_len + entry.len()) {
                    kept_len += entry.len();
                    kept.push(entry);
                } else {
                    moved.push(entry);
                }
            }
            moved.extend(forced_continuation);
            (kept, moved)
        };
        let continuation = (!moved.is_empty()).then(|| self.allocate_continuation(&moved.concat()));
        RecordPlan { identifier, target, flags, system_use: kept.concat(), continuation, offset: 0 }
    }

    fn plan_records(&mut self) {
        let rock_ridge = self.options.rock_ridge;
        for position in 0..self.primary_order.len() {
            let index = self.primary_order[position];
            let parent = self.directories[index].parent;
            let mut records = Vec::new();
            // "." — the root's carries SP first (SUSP 5.3) and the ER in a continuation area.
            let mut dot_entries = Vec::new();
            let mut forced = Vec::new();
            if rock_ridge {
                if index == 0 {
                    dot_entries.push(rock_ridge::sp());
                    forced.push(rock_ridge::er());
                }
                dot_entries.extend(self.rock_ridge_entries(Target::Directory(index)));
            }
            records.push(self.record(vec![0], Target::Directory(index), dot_entries, forced));
            let dotdot_entries =
                if rock_ridge { self.rock_ridge_entries(Target::Directory(parent)) } else { Vec::new() };
            records.push(self.record(vec![1], Target::Directory(parent), dotdot_entries, Vec::new()));
            for child in self.sorted_children(index, false) {
                let identifier = match child {
                    Target::Directory(d) => self.directories[d].iso_identifier.clone(),
                    Target::File(f) => self.files[f].iso_identifier.clone(),
                };
                let mut entries = Vec::new();
                if rock_ridge {
                    entries = self.rock_ridge_entries(child);
                    entries.push(rock_ridge::nm(self.child_name(child)));
                }
                records.push(self.record(identifier, child, entries, Vec::new()));
            }
            let size = Self::pack_records(&mut records);
            let dir = &mut self.directories[index];
            dir.primary_records = records;
            dir.primary_size = size;
        }
        if self.options.joliet {
            for position in 0..self.joliet_order.len() {
                let index = self.joliet_order[position];
                let parent = self.directories[index].parent;
                let mut records = vec![
                    self.record(vec![0], Target::Directory(index), Vec::new(), Vec::new()),
                    self.record(vec![1], Target::Directory(parent), Vec::new(), Vec::new()),
                ];
                for child in self.sorted_children(index, true) {
                    let identifier = match child {
                        Target::Directory(d) => self.directories[d].joliet_identifier.clone(),
                        Target::File(f) => self.files[f].joliet_identifier.clone(),
                    };
                    records.push(self.record(identifier, child, Vec::new(), Vec::new()));
                }
                let size = Self::pack_records(&mut records);
                let dir = &mut self.directories[index];
                dir.joliet_records = records;
                dir.joliet_size = size;
            }
        }
    }

    fn record_len(record: &RecordPlan) -> usize {
        let system_use = record.system_use.len() + if record.continuation.is_some() { rock_ridge::CE_LEN } else { 0 };
        directory_record::record_len(record.identifier.len(), system_use)
    }

    fn pack_records(records: &mut [RecordPlan]) -> u64 {
        let (offsets, size) = directory_record::pack(records.iter().map(Self::record_len));
        for (record, offset) in records.iter_mut().zip(offsets) {
            record.offset = offset;
        }
        size
    }

    // ---- sectors ---------------------------------------------------------------------

    fn path_table_size(&self, joliet: bool) -> u64 {
        let order = if joliet { &self.joliet_order } else { &self.primary_order };
        order
            .iter()
            .map(|&d| {
                let dir = &self.directories[d];
                let id = if joliet { &dir.joliet_identifier } else { &dir.iso_identifier };
                path_table::record_len(if d == 0 { 1 } else { id.len() }) as u64
            })
            .sum()
    }

    fn assign_sectors(&mut self) -> Result<(), IsoError> {
        let mut lba = u64::from(PRIMARY_VOLUME_DESCRIPTOR_LBA) + 1;
        let booting = self.files.iter().any(|f| f.kind == FileKind::BootCatalog);
        if booting {
            self.boot_record_lba = Some(to_lba(lba)?);
            lba += 1;
        }
        if self.options.joliet {
            self.joliet_descriptor_lba = Some(to_lba(lba)?);
            lba += 1;
        }
        self.terminator_lba = to_lba(lba)?;
        lba += 1;
        for joliet in [false, true] {
            if joliet && !self.options.joliet {
                continue;
            }
            let size = self.path_table_size(joliet);
            let sectors = sectors_for(size);
            let table = (to_lba(size)?, to_lba(lba)?, to_lba(lba + sectors)?);
            lba += 2 * sectors;
            if joliet {
                self.joliet_path_table = table;
            } else {
                self.primary_path_table = table;
            }
        }
        if booting {
            self.catalog_lba = Some(to_lba(lba)?);
            if let Some(catalog) = self.files.iter_mut().find(|f| f.kind == FileKind::BootCatalog) {
                catalog.lba = to_lba(lba)?;
            }
            lba += 1;
        }
        for position in 0..self.primary_order.len() {
            let dir = &mut self.directories[self.primary_order[position]];
            dir.primary_lba = to_lba(lba)?;
            lba += dir.primary_size / SECTOR_SIZE;
        }
        if self.options.joliet {
            for position in 0..self.joliet_order.len() {
                let dir = &mut self.directories[self.joliet_order[position]];
                dir.joliet_lba = to_lba(lba)?;
                lba += dir.joliet_size / SECTOR_SIZE;
            }
        }
        self.continuation_lba = to_lba(lba)?;
        lba += sectors_for(self.continuation_pool.len() as u64);
        for position in 0..self.data_order.len() {
            let file = &mut self.files[self.data_order[position]];
            file.lba = to_lba(lba)?;
            lba += sectors_for(file.recorded_len);
        }
        self.data_end_lba = to_lba(lba)?;
        self.total_sectors = to_lba(lba + u64::from(self.options.padding_sectors))?;
        Ok(())
    }

    fn resolve_boot_entries(&mut self, builder: &IsoBuilder) -> Result<(), IsoError> {
        let Some(boot) = &builder.boot else { return Ok(()) };
        let catalog_file = self
            .files
            .iter()
            .position(|f| f.kind == FileKind::BootCatalog)
            .ok_or_else(|| IsoError::Internal("boot catalog missing from the plan".to_owned()))?;
        let mut entries = Vec::new();
        for entry in &boot.entries {
            let path = entry.image_path.trim_start_matches('/');
            let index = self
                .files
                .iter()
                .position(|f| f.path == path && f.kind == FileKind::Regular)
                .ok_or_else(|| IsoError::Boot(format!("boot image {path:?} is not a file of the tree")))?;
            let file = &self.files[index];
            let sector_count = match entry.load_size {
                LoadSize::Sectors(count) => count,
                LoadSize::WholeImage => u16::try_from(file.recorded_len.div_ceil(512)).map_err(|_| {
                    IsoError::Boot(format!("boot image {path:?} exceeds 65535 sectors; give an explicit load size"))
                })?,
            };
            entries.push((
                index,
                ResolvedEntry {
                    platform: entry.platform,
                    load_segment: entry.load_segment,
                    sector_count,
                    load_lba: file.lba,
                },
            ));
        }
        let resolved: Vec<ResolvedEntry> = entries
            .iter()
            .map(|(_, e)| ResolvedEntry {
                platform: e.platform,
                load_segment: e.load_segment,
                sector_count: e.sector_count,
                load_lba: e.load_lba,
            })
            .collect();
        if el_torito::catalog_entry_count(&resolved) * 32 > SECTOR_SIZE_USIZE {
            return Err(IsoError::Boot("too many boot entries for a one-sector catalog".to_owned()));
        }
        self.boot = Some(BootPlan { entries, catalog_file });
        Ok(())
    }

    pub(crate) fn public_layout(&self) -> IsoLayout {
        let mut order: Vec<usize> = self.data_order.clone();
        if let Some(boot) = &self.boot {
            order.insert(0, boot.catalog_file);
        }
        IsoLayout {
            total_sectors: self.total_sectors,
            files: order
                .into_iter()
                .map(|i| {
                    let file = &self.files[i];
                    FileExtent {
                        path: file.path.clone(),
                        lba: file.lba,
                        byte_offset: u64::from(file.lba) * SECTOR_SIZE,
                        recorded_length: file.recorded_len,
                        content_length: file.content_len,
                        is_slot: file.is_slot,
                    }
                })
                .collect(),
            boot_catalog_lba: self.catalog_lba,
            boot_images: self
                .boot
                .iter()
                .flat_map(|b| &b.entries)
                .map(|(index, entry)| BootImageLayout {
                    image_path: self.files[*index].path.clone(),
                    platform: entry.platform,
                    lba: entry.load_lba,
                    sector_count: entry.sector_count,
                })
                .collect(),
        }
    }

    // ---- writing ---------------------------------------------------------------------

    fn extent_of(&self, target: Target, joliet: bool) -> (u32, u32) {
        match target {
            Target::Directory(d) => {
                let dir = &self.directories[d];
                if joliet {
                    (dir.joliet_lba, dir.joliet_size as u32)
                } else {
                    (dir.primary_lba, dir.primary_size as u32)
                }
            }
            Target::File(f) => (self.files[f].lba, self.files[f].recorded_len as u32),
        }
    }

    fn encode_record(&self, record: &RecordPlan, joliet: bool) -> Vec<u8> {
        let (lba, size) = self.extent_of(record.target, joliet);
        let mut system_use = record.system_use.clone();
        if let Some((offset, len)) = record.continuation {
            let block = self.continuation_lba + (offset / SECTOR_SIZE) as u32;
            system_use.extend(rock_ridge::ce(block, (offset % SECTOR_SIZE) as u32, len));
        }
        directory_record::encode(&record.identifier, lba, size, record.flags, self.options.timestamp, &system_use)
    }

    fn encode_directory(&self, index: usize, joliet: bool) -> Vec<u8> {
        let dir = &self.directories[index];
        let (records, size) =
            if joliet { (&dir.joliet_records, dir.joliet_size) } else { (&dir.primary_records, dir.primary_size) };
        let mut out = vec![0u8; size as usize];
        for record in records {
            let bytes = self.encode_record(record, joliet);
            let start = record.offset as usize;
            out[start..start + bytes.len()].copy_from_slice(&bytes);
        }
        out
    }

    fn root_record(&self, joliet: bool) -> Vec<u8> {
        let (lba, size) = self.extent_of(Target::Directory(0), joliet);
        directory_record::encode(&[0], lba, size, FLAG_DIRECTORY, self.options.timestamp, &[])
    }

    fn path_table(&self, joliet: bool, order: ByteOrder) -> Vec<u8> {
        let dirs = if joliet { &self.joliet_order } else { &self.primary_order };
        let entries: Vec<PathTableEntry<'_>> = dirs
            .iter()
            .map(|&d| {
                let dir = &self.directories[d];
                let parent = &self.directories[dir.parent];
                let (identifier, lba, parent_number): (&[u8], u32, u16) = if joliet {
                    (&dir.joliet_identifier, dir.joliet_lba, parent.joliet_number)
                } else {
                    (&dir.iso_identifier, dir.primary_lba, parent.primary_number)
                };
                PathTableEntry { identifier: if d == 0 { &[0] } else { identifier }, extent_lba: lba, parent_number }
            })
            .collect();
        path_table::encode(&entries, order)
    }

    fn volume_descriptor(&self, joliet: bool) -> Vec<u8> {
        let options = self.options;
        let root_record = self.root_record(joliet);
        let (path_table_size, l_lba, m_lba) = if joliet { self.joliet_path_table } else { self.primary_path_table };
        volume_descriptor::encode(&VolumeDescriptor {
            joliet,
            ids: VolumeIds {
                system: &options.system_id,
                volume: &options.volume_id,
                volume_set: &options.volume_set_id,
                publisher: &options.publisher_id,
                preparer: &options.preparer_id,
                application: &options.application_id,
            },
            volume_space_sectors: self.total_sectors,
            path_table_size,
            l_path_table_lba: l_lba,
            m_path_table_lba: m_lba,
            root_record: &root_record,
            time: options.timestamp,
        })
    }

    pub(crate) fn write<W: Write>(&self, out: W, system_area: &[u8]) -> Result<(), IsoError> {
        let mut out = CountingWriter::new(out);
        let check_position = |out: &CountingWriter<W>, lba: u32, what: &str| -> Result<(), IsoError> {
            if out.count == u64::from(lba) * SECTOR_SIZE {
                Ok(())
            } else {
                Err(IsoError::Internal(format!("{what} at byte {} instead of sector {lba}", out.count)))
            }
        };
        let pad_to_sector = |out: &mut CountingWriter<W>| -> Result<(), IsoError> {
            let used = out.count % SECTOR_SIZE;
            if used != 0 {
                source::write_zeros(out, SECTOR_SIZE - used)?;
            }
            Ok(())
        };

        out.write_all(system_area)?;
        source::write_zeros(&mut out, (super::SYSTEM_AREA_LEN - system_area.len()) as u64)?;
        check_position(&out, PRIMARY_VOLUME_DESCRIPTOR_LBA, "primary volume descriptor")?;
        out.write_all(&self.volume_descriptor(false))?;
        if let (Some(lba), Some(catalog)) = (self.boot_record_lba, self.catalog_lba) {
            check_position(&out, lba, "boot record")?;
            out.write_all(&volume_descriptor::encode_boot_record(catalog))?;
        }
        if let Some(lba) = self.joliet_descriptor_lba {
            check_position(&out, lba, "Joliet volume descriptor")?;
            out.write_all(&self.volume_descriptor(true))?;
        }
        check_position(&out, self.terminator_lba, "terminator")?;
        out.write_all(&volume_descriptor::encode_terminator())?;

        for joliet in [false, true] {
            if joliet && !self.options.joliet {
                continue;
            }
            let (_, l_lba, m_lba) = if joliet { self.joliet_path_table } else { self.primary_path_table };
            check_position(&out, l_lba, "L path table")?;
            out.write_all(&self.path_table(joliet, ByteOrder::Little))?;
            pad_to_sector(&mut out)?;
            check_position(&out, m_lba, "M path table")?;
            out.write_all(&self.path_table(joliet, ByteOrder::Big))?;
            pad_to_sector(&mut out)?;
        }

        if let (Some(lba), Some(boot)) = (self.catalog_lba, &self.boot) {
            check_position(&out, lba, "boot catalog")?;
            let entries: Vec<ResolvedEntry> = boot
                .entries
                .iter()
                .map(|(_, e)| ResolvedEntry {
                    platform: e.platform,
                    load_segment: e.load_segment,
                    sector_count: e.sector_count,
                    load_lba: e.load_lba,
                })
                .collect();
            out.write_all(&el_torito::encode_catalog(&entries))?;
        }

        for &index in &self.primary_order {
            check_position(&out, self.directories[index].primary_lba, "directory")?;
            out.write_all(&self.encode_directory(index, false))?;
        }
        if self.options.joliet {
            for &index in &self.joliet_order {
                check_position(&out, self.directories[index].joliet_lba, "Joliet directory")?;
                out.write_all(&self.encode_directory(index, true))?;
            }
        }
        check_position(&out, self.continuation_lba, "continuation areas")?;
        out.write_all(&self.continuation_pool)?;
        pad_to_sector(&mut out)?;

        for &index in &self.data_order {
            let file = &self.files[index];
            check_position(&out, file.lba, &file.path)?;
            self.write_file(file, &mut out)?;
            pad_to_sector(&mut out)?;
        }
        check_position(&out, self.data_end_lba, "end of data")?;
        source::write_zeros(&mut out, u64::from(self.options.padding_sectors) * SECTOR_SIZE)?;
        check_position(&out, self.total_sectors, "end of image")?;
        out.flush()?;
        Ok(())
    }

    fn write_file<W: Write>(&self, file: &FilePlan<'_>, out: &mut CountingWriter<W>) -> Result<(), IsoError> {
        let Some(source) = file.source else { return Ok(()) };
        let source_error = |source| IsoError::Source { path: file.path.clone(), source };
        if file.boot_info_table {
            let mut image = source::read_source(source).map_err(source_error)?;
            el_torito::patch_boot_info_table(&mut image, PRIMARY_VOLUME_DESCRIPTOR_LBA, file.lba);
            out.write_all(&image)?;
        } else {
            source::copy_source(source, out).map_err(source_error)?;
        }
        source::write_fill(out, file.fill, file.recorded_len - file.content_len)?;
        Ok(())
    }
}
