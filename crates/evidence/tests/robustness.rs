//! Bad and hostile evidence: damaged EVTX, malformed JSON, changing W3C headers,
//! decompression bombs, empty files, archives, and the guarantee that evidence is never
//! modified. Damaged inputs are made in a temporary directory from real samples in
//! `shared/` (which must be present: missing data fails these tests).

use std::io::Write;
use std::path::{Path, PathBuf};

use tiaki_evidence::{
    ArchiveLimits, Event, Format, ReadOptions, ReadReport, read_paths, read_reader,
};

fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).to_path_buf()
}

fn attack_samples() -> PathBuf {
    shared().join("data/evtx/EVTX-ATTACK-SAMPLES")
}

/// 15 chunks with records (565 records), 2 empty chunks.
fn multi_chunk_sample() -> PathBuf {
    attack_samples().join("AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx")
}

fn read(paths: &[&Path], opts: &ReadOptions) -> (Vec<Event>, ReadReport) {
    let mut events = Vec::new();
    let report = read_paths(paths, opts, |b| events.extend(b));
    (events, report)
}

fn live(events: &[Event]) -> usize {
    events.iter().filter(|e| !e.origin.recovered).count()
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn evtx_attack_samples_all_read_without_panic() {
    let root = attack_samples();
    let (events, report) = read(&[&root], &ReadOptions::default());
    let evtx: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.format == Some(Format::Evtx))
        .collect();
    let skipped: u64 = evtx.iter().map(|f| f.skipped_total()).sum();
    let recovered: u64 = evtx.iter().map(|f| f.recovered).sum();
    let dups: u64 = evtx.iter().map(|f| f.recovered_duplicates).sum();
    eprintln!(
        "EVTX-ATTACK-SAMPLES: {} .evtx files, {} events ({} live records, {recovered} carved, {dups} carved copies of \
         live records dropped), {skipped} records skipped; by reason: {:?}; other files: {:?}",
        evtx.len(),
        events.len(),
        live(&events),
        report.skipped_by_reason(),
        report
            .files
            .iter()
            .filter(|f| f.format != Some(Format::Evtx))
            .map(|f| f.path.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(evtx.len(), 277);
    assert!(evtx.iter().all(|f| f.complete), "{report}");
    // The chunk headers of the 277 files count 8,255 records; all are read.
    assert_eq!(live(&events), 8255);
    assert_eq!(skipped, 0, "{report}");
    assert!(
        events
            .iter()
            .all(|e| e.timestamp.is_some() && e.origin.record_id.is_some())
    );
    // Sysmon process creation, Security, PowerShell script blocks are routed.
    for cat in [
        "process_creation",
        "ps_script",
        "network_connection",
        "registry_set",
    ] {
        assert!(
            events
                .iter()
                .any(|e| e.logsource.matches(Some("windows"), Some(cat), None)),
            "{cat}"
        );
    }
    assert!(events.iter().any(|e| e.logsource.matches(
        None,
        Some("process_creation"),
        Some("security")
    )));
}

#[test]
fn truncated_evtx_recovers_the_cut_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(multi_chunk_sample()).unwrap();
    let (all, _) = read(&[&multi_chunk_sample()], &ReadOptions::default());
    let total = live(&all);
    assert_eq!(total, 565);

    // Cut 30,000 bytes into chunk 3: chunks 0-2 hold 124 records.
    let cut = dir.path().join("cut.evtx");
    std::fs::write(&cut, &original[..4096 + 3 * 65536 + 30_000]).unwrap();
    let (events, report) = read(&[&cut], &ReadOptions::default());
    let f = &report.files[0];
    eprintln!("truncated: {f}");
    assert!(f.complete, "{report}");
    assert_eq!(f.skipped.get("EVTX file truncated"), Some(&1), "{report}");
    let n = live(&events);
    assert!(
        n > 124 && n < total,
        "{n} records from a file cut in chunk 3"
    );
    let first = f
        .errors
        .iter()
        .find(|e| e.reason() == "EVTX file truncated")
        .unwrap()
        .to_string();
    assert!(first.contains("cut.evtx chunk 3"), "{first}");

    // Cut inside the file header: nothing to read, said so.
    let stub = dir.path().join("stub.evtx");
    std::fs::write(&stub, &original[..2000]).unwrap();
    let (events, report) = read(&[&stub], &ReadOptions::default());
    assert!(events.is_empty());
    assert!(!report.files[0].complete);
    assert!(
        report.files[0].errors[0]
            .to_string()
            .contains("shorter than the 4096-byte EVTX header"),
        "{report}"
    );
}

#[test]
fn bit_flipped_evtx_is_read_as_far_as_possible() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(multi_chunk_sample()).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total_events = 0;
    let mut total_skipped = 0;
    for variant in 0..24 {
        let mut data = original.clone();
        // From a few flipped bits to many, anywhere past the file header.
        let flips = [1, 8, 64, 512][variant % 4];
        for _ in 0..flips {
            let pos = 4096 + (rng.next() as usize) % (data.len() - 4096);
            data[pos] ^= 1 << (rng.next() % 8);
        }
        let p = dir.path().join(format!("flipped-{variant}.evtx"));
        std::fs::write(&p, &data).unwrap();
        let (events, report) = read(&[&p], &ReadOptions::default());
        let f = &report.files[0];
        assert_eq!(report.files.len(), 1);
        assert!(f.complete, "{report}");
        total_events += events.len();
        total_skipped += f.skipped_total();
        for e in &f.errors {
            let s = e.to_string();
            assert!(s.contains(&format!("flipped-{variant}.evtx")), "{s}");
            assert!(
                s.contains(" chunk ") || s.contains(" record "),
                "errors name the chunk or record: {s}"
            );
        }
    }
    eprintln!(
        "bit flips: {total_events} events read and {total_skipped} records/chunks skipped over 24 damaged copies"
    );
    assert!(
        total_events > 24 * 300,
        "most records survive scattered bit flips"
    );
    assert!(total_skipped > 0, "damage is reported");

    // A damaged file header is repaired in memory; a damaged chunk header costs that chunk.
    let mut data = original.clone();
    data[0] ^= 0xff;
    data[4096 + 2 * 65536] ^= 0xff;
    let p = dir.path().join("headers.evtx");
    std::fs::write(&p, &data).unwrap();
    let (events, report) = read(&[&p], &ReadOptions::default());
    let f = &report.files[0];
    eprintln!("damaged headers: {f}");
    assert_eq!(
        f.format,
        Some(Format::Evtx),
        "recognised by its first chunk"
    );
    assert_eq!(
        f.skipped.get("EVTX file header damaged"),
        Some(&1),
        "{report}"
    );
    assert_eq!(f.skipped.get("EVTX chunk unreadable"), Some(&1), "{report}");
    assert_eq!(live(&events), 565 - 37);
}

