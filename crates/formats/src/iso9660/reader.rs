//! A minimal ISO 9660 reader for `inspect` and the tests: volume descriptors (ECMA-119 8),
//! directory records (9.1), Rock Ridge `SP`/`CE`/`NM`/`PX` (SUSP 1.12 5.1, 5.3; RRIP 1.12
//! 4.1.1, 4.1.4), Joliet names and the El Torito boot catalog. Single-extent files only.

use std::io::{Read, Seek, SeekFrom, Write};

use super::directory_record::{self, FLAG_DIRECTORY};
use super::el_torito::{self, CatalogEntry};
use super::fields::read_both_endian_u32;
use super::rock_ridge;
use super::volume_descriptor::{
    EL_TORITO_ID, ROOT_RECORD_OFFSET, STANDARD_IDENTIFIER, TYPE_BOOT_RECORD, TYPE_PRIMARY, TYPE_SUPPLEMENTARY,
    TYPE_TERMINATOR,
};
use super::{IsoError, PRIMARY_VOLUME_DESCRIPTOR_LBA, SECTOR_SIZE, SECTOR_SIZE_USIZE};
use crate::bounded::{PREALLOCATE_MAX, read_exact_len};

/// Which names to read and match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSpace {
    /// ISO 9660 identifiers, `;1` and a trailing `.` removed, matched case-insensitively.
    Iso9660,
    /// Rock Ridge `NM` names (falling back to ISO 9660 names where a record has none).
    RockRidge,
    /// The Joliet tree.
    Joliet,
}

/// One directory entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoEntry {
    /// The name in the requested name space.
    pub name: String,
    /// First sector of the extent.
    pub lba: u32,
    /// Data length recorded in the directory record.
    pub size: u32,
    /// Whether the record describes a directory.
    pub is_directory: bool,
    /// Rock Ridge `PX` mode, when present.
    pub mode: Option<u32>,
    /// Byte offset of the directory record in the image.
    pub record_offset: u64,
}

/// Reads an image through `Read + Seek`.
pub struct IsoReader<R: Read + Seek> {
    inner: R,
    volume_id: String,
    volume_sectors: u32,
    primary_root: IsoEntry,
    joliet_root: Option<IsoEntry>,
    rock_ridge: bool,
    boot_catalog_lba: Option<u32>,
}

fn root_entry(descriptor: &[u8], descriptor_lba: u32) -> Result<IsoEntry, IsoError> {
    let record = directory_record::decode(&descriptor[ROOT_RECORD_OFFSET..ROOT_RECORD_OFFSET + 34])
        .ok_or_else(|| IsoError::Malformed("empty root directory record".to_owned()))?
        .map_err(|e| IsoError::Malformed(e.to_owned()))?;
    Ok(IsoEntry {
        name: String::new(),
        lba: record.extent_lba,
        size: record.data_length,
        is_directory: true,
        mode: None,
        record_offset: u64::from(descriptor_lba) * SECTOR_SIZE + ROOT_RECORD_OFFSET as u64,
    })
}

impl<R: Read + Seek> IsoReader<R> {
    /// Reads the volume descriptors.
    pub fn open(mut inner: R) -> Result<Self, IsoError> {
        let mut primary = None;
        let mut joliet_root = None;
        let mut boot_catalog_lba = None;
        let mut sector = vec![0u8; SECTOR_SIZE_USIZE];
        for lba in PRIMARY_VOLUME_DESCRIPTOR_LBA..PRIMARY_VOLUME_DESCRIPTOR_LBA + 64 {
            inner.seek(SeekFrom::Start(u64::from(lba) * SECTOR_SIZE))?;
            inner.read_exact(&mut sector)?;
            if &sector[1..6] != STANDARD_IDENTIFIER {
                return Err(IsoError::Malformed(format!("sector {lba} is not a volume descriptor")));
            }
            match sector[0] {
                TYPE_PRIMARY => primary = Some((sector.clone(), lba)),
                TYPE_SUPPLEMENTARY if &sector[88..90] == b"%/" && b"@CE".contains(&sector[90]) => {
                    joliet_root = Some(root_entry(&sector, lba)?);
                }
                TYPE_BOOT_RECORD if sector[7..7 + EL_TORITO_ID.len()] == *EL_TORITO_ID => {
                    boot_catalog_lba =
                        Some(u32::from_le_bytes([sector[0x47], sector[0x48], sector[0x49], sector[0x4A]]));
                }
                TYPE_TERMINATOR => break,
                _ => {}
            }
        }
        let (pvd, pvd_lba) = primary.ok_or_else(|| IsoError::Malformed("no primary volume descriptor".to_owned()))?;
        let primary_root = root_entry(&pvd, pvd_lba)?;
        let volume_id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_owned();
        let volume_sectors = read_both_endian_u32(&pvd[80..88]).unwrap_or(0);
        let mut reader =
            Self { inner, volume_id, volume_sectors, primary_root, joliet_root, rock_ridge: false, boot_catalog_lba };
        // SUSP 5.3: Rock Ridge is present when the root's "." record starts with SP.
        let root = reader.read_extent_bytes(reader.primary_root.lba, reader.primary_root.size.min(2048))?;
        if let Some(Ok(dot)) = directory_record::decode(&root) {
            reader.rock_ridge =
                dot.system_use.len() >= 7 && &dot.system_use[..2] == b"SP" && dot.system_use[4..6] == [0xBE, 0xEF];
        }
        Ok(reader)
    }

