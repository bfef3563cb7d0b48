//! Windows XML event exports (`wevtutil qe /f:xml`, Event Viewer "Save as XML",
//! `Get-WinEvent | ConvertTo-Xml`-style `<Events><Event xmlns=…>` documents).
//!
//! Why a streaming parser: exports can be gigabytes; `quick-xml` reads them event by event
//! and each `<Event>` is flattened as it is read, with the same rules as EVTX and
//! `evtx_dump` JSON (`crate::windows`): `<System>` children by name, their attributes as
//! `Tag_Attribute`, `<Data Name="X">` as `X` (spaces stripped), other data elements down to
//! their leaves. XML has no types, so the `<System>` numbers EVTX stores as integers are
//! converted (`data/windows.toml`), leaving `EventData` values as the strings they are. An
//! empty `<System>` child (`<Correlation/>`) is `null`, an empty `<Data>` is `""`.

use std::io::{self, BufRead};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::error::EvidenceError;
use crate::event::Format;
use crate::windows::{data_name, put};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    System,
    SysChild,
    Container,
    DataChild,
    /// An unnamed `<Data>`.
    Unnamed,
}

struct Frame {
    kind: Kind,
    name: String,
    text: String,
    children: bool,
    attrs: usize,
}

pub(crate) fn read(ctx: &mut Ctx<'_>, r: &mut dyn BufRead) -> io::Result<()> {
    let mut count = 0u64;
    let result = events(r, &mut |fields| {
        count += 1;
        ctx.emit_windows(fields, Format::WindowsXml, None, None, true);
    });
    match result {
        Ok(()) => Ok(()),
        Err(XmlError::Io(e)) => Err(e),
        Err(XmlError::Syntax {
            at,
            message,
            in_event,
        }) => {
            if in_event {
                let loc = ctx.loc(None, None, None);
                ctx.skip(
                    "malformed XML event",
                    loc,
                    format!("event {} at byte {at}: {message}", count + 1),
                );
            }
            let path = ctx.path.clone();
            ctx.fail(EvidenceError::Format {
                path,
                format: Format::WindowsXml,
                detail: format!(
                    "XML error at byte {at}: {message}; the rest of the file was not read"
                ),
            });
            Ok(())
        }
        Err(XmlError::Truncated) => {
            let loc = ctx.loc(None, None, None);
            ctx.skip(
                "truncated XML event",
                loc,
                format!("the file ends inside event {}", count + 1),
            );
            Ok(())
        }
    }
}

/// Flattens the Windows events in one XML string (Sysmon for Linux writes each event to
/// syslog as XML); `None` if it holds no complete event.
pub(crate) fn flatten_str(xml: &str) -> Option<Map<String, Value>> {
    let mut out = None;
    let mut r = xml.as_bytes();
    let _ = events(&mut r, &mut |fields| {
        if out.is_none() {
            out = Some(fields);
        }
    });
    out
}

/// Why reading XML stopped.
pub(crate) enum XmlError {
    Io(io::Error),
    Syntax {
        at: u64,
        message: String,
        in_event: bool,
    },
    Truncated,
}

