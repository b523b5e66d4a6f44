//! Writes the committed seed corpus (seeds/<target>/) with the project's own writers, so the
//! fuzzers start from real, well-formed inputs: XML-RPC calls and responses as our clients and
//! Python's send them, and small ISO 9660 / FAT / MBR / cpio / cramfs images shaped like boot
//! media. Run by fuzz/make-seeds.sh.

use bootmedium_formats::Timestamp;
use bootmedium_formats::cpio::{CpioWriter, EntryDefaults, gzip_encoder};
use bootmedium_formats::cramfs::{CramfsBuilder, Metadata};
use bootmedium_formats::fat::{FatBuilder, FatFileOptions, FatOptions};
use bootmedium_formats::iso9660::{BootEntry, ElTorito, FileOptions, IsoBuilder, IsoOptions};
use bootmedium_formats::mbr::{ChsFields, Mbr, Partition};
use bootmedium_xmlrpc::{Value, write_fault, write_method_call, write_response};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const TIME: Timestamp = Timestamp(1_700_000_000);
const PLNODE: &str = "NODE_ID=\"1\"\nNODE_KEY=\"k3y+/secret\"\nHOST_NAME=\"n1\"\nDOMAIN_NAME=\"example.org\"\n";
const CONFIG: &str = "SERIAL 0 115200\nPROMPT 0\nDEFAULT planetlab-bootcd\n\nLABEL planetlab-bootcd\n  \
                      KERNEL kernel\n  APPEND ramdisk_size=250000 initrd=bootcd.img,overlay.img \
                      root=/dev/ram0 rw console=ttyS0,115200n8\n";
const VERSION: &str = "PlanetLab BootCD 5.4\n";