#[test]
fn malformed_json_lines_are_counted_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("events.jsonl");
    let mut f = std::fs::File::create(&p).unwrap();
    writeln!(
        f,
        r#"{{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "a.exe"}}"#
    )
    .unwrap();
    writeln!(f, r#"{{"EventID": 1, "Channel": "#).unwrap();
    writeln!(f, "not json").unwrap();
    writeln!(f).unwrap();
    writeln!(f, r#"{{"msg": "ok"}} trailing"#).unwrap();
    writeln!(f, r#"{{"msg": "last"}}"#).unwrap();
    drop(f);
    let (events, report) = read(&[&p], &ReadOptions::default());
    let f = &report.files[0];
    assert_eq!(events.len(), 2, "{report}");
    assert_eq!(f.format, Some(Format::Json));
    assert_eq!(f.skipped.get("malformed JSON"), Some(&2), "{report}");
    assert_eq!(f.skipped.get("not a JSON object"), Some(&1), "{report}");
    assert!(
        f.errors[0]
            .to_string()
            .contains("events.jsonl line 2: malformed JSON"),
        "{}",
        f.errors[0]
    );
    assert_eq!(
        events[0].logsource.category.as_deref(),
        Some("process_creation")
    );
    assert_eq!(events[1].origin.line, Some(6));
}

#[test]
fn w3c_fields_change_mid_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u_ex240101.log");
    std::fs::write(
        &p,
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n\
#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip sc-status\n\
2024-01-01 10:00:00 GET /a.aspx - 10.0.0.1 200\n\
#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status\n\
2024-01-01 10:00:01 POST /b.aspx x=1 10.0.0.2 sqlmap/1.7 500\n\
2024-01-01 10:00:02 GET /c.aspx - 10.0.0.3 200\n",
    )
    .unwrap();
    let (events, report) = read(&[&p], &ReadOptions::default());
    assert_eq!(report.files[0].format, Some(Format::W3c));
    assert_eq!(events.len(), 2, "{report}");
    assert_eq!(events[1].fields["cs-user-agent"], "sqlmap/1.7");
    assert_eq!(events[1].fields["sc-status"], "500");
    assert_eq!(
        report.files[0]
            .skipped
            .get("W3C line has wrong number of columns"),
        Some(&1)
    );
    assert!(
        report.files[0].errors[0]
            .to_string()
            .contains("u_ex240101.log line 7"),
        "{report}"
    );
}

#[test]
fn empty_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["empty.log", "empty.evtx", "empty.json"] {
        let p = dir.path().join(name);
        std::fs::write(&p, b"").unwrap();
        let (events, report) = read(&[&p], &ReadOptions::default());
        assert!(events.is_empty());
        let f = &report.files[0];
        assert_eq!(f.skipped.get("empty file"), Some(&1), "{report}");
        assert!(f.errors[0].to_string().contains(name), "{report}");
    }
}