/// Reads `<Event>` elements from `r`, calling `on_event` with each one's flattened fields.
fn events(
    r: &mut dyn BufRead,
    on_event: &mut dyn FnMut(Map<String, Value>),
) -> Result<(), XmlError> {
    let mut reader = quick_xml::Reader::from_reader(r);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut fields = Map::new();
    let mut unnamed_key: Option<String> = None;
    loop {
        let ev = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                if let quick_xml::Error::Io(io) = &e {
                    return Err(XmlError::Io(io::Error::new(io.kind(), io.to_string())));
                }
                return Err(XmlError::Syntax {
                    at: reader.error_position(),
                    message: e.to_string(),
                    in_event: !stack.is_empty(),
                });
            }
        };
        match ev {
            XmlEvent::Start(e) => start(&e, &mut stack, &mut fields, &mut unnamed_key),
            XmlEvent::Empty(e) => {
                let depth = stack.len();
                start(&e, &mut stack, &mut fields, &mut unnamed_key);
                if stack.len() > depth {
                    end(on_event, &mut stack, &mut fields, &mut unnamed_key);
                }
            }
            XmlEvent::End(_) if !stack.is_empty() => {
                end(on_event, &mut stack, &mut fields, &mut unnamed_key);
            }
            XmlEvent::Text(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t.xml10_content());
                }
            }
            XmlEvent::CData(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t.into_inner());
                }
            }
            XmlEvent::GeneralRef(g) => {
                if let Some(f) = stack.last_mut() {
                    match g.resolve_char_ref() {
                        Ok(Some(c)) => f.text.push(c),
                        _ => {
                            let name = g.into_inner();
                            match &*name {
                                "lt" => f.text.push('<'),
                                "gt" => f.text.push('>'),
                                "amp" => f.text.push('&'),
                                "quot" => f.text.push('"'),
                                "apos" => f.text.push('\''),
                                other => {
                                    f.text.push('&');
                                    f.text.push_str(other);
                                    f.text.push(';');
                                }
                            }
                        }
                    }
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    Ok(())
}

fn local(e: &BytesStart<'_>) -> String {
    let n = e.local_name();
    let s: &str = n.as_ref();
    s.to_string()
}

fn attr_values(e: &BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key: &str = a.key.as_ref();
            if key == "xmlns" || key.starts_with("xmlns:") {
                return None;
            }
            let local = a.key.local_name();
            let local: &str = local.as_ref();
            let local = local.to_string();
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            Some((local, v))
        })
        .collect()
}

fn start(
    e: &BytesStart<'_>,
    stack: &mut Vec<Frame>,
    fields: &mut Map<String, Value>,
    _unnamed: &mut Option<String>,
) {
    let n = local(e);
    let Some(parent) = stack.last_mut() else {
        if n == "Event" {
            fields.clear();
            stack.push(Frame {
                kind: Kind::Event,
                name: n,
                text: String::new(),
                children: false,
                attrs: 0,
            });
        }
        return;
    };
    parent.children = true;
    let (kind, name, attrs) = match parent.kind {
        Kind::Event => {
            if n == "System" {
                (Kind::System, n, 0)
            } else {
                (Kind::Container, n, 0)
            }
        }
        Kind::System | Kind::SysChild => {
            let name = if parent.kind == Kind::System {
                n
            } else {
                format!("{}_{n}", parent.name)
            };
            let mut written = 0;
            for (a, v) in attr_values(e) {
                if !v.is_empty() {
                    put(fields, format!("{name}_{a}"), Value::String(v));
                    written += 1;
                }
            }
            (Kind::SysChild, name, written)
        }
        Kind::Container | Kind::DataChild | Kind::Unnamed => {
            if n == "Data" {
                match attr_values(e).into_iter().find(|(a, _)| a == "Name") {
                    Some((_, v)) => (Kind::DataChild, data_name(&v).into_owned(), 0),
                    None => (Kind::Unnamed, "Data".to_string(), 0),
                }
            } else {
                (Kind::DataChild, data_name(&n).into_owned(), 0)
            }
        }
    };
    stack.push(Frame {
        kind,
        name,
        text: String::new(),
        children: false,
        attrs,
    });
}