    /// The primary volume identifier.
    pub fn volume_id(&self) -> &str {
        &self.volume_id
    }

    /// The volume space size in sectors.
    pub fn volume_sectors(&self) -> u32 {
        self.volume_sectors
    }

    /// Whether the image carries Rock Ridge entries.
    pub fn has_rock_ridge(&self) -> bool {
        self.rock_ridge
    }

    /// Whether the image has a Joliet tree.
    pub fn has_joliet(&self) -> bool {
        self.joliet_root.is_some()
    }

    /// The root directory of a name space's tree.
    pub fn root(&self, names: NameSpace) -> Result<IsoEntry, IsoError> {
        match names {
            NameSpace::Joliet => {
                self.joliet_root.clone().ok_or_else(|| IsoError::Malformed("no Joliet tree".to_owned()))
            }
            _ => Ok(self.primary_root.clone()),
        }
    }

    fn read_extent_bytes(&mut self, lba: u32, len: u32) -> Result<Vec<u8>, IsoError> {
        self.inner.seek(SeekFrom::Start(u64::from(lba) * SECTOR_SIZE))?;
        Ok(read_exact_len(&mut self.inner, u64::from(len))?)
    }

    /// The entries of a directory (without `.` and `..`).
    pub fn read_dir(&mut self, dir: &IsoEntry, names: NameSpace) -> Result<Vec<IsoEntry>, IsoError> {
        if !dir.is_directory {
            return Err(IsoError::Malformed(format!("{:?} is not a directory", dir.name)));
        }
        let extent = self.read_extent_bytes(dir.lba, dir.size)?;
        let mut out = Vec::new();
        let mut position = 0usize;
        while position < extent.len() {
            let Some(decoded) = directory_record::decode(&extent[position..]) else {
                // Zero length: the rest of this sector is unused.
                position = (position / SECTOR_SIZE_USIZE + 1) * SECTOR_SIZE_USIZE;
                continue;
            };
            let record = decoded.map_err(|e| IsoError::Malformed(e.to_owned()))?;
            let record_len = extent[position] as usize;
            let record_offset = u64::from(dir.lba) * SECTOR_SIZE + position as u64;
            position += record_len;
            if record.identifier == [0] || record.identifier == [1] {
                continue;
            }
            let (rock_ridge_name, mode) = if self.rock_ridge && names != NameSpace::Joliet {
                self.rock_ridge_fields(record.system_use)?
            } else {
                (None, None)
            };
            let name = match names {
                NameSpace::Joliet => {
                    let units: Vec<u16> =
                        record.identifier.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                    let text = String::from_utf16_lossy(&units);
                    text.strip_suffix(";1").map(str::to_owned).unwrap_or(text)
                }
                NameSpace::RockRidge if rock_ridge_name.is_some() => rock_ridge_name.unwrap_or_default(),
                _ => iso_display_name(record.identifier),
            };
            out.push(IsoEntry {
                name,
                lba: record.extent_lba,
                size: record.data_length,
                is_directory: record.flags & FLAG_DIRECTORY != 0,
                mode,
                record_offset,
            });
        }
        Ok(out)
    }

