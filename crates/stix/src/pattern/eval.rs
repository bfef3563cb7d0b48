//! Evaluation of a bracket (comparison expression) against one observation.
//!
//! Rules (STIX 2.1 §9 and the OASIS matcher's behaviour):
//! * The comparison expression is evaluated per root object: a bracket matches an
//!   observation if one of its root SCOs satisfies the whole expression. A comparison on
//!   another object type is false for that root (so `AND` across types never matches).
//! * A path yields zero or more values (`[*]`, `_refs`); a comparison holds if one value
//!   satisfies it. `NOT` negates the test of each value; a missing property yields no
//!   value, so the comparison is false with or without `NOT`.
//! * Type mismatch: `=` is false, `!=` true, ordering false. Integers and floats compare
//!   numerically. `=`, `!=`, `IN` and ordering compare strings code point by code point;
//!   `LIKE` and `MATCHES` first normalise both sides to Unicode NFC (the OASIS suite:
//!   `'d\u{323}\u{307}' = '\u{1e0d}\u{307}'` is false, the same `LIKE` is true).
//! * Properties whose name ends in `_bin` (base64) or `_hex` are bytes; binary literals
//!   compare bytewise with them and with strings whose code points are all below 256.
//! * A `t''` literal compared with a string that is not a STIX timestamp is an error.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::Value;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use super::MatchError;
use super::ast::*;
use super::observation::{ObjectPool, Observation};
use crate::timestamp::Timestamp;

/// The compiled forms of one `MATCHES` regular expression.
#[derive(Debug)]
pub(crate) struct CompiledRegex {
    text: Result<regex::Regex, String>,
    /// None when the pattern has a code point ≥ 256 (it cannot match bytes).
    bytes: Option<Result<regex::bytes::Regex, String>>,
}

/// Compiled regular expressions by pattern text.
pub(crate) type RegexCache = HashMap<String, CompiledRegex>;

pub(crate) fn compile_regex(pattern: &str) -> CompiledRegex {
    let text = regex::Regex::new(&nfc(pattern)).map_err(|e| e.to_string());
    let bytes =
        latin1_regex(pattern).map(|p| regex::bytes::Regex::new(&p).map_err(|e| e.to_string()));
    CompiledRegex { text, bytes }
}

/// The pattern for a byte regex: Unicode off, code points 128–255 written as `\xHH` so
/// they match one byte each. None if a code point is ≥ 256.
fn latin1_regex(pattern: &str) -> Option<String> {
    let mut out = String::from("(?-u)");
    let mut escaped = false;
    for c in pattern.chars() {
        let cp = u32::from(c);
        if cp >= 256 {
            return None;
        }
        if cp >= 128 {
            if escaped {
                // `\é` escapes a literal; drop the backslash already written.
                out.pop();
            }
            out.push_str(&format!("\\x{cp:02X}"));
            escaped = false;
        } else {
            out.push(c);
            escaped = c == '\\' && !escaped;
        }
    }
    Some(out)
}

