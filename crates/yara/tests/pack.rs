//! The project rule pack against sample shells and benign files: which rules
//! fire on which file, exactly; plus loading problems, the size cap, and
//! read-only scanning.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use tiaki_yara::{EvidenceWalker, ProblemKind, ScanOptions, ScanOutcome, SkipReason, YaraRules};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples");

/// Expected pack rules per sample file (relative to the temp evidence dir).
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "shells/chopper_item.aspx",
        &["tiaki_webshell_aspx_chopper_eval"],
    ),
    (
        "shells/chopper_form.aspx",
        &["tiaki_webshell_aspx_chopper_eval"],
    ),
    (
        "shells/chopper_index.aspx",
        &["tiaki_webshell_aspx_chopper_eval"],
    ),
    (
        "shells/chopper_classic.asp",
        &["tiaki_webshell_aspx_chopper_eval"],
    ),
    (
        "shells/assembly_load_b64.aspx",
        &["tiaki_webshell_aspx_assembly_load_request"],
    ),
    (
        "shells/behinder_style.aspx",
        &["tiaki_webshell_aspx_aes_assembly_load"],
    ),
    (
        "shells/godzilla_style.aspx",
        &["tiaki_webshell_aspx_aes_assembly_load"],
    ),
    (
        "shells/cmd_process.aspx",
        &["tiaki_webshell_aspx_process_start_request"],
    ),
    (
        "shells/cmd_runtime.jsp",
        &["tiaki_webshell_jsp_cmd_exec_request"],
    ),
    (
        "shells/cmd_processbuilder.jspx",
        &["tiaki_webshell_jsp_cmd_exec_request"],
    ),
    (
        "shells/behinder_style.jsp",
        &["tiaki_webshell_jsp_aes_classloader"],
    ),
    (
        "shells/godzilla_style.jsp",
        &["tiaki_webshell_jsp_aes_classloader"],
    ),
    (
        "shells/memshell_filter.jsp",
        &["tiaki_webshell_tomcat_memshell_inject"],
    ),
    (
        "shells/ValveShell.java",
        &["tiaki_webshell_tomcat_memshell_inject"],
    ),
    (
        "shells/Index_jsp.class",
        &["tiaki_webshell_jsp_class_cmd_exec"],
    ),
    (
        "shells/Nova_jsp$TomcatListenerMemShellFromThread.class",
        &[
            "tiaki_webshell_jsp_class_cmd_exec",
            "tiaki_webshell_tomcat_memshell_inject",
            "tiaki_webshell_tomcat_memshell_template_name",
        ],
    ),
    ("shells/eval_post.php", &["tiaki_webshell_php_eval_request"]),
    (
        "shells/assert_request.php",
        &["tiaki_webshell_php_eval_request"],
    ),
    (
        "shells/variable_call.php",
        &["tiaki_webshell_php_eval_request"],
    ),
];

/// A minimal Java class file: magic, version, then the given strings as
/// CONSTANT_Utf8 entries (what the rules look at).
fn class_file(strings: &[&str]) -> Vec<u8> {
    let mut out = vec![0xCA, 0xFE, 0xBA, 0xBE, 0x00, 0x00, 0x00, 0x34];
    out.extend_from_slice(&(strings.len() as u16 + 1).to_be_bytes());
    for s in strings {
        out.push(1);
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&[0x00, 0x21, 0x00, 0x01, 0x00, 0x02]);
    out
}

