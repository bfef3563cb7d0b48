//! Value modifiers (`contains`, `base64offset`, `windash`, `re`, `cidr`, …).
//!
//! Modifiers are applied left to right to each value of a detection item,
//! as the specification says. The result is a list of [`ValueTest`]s per
//! original value: several tests when a modifier expands one value into
//! alternatives (`windash`, `base64offset`, placeholders), which stay
//! OR-linked even under `all`. Every chaining rule the specification and
//! pySigma enforce is checked here, so an invalid rule is refused at load
//! time with a reason instead of silently matching nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ipnet::IpNet;

use crate::error::{PResult, Problem};
use crate::string::{Piece, SigmaString};
use crate::yaml::{Pos, Scalar};

/// A value modifier, as written after `|` in a detection key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `contains`: `*value*`.
    Contains,
    /// `startswith`: `value*`.
    StartsWith,
    /// `endswith`: `*value`.
    EndsWith,
    /// `all`: values AND-linked.
    All,
    /// `exists`: presence test.
    Exists,
    /// `cased`: case-sensitive match.
    Cased,
    /// `neq`: negates the whole item.
    Neq,
    /// `windash`: `-` and `/` and dash lookalikes at word starts.
    Windash,
    /// `re`: regular expression.
    Re,
    /// `i`/`ignorecase` regex flag.
    ReIgnoreCase,
    /// `m`/`multiline` regex flag.
    ReMultiline,
    /// `s`/`dotall` regex flag.
    ReDotAll,
    /// `base64`.
    Base64,
    /// `base64offset`.
    Base64Offset,
    /// `wide` / `utf16le`.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16` (with byte order mark).
    Utf16,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `minute`.
    Minute,
    /// `hour`.
    Hour,
    /// `day`.
    Day,
    /// `week` (ISO 8601 week number).
    Week,
    /// `month`.
    Month,
    /// `year`.
    Year,
    /// `cidr`.
    Cidr,
    /// `expand`: placeholders.
    Expand,
    /// `fieldref`: compare with another field.
    FieldRef,
}

impl Modifier {
    /// Parses a modifier name; `None` if it is not a Sigma modifier.
    pub fn parse(name: &str) -> Option<Modifier> {
        use Modifier::*;
        Some(match name {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "exists" => Exists,
            "cased" => Cased,
            "neq" => Neq,
            "windash" => Windash,
            "re" => Re,
            "i" | "ignorecase" => ReIgnoreCase,
            "m" | "multiline" => ReMultiline,
            "s" | "dotall" => ReDotAll,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "wide" | "utf16le" => Utf16Le,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "lt" => Lt,
            "lte" => Lte,
            "gt" => Gt,
            "gte" => Gte,
            "minute" => Minute,
            "hour" => Hour,
            "day" => Day,
            "week" => Week,
            "month" => Month,
            "year" => Year,
            "cidr" => Cidr,
            "expand" => Expand,
            "fieldref" => FieldRef,
            _ => return None,
        })
    }

    fn compare_op(self) -> Option<CmpOp> {
        Some(match self {
            Modifier::Lt => CmpOp::Lt,
            Modifier::Lte => CmpOp::Lte,
            Modifier::Gt => CmpOp::Gt,
            Modifier::Gte => CmpOp::Gte,
            _ => return None,
        })
    }

    fn time_part(self) -> Option<TimePart> {
        Some(match self {
            Modifier::Minute => TimePart::Minute,
            Modifier::Hour => TimePart::Hour,
            Modifier::Day => TimePart::Day,
            Modifier::Week => TimePart::Week,
            Modifier::Month => TimePart::Month,
            Modifier::Year => TimePart::Year,
            _ => return None,
        })
    }
}

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `==`
    Eq,
}

impl CmpOp {
    /// Applies the comparison.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Lte => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Gte => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
        }
    }
}

/// A part of a date/time value, for the time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    /// Minute of the hour.
    Minute,
    /// Hour of the day.
    Hour,
    /// Day of the month.
    Day,
    /// ISO 8601 week number.
    Week,
    /// Month of the year.
    Month,
    /// Year.
    Year,
}

/// How a string comparison anchors, for `fieldref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrKind {
    /// Whole value.
    Exact,
    /// Prefix.
    Prefix,
    /// Suffix.
    Suffix,
    /// Substring.
    Contains,
}

