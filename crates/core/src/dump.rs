//! `dump`: the events exactly as the hunt sees them, as JSON Lines, with no
//! rules: `origin`, `timestamp`, `format`, `logsource` and `fields` per
//! line. It is how an analyst checks what a rule will be matched against
//! (field names after mapping, the log source an event was routed to), and
//! it measures reading alone.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use tiaki_evidence::read_paths;

use crate::error::HuntError;
use crate::hunt::{HuntOptions, Progress};
use crate::output::io;
use crate::pipeline::{apply_filter, count_formats};
use crate::summary::Summary;

/// Writes every event of `paths` (after `opts.filter`) to `out` as JSON
/// Lines, or only counts them if `out` is `None`. Returns the summary.
pub fn dump<P: AsRef<Path>>(
    paths: &[P],
    opts: &HuntOptions,
    mut out: Option<&mut dyn Write>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, HuntError> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut failed: Option<HuntError> = None;
    let mut seen = Progress::default();
    let mut line = Vec::with_capacity(4096);
    let report = read_paths(paths, &opts.read, |mut batch| {
        if failed.is_some() {
            return;
        }
        seen.events += batch.len() as u64;
        count_formats(&batch, &mut summary);
        apply_filter(&opts.filter, &mut batch, &mut summary);
        summary.events_hunted += batch.len() as u64;
        if let Some(w) = out.as_mut() {
            for e in &batch {
                line.clear();
                let r = serde_json::to_writer(&mut line, e)
                    .map_err(HuntError::from)
                    .and_then(|()| {
                        line.push(b'\n');
                        w.write_all(&line).map_err(io)
                    });
                if let Err(e) = r {
                    failed = Some(e);
                    return;
                }
            }
        }
        progress(&seen);
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(w) = out.as_mut() {
        w.flush().map_err(io)?;
    }
    summary.add_read_report(&report);
    summary.events_read = report.events();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
