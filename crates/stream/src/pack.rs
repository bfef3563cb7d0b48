//! Rule packs: the rules and intelligence every worker runs, distributed through JetStream.
//!
//! A pack is the hunt's own command-line arguments (`--rules DIR --intel FEED --min-level
//! high …`) plus the files they name, packed under relative paths. `tiaki rollout` builds one,
//! stores it in the `tiaki-packs` object store under its SHA-256, then points the
//! `tiaki-config` key `pack` at that digest. Workers watch the key: between two batches they
//! fetch the new pack, write it to a private directory, and load it with exactly the code
//! `tiaki hunt` uses, so every worker runs the same version and a new one rolls out without
//! stopping anything. Detections name the pack digest they were made with only through the
//! worker's log; the pack itself is kept in the object store for audit.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::codec::sha256_hex;
use crate::error::{Error, Result};
use crate::topology::{KEY_PACK, Resources};

/// One packed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackFile {
    /// Relative path inside the pack (`/`-separated).
    pub path: String,
    /// Content, base64.
    pub data: String,
}

/// Arguments and files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    /// The hunt arguments, paths rewritten relative to the pack root.
    pub args: Vec<String>,
    /// The files.
    pub files: Vec<PackFile>,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// `p` as a clean relative path (`./` dropped), if it is relative and stays below the
