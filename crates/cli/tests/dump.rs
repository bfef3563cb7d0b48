//! `tiaki dump` end to end.

mod common;

use common::*;

#[test]
fn dump_writes_events_as_the_hunt_sees_them() {
    let file = samples("Credential Access/kerberos_pwd_spray_4771.evtx");
    let o = tiaki(["dump".as_ref(), file.as_os_str()]);
    assert_code(&o, 0);
    let events = jsonl(&o);
    assert_eq!(events.len(), 12);
    for e in &events {
        for k in ["origin", "timestamp", "format", "logsource", "fields"] {
            assert!(e.get(k).is_some(), "{k} missing: {e}");
        }
        assert_eq!(e["format"], "evtx");
        assert_eq!(e["logsource"]["product"], "windows");
        assert_eq!(e["logsource"]["service"], "security");
        assert!(e["origin"]["record_id"].is_u64());
        assert!(e["fields"]["EventID"].is_u64());
    }
    assert!(stderr(&o).contains("read 12 events"), "{}", stderr(&o));

    // --count reads without writing; --output writes to a file.
    let o = tiaki(["dump".as_ref(), file.as_os_str(), "--count".as_ref()]);
    assert_code(&o, 0);
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("read 12 events"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    let o = tiaki([
        "dump".as_ref(),
        file.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_code(&o, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 12);
}

#[test]
fn dump_input_format_override() {
    // SigmaHQ's regression JSON read as JSON explicitly.
    let dir =
        sigma("regression_data/rules/windows/process_creation/proc_creation_win_sc_stop_service");
    let o = tiaki([
        "dump".as_ref(),
        dir.as_os_str(),
        "--input-format".as_ref(),
        "json".as_ref(),
    ]);
    let events = jsonl(&o);
    assert!(
        events.iter().any(|e| e["format"] == "evtx-json"),
        "{}",
        stderr(&o)
    );
}
