//! Embeds the project's YARA rule pack (`rules/yara/*.yar` at the repository
//! root) into the crate: writes `$OUT_DIR/pack.rs`, a table of file names
//! and `include_str!` of each file, so a new rule file is picked up without
//! editing the code.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let pack_dir = manifest.join("../../rules/yara");
    println!("cargo:rerun-if-changed={}", pack_dir.display());

    let mut files: Vec<PathBuf> = std::fs::read_dir(&pack_dir)
        .unwrap_or_else(|e| panic!("cannot read the rule pack {}: {e}", pack_dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
        })
        .collect();
    files.sort();

    let mut out = String::from("pub(crate) static PACK: &[PackFile] = &[\n");
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 rule file name");
        let abs = file.canonicalize().expect("canonical rule file path");
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(
            out,
            "    PackFile {{ name: {name:?}, source: include_str!({:?}) }},",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("pack.rs"), out).expect("write pack.rs");
}
