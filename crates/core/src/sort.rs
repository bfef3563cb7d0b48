//! Sorting more records than fit in memory: an external merge sort.
//!
//! The timeline must put every event of a case in time order, and a case
//! can hold far more events than memory; correlation inputs need time order
//! too. Records (a sort key, a tie-break and a payload) are buffered up to a
//! memory budget, sorted, and written as a *run* to an anonymous temporary
//! file (deleted by the OS when closed, even if tiaki is killed); at the end
//! the runs are merged with a heap, reading one record per run at a time.
//! Memory is therefore the budget plus one record and an 8 KiB read buffer
//! per run. Records are ordered by key, then tie-break bytes, then
//! insertion order; the tie-break (e.g. file and record number) makes the
//! order independent of how the parallel reader interleaved files.
//!
//! Run format: `key: i64 LE, seq: u64 LE, tie len: u32 LE, len: u32 LE,
//! tie, payload`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::HuntError;

/// Default memory budget of a sort: 256 MiB of payload.
pub const DEFAULT_BUDGET: usize = 256 << 20;

/// Bookkeeping bytes counted per buffered record, besides its payload.
const RECORD_OVERHEAD: usize = 48;

/// One buffered record: key, insertion number, tie-break, payload.
type Record = (i64, u64, Vec<u8>, Vec<u8>);

/// A run's head in the merge heap: key, tie-break, insertion number, run.
type Head = Reverse<(i64, Vec<u8>, u64, usize)>;

/// Sorts `(key, tie-break, payload)` records with bounded memory.
pub struct ExternalSorter {
    dir: PathBuf,
    budget: usize,
    buf: Vec<Record>,
    bytes: usize,
    runs: Vec<File>,
    seq: u64,
}

impl ExternalSorter {
    /// A sorter that keeps up to `budget` bytes in memory and spills runs to
    /// anonymous files in `dir` (the system temporary directory if `None`).
    pub fn new(dir: Option<&Path>, budget: usize) -> Self {
        ExternalSorter {
            dir: dir.map_or_else(std::env::temp_dir, Path::to_path_buf),
            budget: budget.max(1),
            buf: Vec::new(),
            bytes: 0,
            runs: Vec::new(),
            seq: 0,
        }
    }

    /// Adds a record ordered by `key`, then `tie`, then insertion.
    pub fn push(&mut self, key: i64, tie: &[u8], payload: Vec<u8>) -> Result<(), HuntError> {
        self.bytes += tie.len() + payload.len() + RECORD_OVERHEAD;
        self.buf.push((key, self.seq, tie.to_vec(), payload));
        self.seq += 1;
        if self.bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Records added so far.
    pub fn len(&self) -> u64 {
        self.seq
    }

    /// True if nothing was added.
    pub fn is_empty(&self) -> bool {
        self.seq == 0
    }

    /// Runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn err(&self, source: std::io::Error) -> HuntError {
        HuntError::Spill {
            dir: self.dir.clone(),
            source,
        }
    }

    fn spill(&mut self) -> Result<(), HuntError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_unstable_by(order);
        let file = tempfile::tempfile_in(&self.dir).map_err(|e| self.err(e))?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        let write = |w: &mut BufWriter<File>, buf: &[Record]| -> std::io::Result<()> {
            for (k, s, t, p) in buf {
                w.write_all(&k.to_le_bytes())?;
                w.write_all(&s.to_le_bytes())?;
                w.write_all(&(t.len() as u32).to_le_bytes())?;
                w.write_all(&(p.len() as u32).to_le_bytes())?;
                w.write_all(t)?;
                w.write_all(p)?;
            }
            w.flush()
        };
        write(&mut w, &self.buf).map_err(|e| self.err(e))?;
        let mut file = w.into_inner().map_err(|e| self.err(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| self.err(e))?;
        self.runs.push(file);
        self.buf.clear();
        self.buf.shrink_to_fit();
        self.bytes = 0;
        Ok(())
    }