/// Raw deflate of `data`, ending with a sync flush so that copies can be concatenated.
fn deflate_sync(data: &[u8]) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    c.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    assert_eq!(c.total_in() as usize, data.len());
    out
}

/// A zip with one deflated member whose data is `deflate`, written by hand (so that the test
/// never has to hold or compress the gigabyte it expands to).
fn zip_one(name: &str, deflate: &[u8], uncompressed: u64) -> Vec<u8> {
    let mut z = Vec::new();
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    le32(&mut z, 0x0403_4b50);
    for x in [20u16, 0, 8, 0, 0x21] {
        le16(&mut z, x);
    }
    le32(&mut z, 0); // CRC: never reached, the limits stop reading first
    le32(&mut z, deflate.len() as u32);
    le32(&mut z, uncompressed as u32);
    le16(&mut z, name.len() as u16);
    le16(&mut z, 0);
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(deflate);
    let cd = z.len();
    le32(&mut z, 0x0201_4b50);
    for x in [20u16, 20, 0, 8, 0, 0x21] {
        le16(&mut z, x);
    }
    le32(&mut z, 0);
    le32(&mut z, deflate.len() as u32);
    le32(&mut z, uncompressed as u32);
    for x in [name.len() as u16, 0, 0, 0, 0] {
        le16(&mut z, x);
    }
    le32(&mut z, 0);
    le32(&mut z, 0);
    z.extend_from_slice(name.as_bytes());
    let cd_len = z.len() - cd;
    le32(&mut z, 0x0605_4b50);
    for x in [0u16, 0, 1, 1] {
        le16(&mut z, x);
    }
    le32(&mut z, cd_len as u32);
    le32(&mut z, cd as u32);
    le16(&mut z, 0);
    z
}

const MIB: usize = 1 << 20;

/// A JSON line followed by 1 GiB of zeros, deflated to about 1 MB.
fn bomb_deflate() -> (Vec<u8>, u64) {
    let mut first = b"{\"a\": 1}\n".to_vec();
    first.resize(MIB, 0);
    let zeros = deflate_sync(&vec![0u8; MIB]);
    let mut d = deflate_sync(&first);
    for _ in 0..1023 {
        d.extend_from_slice(&zeros);
    }
    d.extend_from_slice(&[0x03, 0x00]); // final empty block
    (d, 1024 * MIB as u64)
}

