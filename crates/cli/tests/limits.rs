//! Hostile inputs through the real binary, and `--limit` making the bounds configurable:
//! an alias-bomb rule is refused on its own, a JSON line nested 10,000 deep and a 20 MB
//! line are skipped with their reason while the lines after them are read.

mod common;

use std::io::Write;

use common::*;

/// Nine levels of nine aliases: 9^9 nodes if expanded.
fn billion_laughs() -> String {
    let mut s = String::from("title: lol\nlogsource: {product: windows}\na0: &a0 [\"lol\"]\n");
    for i in 1..=9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s.push_str("detection:\n  sel:\n    EventID: 4771\n  condition: sel\n");
    s
}

const GOOD_RULE: &str = "title: Kerberos pre-authentication failed
id: 7f6a3c5e-1b2d-4e8f-9a0b-1c2d3e4f5a6b
level: medium
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4771
  condition: sel
";

fn rules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bomb.yml"), billion_laughs()).unwrap();
    std::fs::write(dir.path().join("good.yml"), GOOD_RULE).unwrap();
    dir
}

#[test]
fn alias_bomb_rule_is_refused_and_other_rules_load() {
    let rules = rules_dir();
    let started = std::time::Instant::now();
    let o = tiaki(["rules".as_ref(), "check".as_ref(), rules.path().as_os_str()]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_code(&o, 1);
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(text.contains("bomb.yml"), "{text}");
    assert!(text.contains("max_yaml_nodes"), "{text}");
    assert!(text.contains("1 rules loaded, 1 rejected"), "{text}");

    // The hunt runs with the other rule.
    let evtx = samples("Credential Access/kerberos_pwd_spray_4771.evtx");
    let o = tiaki([
        "hunt".as_ref(),
        evtx.as_os_str(),
        "-r".as_ref(),
        rules.path().as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    assert_code(&o, 0);
    assert_eq!(jsonl(&o).len(), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 rule documents refused"),
        "{}",
        stderr(&o)
    );

    // A higher limit lets the (huge) document through to the node limit... and a low alias
    // limit names that limit instead: the bounds are configurable.
    let o = tiaki([
        "rules".as_ref(),
        "check".as_ref(),
        rules.path().as_os_str(),
        "--limit".as_ref(),
        "max_yaml_aliases=5".as_ref(),
    ]);
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(text.contains("max_yaml_aliases"), "{text}");
}

#[test]
fn deep_json_and_huge_lines_are_skipped_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{{\"n\": 1}}").unwrap();
    writeln!(
        f,
        "{{\"deep\": {}0{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    )
    .unwrap();
    writeln!(f, "{{\"n\": 2}}").unwrap();
    writeln!(f, "{{\"huge\": \"{}\"}}", "A".repeat(20_000_000)).unwrap();
    writeln!(f, "{{\"n\": 3}}").unwrap();
    drop(f);

    let o = tiaki(["dump".as_ref(), path.as_os_str()]);
    assert_code(&o, 0);
    let events = jsonl(&o);
    let ns: Vec<_> = events.iter().map(|e| e["fields"]["n"].clone()).collect();
    assert_eq!(ns, [1, 2, 3], "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("JSON nested too deep"), "{err}");
    assert!(err.contains("line too long"), "{err}");

    // A low limit makes an ordinary input trip it: configurable.
    let o = tiaki([
        "dump".as_ref(),
        path.as_os_str(),
        "--limit".as_ref(),
        "max_line_bytes=8".as_ref(),
        "--limit".as_ref(),
        "max_json_depth=64".as_ref(),
    ]);
    assert_code(&o, 0);
    let events = jsonl(&o);
    let ns: Vec<_> = events.iter().map(|e| e["fields"]["n"].clone()).collect();
    assert_eq!(ns, [1, 2, 3], "{}", stderr(&o));
    let o = tiaki([
        "dump".as_ref(),
        path.as_os_str(),
        "--limit".as_ref(),
        "max_line_bytes=7".as_ref(),
    ]);
    // Every line is now too long: nothing could be read.
    assert!(jsonl(&o).is_empty());
    assert!(stderr(&o).contains("line too long"), "{}", stderr(&o));
}

#[test]
fn limits_are_listed_and_bad_settings_are_clear_errors() {
    let o = tiaki(["limits"]);
    assert_code(&o, 0);
    let t = stdout(&o);
    for key in [
        "max_line_bytes",
        "max_field_bytes",
        "max_json_depth",
        "max_yaml_nodes",
        "max_regex_bytes",
        "correlation_max_entries",
        "pattern_max_repeats",
        "max_member_bytes",
        "follow_links_outside_root",
    ] {
        assert!(t.contains(key), "{key} missing from\n{t}");
    }
    let o = tiaki(["hunt", "x", "--limit", "help"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("max_line_bytes"));
    let o = tiaki(["limits", "--format", "json"]);
    assert_code(&o, 0);
    assert!(json_out(&o).as_array().unwrap().len() >= 19);

    let o = tiaki(["dump", ".", "--limit", "max_lines=3"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("unknown limit `max_lines`"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("max_line_bytes"), "{}", stderr(&o));
    let o = tiaki(["dump", ".", "--limit", "max_line_bytes=12Q"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("size suffix"), "{}", stderr(&o));
}
