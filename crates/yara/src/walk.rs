//! Listing the files of evidence directories, read-only and loop-safe.

use std::collections::HashSet;
use std::path::PathBuf;

/// A directory entry that could not be read while walking.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WalkError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// Yields every regular file under the given roots, depth first, entries of
/// a directory in name order.
///
/// Nothing is filtered by name or extension (web shells hide behind any
/// name); callers apply the size cap when scanning. Roots that are files are
/// yielded as they are. Symbolic links found inside the tree are **not**
/// followed by default: in a mounted disk image an absolute link points into
/// the analyst's own system. With [`EvidenceWalker::follow_symlinks`] they
/// are followed, and a directory already visited (a link loop) is skipped.
/// FIFOs, sockets and devices are never yielded.
#[derive(Debug)]
pub struct EvidenceWalker {
    stack: Vec<(PathBuf, bool)>,
    follow_symlinks: bool,
    visited: HashSet<DirKey>,
    skipped_symlinks: u64,
    skipped_special: u64,
}

#[cfg(unix)]
type DirKey = (u64, u64);
#[cfg(not(unix))]
type DirKey = PathBuf;

impl EvidenceWalker {
    /// A walker over `roots` (files or directories), in the order given.
    pub fn new<I, P>(roots: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        let mut stack: Vec<(PathBuf, bool)> = roots.into_iter().map(|p| (p.into(), true)).collect();
        stack.reverse();
        EvidenceWalker {
            stack,
            follow_symlinks: false,
            visited: HashSet::new(),
            skipped_symlinks: 0,
            skipped_special: 0,
        }
    }

    /// Whether to follow symbolic links inside the tree (default: no).
    /// Roots are always followed.
    pub fn follow_symlinks(mut self, yes: bool) -> Self {
        self.follow_symlinks = yes;
        self
    }

    /// Symbolic links not followed, and links whose target was missing or
    /// already visited, so far.
    pub fn skipped_symlinks(&self) -> u64 {
        self.skipped_symlinks
    }

    /// FIFOs, sockets and device files passed over so far.
    pub fn skipped_special(&self) -> u64 {
        self.skipped_special
    }

    fn dir_key(path: &std::path::Path, meta: &std::fs::Metadata) -> DirKey {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let _ = path;
            (meta.dev(), meta.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
        }
    }
}

impl Iterator for EvidenceWalker {
    type Item = Result<PathBuf, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        while let Some((path, is_root)) = self.stack.pop() {
            let err = |source| {
                Some(Err(WalkError {
                    path: path.clone(),
                    source,
                }))
            };
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(e) => return err(e),
            };
            let meta = if meta.file_type().is_symlink() {
                if !(is_root || self.follow_symlinks) {
                    self.skipped_symlinks += 1;
                    continue;
                }
                match std::fs::metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) if is_root => return err(e),
                    Err(_) => {
                        self.skipped_symlinks += 1; // dangling link
                        continue;
                    }
                }
            } else {
                meta
            };
            if meta.is_file() {
                return Some(Ok(path));
            }
            if !meta.is_dir() {
                self.skipped_special += 1;
                continue;
            }
            if !self.visited.insert(Self::dir_key(&path, &meta)) {
                self.skipped_symlinks += 1; // reached again through a link: a loop or a duplicate
                continue;
            }
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) => return err(e),
            };
            let mut children = Vec::new();
            let mut first_error = None;
            for entry in entries {
                match entry {
                    Ok(entry) => children.push(entry.path()),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            children.sort();
            self.stack
                .extend(children.into_iter().rev().map(|p| (p, false)));
            if let Some(e) = first_error {
                return err(e);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn walks_sorted_depth_first_and_skips_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/sub")).unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        fs::write(root.join("b/sub/c.aspx"), "c").unwrap();
        fs::write(root.join("b/z.jsp"), "z").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root, root.join("b/loop")).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", root.join("b/outside")).unwrap();
        }
        let rel = |w: EvidenceWalker| -> Vec<String> {
            w.map(|p| p.unwrap().strip_prefix(root).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            rel(EvidenceWalker::new([root])),
            ["a.txt", "b/sub/c.aspx", "b/z.jsp"]
        );

        #[cfg(unix)]
        {
            let mut walker = EvidenceWalker::new([root]);
            assert_eq!(walker.by_ref().count(), 3);
            assert_eq!(walker.skipped_symlinks(), 2);

            // Following links: the loop back to the root is detected, the
            // file outside the tree is reached through its link.
            let followed = EvidenceWalker::new([root]).follow_symlinks(true);
            let files: Vec<_> = followed.map(|p| p.unwrap()).collect();
            assert_eq!(
                files.len(),
                3 + usize::from(std::path::Path::new("/etc/hostname").is_file())
            );
        }
    }

    #[test]
    fn missing_root_is_an_error_not_a_panic() {
        let mut walker = EvidenceWalker::new(["/nonexistent/tiaki/evidence"]);
        let e = walker.next().unwrap().unwrap_err();
        assert!(e.to_string().contains("/nonexistent/tiaki/evidence"));
        assert!(walker.next().is_none());
    }
}
