//! The HTML report in a real browser: headless Chromium renders the "Operation Quiet Draft"
//! case, and the test checks what an analyst would see at the top of the page.
//!
//! Three runs of `/usr/bin/chromium` (override with `TIAKI_CHROMIUM`), each killed after 60 s:
//!
//! 1. a control page with an external image, a local image and a `console.error` under the
//!    report's Content-Security-Policy, which must produce console lines on stderr — proving
//!    that the log check below can see failures at all;
//! 2. the report with `--dump-dom`: the DOM must hold the sections in order, no script or image
//!    element (the hostile `<script>` and `<img onerror>` in the evidence stay text), and the
//!    log must have no console line (no script error, no resource load refused by the CSP —
//!    the report's CSP turns any attempt to fetch anything into a logged violation);
//! 3. the report with `--screenshot` at 1400×2200: the PNG is decoded and must show
//!    * the timeline: separate marker blobs in the tactic colours of
//!      [`palette::TACTIC_COLOURS`] (colours used only by the timeline's markers and legend),
//!      more than the legend alone could account for;
//!    * the attribution: a horizontal run of [`palette::ATTRIBUTION_BAR`] (used only by the
//!      candidates' bars) followed by [`palette::ATTRIBUTION_TRACK`] (used only by the bars'
//!      track), whose ratio is the leading candidate's probability, 0.90;
//!    * the timeline above the attribution.
//!
//! There is no skip: a missing Chromium fails the test with instructions. Each run works in its
//! own temporary directory; the screenshot and the rendered report are copied to
//! `$CARGO_TARGET_TMPDIR/chromium/` (inside the target directory) for a look.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tiaki_report::html::palette;

const TIMEOUT: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    let path = std::env::var_os("TIAKI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: install Debian's `chromium` package (apt-get install chromium) \
         or set TIAKI_CHROMIUM to a Chromium binary. This test does not skip.",
        path.display()
    );
    path
}

struct Run {
    stdout: String,
    stderr: String,
}

impl Run {
    /// Console messages Chromium logged (script errors, CSP violations, console calls).
    fn console(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect()
    }
}

/// Runs Chromium headless on `page` with `extra` flags, killing it after [`TIMEOUT`].
fn run(dir: &Path, page: &Path, extra: &[String]) -> Run {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1400,2200",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",
        "--enable-logging=stderr",
        "--v=0",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {} s on {}",
                TIMEOUT.as_secs(),
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    };
    assert!(
        status.success(),
        "chromium failed ({status}) on {}:\n{}",
        page.display(),
        run.stderr
    );
    run
}

/// 8-bit RGB pixels of a PNG.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

fn decode(path: &Path) -> Image {
    let bytes = std::fs::read(path).expect("read screenshot");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Image {
        width: info.width as usize,
        height: info.height as usize,
        rgb,
    }
}

fn hex(c: &str) -> [u8; 3] {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 3)
}

impl Image {
    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }

    /// Connected regions (4-neighbour) of `colour` with at least `min` pixels: (size, centre y).
    fn blobs(&self, colour: [u8; 3], min: usize) -> Vec<(usize, usize)> {
        let mut seen = vec![false; self.rgb.len()];
        let mut out = Vec::new();
        for start in 0..self.rgb.len() {
            if seen[start] || !near(self.rgb[start], colour) {
                continue;
            }
            let (mut size, mut ysum) = (0, 0);
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(i) = stack.pop() {
                size += 1;
                ysum += i / self.width;
                let (x, y) = (i % self.width, i / self.width);
                let mut push = |j: usize| {
                    if !seen[j] && near(self.rgb[j], colour) {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    push(i - 1);
                }
                if x + 1 < self.width {
                    push(i + 1);
                }
                if y > 0 {
                    push(i - self.width);
                }
                if y + 1 < self.height {
                    push(i + self.width);
                }
            }
            if size >= min {
                out.push((size, ysum / size));
            }
        }
        out
    }

    /// The longest horizontal run of `colour`: (row, first x, length).
    fn longest_run(&self, colour: [u8; 3]) -> Option<(usize, usize, usize)> {
        let mut best: Option<(usize, usize, usize)> = None;
        for y in 0..self.height {
            let mut x = 0;
            while x < self.width {
                if near(self.at(x, y), colour) {
                    let s = x;
                    while x < self.width && near(self.at(x, y), colour) {
                        x += 1;
                    }
                    if best.is_none_or(|b| x - s > b.2) {
                        best = Some((y, s, x - s));
                    }
                } else {
                    x += 1;
                }
            }
        }
        best
    }
}