    /// Sorts what was added and returns the records in key order.
    pub fn finish(mut self) -> Result<Sorted, HuntError> {
        if self.runs.is_empty() {
            self.buf.sort_unstable_by(order);
            return Ok(Sorted {
                inner: Inner::Memory(self.buf.into_iter()),
                dir: self.dir,
            });
        }
        self.spill()?;
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .drain(..)
            .map(|f| BufReader::with_capacity(8 << 10, f))
            .collect();
        let mut heap = BinaryHeap::new();
        let mut heads = Vec::with_capacity(readers.len());
        for (i, r) in readers.iter_mut().enumerate() {
            let head = read_record(r).map_err(|e| self.err(e))?;
            if let Some((k, s, t, p)) = head {
                heap.push(Reverse((k, t, s, i)));
                heads.push(Some(p));
            } else {
                heads.push(None);
            }
        }
        Ok(Sorted {
            inner: Inner::Merge {
                readers,
                heads,
                heap,
            },
            dir: self.dir,
        })
    }
}

fn order(a: &Record, b: &Record) -> std::cmp::Ordering {
    (a.0, &a.2, a.1).cmp(&(b.0, &b.2, b.1))
}

fn read_record(r: &mut impl Read) -> std::io::Result<Option<Record>> {
    let mut head = [0u8; 24];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let k = i64::from_le_bytes(head[0..8].try_into().expect("8 bytes"));
    let s = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes"));
    let tie = u32::from_le_bytes(head[16..20].try_into().expect("4 bytes")) as usize;
    let len = u32::from_le_bytes(head[20..24].try_into().expect("4 bytes")) as usize;
    let mut t = vec![0; tie];
    r.read_exact(&mut t)?;
    let mut p = vec![0; len];
    r.read_exact(&mut p)?;
    Ok(Some((k, s, t, p)))
}

enum Inner {
    Memory(std::vec::IntoIter<Record>),
    Merge {
        readers: Vec<BufReader<File>>,
        heads: Vec<Option<Vec<u8>>>,
        heap: BinaryHeap<Head>,
    },
}

/// The records of an [`ExternalSorter`] in key order.
pub struct Sorted {
    inner: Inner,
    dir: PathBuf,
}

impl Iterator for Sorted {
    type Item = Result<(i64, Vec<u8>), HuntError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Memory(it) => it.next().map(|(k, _, _, p)| Ok((k, p))),
            Inner::Merge {
                readers,
                heads,
                heap,
            } => {
                let Reverse((k, _, _, i)) = heap.pop()?;
                let payload = heads[i].take().expect("head of a run in the heap");
                match read_record(&mut readers[i]) {
                    Ok(Some((k2, s2, t2, p2))) => {
                        heads[i] = Some(p2);
                        heap.push(Reverse((k2, t2, s2, i)));
                    }
                    Ok(None) => {}
                    Err(source) => {
                        return Some(Err(HuntError::Spill {
                            dir: self.dir.clone(),
                            source,
                        }));
                    }
                }
                Some(Ok((k, payload)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(budget: usize, keys: &[i64]) -> (Vec<(i64, Vec<u8>)>, usize) {
        let mut s = ExternalSorter::new(None, budget);
        for (i, k) in keys.iter().enumerate() {
            s.push(*k, &[(i % 3) as u8], format!("{k}/{i}").into_bytes())
                .unwrap();
        }
        let runs = s.runs();
        (s.finish().unwrap().map(Result::unwrap).collect(), runs)
    }

    #[test]
    fn sorts_in_memory_and_spilled_alike_and_stably() {
        let keys: Vec<i64> = (0..5000).map(|i| (i * 7919) % 613 - 300).collect();
        let (mem, r0) = run(usize::MAX, &keys);
        let (disk, r1) = run(4096, &keys);
        assert_eq!(r0, 0);
        assert!(r1 > 10, "{r1} runs");
        assert_eq!(mem, disk);
        assert_eq!(mem.len(), keys.len());
        assert!(mem.windows(2).all(|w| w[0].0 <= w[1].0));
        // Among equal keys: tie-break (index mod 3), then insertion order.
        let idx = |p: &[u8]| -> usize {
            std::str::from_utf8(p)
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!(mem.windows(2).all(|w| {
            let (a, b) = (idx(&w[0].1), idx(&w[1].1));
            w[0].0 != w[1].0 || (a % 3, a) < (b % 3, b)
        }));
    }

    #[test]
    fn empty() {
        assert_eq!(run(10, &[]).0.len(), 0);
    }
}
