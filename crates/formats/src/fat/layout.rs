//! The cluster plan (every file's clusters decided before writing) and the sequential writer.

use std::io::Write;

use super::boot_sector::{self, BACKUP_BOOT_SECTOR, BootSectorIds, FSINFO_SECTOR};
use super::directory::{self, ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_VOLUME_ID, ENTRY_LEN};
use super::params::{self, NUMBER_OF_FATS, VolumeParams};
use super::table::{self, Run};
use super::{
    ATTRIBUTE_HIDDEN, ATTRIBUTE_READ_ONLY, ATTRIBUTE_SYSTEM, FatBuilder, FatError, FatFileExtent, FatLayout,
    FatOptions, FatType, SECTOR_SIZE,
};
use crate::source::{self, CountingWriter, FileSource};
use crate::tree::{DirectoryNode, Node};

#[derive(Clone, Copy)]
enum Target {
    Directory(usize),
    File(usize),
}

struct EntryPlan {
    long_name: String,
    short_name: [u8; 11],
    needs_long_name: bool,
    target: Target,
}

struct DirectoryPlan {
    parent: usize,
    entries: Vec<EntryPlan>,
    first_cluster: u32,
    clusters: u32,
}

struct FilePlan<'a> {
    path: String,
    source: &'a dyn FileSource,
    content_len: u64,
    recorded_len: u64,
    fill: u8,
    is_slot: bool,
    attributes: u8,
    first_cluster: u32,
    clusters: u32,
}