/// Copies the screenshot and the report to `$CARGO_TARGET_TMPDIR/chromium/` for a look; each
/// run works in its own temporary directory, so concurrent runs (debug and release builds
/// share the directory) do not clobber each other's files.
fn keep(files: &[&Path]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium");
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        let tmp = dir.join(format!(
            ".{}.{}",
            f.file_name().unwrap().to_string_lossy(),
            std::process::id()
        ));
        std::fs::copy(f, &tmp).unwrap();
        std::fs::rename(&tmp, dir.join(f.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn chromium_renders_the_timeline_and_the_attribution() {
    let work = tempfile::Builder::new()
        .prefix("chromium-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let dir = work.path();
    let inv = common::quiet_draft();
    let html = tiaki_report::render_html(&inv);
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();

    // 1. The control: the log check sees a refused load and a console error.
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"></head><body><img src=\"http://192.0.2.1/x.png\"><img src=\"local.png\"><script>console.error('control')</script></body></html>",
    )
    .unwrap();
    let c = run(dir, &control, &["--dump-dom".to_string()]);
    assert!(
        c.console().len() >= 2,
        "the control page's refused loads were not logged, so the checks below would be blind:\n{}",
        c.stderr
    );

    // 2. The DOM and the log.
    let r = run(dir, &page, &["--dump-dom".to_string()]);
    assert!(
        r.console().is_empty(),
        "console messages (script errors or refused resource loads):\n{}",
        r.console().join("\n")
    );
    let dom = r.stdout.to_ascii_lowercase();
    assert!(dom.contains("content-security-policy"), "CSP missing");
    assert!(!dom.contains("<script"), "a script element is in the DOM");
    assert!(!dom.contains("<img"), "an img element is in the DOM");
    assert!(dom.contains("&lt;script&gt;alert(document.domain)&lt;/script&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let mut last = 0;
    for id in [
        "timeline",
        "attribution",
        "graph",
        "matrix",
        "incidents",
        "containment",
        "recall",
        "appendix",
    ] {
        let at = dom
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("section {id} missing"));
        assert!(at > last, "section {id} out of order");
        last = at;
    }

    // 3. The screenshot.
    let shot = dir.join("shot.png");
    let s = run(dir, &page, &[format!("--screenshot={}", shot.display())]);
    assert!(
        s.console().is_empty(),
        "console messages:\n{}",
        s.console().join("\n")
    );
    let kept = keep(&[&shot, &page]);
    eprintln!("screenshot and report kept in {}", kept.display());
    let img = decode(&shot);
    assert_eq!((img.width, img.height), (1400, 2200), "screenshot size");

    // The timeline: marker blobs per tactic colour. The legend adds one blob per tactic shown.
    let mut colours_seen = 0;
    let mut marker_blobs = 0;
    let mut marker_y = Vec::new();
    for (tactic, colour) in palette::TACTIC_COLOURS {
        let blobs = img.blobs(hex(colour), 6);
        if !blobs.is_empty() {
            colours_seen += 1;
            marker_blobs += blobs.len() - 1;
            marker_y.extend(blobs.iter().map(|b| b.1));
        }
        eprintln!("{tactic:>22} {colour}: {} blobs", blobs.len());
    }
    assert!(
        colours_seen >= 8,
        "only {colours_seen} tactic colours in the screenshot: is the timeline drawn?"
    );
    assert!(
        marker_blobs >= 25,
        "only {marker_blobs} timeline markers beyond the legend in the screenshot"
    );

    // The attribution: the leading bar and its track; bar / (bar + track) = 0.90.
    let (row, x, bar) = img
        .longest_run(hex(palette::ATTRIBUTION_BAR))
        .expect("no attribution bar in the screenshot");
    let mut end = x + bar;
    // Skip the anti-aliased pixel or two at the bar's end.
    while end < img.width
        && !near(img.at(end, row), hex(palette::ATTRIBUTION_TRACK))
        && end < x + bar + 3
    {
        end += 1;
    }
    let mut track = 0;
    while end + track < img.width && near(img.at(end + track, row), hex(palette::ATTRIBUTION_TRACK))
    {
        track += 1;
    }
    let ratio = bar as f64 / (end + track - x) as f64;
    eprintln!(
        "attribution bar: row {row}, x {x}, {bar} px of {} px: {ratio:.3}",
        end + track - x
    );
    assert!(bar >= 400, "attribution bar only {bar} px wide");
    assert!(
        (ratio - 0.90).abs() < 0.01,
        "the leading bar shows {ratio:.3}, not 0.90"
    );

    // The timeline comes first.
    let timeline_y = marker_y.iter().copied().min().unwrap();
    assert!(
        timeline_y < row,
        "timeline markers (y {timeline_y}) are not above the attribution (y {row})"
    );
}
