//! Pure writers (and the readers that `inspect` and the tests need) of the on-disk formats a
//! boot medium is made of: newc cpio (+ gzip), ISO 9660 with El Torito, Rock Ridge and Joliet,
//! FAT12/16/32, the MBR partition table, and cramfs.
//!
//! Everything here works on `std::io::{Read, Write, Seek}` only: no clock (every timestamp comes
//! from the caller), no external processes, no async. The same inputs always give the same
//! bytes, which is what lets the media layer build a template once and splice per-node bytes
//! into fixed-size *slots* whose offsets the writers report up front.
//!
//! One module per on-disk structure; each module's documentation names the specification
//! sections it implements.
#![forbid(unsafe_code)]

mod bounded;
pub mod cpio;
pub mod cramfs;
pub mod fat;
pub mod iso9660;
pub mod mbr;
pub mod source;
pub mod timestamp;
mod tree;

pub use source::{FileSource, PathSource, Slot};
pub use timestamp::Timestamp;
