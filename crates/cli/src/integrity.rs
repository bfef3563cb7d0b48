//! Evidence integrity: every evidence file is hashed before and after a hunt into a case, and
//! the two are compared; nothing tiaki writes may land inside the evidence.
//!
//! Why both: a hash taken only after the hunt proves what was hunted, not that the hunt left
//! it alone. A mismatch means the file changed while it was read (a live log still being
//! written, a copy still running, or a tool writing where it should not); the case records
//! which, and the command says so with its own exit status.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use tiaki_store::cases::IntegrityCheck;

/// Exit status of a hunt into a case whose evidence changed while it was hunted.
pub const EXIT_EVIDENCE_CHANGED: u8 = 3;

/// One evidence file and its hash at one moment.
#[derive(Debug, Clone)]
pub struct Hashed {
    /// The file, absolute where it could be resolved.
    pub path: PathBuf,
    /// Its SHA-256 (lower-case hex) and size, or why it could not be read.
    pub digest: std::result::Result<(String, u64), String>,
}

/// Hashes every regular file under `paths` (in parallel).
pub fn hash_all(paths: &[PathBuf]) -> Vec<Hashed> {
    files_under(paths)
        .into_par_iter()
        .map(|p| {
            let digest = hash_file(&p).map_err(|e| format!("{e:#}"));
            let path = std::fs::canonicalize(&p).unwrap_or(p);
            Hashed { path, digest }
        })
        .collect()
}

/// Compares the hashes taken before and after a hunt, file by file (sorted by path). Files
/// that appeared or vanished between the two are reported as not intact.
pub fn compare(before: &[Hashed], after: &[Hashed]) -> Vec<IntegrityCheck> {
    type Digest = std::result::Result<(String, u64), String>;
    let mut by_path: BTreeMap<&Path, (Option<&Digest>, Option<&Digest>)> = BTreeMap::new();
    for h in before {
        by_path.entry(&h.path).or_default().0 = Some(&h.digest);
    }
    for h in after {
        by_path.entry(&h.path).or_default().1 = Some(&h.digest);
    }
    by_path
        .into_iter()
        .map(|(path, (b, a))| {
            let ok = |d: Option<&Digest>| d.and_then(|d| d.as_ref().ok()).cloned();
            let (hb, ha) = (ok(b), ok(a));
            let problem = match (b, a) {
                (None, _) => Some("appeared during the hunt".to_owned()),
                (_, None) => Some("gone after the hunt".to_owned()),
                (Some(Err(e)), _) => Some(format!("not readable before the hunt: {e}")),
                (_, Some(Err(e))) => Some(format!("not readable after the hunt: {e}")),
                (Some(Ok((sb, nb))), Some(Ok((sa, na)))) if sb != sa => Some(format!(
                    "changed during the hunt: {nb} bytes sha256 {sb} before, {na} bytes sha256 {sa} after"
                )),
                _ => None,
            };
            IntegrityCheck {
                path: path.display().to_string(),
                sha256_before: hb.as_ref().map(|d| d.0.clone()),
                sha256_after: ha.as_ref().map(|d| d.0.clone()),
                size_before: hb.map(|d| d.1),
                size_after: ha.map(|d| d.1),
                intact: problem.is_none(),
                problem,
            }
        })
        .collect()
}

/// Refuses to write `target` (a file or directory tiaki is about to create or write) if it
/// is, or is inside, one of the evidence `paths`: tiaki never writes inside evidence.
pub fn refuse_inside_evidence(target: &Path, paths: &[PathBuf], what: &str) -> Result<()> {
    let target_abs = resolve(target);
    for p in paths {
        let Ok(ev) = std::fs::canonicalize(p) else {
            continue;
        };
        if target_abs == ev || (ev.is_dir() && target_abs.starts_with(&ev)) {
            bail!(
                "refusing to write {what} {} inside the evidence {}: tiaki never writes into \
                 evidence; choose a location outside it",
                target.display(),
                p.display()
            );
        }
    }
    Ok(())
}

/// `path` made absolute with every existing ancestor's links resolved (the path itself may not
/// exist yet).
fn resolve(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = std::fs::canonicalize(cur) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// SHA-256 (lower-case hex) and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((
        h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        size,
    ))
}

/// Every regular file under the paths, sorted. Links inside directories are not followed (the
/// readers do not follow them either); a path named on the command line is followed.
pub fn files_under(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return;
        };
        if meta.is_file() {
            out.push(p.to_path_buf());
        } else if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(p)
        {
            for e in entries.flatten() {
                walk(&e.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() => out.push(p.clone()),
            _ => walk(p, &mut out),
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_changed_gone_and_new_files() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
        std::fs::write(&a, "one").unwrap();
        std::fs::write(&b, "two").unwrap();
        let before = hash_all(&[d.path().to_path_buf()]);
        std::fs::write(&a, "one, appended").unwrap();
        std::fs::remove_file(&b).unwrap();
        std::fs::write(&c, "new").unwrap();
        let after = hash_all(&[d.path().to_path_buf()]);
        let checks = compare(&before, &after);
        assert_eq!(checks.len(), 3);
        let by = |p: &Path| {
            let p = std::fs::canonicalize(d.path())
                .unwrap()
                .join(p.file_name().unwrap());
            checks
                .iter()
                .find(|c| c.path == p.display().to_string())
                .unwrap()
                .clone()
        };
        let ca = by(&a);
        assert!(!ca.intact);
        assert!(
            ca.problem
                .unwrap()
                .starts_with("changed during the hunt: 3 bytes")
        );
        assert_eq!(ca.size_after, Some(13));
        assert_eq!(by(&b).problem.as_deref(), Some("gone after the hunt"));
        assert_eq!(by(&c).problem.as_deref(), Some("appeared during the hunt"));
        // Unchanged files are intact, with equal hashes.
        let again = compare(&after, &hash_all(&[d.path().to_path_buf()]));
        assert!(
            again
                .iter()
                .all(|c| c.intact && c.sha256_before == c.sha256_after)
        );
    }

    #[test]
    fn outputs_inside_evidence_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let ev = d.path().join("evidence");
        std::fs::create_dir_all(ev.join("logs")).unwrap();
        std::fs::write(ev.join("logs/a.log"), "x").unwrap();
        let evs = vec![ev.clone()];
        for inside in [
            ev.join("out.json"),
            ev.join("logs/new/deeper.json"),
            ev.join("logs/../x.json"),
            ev.clone(),
        ] {
            let e = refuse_inside_evidence(&inside, &evs, "the output").unwrap_err();
            assert!(e.to_string().contains("never writes into evidence"), "{e}");
        }
        // A file named as evidence cannot be the output either.
        let file = vec![ev.join("logs/a.log")];
        assert!(refuse_inside_evidence(&ev.join("logs/a.log"), &file, "the output").is_err());
        // Beside the evidence is fine; a sibling whose name starts the same is not inside.
        refuse_inside_evidence(&d.path().join("report"), &evs, "the output").unwrap();
        refuse_inside_evidence(&d.path().join("evidence-report"), &evs, "the output").unwrap();
        refuse_inside_evidence(&ev.join("logs/b.log"), &file, "the output").unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_into_the_evidence_is_seen_through() {
        let d = tempfile::tempdir().unwrap();
        let ev = d.path().join("evidence");
        std::fs::create_dir_all(&ev).unwrap();
        std::os::unix::fs::symlink(&ev, d.path().join("alias")).unwrap();
        let e = refuse_inside_evidence(&d.path().join("alias/out.json"), &[ev], "the output")
            .unwrap_err();
        assert!(e.to_string().contains("inside the evidence"));
    }
}