#[test]
fn zip_bomb_is_stopped_by_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (deflate, size) = bomb_deflate();
    assert!(deflate.len() < 2 * MIB, "{}", deflate.len());
    let p = dir.path().join("bomb.zip");
    std::fs::write(&p, zip_one("bomb.jsonl", &deflate, size)).unwrap();

    // Default limits: the ratio (about 1000:1) stops it after the grace output.
    let t = std::time::Instant::now();
    let (events, report) = read(&[&p], &ReadOptions::default());
    let f = &report.files[0];
    eprintln!(
        "zip bomb, default limits: {f} in {:?}: {}",
        t.elapsed(),
        f.errors[0]
    );
    assert_eq!(&*f.path, format!("{}!bomb.jsonl", p.display()));
    assert!(!f.complete);
    assert_eq!(
        f.skipped.get("decompression limit exceeded"),
        Some(&1),
        "{report}"
    );
    assert!(f.errors[0].to_string().contains("max_ratio"), "{report}");
    assert_eq!(events.len(), 1, "the line before the bomb is read");

    // No ratio limit: the byte cap stops it.
    let opts = ReadOptions {
        limits: ArchiveLimits {
            max_ratio: 0,
            max_member_bytes: 64 * MIB as u64,
            ..ArchiveLimits::default()
        },
        ..ReadOptions::default()
    };
    let (_, report) = read(&[&p], &opts);
    let f = &report.files[0];
    assert!(
        f.errors[0].to_string().contains("max_member_bytes"),
        "{report}"
    );

    // A member declaring more than the cap is not even opened.
    let opts = ReadOptions {
        limits: ArchiveLimits {
            max_member_bytes: 100 * MIB as u64,
            ..ArchiveLimits::default()
        },
        ..ReadOptions::default()
    };
    let (_, report) = read(&[&p], &opts);
    assert!(
        report.files[0].errors[0].to_string().contains("declares"),
        "{report}"
    );
}

#[test]
fn gzip_bomb_is_stopped_by_the_limits() {
    use flate2::write::GzEncoder;
    let mut member = GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![0u8; MIB]).unwrap();
    let member = member.finish().unwrap();
    let mut first = GzEncoder::new(Vec::new(), flate2::Compression::best());
    first.write_all(b"2024-01-01 00:00:00,x\n").unwrap();
    let mut gz = first.finish().unwrap();
    for _ in 0..1024 {
        gz.extend_from_slice(&member);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.jsonl.gz");
    std::fs::write(&p, &gz).unwrap();
    let opts = ReadOptions {
        format: Some(Format::Json),
        ..ReadOptions::default()
    };
    let (_, report) = read(&[&p], &opts);
    let f = &report.files[0];
    eprintln!("gzip bomb: {f}: {}", f.errors.last().unwrap());
    assert!(!f.complete);
    assert_eq!(
        f.skipped.get("decompression limit exceeded"),
        Some(&1),
        "{report}"
    );
}

#[test]
fn archives_are_read_in_place_with_member_paths() {
    let dir = tempfile::tempdir().unwrap();
    let evtx = std::fs::read(
        shared().join("data/sigma/regression_data/rules/windows/builtin/security/win_security_susp_scheduled_task_delete_or_disable/7595ba94-cf3b-4471-aa03-4f6baa9e5fad.evtx"),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"Mar  1 10:00:00 web01 sshd[1]: Accepted password for root from 203.0.113.9 port 4242 ssh2\n")
        .unwrap();
    let gz = gz.finish().unwrap();
    let inner = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("inetpub/u_ex1.log", o).unwrap();
        w.write_all(
            b"#Fields: date time cs-method cs-uri-stem sc-status\n2024-01-01 00:00:00 GET /x 404\n",
        )
        .unwrap();
        w.finish().unwrap().into_inner()
    };
    let outer = dir.path().join("case.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&outer).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("C/Windows/System32/winevt/Logs/Security.evtx", o)
            .unwrap();
        w.write_all(&evtx).unwrap();
        w.start_file("var/log/auth.log.2.gz", o).unwrap();
        w.write_all(&gz).unwrap();
        w.start_file("iis.zip", o).unwrap();
        w.write_all(&inner).unwrap();
        w.add_directory("empty/", o).unwrap();
        w.finish().unwrap();
    }
    let (events, report) = read(&[dir.path()], &ReadOptions::default());
    let paths: Vec<String> = report.files.iter().map(|f| f.path.to_string()).collect();
    let base = outer.display().to_string();
    assert_eq!(
        paths,
        [
            format!("{base}!C/Windows/System32/winevt/Logs/Security.evtx"),
            format!("{base}!var/log/auth.log.2.gz"),
            format!("{base}!iis.zip!inetpub/u_ex1.log"),
        ],
        "{report}"
    );
    let formats: Vec<_> = report.files.iter().map(|f| f.format).collect();
    assert_eq!(
        formats,
        [Some(Format::Evtx), Some(Format::Syslog), Some(Format::W3c)]
    );
    let sec = events
        .iter()
        .find(|e| e.format == Format::Evtx && !e.origin.recovered)
        .unwrap();
    assert_eq!(sec.fields["EventID"], 4701);
    assert!(
        sec.logsource
            .matches(Some("windows"), None, Some("security"))
    );
    let ssh = events.iter().find(|e| e.format == Format::Syslog).unwrap();
    assert!(
        ssh.logsource.matches(Some("linux"), None, Some("auth")),
        "{:?}",
        ssh.logsource
    );
    assert_eq!(ssh.fields["src_ip"], "203.0.113.9");
    let web = events.iter().find(|e| e.format == Format::W3c).unwrap();
    assert_eq!(web.fields["sc-status"], "404");

    // The same archive from a stream.
    let bytes = std::fs::read(&outer).unwrap();
    let mut n = 0;
    let report = read_reader("stdin", &bytes[..], &ReadOptions::default(), |b| {
        n += b.len()
    });
    assert_eq!(report.files.len(), 3, "{report}");
    assert_eq!(n, events.len());
}