/// current directory.
fn relative_as_given(p: &Path) -> Option<String> {
    use std::path::Component;
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn walk(root: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(root).map_err(io(format!("cannot read {}", root.display())))?;
    if meta.is_file() {
        out.push(root.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io(format!("cannot list {}", root.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        let name = e.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        walk(&e, out)?;
    }
    Ok(())
}

impl Pack {
    /// Packs `args`: the value after every flag in `path_flags` is a file or directory whose
    /// files are packed. A relative path is kept as given (`rules/web/x.yml` stays that), so
    /// detections name rule files as `tiaki hunt` run from the same directory would, on every
    /// worker; an absolute path or one with `..` is packed under `_abs<N>/<its name>` and the
    /// argument rewritten to that.
    pub fn build(args: &[String], path_flags: &[&str]) -> Result<Pack> {
        let mut out_args = Vec::with_capacity(args.len());
        let mut files = Vec::new();
        let mut it = args.iter().peekable();
        let mut n = 0;
        while let Some(a) = it.next() {
            out_args.push(a.clone());
            if !path_flags.contains(&a.as_str()) {
                continue;
            }
            let Some(value) = it.next() else { break };
            let root = PathBuf::from(value);
            let rel_root = match relative_as_given(&root) {
                Some(rel) => rel,
                None => {
                    let base = root
                        .file_name()
                        .and_then(|f| f.to_str())
                        .unwrap_or("input")
                        .to_string();
                    n += 1;
                    format!("_abs{n}/{base}")
                }
            };
            let mut found = Vec::new();
            walk(&root, &mut found)?;
            for f in found {
                let rel = f.strip_prefix(&root).unwrap_or(&f);
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let path = if rel.is_empty() {
                    rel_root.clone()
                } else {
                    format!("{rel_root}/{rel}")
                };
                let bytes =
                    std::fs::read(&f).map_err(io(format!("cannot read {}", f.display())))?;
                files.push(PackFile {
                    path,
                    data: base64::engine::general_purpose::STANDARD.encode(bytes),
                });
            }
            out_args.push(rel_root);
        }
        Ok(Pack {
            args: out_args,
            files,
        })
    }

    /// The serialised pack and its digest.
    pub fn to_bytes(&self) -> (String, Vec<u8>) {
        let bytes = serde_json::to_vec(self).expect("a pack serialises");
        (sha256_hex(&bytes), bytes)
    }

    /// Writes the files under `dir` and returns the arguments, whose paths are relative to
    /// `dir` (load them with `dir` as the working directory). Paths that would leave `dir`
    /// are refused.
    pub fn materialise(&self, dir: &Path) -> Result<Vec<String>> {
        for f in &self.files {
            if f.path.split('/').any(|c| c == ".." || c.is_empty()) || f.path.starts_with('/') {
                return Err(Error::Protocol(format!(
                    "pack file path {:?} is not relative",
                    f.path
                )));
            }
            let target = dir.join(&f.path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("cannot create {}", parent.display())))?;
            }
            let data = base64::engine::general_purpose::STANDARD
                .decode(&f.data)
                .map_err(|e| Error::Protocol(format!("pack file {}: {e}", f.path)))?;
            std::fs::write(&target, data)
                .map_err(io(format!("cannot write {}", target.display())))?;
        }
        Ok(self.args.clone())
    }
}

/// Stores `pack` and makes it the one workers run; returns its digest.
pub async fn publish(res: &Resources, pack: &Pack) -> Result<String> {
    let (digest, bytes) = pack.to_bytes();
    let mut reader: &[u8] = &bytes;
    res.packs
        .put(digest.as_str(), &mut reader)
        .await
        .map_err(|e| Error::nats(&format!("store rule pack {digest}"), e))?;
    res.config
        .put(KEY_PACK, digest.clone().into())
        .await
        .map_err(|e| Error::nats("set tiaki-config pack", e))?;
    Ok(digest)
}

/// The digest of the pack in force, if any.
pub async fn current(res: &Resources) -> Result<Option<String>> {
    let v = res
        .config
        .get(KEY_PACK)
        .await
        .map_err(|e| Error::nats("read tiaki-config pack", e))?;
    Ok(v.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Fetches the pack `digest` and checks it is what the digest says.
pub async fn fetch(res: &Resources, digest: &str) -> Result<Pack> {
    let mut obj = res
        .packs
        .get(digest)
        .await
        .map_err(|e| Error::nats(&format!("fetch rule pack {digest}"), e))?;
    let mut bytes = Vec::new();
    obj.read_to_end(&mut bytes)
        .await
        .map_err(io(format!("read rule pack {digest}")))?;
    if sha256_hex(&bytes) != digest {
        return Err(Error::Protocol(format!(
            "rule pack {digest} does not match its digest"
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(format!("rule pack {digest}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_files_and_rewrites_paths() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("rules/win")).unwrap();
        std::fs::write(src.path().join("rules/win/a.yml"), "title: a").unwrap();
        std::fs::write(src.path().join("rules/.hidden"), "x").unwrap();
        std::fs::write(src.path().join("feed.json"), "{}").unwrap();
        let args: Vec<String> = vec![
            "--rules".into(),
            src.path().join("rules").to_string_lossy().into(),
            "--intel".into(),
            src.path().join("feed.json").to_string_lossy().into(),
            "--min-level".into(),
            "high".into(),
        ];
        let pack = Pack::build(&args, &["--rules", "--intel"]).unwrap();
        assert_eq!(
            pack.args,
            [
                "--rules",
                "_abs1/rules",
                "--intel",
                "_abs2/feed.json",
                "--min-level",
                "high"
            ]
        );
        assert_eq!(pack.files.len(), 2, "hidden files are left out");
        let (d1, bytes) = pack.to_bytes();
        let (d2, _) = Pack::build(&args, &["--rules", "--intel"])
            .unwrap()
            .to_bytes();
        assert_eq!(d1, d2, "same input, same digest");
        let back: Pack = serde_json::from_slice(&bytes).unwrap();
        let out = tempfile::tempdir().unwrap();
        let args = back.materialise(out.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.path().join("_abs1/rules/win/a.yml")).unwrap(),
            "title: a"
        );
        assert_eq!(args, pack.args);
    }

    #[test]
    fn relative_paths_are_kept_as_given() {
        assert_eq!(
            relative_as_given(Path::new("./rules/web")).as_deref(),
            Some("rules/web")
        );
        assert_eq!(
            relative_as_given(Path::new("rules")).as_deref(),
            Some("rules")
        );
        assert_eq!(relative_as_given(Path::new("../rules")), None);
        assert_eq!(relative_as_given(Path::new("/etc/rules")), None);
    }

    #[test]
    fn a_pack_cannot_write_outside_its_directory() {
        let pack = Pack {
            args: vec![],
            files: vec![PackFile {
                path: "rules/../../etc/x".into(),
                data: String::new(),
            }],
        };
        let out = tempfile::tempdir().unwrap();
        assert!(pack.materialise(out.path()).is_err());
    }
}
