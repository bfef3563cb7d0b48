//! A small HTTP load generator for `bench/serve-load.sh`: several threads, each with its own
//! keep-alive connection, request one URL as fast as the server answers, bounded by time and by
//! a request count. Prints requests per second, latency percentiles and errors (any transport
//! failure or non-2xx status) as one JSON line; exits 1 if any request failed.
//!
//! ```text
//! cargo run --release -p tiaki-server --example load -- \
//!     --url http://127.0.0.1:8080/api/v1/cases/pdo/timeline?limit=100 \
//!     --header "Authorization: Bearer tiaki_…" --concurrency 8 --seconds 20 --max-requests 200000
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    headers: Vec<(String, String)>,
    concurrency: usize,
    seconds: f64,
    max_requests: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        headers: Vec::new(),
        concurrency: 8,
        seconds: 10.0,
        max_requests: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = val()?,
            "--header" => {
                let h = val()?;
                let (k, v) = h.split_once(':').ok_or(format!("bad header {h}"))?;
                a.headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            "--concurrency" => a.concurrency = val()?.parse().map_err(|e| format!("{e}"))?,
            "--seconds" => a.seconds = val()?.parse().map_err(|e| format!("{e}"))?,
            "--max-requests" => a.max_requests = val()?.parse().map_err(|e| format!("{e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(a)
}

/// What one worker measured.
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    bytes: u64,
    first_error: Option<String>,
}

fn worker(args: &Args, issued: &AtomicU64, deadline: Instant) -> Tally {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut t = Tally {
        latencies_us: Vec::new(),
        errors: 0,
        bytes: 0,
        first_error: None,
    };
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < args.max_requests {
        let start = Instant::now();
        let mut req = agent.get(&args.url);
        for (k, v) in &args.headers {
            req = req.header(k, v);
        }
        match req.call() {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(256 * 1024 * 1024)
                    .read_to_vec()
                    .unwrap_or_default();
                t.bytes += body.len() as u64;
                if !(200..300).contains(&status) {
                    t.errors += 1;
                    t.first_error.get_or_insert(format!("HTTP {status}"));
                }
            }
            Err(e) => {
                t.errors += 1;
                t.first_error.get_or_insert(e.to_string());
            }
        }
        t.latencies_us.push(start.elapsed().as_micros() as u64);
    }
    t
}

fn main() {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            let args = Arc::clone(&args);
            let issued = Arc::clone(&issued);
            std::thread::spawn(move || worker(&args, &issued, deadline))
        })
        .collect();
    let mut lat = Vec::new();
    let (mut errors, mut bytes, mut first_error) = (0, 0, None);
    for w in workers {
        let t = w.join().expect("worker panicked");
        lat.extend(t.latencies_us);
        errors += t.errors;
        bytes += t.bytes;
        if first_error.is_none() {
            first_error = t.first_error;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    println!(
        "{}",
        serde_json::json!({
            "url": args.url,
            "concurrency": args.concurrency,
            "requests": lat.len(),
            "errors": errors,
            "first_error": first_error,
            "seconds": (elapsed * 100.0).round() / 100.0,
            "requests_per_second": (lat.len() as f64 / elapsed).round(),
            "mean_bytes": if lat.is_empty() { 0 } else { bytes / lat.len() as u64 },
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": pct(1.0),
        })
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