fn nfc(s: &str) -> Cow<'_, str> {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// A string's code points as bytes, if all are below 256.
fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Tests one bracket against one observation.
pub(crate) fn eval_bracket(
    expr: &ComparisonExpr,
    obs: &Observation,
    regexes: &RegexCache,
) -> Result<bool, MatchError> {
    for root in &obs.objects {
        if eval_expr(expr, root, &obs.pool, regexes)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Tests a comparison expression against one root object.
pub(crate) fn eval_expr(
    expr: &ComparisonExpr,
    root: &Value,
    pool: &ObjectPool,
    regexes: &RegexCache,
) -> Result<bool, MatchError> {
    match expr {
        ComparisonExpr::And(items) => {
            for e in items {
                if !eval_expr(e, root, pool, regexes)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ComparisonExpr::Or(items) => {
            for e in items {
                if eval_expr(e, root, pool, regexes)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        ComparisonExpr::Test(c) => eval_comparison(c, root, pool, regexes),
    }
}

#[derive(Clone, Copy)]
struct PathValue<'a> {
    value: &'a Value,
    /// The value is a reference to follow before a further key step.
    is_ref: bool,
    /// The value is a list of references (`_refs`).
    is_ref_list: bool,
    /// The last property name on the way (decides `_bin`/`_hex`).
    key: Option<&'a str>,
}

fn resolve<'a>(root: &'a Value, path: &'a [PathStep], pool: &'a ObjectPool) -> Vec<PathValue<'a>> {
    let mut cur = vec![PathValue {
        value: root,
        is_ref: false,
        is_ref_list: false,
        key: None,
    }];
    for step in path {
        let mut next = Vec::new();
        for pv in cur {
            match step {
                PathStep::Key(k) => {
                    let base = if pv.is_ref {
                        match pv.value.as_str().and_then(|id| pool.get(id)) {
                            Some(o) => o,
                            None => continue,
                        }
                    } else {
                        pv.value
                    };
                    if let Some(v) = base.as_object().and_then(|o| o.get(k.as_str())) {
                        next.push(PathValue {
                            value: v,
                            is_ref: k.ends_with("_ref"),
                            is_ref_list: k.ends_with("_refs"),
                            key: Some(k.as_str()),
                        });
                    }
                }
                PathStep::Index(n) => {
                    if let Some(list) = pv.value.as_array() {
                        let len = list.len() as i64;
                        let i = if *n < 0 { len + n } else { *n };
                        if (0..len).contains(&i) {
                            next.push(PathValue {
                                value: &list[i as usize],
                                is_ref: pv.is_ref_list,
                                is_ref_list: false,
                                key: pv.key,
                            });
                        }
                    }
                }
                PathStep::AnyIndex => match pv.value {
                    Value::Array(list) => next.extend(list.iter().map(|v| PathValue {
                        value: v,
                        is_ref: pv.is_ref_list,
                        is_ref_list: false,
                        key: pv.key,
                    })),
                    Value::Object(map) => next.extend(map.values().map(|v| PathValue {
                        value: v,
                        is_ref: false,
                        is_ref_list: false,
                        key: pv.key,
                    })),
                    _ => {}
                },
            }
        }
        cur = next;
    }
    cur
}

/// A data value as the comparison rules see it.
enum Data<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'a str),
    Bytes(Vec<u8>),
    Other,
}

fn data<'a>(pv: &PathValue<'a>) -> Data<'a> {
    match pv.value {
        Value::Null => Data::Null,
        Value::Bool(b) => Data::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Data::Int(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Data::Int(i128::from(u))
            } else {
                Data::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => {
            let key = pv.key.unwrap_or("");
            if key.ends_with("_bin") {
                use base64::Engine as _;
                if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(s) {
                    return Data::Bytes(b);
                }
            } else if key.ends_with("_hex")
                && s.len().is_multiple_of(2)
                && s.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Data::Bytes(
                    s.as_bytes()
                        .chunks(2)
                        .map(|p| {
                            u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16)
                                .unwrap_or(0)
                        })
                        .collect(),
                );
            }
            Data::Str(s)
        }
        _ => Data::Other,
    }
}

fn literal_timestamp(t: &str) -> Result<Timestamp, MatchError> {
    Timestamp::parse(t)
        .map_err(|e| MatchError::InvalidTimestamp(format!("literal t'{t}': {}", e.reason)))
}

/// Orders a data value against a literal; None when they are not comparable.
fn compare(d: &Data<'_>, lit: &Literal) -> Result<Option<Ordering>, MatchError> {
    Ok(match (d, lit) {
        (Data::Int(a), Literal::Int(b)) => Some(a.cmp(&i128::from(*b))),
        (Data::Int(a), Literal::Float(b)) => (*a as f64).partial_cmp(b),
        (Data::Float(a), Literal::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Data::Float(a), Literal::Float(b)) => a.partial_cmp(b),
        (Data::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Data::Str(a), Literal::Str(b)) => Some(a.cmp(&b.as_str())),
        (Data::Str(a), Literal::Base64(b) | Literal::Hex(b)) => {
            latin1(a).map(|a| a.as_slice().cmp(b.as_slice()))
        }
        (Data::Bytes(a), Literal::Base64(b) | Literal::Hex(b)) => {
            Some(a.as_slice().cmp(b.as_slice()))
        }
        (Data::Bytes(a), Literal::Str(b)) => latin1(b).map(|b| a.as_slice().cmp(b.as_slice())),
        (Data::Str(a), Literal::Timestamp(t)) => {
            let lit = literal_timestamp(t)?;
            let data = Timestamp::parse(a)
                .map_err(|_| MatchError::InvalidTimestamp(format!("value '{a}' in the data")))?;
            Some(data.cmp(&lit))
        }
        _ => None,
    })
}

/// SQL `LIKE`: `%` any run, `_` one character, anchored at both ends.
pub(crate) fn like(value: &[char], pattern: &[char]) -> bool {
    let (mut v, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '_' || pattern[p] == value[v]) {
            v += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            star = Some((p, v));
            p += 1;
        } else if let Some((sp, sv)) = star {
            p = sp + 1;
            v = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

/// An IPv4 or IPv6 block: (is IPv6, network bits, prefix length).
fn parse_block(s: &str) -> Option<(bool, u128, u32)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u32>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let (v6, bits, max) = match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (true, u128::from(a), 128),
    };
    let prefix = prefix.unwrap_or(max);
    if prefix > max {
        return None;
    }
    Some((v6, bits & mask(prefix, max), prefix))
}