/// Copies the samples into a fresh directory and adds the generated class files.
fn evidence() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["shells", "benign"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in fs::read_dir(Path::new(SAMPLES).join(sub)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    let shells = dir.path().join("shells");
    fs::write(
        shells.join("Index_jsp.class"),
        class_file(&[
            "org/apache/jsp/Index_jsp",
            "org/apache/jasper/runtime/HttpJspBase",
            "javax/servlet/http/HttpServletRequest",
            "getParameter",
            "java/lang/Runtime",
            "getRuntime",
            "exec",
            "java/io/InputStream",
        ]),
    )
    .unwrap();
    fs::write(
        shells.join("Nova_jsp$TomcatListenerMemShellFromThread.class"),
        class_file(&[
            "org/apache/jsp/Nova_jsp$TomcatListenerMemShellFromThread",
            "javax/servlet/ServletRequestListener",
            "org/apache/catalina/loader/WebappClassLoaderBase",
            "org/apache/catalina/core/StandardContext",
            "addApplicationEventListener",
            "getParameter",
            "java/lang/Runtime",
            "getRuntime",
            "exec",
        ]),
    )
    .unwrap();
    // A compiled status page: reads parameters and asks the Runtime for
    // memory figures, but executes nothing.
    fs::write(
        dir.path().join("benign/status_jsp.class"),
        class_file(&[
            "org/apache/jsp/status_jsp",
            "javax/servlet/http/HttpServletRequest",
            "getParameter",
            "java/lang/Runtime",
            "getRuntime",
            "totalMemory",
            "freeMemory",
        ]),
    )
    .unwrap();
    dir
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// Scans everything under `root` with `rules`; file -> matching rule names.
fn scan_tree(rules: &YaraRules, root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut scanner = rules.scanner(ScanOptions::default());
    let mut hits = BTreeMap::new();
    for path in EvidenceWalker::new([root]) {
        let path = path.unwrap();
        let scan = scanner.scan_file(&path).unwrap();
        let ScanOutcome::Scanned(matches) = scan.outcome else {
            panic!("{} skipped", path.display())
        };
        if !matches.is_empty() {
            hits.insert(
                relative(root, &path),
                matches.into_iter().map(|m| m.rule).collect(),
            );
        }
    }
    hits
}

#[test]
fn pack_rules_fire_exactly_on_the_expected_samples() {
    let dir = evidence();
    let rules = YaraRules::project_pack_only();
    assert!(rules.problems().is_empty(), "{:#?}", rules.problems());

    let hits = scan_tree(&rules, dir.path());
    let expected: BTreeMap<String, BTreeSet<String>> = EXPECTED
        .iter()
        .map(|(file, names)| {
            (
                file.to_string(),
                names.iter().map(|n| n.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        hits, expected,
        "rules per file (left: actual, right: expected)"
    );

    // Every rule of the pack fires on at least one sample.
    let fired: BTreeSet<&str> = expected.values().flatten().map(String::as_str).collect();
    let all: BTreeSet<&str> = rules.yara_rules().iter().map(|r| r.identifier()).collect();
    assert_eq!(fired, all, "pack rules without a sample");

    // Every shell sample on disk is listed (and so is detected).
    let shells = fs::read_dir(dir.path().join("shells")).unwrap().count();
    assert_eq!(shells, EXPECTED.len());
}

#[test]
fn match_reports_metadata_and_the_bytes_that_fired() {
    let rules = YaraRules::project_pack_only();
    let mut scanner = rules.scanner(ScanOptions::default());
    let text = br#"<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>"#;
    let outcome = scanner.scan_bytes(text).unwrap();
    let [m] = outcome.matches() else {
        panic!("{outcome:?}")
    };
    assert_eq!(m.rule, "tiaki_webshell_aspx_chopper_eval");
    assert_eq!(m.namespace, "tiaki:webshell_aspx.yar");
    assert_eq!(m.tags, ["webshell", "aspx"]);
    assert_eq!(m.author(), Some("tiaki project"));
    assert_eq!(m.level(), Some("critical"));
    assert_eq!(m.intrusion_set(), Some("APT40"));
    assert_eq!(m.attack_techniques(), ["T1505.003"]);
    assert!(m.reference().unwrap().starts_with("https://"));
    assert!(m.description().unwrap().contains("China Chopper"));
    let eval = m
        .strings
        .iter()
        .find(|s| s.identifier == "$eval_request")
        .unwrap();
    assert_eq!(eval.count, 1);
    assert_eq!(eval.matches[0].offset, 31);
    assert_eq!(eval.matches[0].data, b"eval(Request.Item[");
    let tag = m
        .strings
        .iter()
        .find(|s| s.identifier == "$server_tag")
        .unwrap();
    assert_eq!((tag.count, tag.matches[0].offset), (2, 0));
}

#[test]
fn utf16_chopper_page_is_detected() {
    let rules = YaraRules::project_pack_only();
    let mut scanner = rules.scanner(ScanOptions::default());
    let text = r#"<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>"#;
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let outcome = scanner.scan_bytes(&utf16).unwrap();
    let names: Vec<&str> = outcome.matches().iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(names, ["tiaki_webshell_aspx_chopper_eval"]);
}

#[test]
fn broken_user_rule_file_is_reported_and_the_rest_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let rules_dir = dir.path().join("rules");
    fs::create_dir_all(rules_dir.join("nested")).unwrap();
    fs::write(
        rules_dir.join("good.yar"),
        "rule user_marker : custom {\n  meta:\n    mitre_attack = \"T1505.003\"\n    severity = \"medium\"\n  strings:\n    $m = \"TIAKI-TEST-MARKER\"\n  condition:\n    $m\n}\n",
    )
    .unwrap();
    // Same rule name as in good.yar: allowed, each file is its own namespace.
    fs::write(
        rules_dir.join("nested/same_name.yara"),
        "rule user_marker { strings: $m = \"OTHER\" condition: $m }\n",
    )
    .unwrap();
    fs::write(rules_dir.join("broken.yar"), "rule ok_but_skipped { condition: true }\n\nrule broken {\n  strings:\n    $a = \"x\"\n  condition:\n    $a and\n}\n").unwrap();
    fs::write(rules_dir.join("notes.txt"), "not a rule file").unwrap();

    fs::create_dir(dir.path().join("empty")).unwrap();
    let rules = YaraRules::builder()
        .add_path(&rules_dir)
        .add_path(dir.path().join("missing.yar"))
        .add_path(dir.path().join("empty"))
        .build();
    let empty = rules
        .problems()
        .iter()
        .find(|p| p.origin.ends_with("empty"))
        .unwrap();
    assert_eq!(empty.kind, ProblemKind::Warning);

    assert_eq!(rules.skipped_files(), 2, "{:#?}", rules.problems());
    let broken = rules
        .problems()
        .iter()
        .find(|p| p.origin.ends_with("broken.yar"))
        .unwrap();
    assert_eq!(broken.kind, ProblemKind::CompileError);
    assert_eq!(broken.line, Some(8), "{broken}");
    assert!(broken.to_string().contains("broken.yar:8:"), "{broken}");
    let missing = rules
        .problems()
        .iter()
        .find(|p| p.origin.ends_with("missing.yar"))
        .unwrap();
    assert_eq!(missing.kind, ProblemKind::Unreadable);

    let pack_rules = YaraRules::project_pack_only().rule_count();
    assert_eq!(
        rules.rule_count(),
        pack_rules + 2,
        "pack + good.yar + same_name.yara; broken.yar skipped whole"
    );
    let origins: Vec<String> = rules.files().iter().map(|f| f.origin.clone()).collect();
    assert!(origins.iter().any(|o| o.ends_with("good.yar")));
    assert!(origins.iter().any(|o| o.ends_with("same_name.yara")));
    assert!(
        !origins
            .iter()
            .any(|o| o.ends_with("broken.yar") || o.ends_with("notes.txt"))
    );

    // User rules and the pack both work.
    let mut scanner = rules.scanner(ScanOptions::default());
    let outcome = scanner
        .scan_bytes(b"log line TIAKI-TEST-MARKER <?php eval($_POST['a']); ?>")
        .unwrap();
    let names: BTreeSet<&str> = outcome.matches().iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["user_marker", "tiaki_webshell_php_eval_request"])
    );
    let user = outcome
        .matches()
        .iter()
        .find(|m| m.rule == "user_marker")
        .unwrap();
    assert!(user.namespace.ends_with("good.yar"));
    assert_eq!(user.attack_techniques(), ["T1505.003"]);
    assert_eq!(user.level(), Some("medium"));
}

#[test]
fn oversized_file_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.aspx");
    let mut data =
        br#"<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>"#.to_vec();
    data.resize(4096, b' ');
    fs::write(&big, &data).unwrap();
    let small = dir.path().join("small.aspx");
    fs::write(&small, &data[..200]).unwrap();

    let rules = YaraRules::project_pack_only();
    let mut scanner = rules.scanner(ScanOptions {
        max_file_size: 1024,
        ..Default::default()
    });
    let scan = scanner.scan_file(&big).unwrap();
    assert_eq!(
        scan.outcome,
        ScanOutcome::Skipped(SkipReason::TooLarge {
            size: 4096,
            limit: 1024
        })
    );
    assert_eq!(
        scan.outcome.skip_reason().unwrap().to_string(),
        "too large (4096 bytes, limit 1024)"
    );
    assert_eq!(
        scanner.scan_file(&small).unwrap().outcome.matches().len(),
        1
    );
    let stats = scanner.stats();
    assert_eq!(
        (stats.scanned, stats.skipped_too_large, stats.with_matches),
        (1, 1, 1)
    );

    // A directory or a missing path is not a crash.
    assert_eq!(
        scanner.scan_file(dir.path()).unwrap().outcome,
        ScanOutcome::Skipped(SkipReason::NotAFile)
    );
    assert!(scanner.scan_file(dir.path().join("absent")).is_err());
    assert_eq!(
        (scanner.stats().skipped_not_a_file, scanner.stats().errors),
        (1, 1)
    );
}

#[test]
fn scanning_leaves_the_evidence_unchanged() {
    let dir = evidence();
    let snapshot = |root: &Path| -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime, bool)> {
        EvidenceWalker::new([root])
            .map(|p| {
                let p = p.unwrap();
                let meta = fs::metadata(&p).unwrap();
                (
                    p.clone(),
                    fs::read(&p).unwrap(),
                    meta.modified().unwrap(),
                    meta.permissions().readonly(),
                )
            })
            .collect()
    };
    let before = snapshot(dir.path());
    let hits = scan_tree(&YaraRules::project_pack_only(), dir.path());
    assert!(!hits.is_empty());
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn one_rule_set_scans_from_several_threads() {
    let dir = evidence();
    let rules = YaraRules::project_pack_only();
    let files: Vec<PathBuf> = EvidenceWalker::new([dir.path()])
        .map(Result::unwrap)
        .collect();
    let (left, right) = files.split_at(files.len() / 2);
    let results: Vec<(usize, tiaki_yara::ScanStats)> = std::thread::scope(|s| {
        let workers: Vec<_> = [left, right]
            .into_iter()
            .map(|part| {
                let rules = &rules;
                s.spawn(move || {
                    let mut scanner = rules.scanner(ScanOptions::default());
                    let hits = part
                        .iter()
                        .filter(|p| !scanner.scan_file(p).unwrap().outcome.matches().is_empty())
                        .count();
                    (hits, scanner.stats().clone())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut total = tiaki_yara::ScanStats::default();
    for (_, stats) in &results {
        total.merge(stats);
    }
    assert_eq!(
        results.iter().map(|(h, _)| h).sum::<usize>(),
        EXPECTED.len()
    );
    assert_eq!(total.scanned as usize, files.len());
    assert_eq!(total.with_matches as usize, EXPECTED.len());
}
