//! Scans files or directories with the project pack (and optional user
//! rules) and prints one line per match.
//!
//! ```sh
//! cargo run -p tiaki-yara --example scan -- [-r RULES]... PATH...
//! ```

use tiaki_yara::{EvidenceWalker, ScanOptions, YaraRules};

fn main() {
    let mut builder = YaraRules::builder();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-r" {
            builder = builder.add_path(args.next().expect("-r needs a path"));
        } else {
            paths.push(arg);
        }
    }
    let rules = builder.build();
    for problem in rules.problems() {
        eprintln!("{problem}");
    }
    eprintln!(
        "{} rules loaded, {} files skipped",
        rules.rule_count(),
        rules.skipped_files()
    );

    let mut scanner = rules.scanner(ScanOptions::default());
    for path in EvidenceWalker::new(paths) {
        let path = match path {
            Ok(path) => path,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        match scanner.scan_file(&path) {
            Ok(scan) => {
                if let Some(reason) = scan.outcome.skip_reason() {
                    eprintln!("{}: skipped: {reason}", path.display());
                }
                for m in scan.outcome.matches() {
                    let first = m
                        .strings
                        .iter()
                        .flat_map(|s| {
                            s.matches.first().map(|l| {
                                format!("{}@{}={}", s.identifier, l.offset, l.data_escaped())
                            })
                        })
                        .next()
                        .unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{}",
                        path.display(),
                        m.rule,
                        m.level().unwrap_or("-"),
                        first
                    );
                }
            }
            Err(e) => eprintln!("{e}"),
        }
    }
    eprintln!("{:?}", scanner.stats());
}