fn mask(prefix: u32, max: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        let all: u128 = if max == 128 {
            u128::MAX
        } else {
            (1u128 << max) - 1
        };
        (all >> (max - prefix)) << (max - prefix)
    }
}

/// `inner` lies inside `outer`.
fn block_within(inner: (bool, u128, u32), outer: (bool, u128, u32)) -> bool {
    let max = if outer.0 { 128 } else { 32 };
    inner.0 == outer.0 && inner.2 >= outer.2 && inner.1 & mask(outer.2, max) == outer.1
}

fn test_value(
    c: &Comparison,
    pv: &PathValue<'_>,
    regexes: &RegexCache,
) -> Result<bool, MatchError> {
    let d = data(pv);
    let lit = c.value.literal();
    Ok(match c.op {
        CmpOp::Exists => true,
        CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let Some(lit) = lit else { return Ok(false) };
            let ord = compare(&d, lit)?;
            match c.op {
                CmpOp::Eq => ord == Some(Ordering::Equal),
                CmpOp::Ne => ord != Some(Ordering::Equal),
                CmpOp::Lt => ord == Some(Ordering::Less),
                CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                CmpOp::Gt => ord == Some(Ordering::Greater),
                _ => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            }
        }
        CmpOp::In => {
            let Operand::Set(items) = &c.value else {
                return Ok(false);
            };
            for item in items {
                if compare(&d, item)? == Some(Ordering::Equal) {
                    return Ok(true);
                }
            }
            false
        }
        CmpOp::Like => {
            let Some(Literal::Str(p)) = lit else {
                return Ok(false);
            };
            match &d {
                Data::Str(s) => {
                    let v: Vec<char> = nfc(s).chars().collect();
                    let p: Vec<char> = nfc(p).chars().collect();
                    like(&v, &p)
                }
                Data::Bytes(b) => {
                    if latin1(p).is_none() {
                        return Ok(false);
                    }
                    let v: Vec<char> = b.iter().map(|&x| char::from(x)).collect();
                    let p: Vec<char> = p.chars().collect();
                    like(&v, &p)
                }
                _ => false,
            }
        }
        CmpOp::Matches => {
            let Some(Literal::Str(p)) = lit else {
                return Ok(false);
            };
            let Some(re) = regexes.get(p) else {
                return Err(MatchError::InvalidRegex(p.clone(), "not compiled".into()));
            };
            match &d {
                Data::Str(s) => match &re.text {
                    Ok(r) => r.is_match(&nfc(s)),
                    Err(e) => return Err(MatchError::InvalidRegex(p.clone(), e.clone())),
                },
                Data::Bytes(b) => match &re.bytes {
                    None => false,
                    Some(Ok(r)) => r.is_match(b),
                    Some(Err(e)) => return Err(MatchError::InvalidRegex(p.clone(), e.clone())),
                },
                _ => false,
            }
        }
        CmpOp::IsSubset | CmpOp::IsSuperset => {
            let Some(Literal::Str(p)) = lit else {
                return Ok(false);
            };
            let block = parse_block(p).ok_or_else(|| {
                MatchError::InvalidLiteral(format!(
                    "{} needs an IPv4/IPv6 address or CIDR block, not '{p}'",
                    c.op.as_str()
                ))
            })?;
            match &d {
                Data::Str(s) => match parse_block(s) {
                    Some(value) if c.op == CmpOp::IsSubset => block_within(value, block),
                    Some(value) => block_within(block, value),
                    None => false,
                },
                _ => false,
            }
        }
    })
}

