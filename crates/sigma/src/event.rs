//! How the engine sees an event: a small trait, nothing about formats.
//!
//! The Sigma engine must not know whether an event came from EVTX, JSON or a
//! web log. Readers implement [`Event`]: look up a field by name, and visit
//! every value (for keyword searches). An implementation for `serde_json`
//! values ships behind the default `json` feature.

use std::borrow::Cow;

/// A field value as the matcher needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// The field is present with a null value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer too large for `i64`.
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A list: a rule value matches if it matches any element.
    List(Vec<Value<'a>>),
    /// A nested object: present, but not comparable with a value.
    Object,
}

impl Value<'_> {
    /// Appends the value as text to `out` the way Sigma compares values
    /// (all values are strings); returns false for null, lists and objects.
    pub fn write_text(&self, out: &mut String) -> bool {
        use std::fmt::Write;
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Int(i) => {
                if *i < 0 {
                    out.push('-');
                }
                push_decimal(out, i.unsigned_abs());
            }
            Value::UInt(u) => push_decimal(out, *u),
            Value::Float(f) => {
                let _ = write!(out, "{f}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Null | Value::List(_) | Value::Object => return false,
        }
        true
    }

    /// The value as text: a string as it is, anything else written into `buf`; `None` for
    /// null, lists and objects. Saves copying strings where the text is only read.
    pub fn text<'a>(&'a self, buf: &'a mut String) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => {
                buf.clear();
                self.write_text(buf).then_some(buf.as_str())
            }
        }
    }
}

/// Appends `n` in decimal, as `write!(out, "{n}")` would, without the formatting machinery
/// (event ids and process ids are numbers in most evidence, and keyword rules read them all).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

/// An event the engine can evaluate rules against.
pub trait Event {
    /// The value of a field, or `None` if the event has no such field.
    ///
    /// Implementations resolve an exact key first and may then resolve a
    /// dotted path into nested objects (`Event.System.EventID`).
    fn field(&self, name: &str) -> Option<Value<'_>>;

    /// Calls `visit` with every leaf value of the event (strings, numbers,
    /// booleans; list elements individually), for keyword searches.
    fn for_each_value(&self, visit: &mut dyn FnMut(&Value<'_>));
}

#[cfg(feature = "json")]
mod json {
    use super::{Event, Value};
    use serde_json::{Map, Value as Json};
    use std::borrow::Cow;

    fn convert(v: &Json) -> Value<'_> {
        match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(s) => Value::Str(Cow::Borrowed(s)),
            Json::Array(items) => Value::List(items.iter().map(convert).collect()),
            Json::Object(_) => Value::Object,
        }
    }

    fn lookup<'a>(map: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
        if let Some(v) = map.get(name) {
            return Some(v);
        }
        // Dotted path: try every split point, longest exact key first.
        let mut search = name;
        while let Some(dot) = search.rfind('.') {
            let (head, tail) = (&name[..dot], &name[dot + 1..]);
            if let Some(Json::Object(inner)) = map.get(head)
                && let Some(v) = lookup(inner, tail)
            {
                return Some(v);
            }
            search = &name[..dot];
        }
        None
    }

    fn visit_all(v: &Json, visit: &mut dyn FnMut(&Value<'_>)) {
        match v {
            Json::Object(m) => m.values().for_each(|v| visit_all(v, visit)),
            Json::Array(items) => items.iter().for_each(|v| visit_all(v, visit)),
            other => visit(&convert(other)),
        }
    }

    impl Event for Map<String, Json> {
        fn field(&self, name: &str) -> Option<Value<'_>> {
            lookup(self, name).map(convert)
        }

        fn for_each_value(&self, visit: &mut dyn FnMut(&Value<'_>)) {
            self.values().for_each(|v| visit_all(v, visit));
        }
    }

    impl Event for Json {
        fn field(&self, name: &str) -> Option<Value<'_>> {
            match self {
                Json::Object(m) => m.field(name),
                _ => None,
            }
        }

        fn for_each_value(&self, visit: &mut dyn FnMut(&Value<'_>)) {
            visit_all(self, visit)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exact_key_wins_over_path() {
            let v: Json = serde_json::json!({"a.b": 1, "a": {"b": 2, "c": {"d": "x"}}});
            assert_eq!(v.field("a.b"), Some(Value::Int(1)));
            assert_eq!(v.field("a.c.d"), Some(Value::Str("x".into())));
            assert_eq!(v.field("a.x"), None);
            assert_eq!(v.field("a"), Some(Value::Object));
        }

        #[test]
        fn visits_leaves() {
            let v: Json = serde_json::json!({"a": [1, "x"], "b": {"c": true}});
            let mut seen = Vec::new();
            v.for_each_value(&mut |val| {
                let mut s = String::new();
                val.write_text(&mut s);
                seen.push(s);
            });
            assert_eq!(seen, vec!["1", "x", "true"]);
        }
    }
}

#[cfg(test)]
mod text_tests {
    use super::Value;

    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        for i in [0i64, 7, -7, 10, 4688, -1_000_000, i64::MIN, i64::MAX] {
            let mut out = String::from("x");
            assert!(Value::Int(i).write_text(&mut out));
            assert_eq!(out, format!("x{i}"));
        }
        for u in [0u64, 9, 10, 99, 100, u64::MAX] {
            let mut out = String::new();
            assert!(Value::UInt(u).write_text(&mut out));
            assert_eq!(out, u.to_string());
        }
        let mut buf = String::from("stale");
        assert_eq!(Value::Str("a".into()).text(&mut buf), Some("a"));
        assert_eq!(Value::Int(-3).text(&mut buf), Some("-3"));
        assert_eq!(Value::Null.text(&mut buf), None);
    }
}
