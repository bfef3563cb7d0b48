//! Reading many evidence files at once, streaming events to the caller in batches.
//!
//! Why this shape: evidence for one case can be hundreds of gigabytes, so events must flow
//! to the hunt stage as they are read, with memory bounded by the work in flight, not by the
//! evidence. Files are read in parallel by a few reader threads; each sends batches of
//! events through a bounded channel to the caller's thread, which hands them to the sink.
//! When the sink is slower than the readers, the readers wait.
//!
//! Why plain threads for files and rayon for records: the `evtx` crate parses chunks on
//! rayon's global pool and waits for them on an ordinary channel. If files were read on
//! rayon workers too, every worker could end up waiting for chunk jobs queued behind
//! itself. So files get their own threads and EVTX records the rayon pool.

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

use crate::error::EvidenceError;
use crate::event::Event;
use crate::options::ReadOptions;
use crate::report::{FileReport, ReadReport};
use crate::source::{self, Job};

/// Reads every file under `paths` (directories are walked recursively), recognising each
/// format (or using `opts.format`), and calls `sink` with batches of events on the calling
/// thread. Returns what was read and skipped, per file and archive member, in path order.
///
/// Events of one file arrive in file order; batches of different files interleave. Bad
/// records are skipped and counted; a file that cannot be read is reported and the others
/// are still read. Nothing is ever written.
pub fn read_paths<P: AsRef<Path>>(
    paths: &[P],
    opts: &ReadOptions,
    mut sink: impl FnMut(Vec<Event>),
) -> ReadReport {
    let mut jobs = Vec::new();
    for p in paths {
        source::walk(p.as_ref(), &mut jobs, opts.follow_links_outside_root);
    }
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<FileReport>)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let (tx, rx) = sync_channel::<Vec<Event>>(threads * 2);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (jobs, next, results) = (&jobs, &next, &results);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let reports = match job {
                        Job::Error(_) => Vec::new(),
                        Job::File { path, display } => {
                            let mut send = |b: Vec<Event>| {
                                // The receiver only goes away if the caller's sink panicked.
                                let _ = tx.send(b);
                            };
                            guarded(display, || {
                                source::read_file(path, display.clone(), opts, &mut send)
                            })
                        }
                    };
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, reports));
                }
            });
        }
        drop(tx);
        for batch in rx {
            sink(batch);
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut report = ReadReport::default();
    let mut by_index = results.into_iter().peekable();
    for (i, job) in jobs.into_iter().enumerate() {
        match job {
            Job::Error(r) => report.files.push(r),
            Job::File { .. } => {
                while let Some((j, _)) = by_index.peek() {
                    if *j != i {
                        break;
                    }
                    let (_, reps) = by_index.next().expect("peeked");
                    report.files.extend(reps);
                }
            }
        }
    }
    report
}

/// Reads one stream (standard input, a pipe, a network download…) named `name` for origins
/// and errors. Archives and EVTX in a stream are buffered in memory (within the limits).
pub fn read_reader<R: Read>(
    name: &str,
    reader: R,
    opts: &ReadOptions,
    mut sink: impl FnMut(Vec<Event>),
) -> ReadReport {
    let display: std::sync::Arc<str> = name.into();
    let files = guarded(&display, || {
        source::read_stream(name, Box::new(reader), opts, &mut sink)
    });
    ReadReport { files }
}

/// Runs a reader, turning a panic (a bug in a parser, ours or a dependency's) into a report
/// for that file instead of taking the whole run down.
fn guarded(display: &std::sync::Arc<str>, f: impl FnOnce() -> Vec<FileReport>) -> Vec<FileReport> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let mut r = FileReport::new(display.clone());
            r.fail(
                EvidenceError::Read {
                    path: display.clone(),
                    source: std::io::Error::other(format!("reader failed (internal error): {msg}")),
                },
                1,
            );
            vec![r]
        }
    }
}