/// One test of a field value, after modifiers were applied.
#[derive(Debug, Clone)]
pub enum ValueTest {
    /// A (possibly wildcarded) string comparison.
    Str {
        /// The pattern.
        pattern: SigmaString,
        /// Case-sensitive?
        cased: bool,
    },
    /// A regular expression search.
    Regex(crate::matchers::LazyRegex),
    /// IP network membership.
    Cidr(IpNet),
    /// A numeric comparison.
    Compare(CmpOp, f64),
    /// Absent or null.
    Null,
    /// Present (true) or absent (false), whatever the value.
    Exists(bool),
    /// Compare with another field of the same event.
    FieldRef {
        /// The other field.
        field: String,
        /// How to compare.
        kind: StrKind,
        /// Case-sensitive?
        cased: bool,
    },
    /// Compare a part of a date/time value.
    Time(TimePart, CmpOp, i64),
}

/// A detection item's values after modifiers.
#[derive(Debug, Clone)]
pub struct ProcessedValues {
    /// One entry per value written in the rule; each holds alternatives
    /// (OR-linked) produced by expanding modifiers.
    pub values: Vec<Vec<ValueTest>>,
    /// `all`: the entries are AND-linked instead of OR-linked.
    pub all: bool,
    /// `neq`: the whole item is negated.
    pub negate: bool,
}

/// How to resolve `%placeholders%` of `expand` items.
pub trait PlaceholderSource {
    /// The values of a placeholder, or `None` if it is unknown.
    fn resolve(&self, name: &str) -> Option<Vec<String>>;
    /// True if unknown placeholders should expand to no value (the item
    /// then matches nothing) instead of rejecting the rule.
    fn unresolved_is_empty(&self) -> bool;
    /// Largest compiled size of a `|re` regular expression, in bytes (the rule-loading
    /// limit, carried here because parsing reaches it through this trait).
    fn regex_size_limit(&self) -> usize {
        crate::matchers::DEFAULT_REGEX_SIZE_LIMIT
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf16Bom,
}

fn encode(text: &str, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Encoding::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Encoding::Utf16Bom => [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    }
}

/// The three base64 encodings of `bytes` at byte offsets 0, 1 and 2,
/// trimmed to the characters that do not depend on surrounding bytes.
pub fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2]; // characters cut from the end; 0 = none
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(bytes);
            let b64 = STANDARD.encode(&padded);
            let cut = END[(bytes.len() + i) % 3];
            let end = b64.len().saturating_sub(cut);
            b64.get(START[i]..end).unwrap_or("").to_string()
        })
        .collect()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands `-` and `/` at the start of a word into the five dash forms.
