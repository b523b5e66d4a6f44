//! The in-memory description of a file tree shared by the ISO 9660 and FAT writers: names,
//! directories, and per-file sources and slots (never file contents).

use std::collections::BTreeMap;

use crate::source::{FileSource, Slot};

pub(crate) enum Node {
    Directory(DirectoryNode),
    File(FileNode),
}

pub(crate) struct DirectoryNode {
    pub(crate) permissions: u32,
    /// Sorted by name: the writers' layouts follow this order, which makes them deterministic.
    pub(crate) children: BTreeMap<String, Node>,
}

pub(crate) struct FileNode {
    pub(crate) source: Box<dyn FileSource>,
    pub(crate) permissions: u32,
    pub(crate) slot: Option<Slot>,
}

impl FileNode {
    /// The size the file occupies and records: the slot size for slots.
    pub(crate) fn recorded_len(&self) -> u64 {
        self.slot.map_or(self.source.len(), |s| s.size)
    }
}

/// Why an insertion failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TreeError {
    AlreadyExists,
    NotADirectory,
}

impl DirectoryNode {
    pub(crate) fn new(permissions: u32) -> Self {
        Self { permissions, children: BTreeMap::new() }
    }

    /// Walks down `components`, creating missing directories with `default_permissions`.
    pub(crate) fn ensure_directory(
        &mut self,
        components: &[&str],
        default_permissions: u32,
    ) -> Result<&mut DirectoryNode, TreeError> {
        let mut dir = self;
        for name in components {
            let node = dir
                .children
                .entry((*name).to_owned())
                .or_insert_with(|| Node::Directory(DirectoryNode::new(default_permissions)));
            dir = match node {
                Node::Directory(d) => d,
                Node::File(_) => return Err(TreeError::NotADirectory),
            };
        }
        Ok(dir)
    }

    /// Inserts a file at `components` (the last one is its name), creating parents.
    pub(crate) fn insert_file(
        &mut self,
        components: &[&str],
        file: FileNode,
        default_permissions: u32,
    ) -> Result<(), TreeError> {
        let Some((name, parents)) = components.split_last() else {
            return Err(TreeError::AlreadyExists);
        };
        let dir = self.ensure_directory(parents, default_permissions)?;
        if dir.children.contains_key(*name) {
            return Err(TreeError::AlreadyExists);
        }
        dir.children.insert((*name).to_owned(), Node::File(file));
        Ok(())
    }
}