/// Closes the innermost element; returns true when it closed an event (and emitted it).
/// Closes the innermost element; at the end of an event, hands its fields to `on_event`.
fn end(
    on_event: &mut dyn FnMut(Map<String, Value>),
    stack: &mut Vec<Frame>,
    fields: &mut Map<String, Value>,
    unnamed: &mut Option<String>,
) {
    let Some(f) = stack.pop() else { return };
    match f.kind {
        Kind::Event => {
            *unnamed = None;
            on_event(std::mem::take(fields));
        }
        Kind::System => {}
        Kind::SysChild => {
            if !f.children {
                if !f.text.is_empty() {
                    put(fields, f.name, Value::String(f.text));
                } else if f.attrs == 0 {
                    put(fields, f.name, Value::Null);
                }
            }
        }
        Kind::Container => {
            if !f.children && !f.text.trim().is_empty() {
                put(fields, f.name, Value::String(f.text));
            }
        }
        Kind::DataChild => {
            if !f.children {
                put(fields, f.name, Value::String(f.text));
            }
        }
        Kind::Unnamed => {
            if !f.children {
                // Several unnamed <Data> make a list, at the place of the first one.
                match unnamed.as_ref().and_then(|k| fields.get_mut(k)) {
                    Some(Value::Array(items)) => items.push(Value::String(f.text)),
                    Some(v) => {
                        let first = v.take();
                        *v = Value::Array(vec![first, Value::String(f.text)]);
                    }
                    None => {
                        let key = if fields.contains_key("Data") {
                            let mut i = 1;
                            while fields.contains_key(&format!("Data_{i}")) {
                                i += 1;
                            }
                            format!("Data_{i}")
                        } else {
                            "Data".to_string()
                        };
                        fields.insert(key.clone(), Value::String(f.text));
                        *unnamed = Some(key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::options::ReadOptions;

    fn run(xml: &str) -> (Vec<Event>, crate::FileReport) {
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<Event>| events.extend(b);
        let mut ctx = Ctx::new(&opts, "x.xml".into(), "x.xml".into(), None, &mut out);
        read(&mut ctx, &mut xml.as_bytes()).unwrap();
        let rep = ctx.finish();
        (events, rep)
    }

    #[test]
    fn flattens_like_evtx() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<Events>
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2019-03-19T17:06:22.908086500Z'/><EventRecordID>1234</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='88'/><Channel>Security</Channel><Computer>PC01</Computer><Security/></System><EventData><Data Name='NewProcessName'>C:\Windows\System32\cmd.exe</Data><Data Name='CommandLine'>cmd /c &quot;echo &amp; x&quot;  </Data><Data Name='Parent Process Name'>C:\explorer.exe</Data><Data Name='Empty'></Data></EventData></Event>
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID Qualifiers='16384'>7036</EventID><Channel>System</Channel></System><EventData><Data>a</Data><Data>b</Data><Binary>00FF</Binary></EventData></Event>
<Event><System><EventID>1102</EventID><Channel>Security</Channel></System><UserData><LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'><SubjectUserName>bob</SubjectUserName><Channel>Security</Channel></LogFileCleared></UserData></Event>
</Events>"#;
        let (ev, rep) = run(xml);
        assert_eq!(ev.len(), 3, "{rep}");
        let f = &ev[0].fields;
        assert_eq!(f["Provider_Name"], "Microsoft-Windows-Security-Auditing");
        assert_eq!(f["EventID"], 4688);
        assert_eq!(f["Execution_ProcessID"], 4);
        assert_eq!(f["Correlation"], Value::Null);
        assert_eq!(f["Security"], Value::Null);
        assert_eq!(f["Keywords"], "0x8020000000000000");
        assert_eq!(f["CommandLine"], "cmd /c \"echo & x\"  ");
        assert_eq!(f["ParentProcessName"], "C:\\explorer.exe");
        assert_eq!(f["Empty"], "");
        assert_eq!(f["Image"], "C:\\Windows\\System32\\cmd.exe");
        assert_eq!(ev[0].origin.record_id, Some(1234));
        assert_eq!(
            ev[0].logsource.category.as_deref(),
            Some("process_creation")
        );
        assert_eq!(
            ev[0].timestamp.unwrap().to_rfc3339(),
            "2019-03-19T17:06:22.908086500+00:00"
        );
        let f = &ev[1].fields;
        assert_eq!(f["EventID_Qualifiers"], 16384);
        assert_eq!(f["EventID"], 7036);
        assert_eq!(f["Data"], serde_json::json!(["a", "b"]));
        assert_eq!(f["Binary"], "00FF");
        let f = &ev[2].fields;
        assert_eq!(f["SubjectUserName"], "bob");
        assert_eq!(f["Channel"], "Security");
        assert_eq!(f["Channel_1"], "Security");
    }

    #[test]
    fn broken_xml_is_reported() {
        let (ev, rep) = run(
            "<Events><Event><System><EventID>1</EventID></System></Event><Event><System><EventID>2</Oops>",
        );
        assert_eq!(ev.len(), 1);
        assert!(!rep.complete, "{rep}");
        assert!(
            rep.errors
                .iter()
                .any(|e| e.to_string().contains("XML error at byte")),
            "{rep}"
        );
    }
}