fn windash(s: &SigmaString, pos: Option<Pos>) -> PResult<Vec<SigmaString>> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    // Flatten into characters; wildcards and placeholders count as non-word.
    enum Tok {
        C(char),
        P(Piece),
    }
    let mut toks = Vec::new();
    for p in s.pieces() {
        match p {
            Piece::Lit(t) => toks.extend(t.chars().map(Tok::C)),
            other => toks.push(Tok::P(other.clone())),
        }
    }
    let word_at = |i: usize| matches!(toks.get(i), Some(Tok::C(c)) if is_word(*c));
    let positions: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            matches!(toks[i], Tok::C('-' | '/')) && (i == 0 || !word_at(i - 1)) && word_at(i + 1)
        })
        .collect();
    if positions.len() > 5 {
        return Err(Problem::new(
            pos,
            format!(
                "windash would expand {} dashes into {} alternatives (limit 5 dashes)",
                positions.len(),
                5usize.pow(positions.len() as u32)
            ),
        ));
    }
    let mut out = Vec::new();
    let combos = 5usize.pow(positions.len() as u32);
    for mut combo in 0..combos {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        for (i, t) in toks.iter().enumerate() {
            match t {
                Tok::C(c) => {
                    if positions.contains(&i) {
                        lit.push(DASHES[combo % 5]);
                        combo /= 5;
                    } else {
                        lit.push(*c);
                    }
                }
                Tok::P(p) => {
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(p.clone());
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        out.push(SigmaString::from_pieces(pieces));
    }
    Ok(out)
}

fn number_of(v: &Scalar) -> Option<f64> {
    match v {
        Scalar::Int(i) => Some(*i as f64),
        Scalar::Float(f, _) => Some(*f),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Applies `mods` to the values of one detection item.
///
/// `keyword` is true for field-less items, which match as substrings.
pub(crate) fn process(
    mods: &[Modifier],
    values: &[(Scalar, Pos)],
    keyword: bool,
    placeholders: &dyn PlaceholderSource,
    pos: Option<Pos>,
) -> PResult<ProcessedValues> {
    use Modifier::*;
    let err = |msg: String| Err(Problem::new(pos, msg));

    // Chaining rules.
    for (i, m) in mods.iter().enumerate() {
        match m {
            Re | Cidr if i != 0 => {
                return err(format!(
                    "modifier '{}' must be the first modifier",
                    if *m == Re { "re" } else { "cidr" }
                ));
            }
            Exists if mods.len() != 1 => return err("'exists' must be the only modifier".into()),
            ReIgnoreCase | ReMultiline | ReDotAll if mods.first() != Some(&Re) => {
                return err(
                    "regular expression flags (i, m, s) are only allowed after 're'".into(),
                );
            }
            _ => {}
        }
        if mods[..i].contains(m) && !matches!(m, Contains | StartsWith | EndsWith) {
            return err(format!("modifier '{m:?}' given twice").to_lowercase());
        }
    }
    if keyword && mods.contains(&Exists) {
        return err("'exists' needs a field name".into());
    }
    let all = mods.contains(&All);
    let negate = mods.contains(&Neq);
    if all && values.len() == 1 {
        return err("'all' needs a list of more than one value".into());
    }
    if values.len() > 1 && values.iter().any(|(v, _)| *v == Scalar::Null) {
        return err("null cannot be part of a list of values; use a separate selection".into());
    }
    let cased = mods.contains(&Cased);
    let mut out = Vec::with_capacity(values.len());
    for (value, vpos) in values {
        let vpos = Some(*vpos);
        let verr = |msg: String| Err(Problem::new(vpos, msg));
        // Null.
        if *value == Scalar::Null {
            if mods.iter().any(|m| !matches!(m, All | Neq)) {
                return verr("null cannot be combined with value modifiers".into());
            }
            out.push(vec![ValueTest::Null]);
            continue;
        }
        // Presence.
        if mods.first() == Some(&Exists) {
            let Scalar::Bool(b) = value else {
                return verr(format!(
                    "'exists' needs true or false, not '{}'",
                    value.to_text()
                ));
            };
            out.push(vec![ValueTest::Exists(*b)]);
            continue;
        }
        // Regular expression: the value is the pattern, verbatim.
        if mods.first() == Some(&Re) {
            for m in &mods[1..] {
                if !matches!(m, ReIgnoreCase | ReMultiline | ReDotAll | All | Neq) {
                    return verr(format!("modifier '{m:?}' cannot follow 're'").to_lowercase());
                }
            }
            let flags = crate::matchers::ReFlags {
                ignore_case: mods.contains(&ReIgnoreCase),
                multi_line: mods.contains(&ReMultiline),
                dot_all: mods.contains(&ReDotAll),
            };
            match crate::matchers::LazyRegex::new(&value.to_text(), flags) {
                Ok(re) => out.push(vec![ValueTest::Regex(
                    re.with_size_limit(placeholders.regex_size_limit()),
                )]),
                Err(e) => return verr(format!("invalid regular expression: {e}")),
            }
            continue;
        }
        if mods.first() == Some(&Cidr) {
            for m in &mods[1..] {
                if !matches!(m, All | Neq) {
                    return verr(format!("modifier '{m:?}' cannot follow 'cidr'").to_lowercase());
                }
            }
            let text = value.to_text();
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
            match net {
                Ok(n) => out.push(vec![ValueTest::Cidr(n.trunc())]),
                Err(_) => return verr(format!("invalid CIDR network '{text}'")),
            }
            continue;
        }
        if mods.contains(&FieldRef) {
            let mut kind = StrKind::Exact;
            for m in mods {
                kind = match (m, kind) {
                    (FieldRef | All | Neq | Cased, k) => k,
                    (Contains, _) => StrKind::Contains,
                    (StartsWith, StrKind::Suffix) | (EndsWith, StrKind::Prefix) => {
                        StrKind::Contains
                    }
                    (StartsWith, _) => StrKind::Prefix,
                    (EndsWith, _) => StrKind::Suffix,
                    (other, _) => {
                        return verr(
                            format!("modifier '{other:?}' cannot be combined with 'fieldref'")
                                .to_lowercase(),
                        );
                    }
                };
            }
            let Scalar::Str(field) = value else {
                return verr("'fieldref' needs a field name".into());
            };
            if field.contains(['*', '?']) {
                return verr("'fieldref' needs a plain field name, not a wildcard".into());
            }
            out.push(vec![ValueTest::FieldRef {
                field: field.clone(),
                kind,
                cased,
            }]);
            continue;
        }
        // Time parts, optionally followed by a comparison.
        if let Some(part) = mods.iter().find_map(|m| m.time_part()) {
            let op = mods
                .iter()
                .find_map(|m| m.compare_op())
                .unwrap_or(CmpOp::Eq);
            for m in mods {
                if !(m.time_part().is_some() || m.compare_op().is_some() || matches!(m, All | Neq))
                {
                    return verr(
                        format!("modifier '{m:?}' cannot be combined with a time modifier")
                            .to_lowercase(),
                    );
                }
            }
            let Scalar::Int(n) = value else {
                return verr(format!(
                    "a time modifier needs an integer, not '{}'",
                    value.to_text()
                ));
            };
            out.push(vec![ValueTest::Time(part, op, *n)]);
            continue;
        }
        if let Some(op) = mods.iter().find_map(|m| m.compare_op()) {
            for m in mods {
                if !(m.compare_op().is_some() || matches!(m, All | Neq)) {
                    return verr(
                        format!("modifier '{m:?}' cannot be combined with a comparison")
                            .to_lowercase(),
                    );
                }
            }
            if mods.iter().filter(|m| m.compare_op().is_some()).count() > 1 {
                return verr("only one comparison modifier per item".into());
            }
            let Some(n) = number_of(value) else {
                return verr(format!(
                    "a comparison needs a number, not '{}'",
                    value.to_text()
                ));
            };
            out.push(vec![ValueTest::Compare(op, n)]);
            continue;
        }
        // Strings.
        let expand = mods.contains(&Expand);
        let start = match value {
            Scalar::Str(s) if expand => SigmaString::parse_with_placeholders(s),
            Scalar::Str(s) => SigmaString::parse(s),
            other => SigmaString::literal(&other.to_text()),
        };
        let mut alts = vec![(start, Encoding::Utf8)];
        for m in mods {
            match m {
                Contains => alts.iter_mut().for_each(|(s, _)| {
                    s.prepend_any();
                    s.append_any();
                }),
                StartsWith => alts.iter_mut().for_each(|(s, _)| s.append_any()),
                EndsWith => alts.iter_mut().for_each(|(s, _)| s.prepend_any()),
                Windash => {
                    let mut next = Vec::new();
                    for (s, e) in &alts {
                        next.extend(windash(s, vpos)?.into_iter().map(|s| (s, *e)));
                    }
                    alts = next;
                }
                Utf16Le | Utf16Be | Utf16 => {
                    let enc = match m {
                        Utf16Le => Encoding::Utf16Le,
                        Utf16Be => Encoding::Utf16Be,
                        _ => Encoding::Utf16Bom,
                    };
                    alts.iter_mut().for_each(|(_, e)| *e = enc);
                }
                Base64 | Base64Offset => {
                    let mut next = Vec::new();
                    for (s, e) in &alts {
                        let Some(text) = s.as_plain() else {
                            return verr(format!(
                                "'{}' cannot encode a value with wildcards or placeholders",
                                if *m == Base64 {
                                    "base64"
                                } else {
                                    "base64offset"
                                }
                            ));
                        };
                        let bytes = encode(&text, *e);
                        if *m == Base64 {
                            next.push((
                                SigmaString::literal(&STANDARD.encode(bytes)),
                                Encoding::Utf8,
                            ));
                        } else {
                            next.extend(
                                base64_offsets(&bytes)
                                    .iter()
                                    .map(|b| (SigmaString::literal(b), Encoding::Utf8)),
                            );
                        }
                    }
                    alts = next;
                }
                All | Neq | Cased | Expand => {}
                other => {
                    return verr(
                        format!("modifier '{other:?}' cannot be applied to a string value")
                            .to_lowercase(),
                    );
                }
            }
        }
        let mut tests = Vec::new();
        for (mut s, enc) in alts {
            if enc != Encoding::Utf8 {
                // Wide strings without base64: match the code units as characters.
                s = SigmaString::from_pieces(s.pieces().iter().map(|p| match p {
                    Piece::Lit(t) => {
                        let bytes = encode(t, enc);
                        Piece::Lit(bytes.iter().map(|b| *b as char).collect())
                    }
                    other => other.clone(),
                }));
            }
            if keyword {
                s.prepend_any();
                s.append_any();
            }
            if expand {
                let mut unresolved = None;
                let expanded =
                    s.expand_placeholders(&mut |name| match placeholders.resolve(name) {
                        Some(vals) => vals.iter().map(|v| SigmaString::parse(v)).collect(),
                        None => {
                            unresolved.get_or_insert_with(|| name.to_string());
                            Vec::new()
                        }
                    });
                if let Some(name) = unresolved
                    && !placeholders.unresolved_is_empty()
                {
                    return verr(format!(
                        "placeholder '%{name}%' has no values (give a placeholder map)"
                    ));
                }
                tests.extend(
                    expanded
                        .into_iter()
                        .map(|pattern| ValueTest::Str { pattern, cased }),
                );
            } else {
                tests.push(ValueTest::Str { pattern: s, cased });
            }
        }
        out.push(tests);
    }
    Ok(ProcessedValues {
        values: out,
        all,
        negate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_golden() {
        assert_eq!(
            base64_offsets(b"foobar"),
            vec!["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]
        );
    }

    #[test]
    fn windash_expands_word_initial_dashes_only() {
        let out = windash(&SigmaString::parse("-param-1 -param2"), None).unwrap();
        assert_eq!(out.len(), 25);
        let texts: Vec<String> = out.iter().map(|s| s.to_string()).collect();
        assert!(texts.contains(&"/param-1 \u{2015}param2".to_string()));
        assert!(texts.iter().all(|t| t.contains("param-1")));
        // An intra-word dash is left alone.
        assert_eq!(windash(&SigmaString::parse("a-b"), None).unwrap().len(), 1);
        // A leading slash expands too.
        assert_eq!(windash(&SigmaString::parse("/c "), None).unwrap().len(), 5);
    }

    struct NoPlaceholders;
    impl PlaceholderSource for NoPlaceholders {
        fn resolve(&self, _: &str) -> Option<Vec<String>> {
            None
        }
        fn unresolved_is_empty(&self) -> bool {
            false
        }
    }

    fn run(mods: &[Modifier], values: &[Scalar]) -> PResult<ProcessedValues> {
        let vals: Vec<_> = values.iter().map(|v| (v.clone(), Pos::default())).collect();
        process(mods, &vals, false, &NoPlaceholders, None)
    }

    #[test]
    fn chaining_errors() {
        use Modifier::*;
        assert!(run(&[Contains, Re], &[Scalar::Str("x".into())]).is_err());
        assert!(run(&[Base64], &[Scalar::Str("a*".into())]).is_err());
        assert!(run(&[Exists], &[Scalar::Str("yes".into())]).is_err());
        assert!(run(&[Gt], &[Scalar::Str("abc".into())]).is_err());
        assert!(run(&[Cidr], &[Scalar::Str("10.0.0.0/33".into())]).is_err());
        assert!(run(&[Expand], &[Scalar::Str("%x%".into())]).is_err());
        assert!(run(&[Contains, All], &[Scalar::Str("x".into())]).is_err());
        assert!(run(&[ReIgnoreCase], &[Scalar::Str("x".into())]).is_err());
        assert!(run(&[Re], &[Scalar::Str("(".into())]).is_err());
    }

    #[test]
    fn wide_base64() {
        use Modifier::*;
        let p = run(&[Utf16Le, Base64], &[Scalar::Str("cmd".into())]).unwrap();
        match &p.values[0][0] {
            ValueTest::Str { pattern, .. } => assert_eq!(pattern.as_plain().unwrap(), "YwBtAGQA"),
            other => panic!("{other:?}"),
        }
        let p = run(&[Utf16, Base64], &[Scalar::Str("cmd".into())]).unwrap();
        match &p.values[0][0] {
            ValueTest::Str { pattern, .. } => {
                assert_eq!(pattern.as_plain().unwrap(), "//5jAG0AZAA=")
            }
            other => panic!("{other:?}"),
        }
    }
}