#[test]
fn evidence_is_never_modified() {
    let dir = tempfile::tempdir().unwrap();
    let src = shared().join("data/sigma/regression_data/rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let snapshot = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>, std::time::SystemTime)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let m = std::fs::metadata(&p).unwrap();
                (
                    p.display().to_string(),
                    std::fs::read(&p).unwrap(),
                    m.modified().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(dir.path());
    let (events, report) = read(&[dir.path()], &ReadOptions::default());
    assert!(live(&events) >= 2, "{report}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "files changed or appeared beside the evidence"
    );
}

#[test]
fn format_override_and_unrecognised_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "hello\nworld\n").unwrap();
    let (events, report) = read(&[&p], &ReadOptions::default());
    assert!(events.is_empty());
    assert_eq!(
        report.files[0].skipped.get("format not recognised"),
        Some(&1)
    );
    assert!(
        report.files[0].errors[0]
            .to_string()
            .contains("text starting \"hello\""),
        "{report}"
    );

    // Forced: read as syslog, every line reported.
    let opts = ReadOptions {
        format: Some(Format::Syslog),
        ..ReadOptions::default()
    };
    let (_, report) = read(&[&p], &opts);
    assert_eq!(
        report.files[0].skipped.get("not a syslog line"),
        Some(&2),
        "{report}"
    );

    // A path that does not exist.
    let (_, report) = read(&[&dir.path().join("missing.evtx")], &ReadOptions::default());
    assert!(
        report.files[0].errors[0]
            .to_string()
            .contains("missing.evtx: cannot open"),
        "{report}"
    );
}

#[test]
fn utf16_xml_export() {
    let xml = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name='Image'>C:\\Temp\\ünïcode.exe</Data></EventData></Event></Events>";
    let bytes: Vec<u8> = xml.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("export");
    std::fs::write(&p, bytes).unwrap();
    let (events, report) = read(&[&p], &ReadOptions::default());
    assert_eq!(events.len(), 1, "{report}");
    assert_eq!(events[0].format, Format::WindowsXml);
    assert_eq!(events[0].fields["Image"], "C:\\Temp\\ünïcode.exe");
    assert_eq!(
        events[0].logsource.category.as_deref(),
        Some("process_creation")
    );
}

#[cfg(unix)]
#[test]
fn directory_walk_does_not_follow_directory_links() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("x.jsonl"), "{\"k\": 1}\n{\"k\": 2}\n").unwrap();
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    let (events, report) = read(&[dir.path()], &ReadOptions::default());
    assert_eq!(events.len(), 2, "{report}");
    assert!(
        report.files.iter().any(|f| f
            .errors
            .iter()
            .any(|e| e.to_string().contains("not followed"))),
        "{report}"
    );
}

