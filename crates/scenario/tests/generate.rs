//! End-to-end tests of the generator: determinism, the committed example, ground truth.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use tiaki_scenario::{Options, Scenario, generate, load_truth};

/// The committed example: `examples/parliament/apt40` at the workspace root.
fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/parliament/apt40")
}

/// The options the committed example was generated with (see its README).
fn example_options(out: &Path) -> Options {
    let mut o = Options::new(Scenario::Apt40, out);
    o.scale = 0.05;
    o.gzip = true;
    o
}

/// Every file under `root` by relative path, with its content (gzip files decompressed, so
/// the comparison does not depend on the compressor's version).
fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let raw = std::fs::read(&p).unwrap();
            let data = if rel.ends_with(".gz") {
                let mut d = Vec::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .read_to_end(&mut d)
                    .unwrap();
                d
            } else {
                raw
            };
            out.insert(rel, data);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn assert_same(a: &Path, b: &Path) {
    let (x, y) = (contents(a), contents(b));
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "different file sets"
    );
    for (k, v) in &x {
        assert!(y[k] == *v, "{k} differs");
    }
}

#[test]
fn committed_example_is_reproduced_exactly() {
    let dir = tempfile::tempdir().unwrap();
    generate(&example_options(dir.path())).unwrap();
    assert_same(&committed(), dir.path());
}

#[test]
fn same_seed_same_bytes_and_different_seeds_differ() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut o = Options::new(Scenario::Apt31, a.path());
    o.scale = 0.03;
    let ma = generate(&o).unwrap();
    o.out = b.path().to_path_buf();
    let mb = generate(&o).unwrap();
    assert_eq!(ma, mb);
    // Byte-identical, not only the same content.
    for f in &ma.files {
        assert_eq!(
            std::fs::read(a.path().join(&f.path)).unwrap(),
            std::fs::read(b.path().join(&f.path)).unwrap(),
            "{}",
            f.path
        );
    }
    o.out = c.path().to_path_buf();
    o.seed += 1;
    generate(&o).unwrap();
    let (x, z) = (contents(a.path()), contents(c.path()));
    let differing = x.iter().filter(|(k, v)| z.get(*k) != Some(v)).count();
    assert!(differing > x.len() / 2, "only {differing} files differ");
}

#[test]
fn truth_evidence_points_at_written_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new(Scenario::Apt40, dir.path());
    o.scale = 0.02;
    let m = generate(&o).unwrap();
    let truth = load_truth(dir.path().join("truth.json")).unwrap();
    assert_eq!(truth, m.truth);
    assert!((20..=28).contains(&truth.steps.len()));
    assert_eq!(truth.decoys.len(), 12);
    let mut cache: BTreeMap<String, (HashSet<u64>, Vec<String>)> = BTreeMap::new();
    let all = truth
        .steps
        .iter()
        .map(|s| (&s.id, &s.evidence))
        .chain(truth.decoys.iter().map(|d| (&d.id, &d.evidence)));
    for (id, evidence) in all {
        assert!(!evidence.is_empty(), "{id} has no evidence");
        for e in evidence {
            let entry = cache.entry(e.path.clone()).or_insert_with(|| {
                let text = std::fs::read_to_string(dir.path().join(&e.path))
                    .unwrap_or_else(|_| panic!("{id}: {} missing", e.path));
                let ids = text
                    .lines()
                    .filter_map(|l| {
                        let i = l.find("\"EventRecordID\":")? + 16;
                        l[i..].split(',').next()?.parse().ok()
                    })
                    .collect();
                (ids, text.lines().map(str::to_string).collect())
            });
            if let Some(r) = e.record_id {
                assert!(entry.0.contains(&r), "{id}: {} record {r}", e.path);
            }
            if let Some(l) = e.line {
                let line = &entry.1[l as usize - 1];
                assert!(
                    !line.starts_with('#'),
                    "{id}: {} line {l} is a header",
                    e.path
                );
            }
        }
    }
    // Recall: a hit on each step's last record finds every step.
    let hits: Vec<(String, Option<u64>, Option<u64>)> = truth
        .steps
        .iter()
        .map(|s| {
            let e = s.evidence.last().unwrap();
            (
                dir.path().join(&e.path).to_string_lossy().into_owned(),
                e.record_id,
                e.line,
            )
        })
        .collect();
    let r = truth.recall(hits.iter().map(|(p, a, b)| (p.as_str(), *a, *b)));
    assert!(r.iter().all(|s| s.detected && s.records_hit >= 1));
}

#[test]
fn operator_hours_are_utc8_office_hours() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new(Scenario::Apt40, dir.path());
    o.scale = 0.0;
    let m = generate(&o).unwrap();
    for s in &m.truth.steps {
        for t in [&s.start, &s.end] {
            let t: DateTime<Utc> = t.parse().unwrap();
            let sod = t.num_seconds_from_midnight();
            assert!(
                !matches!(t.weekday(), Weekday::Sat | Weekday::Sun)
                    && (3600..=9 * 3600 + 1800).contains(&sod),
                "{} at {t}",
                s.id
            );
        }
    }
    // Background-only output has no steps but all decoys.
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new(Scenario::Background, dir.path());
    o.scale = 0.0;
    let m = generate(&o).unwrap();
    assert!(m.truth.steps.is_empty());
    assert_eq!(m.truth.decoys.len(), 12);
    assert!("nonsense".parse::<Scenario>().is_err());
    o.scale = -1.0;
    assert!(generate(&o).is_err());
}