fn eval_comparison(
    c: &Comparison,
    root: &Value,
    pool: &ObjectPool,
    regexes: &RegexCache,
) -> Result<bool, MatchError> {
    if root.get("type").and_then(Value::as_str) != Some(c.object_type.as_str()) {
        return Ok(false);
    }
    let values = resolve(root, &c.path, pool);
    if c.op == CmpOp::Exists {
        return Ok(values.is_empty() == c.negated);
    }
    for pv in &values {
        if test_value(c, pv, regexes)? != c.negated {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks what can make evaluation fail regardless of the data: a set literal mixing
/// types, a qualifier value that is not positive, a timestamp that is not a date.
pub(crate) fn check_evaluable(root: &ObservationExpr) -> Result<(), MatchError> {
    let mut err = None;
    super::for_each_comparison(root, &mut |c| {
        if err.is_some() {
            return;
        }
        if let Operand::Set(items) = &c.value {
            let kind = |l: &Literal| match l {
                Literal::Int(_) | Literal::Float(_) => "number",
                other => other.type_name(),
            };
            if let Some(first) = items.first()
                && items.iter().any(|l| kind(l) != kind(first))
            {
                err = Some(MatchError::HeterogeneousSet(c.value_string()));
                return;
            }
        }
        let lits: Vec<&Literal> = match &c.value {
            Operand::Literal(l) => vec![l],
            Operand::Set(items) => items.iter().collect(),
            Operand::None => vec![],
        };
        for l in lits {
            if let Literal::Timestamp(t) = l
                && let Err(e) = literal_timestamp(t)
            {
                err = Some(e);
                return;
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    check_qualifiers(root)
}

fn check_qualifiers(e: &ObservationExpr) -> Result<(), MatchError> {
    match e {
        ObservationExpr::Bracket(_) => Ok(()),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => items.iter().try_for_each(check_qualifiers),
        ObservationExpr::Qualified(inner, q) => {
            match q {
                Qualifier::Within(n) => {
                    if within_nanos(n).is_none() {
                        return Err(MatchError::InvalidQualifier(format!(
                            "WITHIN {n} SECONDS: the duration must be positive"
                        )));
                    }
                }
                Qualifier::Repeats(0) => {
                    return Err(MatchError::InvalidQualifier(
                        "REPEATS 0 TIMES: the count must be positive".into(),
                    ));
                }
                Qualifier::Repeats(_) => {}
                Qualifier::StartStop(a, b) => {
                    qualifier_time(a)?;
                    qualifier_time(b)?;
                }
            }
            check_qualifiers(inner)
        }
    }
}

/// The WITHIN duration in nanoseconds, None unless positive.
pub(crate) fn within_nanos(n: &Literal) -> Option<i128> {
    let secs = match n {
        Literal::Int(i) => *i as f64,
        Literal::Float(f) => *f,
        _ => return None,
    };
    (secs > 0.0 && secs.is_finite()).then(|| (secs * 1e9).round() as i128)
}

/// A START/STOP bound in nanoseconds since the epoch.
pub(crate) fn qualifier_time(l: &Literal) -> Result<i128, MatchError> {
    let t = match l {
        Literal::Timestamp(t) | Literal::Str(t) => t,
        other => {
            return Err(MatchError::InvalidQualifier(format!(
                "START/STOP needs a timestamp, not {other}"
            )));
        }
    };
    let ts = Timestamp::parse(t)
        .map_err(|e| MatchError::InvalidTimestamp(format!("START/STOP '{t}': {}", e.reason)))?;
    Ok(super::observation::nanos(&ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &str, p: &str) -> bool {
        like(
            &v.chars().collect::<Vec<_>>(),
            &p.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn like_is_anchored() {
        assert!(l("hello", "he%"));
        assert!(l("hello", "he__o"));
        assert!(!l("hello", "he_o"));
        assert!(l("invoice.exe", "inv%.e_e"));
        assert!(!l("xhello", "he%"));
        assert!(l("", "%"));
        assert!(l("a%b", "a%b"));
    }

    #[test]
    fn cidr_blocks() {
        let b = |s| parse_block(s).unwrap();
        assert!(block_within(b("11.22.33.44"), b("11.22.41.123/20")));
        assert!(block_within(b("11.22.41.123/29"), b("11.22.33.44/20")));
        assert!(!block_within(b("11.22.33.44/13"), b("11.22.33.44/20")));
        assert!(block_within(b("2001:db8::1"), b("2001:db8::/32")));
        assert!(block_within(
            b("2001:0db8:0000::0001"),
            b("2001:db8::1/128")
        ));
        assert!(!block_within(b("2001:db9::1"), b("2001:db8::/32")));
        assert!(!block_within(b("10.0.0.1"), b("::/0")));
        assert!(block_within(b("10.0.0.1"), b("0.0.0.0/0")));
        assert!(parse_block("300.1.1.1").is_none());
    }

    #[test]
    fn latin1_regexes() {
        assert_eq!(latin1_regex("a\u{e9}").unwrap(), "(?-u)a\\xE9");
        assert!(latin1_regex("\u{103}").is_none());
        let re = regex::bytes::Regex::new(&latin1_regex("\\x61li[c\\x01]e").unwrap()).unwrap();
        assert!(re.is_match(b"alice"));
    }
}