#[cfg(unix)]
#[test]
fn links_out_of_the_evidence_directory_are_refused_unless_allowed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.jsonl"),
        "{\"k\": \"outside\"}\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.jsonl"), "{\"k\": 1}\n").unwrap();
    std::fs::write(dir.path().join("b.jsonl"), "{\"k\": 2}\n").unwrap();
    // A link inside the directory is read; one pointing out of it is not, by default.
    std::os::unix::fs::symlink(dir.path().join("a.jsonl"), dir.path().join("inside.jsonl"))
        .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.jsonl"),
        dir.path().join("planted.jsonl"),
    )
    .unwrap();
    let (events, report) = read(&[dir.path()], &ReadOptions::default());
    assert_eq!(events.len(), 3, "{report}");
    assert!(events.iter().all(|e| e.fields["k"] != "outside"));
    let refused: Vec<String> = report
        .files
        .iter()
        .flat_map(|f| f.errors.iter().map(ToString::to_string))
        .collect();
    assert_eq!(refused.len(), 1, "{report}");
    assert!(
        refused[0].contains("planted.jsonl")
            && refused[0].contains("outside the evidence directory")
            && refused[0].contains("follow_links_outside_root"),
        "{}",
        refused[0]
    );
    // Allowed by the limit: read.
    let opts = ReadOptions {
        follow_links_outside_root: true,
        ..ReadOptions::default()
    };
    let (events, report) = read(&[dir.path()], &opts);
    assert_eq!(events.len(), 4, "{report}");
    // A link named on the command line is the analyst's choice: read.
    let (events, _) = read(
        &[&dir.path().join("planted.jsonl")],
        &ReadOptions::default(),
    );
    assert_eq!(events.len(), 1);
}

#[test]
fn record_limits_skip_with_a_reason_and_go_on() {
    let run = |input: &[u8], opts: &ReadOptions| {
        let mut events = Vec::new();
        let report = read_reader("t.jsonl", input, opts, |b| events.extend(b));
        (events, report)
    };
    // 10,000 levels deep: skipped with the reason, the next line is read.
    let deep = format!(
        "{{\"a\": {}1{}}}\n{{\"ok\": 1}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (events, report) = run(deep.as_bytes(), &ReadOptions::default());
    assert_eq!(events.len(), 1, "{report}");
    assert_eq!(events[0].fields["ok"], 1);
    assert_eq!(
        report.skipped_by_reason()["JSON nested too deep"],
        1,
        "{report}"
    );
    assert!(
        report.to_string().contains("nesting deeper than 128"),
        "{report}"
    );
    // A lower depth is configurable and checked before parsing.
    let opts = ReadOptions {
        max_json_depth: 2,
        ..ReadOptions::default()
    };
    let (events, report) = run(
        b"{\"a\": {\"b\": {\"c\": 1}}}\n{\"a\": {\"b\": \"{{{{\"}}\n",
        &opts,
    );
    assert_eq!(events.len(), 1, "{report}");
    assert!(
        report
            .to_string()
            .contains("nesting deeper than 2 (max_json_depth)"),
        "{report}"
    );
    // A field over max_field_bytes skips its record, named; the others are read.
    let opts = ReadOptions {
        max_field_bytes: 16,
        ..ReadOptions::default()
    };
    let (events, report) = run(
        b"{\"short\": \"x\"}\n{\"n\": {\"long\": \"0123456789abcdefXYZ\"}}\n{\"short\": \"y\"}\n",
        &opts,
    );
    assert_eq!(events.len(), 2, "{report}");
    assert_eq!(report.skipped_by_reason()["field too long"], 1);
    let text = report.to_string();
    assert!(
        text.contains("field 'n.long' is 19 bytes, more than 16 (max_field_bytes)"),
        "{text}"
    );
    // Lines: a low max_line_bytes makes an ordinary line too long.
    let opts = ReadOptions {
        max_line_bytes: 10,
        ..ReadOptions::default()
    };
    let (events, report) = run(b"{\"k\": 1}\n{\"k\": \"long enough\"}\n{\"k\": 3}\n", &opts);
    assert_eq!(events.len(), 2, "{report}");
    assert_eq!(report.skipped_by_reason()["line too long"], 1);
    assert!(report.to_string().contains("(max_line_bytes)"), "{report}");
}