    /// The Rock Ridge name and mode of a record, following `CE` continuation areas.
    fn rock_ridge_fields(&mut self, system_use: &[u8]) -> Result<(Option<String>, Option<u32>), IsoError> {
        let mut areas = vec![system_use.to_vec()];
        let mut name: Option<Vec<u8>> = None;
        let mut mode = None;
        let mut followed = 0;
        while let Some(area) = areas.pop() {
            for entry in rock_ridge::parse_entries(&area) {
                match &entry.signature {
                    // Flags bits 1 and 2 mark "." and ".."; bit 0 continues the name.
                    b"NM" if !entry.body.is_empty() && entry.body[0] & 0x06 == 0 => {
                        name.get_or_insert_with(Vec::new).extend_from_slice(&entry.body[1..]);
                    }
                    b"PX" => mode = read_both_endian_u32(entry.body),
                    b"CE" if entry.body.len() >= 24 && followed < 16 => {
                        followed += 1;
                        let block = read_both_endian_u32(&entry.body[0..8]).unwrap_or(0);
                        let offset = read_both_endian_u32(&entry.body[8..16]).unwrap_or(0);
                        let len = read_both_endian_u32(&entry.body[16..24]).unwrap_or(0).min(SECTOR_SIZE as u32);
                        self.inner.seek(SeekFrom::Start(u64::from(block) * SECTOR_SIZE + u64::from(offset)))?;
                        let mut continuation = vec![0u8; len as usize];
                        self.inner.read_exact(&mut continuation)?;
                        areas.push(continuation);
                    }
                    b"ST" => break,
                    _ => {}
                }
            }
        }
        Ok((name.map(|n| String::from_utf8_lossy(&n).into_owned()), mode))
    }

    /// Finds `path` (components separated by `/`) in a name space.
    pub fn lookup(&mut self, path: &str, names: NameSpace) -> Result<Option<IsoEntry>, IsoError> {
        let mut current = self.root(names)?;
        for component in path.split('/').filter(|c| !c.is_empty()) {
            if !current.is_directory {
                return Ok(None);
            }
            let entries = self.read_dir(&current, names)?;
            let found = entries.into_iter().find(|e| match names {
                NameSpace::Iso9660 => e.name.eq_ignore_ascii_case(component),
                _ => e.name == component,
            });
            match found {
                Some(entry) => current = entry,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// Streams a file's extent (its recorded size) to `out`.
    pub fn read_file(&mut self, entry: &IsoEntry, out: &mut dyn Write) -> Result<(), IsoError> {
        self.inner.seek(SeekFrom::Start(u64::from(entry.lba) * SECTOR_SIZE))?;
        let copied = std::io::copy(&mut (&mut self.inner).take(u64::from(entry.size)), out)?;
        if copied != u64::from(entry.size) {
            return Err(IsoError::Malformed(format!("extent of {:?} runs past the end of the image", entry.name)));
        }
        Ok(())
    }

    /// Reads a whole file into memory.
    pub fn read_file_to_vec(&mut self, entry: &IsoEntry) -> Result<Vec<u8>, IsoError> {
        let mut out = Vec::with_capacity((entry.size as usize).min(PREALLOCATE_MAX));
        self.read_file(entry, &mut out)?;
        Ok(out)
    }

    /// The El Torito boot catalog's sector, if the image is bootable.
    pub fn boot_catalog_lba(&self) -> Option<u32> {
        self.boot_catalog_lba
    }

    /// The boot catalog's entries (default entry first), if the image is bootable.
    pub fn boot_catalog(&mut self) -> Result<Option<Vec<CatalogEntry>>, IsoError> {
        let Some(lba) = self.boot_catalog_lba else { return Ok(None) };
        let sector = self.read_extent_bytes(lba, SECTOR_SIZE as u32)?;
        el_torito::decode_catalog(&sector)
            .map(Some)
            .ok_or_else(|| IsoError::Malformed("invalid boot catalog validation entry".to_owned()))
    }
}

/// An ISO 9660 identifier without its version and without the empty extension's dot.
fn iso_display_name(identifier: &[u8]) -> String {
    let text = String::from_utf8_lossy(identifier);
    let base = text.split(';').next().unwrap_or_default();
    base.strip_suffix('.').unwrap_or(base).to_owned()
}