fn marker(image_type: &str) -> String {
    format!(
        "{{\"made_by\":\"bootmedium\",\"family\":\"planetlab-f37-x86_64\",\"version\":\"5.4\",\
         \"variant\":null,\"image_type\":\"{image_type}\"}}\n"
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn strct(members: &[(&str, Value)]) -> Value {
    Value::Struct(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>())
}

fn xmlrpc_seeds(dir: &Path) -> Result<()> {
    let auth = strct(&[
        ("AuthMethod", "password".into()),
        ("Username", "admin@example.org".into()),
        ("AuthString", "secret".into()),
    ]);
    let filter = strct(&[
        ("~hostname", "*.example.org".into()),
        ("-SORT", Value::Array(vec!["-node_id".into(), "hostname".into()])),
        ("-LIMIT", Value::Int(10)),
        ("node_id", Value::Array(vec![Value::Int(1), Value::Int(2)])),
        ("boot_state", Value::Nil),
    ]);
    let calls = [
        ("get_nodes", write_method_call("GetNodes", &[auth.clone(), filter, Value::Array(vec!["hostname".into()])])),
        (
            "boot_medium",
            write_method_call(
                "GetBootMedium",
                &[
                    auth.clone(),
                    "n1.example.org".into(),
                    "node-iso".into(),
                    "".into(),
                    Value::Array(vec!["serial".into()]),
                ],
            ),
        ),
        (
            "multicall",
            write_method_call(
                "system.multicall",
                &[Value::Array(vec![
                    strct(&[("methodName", "AuthCheck".into()), ("params", Value::Array(vec![auth.clone()]))]),
                    strct(&[("methodName", "GetSites".into()), ("params", Value::Array(vec![auth, Value::Nil]))]),
                ])],
            ),
        ),
        (
            "response",
            write_response(&Value::Array(vec![strct(&[
                ("node_id", Value::Int(1)),
                ("hostname", "n1.example.org".into()),
                ("last_updated", Value::Int(1 << 40)),
                ("ratio", Value::Double(0.1)),
                ("ok", Value::Bool(true)),
                ("blob", Value::Base64(vec![0, 1, 2, 255])),
                ("when", Value::DateTime("20231114T22:13:20".into())),
            ])])),
        ),
        ("fault", write_fault(102, "Invalid argument: <bad> & \"worse\"\r\n")),
    ];
    for (name, text) in calls {
        write(dir, &format!("{name}.xml"), text.as_bytes())?;
    }
    // What other clients send: i4, untyped values, Apache's nil, entities, CDATA, whitespace.
    write(
        dir,
        "lenient.xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodCall>\n <methodName> AuthCheck </methodName>\n \
          <params><param><value><struct><member><name>AuthMethod</name><value>anonymous</value></member>\
          </struct></value></param>\n<param><value><i4>-7</i4></value></param>\
          <param><value><ex:nil/></value></param><param><value><string>&lt;&#x41;&#13;&amp;</string></value></param>\
          <param><value><string><![CDATA[a<b]]></string></value></param>\
          <param><value><array><data/></array></value></param><param><value><struct/></value></param>\
          <param><value><dateTime.iso8601>2023-11-14T22:13:20Z</dateTime.iso8601></value></param>\
          <param><value><double>-1.5e-7</double></value></param><param><value><boolean>0</boolean></value></param>\
          </params></methodCall>\n",
    )?;
    write(dir, "no_params.xml", b"<methodCall><methodName>system.listMethods</methodName></methodCall>")?;
    Ok(())
}

fn overlay() -> Result<Vec<u8>> {
    let defaults = EntryDefaults { uid: 0, gid: 0, mtime: 1_700_000_000 };
    let mut cpio = CpioWriter::new(gzip_encoder(Vec::new(), 9), defaults);
    cpio.directory("usr", 0o755)?;
    cpio.directory("usr/boot", 0o755)?;
    cpio.file_from_bytes("usr/boot/plnode.txt", 0o600, PLNODE.as_bytes())?;
    cpio.file_from_bytes("pl_version", 0o644, VERSION.as_bytes())?;
    cpio.symlink("usr/boot/link", "plnode.txt")?;
    Ok(cpio.finish()?.finish()?)
}

fn plain_cpio() -> Result<Vec<u8>> {
    let defaults = EntryDefaults { uid: 0, gid: 0, mtime: 1_700_000_000 };
    let mut cpio = CpioWriter::new(Vec::new(), defaults);
    cpio.directory("etc", 0o755)?;
    cpio.file_from_bytes("etc/hostname", 0o644, b"n1\n")?;
    cpio.fifo("etc/fifo", 0o600)?;
    Ok(cpio.finish()?)
}

fn cramfs() -> Result<Vec<u8>> {
    let mut builder = CramfsBuilder::new("Compressed", 0, Metadata::root(0o755));
    builder.add_file("usr/boot/plnode.txt", PLNODE.as_bytes().to_vec(), Metadata::root(0o600))?;
    builder.add_file("pl_version", VERSION.as_bytes().to_vec(), Metadata::root(0o644))?;
    let big: Vec<u8> = (0..9000u32).map(|i| (i % 251) as u8).collect();
    builder.add_file("bin/big", big, Metadata::root(0o755))?;
    builder.add_symlink("bin/sh", "big", Metadata::root(0o777))?;
    let mut out = Cursor::new(Vec::new());
    builder.write(&mut out)?;
    Ok(out.into_inner())
}

fn iso(files: &[(&str, Vec<u8>)], joliet: bool) -> Result<Vec<u8>> {
    let options = IsoOptions { padding_sectors: 0, joliet, ..IsoOptions::new("PLANETLAB_BOOTCD", TIME) };
    let mut builder = IsoBuilder::new(options)?;
    builder.add_file("isolinux.bin", vec![0xEBu8; 2048], FileOptions::default())?;
    for (path, bytes) in files {
        builder.add_file(path, bytes.clone(), FileOptions::default())?;
    }
    builder
        .set_boot(ElTorito { catalog_path: "boot.cat".into(), entries: vec![BootEntry::isolinux("isolinux.bin")] })?;
    let mut out = Vec::new();
    builder.write(&mut out)?;
    Ok(out)
}

fn fat(files: &[(&str, Vec<u8>)], hidden_sectors: u32) -> Result<Vec<u8>> {
    let mut options = FatOptions::new(64 * 1024, TIME);
    options.volume_label = Some("PLANETLAB".to_owned());
    options.volume_id = 0x1234_ABCD;
    options.hidden_sectors = hidden_sectors;
    let mut builder = FatBuilder::new(options)?;
    for (path, bytes) in files {
        builder.add_file(path, bytes.clone(), FatFileOptions::default())?;
    }
    builder.add_file("a long file name with spaces.txt", b"spaces\n".to_vec(), FatFileOptions::default())?;
    let mut out = Vec::new();
    builder.write(&mut out)?;
    Ok(out)
}

/// An MBR disk with the FAT volume as its first partition, at LBA 8 to keep the seed small.
fn partitioned(volume: &[u8]) -> Result<Vec<u8>> {
    const START: u32 = 8;
    let mut mbr = Mbr::new(&[0xFA; 64], 0xCAFE_F00D)?;
    mbr.partitions[0] = Some(Partition {
        bootable: true,
        partition_type: 0x06,
        start_lba: START,
        sector_count: u32::try_from(volume.len() / 512)?,
    });
    let mut out = mbr.encode(ChsFields::Geometry { heads: 64, sectors_per_track: 32 })?.to_vec();
    out.resize(START as usize * 512, 0);
    out.write_all(volume)?;
    Ok(out)
}

fn main() -> Result<()> {
    let seeds = Path::new("seeds");
    xmlrpc_seeds(&seeds.join("xmlrpc"))?;

    let overlay = overlay()?;
    let cramfs = cramfs()?;
    let split = [
        ("isolinux.cfg", CONFIG.as_bytes().to_vec()),
        ("pl_version", VERSION.as_bytes().to_vec()),
        ("overlay.img", overlay.clone()),
        ("bootmedium.json", marker("iso").into_bytes()),
        ("usr/isolinux/pl_version", b"nested\n".to_vec()),
    ];
    let merged = [
        ("syslinux.cfg", CONFIG.as_bytes().to_vec()),
        ("cramfs.img", cramfs.clone()),
        ("bootmedium.json", marker("usb_cramfs").into_bytes()),
    ];
    let iso_split = iso(&split, true)?;
    let iso_merged = iso(&merged, false)?;
    let usb = fat(&split, 0)?;
    let usb_merged = fat(&merged, 0)?;
    let usb_partition = partitioned(&fat(&split, 8)?)?;

    for target in ["readers", "inspect"] {
        let dir = seeds.join(target);
        write(&dir, "iso.img", &iso_split)?;
        write(&dir, "iso_cramfs.img", &iso_merged)?;
        write(&dir, "usb.img", &usb)?;
        write(&dir, "usb_cramfs.img", &usb_merged)?;
        write(&dir, "usb_partition.img", &usb_partition)?;
    }
    let readers = seeds.join("readers");
    write(&readers, "overlay.cpio.gz", &overlay)?;
    write(&readers, "plain.cpio", &plain_cpio()?)?;
    write(&readers, "cramfs.img", &cramfs)?;
    Ok(())
}
