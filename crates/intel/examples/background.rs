//! Writes the token document frequencies of a STIX bundle's intrusion sets as JSON — the
//! [`Background`] a small knowledge base borrows its notion of specificity from.
//!
//! `cargo run -p tiaki-intel --example background -- ../shared/data/attack/enterprise-attack.json
//!  "MITRE ATT&CK Enterprise v18.1" > intel/attack-background.json`

use tiaki_intel::KnowledgeBase;
use tiaki_intel::attribution::features::Background;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(source)) = (args.next(), args.next()) else {
        eprintln!("usage: background BUNDLE.json SOURCE-NAME");
        std::process::exit(2);
    };
    let kb = KnowledgeBase::from_bundle_file(&path).expect("a readable STIX bundle");
    let b = Background::of_knowledge_base(&kb, &source);
    println!(
        "{}",
        serde_json::to_string_pretty(&b).expect("serializable")
    );
}