pub(crate) struct Plan<'a> {
    options: &'a FatOptions,
    label: [u8; 11],
    params: VolumeParams,
    directories: Vec<DirectoryPlan>,
    files: Vec<FilePlan<'a>>,
    runs: Vec<Run>,
    used_clusters: u32,
    /// The lowest free cluster (`2 + cluster_count` when none is free).
    first_free: u32,
    /// File indices in cluster order: tree order, slots last.
    order: Vec<usize>,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(builder: &'a FatBuilder) -> Result<Self, FatError> {
        Self::with(&builder.options, builder.label, &builder.root)
    }

    pub(crate) fn with(options: &'a FatOptions, label: [u8; 11], root: &'a DirectoryNode) -> Result<Self, FatError> {
        let params = params::choose(options)?;
        let mut plan = Plan {
            options,
            label,
            params,
            directories: vec![DirectoryPlan { parent: 0, entries: Vec::new(), first_cluster: 0, clusters: 0 }],
            files: Vec::new(),
            runs: Vec::new(),
            used_clusters: 0,
            first_free: 2,
            order: Vec::new(),
        };
        plan.flatten(root, 0, "")?;
        plan.allocate()?;
        Ok(plan)
    }

    fn flatten(&mut self, node: &'a DirectoryNode, index: usize, prefix: &str) -> Result<(), FatError> {
        let names: Vec<&str> = node.children.keys().map(String::as_str).collect();
        let shorts = directory::assign_short_names(&names);
        for (name, short) in names.iter().zip(shorts) {
            let path = if prefix.is_empty() { (*name).to_owned() } else { format!("{prefix}/{name}") };
            let target = match node.children.get(*name) {
                Some(Node::Directory(child)) => {
                    let child_index = self.directories.len();
                    self.directories.push(DirectoryPlan {
                        parent: index,
                        entries: Vec::new(),
                        first_cluster: 0,
                        clusters: 0,
                    });
                    self.flatten(child, child_index, &path)?;
                    Target::Directory(child_index)
                }
                Some(Node::File(file)) => {
                    let content_len = file.source.len();
                    let (recorded_len, fill, is_slot) = match file.slot {
                        Some(slot) => (slot.size, slot.fill, true),
                        None => (content_len, 0, false),
                    };
                    if recorded_len > u64::from(u32::MAX) {
                        return Err(FatError::FileTooLarge { path, size: recorded_len });
                    }
                    let mut attributes = ATTR_ARCHIVE;
                    for (bit, attribute) in [
                        (ATTRIBUTE_READ_ONLY, directory::ATTR_READ_ONLY),
                        (ATTRIBUTE_HIDDEN, directory::ATTR_HIDDEN),
                        (ATTRIBUTE_SYSTEM, directory::ATTR_SYSTEM),
                    ] {
                        if file.permissions & bit != 0 {
                            attributes |= attribute;
                        }
                    }
                    self.files.push(FilePlan {
                        path,
                        source: file.source.as_ref(),
                        content_len,
                        recorded_len,
                        fill,
                        is_slot,
                        attributes,
                        first_cluster: 0,
                        clusters: 0,
                    });
                    Target::File(self.files.len() - 1)
                }
                None => continue,
            };
            self.directories[index].entries.push(EntryPlan {
                long_name: (*name).to_owned(),
                short_name: short.name,
                needs_long_name: short.needs_long_name,
                target,
            });
        }
        Ok(())
    }

    fn entry_count(&self, index: usize) -> u64 {
        let dir = &self.directories[index];
        let own = if index == 0 { u64::from(self.has_label()) } else { 2 };
        own + dir
            .entries
            .iter()
            .map(|e| 1 + if e.needs_long_name { directory::long_entry_count(&e.long_name) as u64 } else { 0 })
            .sum::<u64>()
    }

    fn has_label(&self) -> bool {
        &self.label != b"NO NAME    "
    }

    fn allocate(&mut self) -> Result<(), FatError> {
        let cluster_bytes = self.params.cluster_bytes();
        let fixed_root = self.params.fat_type != FatType::Fat32;
        if fixed_root {
            let needed = self.entry_count(0);
            if needed > u64::from(self.params.root_entries) {
                return Err(FatError::RootDirectoryFull { needed, available: u64::from(self.params.root_entries) });
            }
        }
        let mut next = 2u64;
        let mut runs = Vec::new();
        for index in 0..self.directories.len() {
            if index == 0 && fixed_root {
                continue;
            }
            let clusters = (self.entry_count(index) * ENTRY_LEN as u64).div_ceil(cluster_bytes).max(1);
            let dir = &mut self.directories[index];
            dir.first_cluster = next as u32;
            dir.clusters = clusters as u32;
            runs.push(Run { first: next as u32, count: clusters as u32 });
            next += clusters;
        }
        // Files in tree order, slots after all others (stable within each group).
        let mut order: Vec<usize> = (0..self.files.len()).collect();
        order.sort_by_key(|&index| self.files[index].is_slot);
        let slot_clusters: u64 =
            self.files.iter().filter(|f| f.is_slot).map(|f| f.recorded_len.div_ceil(cluster_bytes)).sum();
        // The slots take the highest clusters of the volume; the free clusters lie between
        // the other files and the slots, where a bootloader installer run afterwards puts its
        // files. Only the slots (and the sectors no cluster covers) then follow the first slot.
        let slots_start = (2 + u64::from(self.params.cluster_count)).saturating_sub(slot_clusters);
        let mut first_free = None;
        for &index in &order {
            let file = &mut self.files[index];
            if file.is_slot && first_free.is_none() {
                first_free = Some(next);
                next = next.max(slots_start);
            }
            let clusters = file.recorded_len.div_ceil(cluster_bytes);
            if clusters > 0 {
                file.first_cluster = u32::try_from(next).unwrap_or(u32::MAX);
                file.clusters = u32::try_from(clusters).unwrap_or(u32::MAX);
                runs.push(Run { first: file.first_cluster, count: file.clusters });
            }
            next += clusters;
        }
        let first_free = first_free.unwrap_or(next);
        let needed = first_free - 2 + slot_clusters;
        if needed > u64::from(self.params.cluster_count) {
            return Err(FatError::NoSpace { needed, available: u64::from(self.params.cluster_count) });
        }
        self.used_clusters = needed as u32;
        // Below 2 + cluster_count, which is a u32.
        self.first_free = first_free as u32;
        self.order = order;
        self.runs = runs;
        Ok(())
    }

    pub(crate) fn public_layout(&self) -> FatLayout {
        let params = &self.params;
        FatLayout {
            fat_type: params.fat_type,
            total_sectors: params.total_sectors,
            image_len: self.options.size_bytes,
            sectors_per_cluster: params.sectors_per_cluster,
            reserved_sectors: params.reserved_sectors,
            fat_sectors: params.fat_sectors,
            root_entries: params.root_entries,
            data_start_sector: params.data_sector(),
            cluster_count: params.cluster_count,
            free_clusters: params.cluster_count - self.used_clusters,
            files: self
                .order
                .iter()
                .map(|&index| &self.files[index])
                .map(|f| FatFileExtent {
                    path: f.path.clone(),
                    first_cluster: f.first_cluster,
                    byte_offset: if f.first_cluster >= 2 { params.cluster_offset(f.first_cluster) } else { 0 },
                    recorded_length: f.recorded_len,
                    content_length: f.content_len,
                    is_slot: f.is_slot,
                })
                .collect(),
        }
    }

    // ---- writing ---------------------------------------------------------------------

    fn encode_directory(&self, index: usize) -> Vec<u8> {
        let time = self.options.timestamp;
        let dir = &self.directories[index];
        let mut out = Vec::new();
        if index == 0 {
            if self.has_label() {
                out.extend_from_slice(&directory::short_entry(&self.label, ATTR_VOLUME_ID, 0, 0, time));
            }
        } else {
            let parent_cluster = if dir.parent == 0 { 0 } else { self.directories[dir.parent].first_cluster };
            out.extend_from_slice(&directory::short_entry(b".          ", ATTR_DIRECTORY, dir.first_cluster, 0, time));
            out.extend_from_slice(&directory::short_entry(b"..         ", ATTR_DIRECTORY, parent_cluster, 0, time));
        }
        for entry in &dir.entries {
            if entry.needs_long_name {
                for long in directory::long_entries(&entry.long_name, &entry.short_name) {
                    out.extend_from_slice(&long);
                }
            }
            let (attributes, cluster, size) = match entry.target {
                Target::Directory(d) => (ATTR_DIRECTORY, self.directories[d].first_cluster, 0),
                Target::File(f) => {
                    let file = &self.files[f];
                    (file.attributes, file.first_cluster, file.recorded_len as u32)
                }
            };
            out.extend_from_slice(&directory::short_entry(&entry.short_name, attributes, cluster, size, time));
        }
        let region = if index == 0 && self.params.fat_type != FatType::Fat32 {
            u64::from(self.params.root_sectors()) * SECTOR_SIZE
        } else {
            u64::from(dir.clusters) * self.params.cluster_bytes()
        };
        out.resize(region as usize, 0);
        out
    }

    pub(crate) fn write<W: Write>(&self, out: W) -> Result<(), FatError> {
        let params = &self.params;
        let mut out = CountingWriter::new(out);
        let check_position = |out: &CountingWriter<W>, sector: u64, what: &str| -> Result<(), FatError> {
            if out.count == sector * SECTOR_SIZE {
                Ok(())
            } else {
                Err(FatError::Internal(format!("{what} at byte {} instead of sector {sector}", out.count)))
            }
        };
        let boot = boot_sector::encode(
            params,
            &BootSectorIds {
                oem_name: &self.options.oem_name,
                volume_id: self.options.volume_id,
                volume_label: &self.label,
                hidden_sectors: self.options.hidden_sectors,
            },
        );
        out.write_all(&boot)?;
        if params.fat_type == FatType::Fat32 {
            let free = params.cluster_count - self.used_clusters;
            let next_free = if free > 0 { self.first_free } else { 0xFFFF_FFFF };
            let fsinfo = boot_sector::encode_fsinfo(free, next_free);
            check_position(&out, u64::from(FSINFO_SECTOR), "FSInfo")?;
            out.write_all(&fsinfo)?;
            source::write_zeros(&mut out, u64::from(BACKUP_BOOT_SECTOR - FSINFO_SECTOR - 1) * SECTOR_SIZE)?;
            check_position(&out, u64::from(BACKUP_BOOT_SECTOR), "backup boot sector")?;
            out.write_all(&boot)?;
            out.write_all(&fsinfo)?;
        }
        let reserved_end = u64::from(params.reserved_sectors) * SECTOR_SIZE;
        let reserved_left = reserved_end.saturating_sub(out.count);
        source::write_zeros(&mut out, reserved_left)?;
        for copy in 0..NUMBER_OF_FATS {
            check_position(&out, u64::from(params.first_fat_sector() + copy * params.fat_sectors), "FAT")?;
            table::write_table(&mut out, params.fat_type, params.media, &self.runs, params.fat_sectors)?;
        }
        check_position(&out, u64::from(params.root_sector()), "root directory")?;
        if params.fat_type != FatType::Fat32 {
            out.write_all(&self.encode_directory(0))?;
        }
        check_position(&out, u64::from(params.data_sector()), "data area")?;
        for index in 0..self.directories.len() {
            let dir = &self.directories[index];
            if dir.clusters == 0 {
                continue;
            }
            out.write_all(&self.encode_directory(index))?;
        }
        let cluster_bytes = params.cluster_bytes();
        for file in self.order.iter().map(|&index| &self.files[index]) {
            if file.clusters == 0 {
                continue;
            }
            // Free clusters (zeros) before the slots.
            let start = params.cluster_offset(file.first_cluster);
            if out.count > start {
                return Err(FatError::Internal(format!("{} at byte {} instead of its cluster", file.path, out.count)));
            }
            let gap = start - out.count;
            source::write_zeros(&mut out, gap)?;
            source::copy_source(file.source, &mut out)
                .map_err(|source| FatError::Source { path: file.path.clone(), source })?;
            source::write_fill(&mut out, file.fill, file.recorded_len - file.content_len)?;
            let allocated = u64::from(file.clusters) * cluster_bytes;
            source::write_zeros(&mut out, allocated - file.recorded_len)?;
        }
        let end = self.options.size_bytes;
        if out.count > end {
            return Err(FatError::Internal("data area overran the volume".to_owned()));
        }
        let tail = end - out.count;
        source::write_zeros(&mut out, tail)?;
        out.flush()?;
        Ok(())
    }
}
