//! The tokens of `STIXPattern.g4`, with ANTLR's longest-match rule.
//!
//! Lexing follows the grammar's token definitions exactly, because several syntax errors
//! are really lexical: `t'2010-05-21T13:21:43z'` is not a timestamp literal, so it lexes as
//! the identifier `t` followed by a string, and the parser then rejects the `t`;
//! `b'===='` likewise. Keywords are upper-case only (`within` is an identifier).

use super::PatternError;

/// A token kind; literals carry their decoded value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier without `-` (property names, object types).
    Ident(String),
    /// An identifier containing `-` (object types only).
    IdentHyphen(String),
    /// An upper-case keyword (`AND`, `WITHIN`, …).
    Keyword(&'static str),
    Str(String),
    /// `+`? digits, or `-` digits; the text kept for range checks.
    IntPos(String),
    IntNeg(String),
    FloatPos(String),
    FloatNeg(String),
    Bool(bool),
    Base64(Vec<u8>),
    Hex(Vec<u8>),
    Timestamp(String),
    /// Punctuation and comparison operators.
    Punct(&'static str),
}

impl Tok {
    /// How the token is described in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::IdentHyphen(s) => format!("'{s}'"),
            Tok::Keyword(k) => format!("'{k}'"),
            Tok::Str(s) => super::ast::quote(s),
            Tok::IntPos(s) | Tok::IntNeg(s) | Tok::FloatPos(s) | Tok::FloatNeg(s) => {
                format!("'{s}'")
            }
            Tok::Bool(b) => format!("'{b}'"),
            Tok::Base64(_) => "a binary literal".into(),
            Tok::Hex(_) => "a hex literal".into(),
            Tok::Timestamp(t) => format!("t'{t}'"),
            Tok::Punct(p) => format!("'{p}'"),
        }
    }
}

const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
];

/// True if `s` is a reserved word of the grammar (it cannot be an unquoted name).
pub(crate) fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s) || s == "true" || s == "false"
}

fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0B}'
            | '\u{0C}'
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Length of a string literal body starting at `b[start]` (the opening quote), or None
/// if it is unterminated. Only `\'` and `\\` are escapes; a backslash before anything
/// else ends the match (ANTLR then fails to lex).
fn string_literal(text: &str, start: usize) -> Result<Option<(usize, String)>, usize> {
    let b = text.as_bytes();
    let mut i = start + 1;
    let mut out = String::new();
    let mut run_start = i;
    loop {
        match b.get(i) {
            None => return Ok(None),
            Some(b'\'') => {
                out.push_str(&text[run_start..i]);
                return Ok(Some((i + 1 - start, out)));
            }
            Some(b'\\') => match b.get(i + 1) {
                Some(&c @ (b'\'' | b'\\')) => {
                    out.push_str(&text[run_start..i]);
                    out.push(c as char);
                    i += 2;
                    run_start = i;
                }
                _ => return Err(i),
            },
            Some(_) => i += 1,
        }
    }
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// `b'…'` per the grammar: groups of four base64 characters, the last one possibly
/// padded with `=` or `==`, at least one group.
fn binary_literal(b: &[u8], start: usize) -> Option<(usize, Vec<u8>)> {
    let body_start = start + 2;
    let end = body_start + b[body_start..].iter().position(|&c| c == b'\'')?;
    let body = &b[body_start..end];
    if body.is_empty() || !body.len().is_multiple_of(4) {
        return None;
    }
    let pad = body.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 || !body[..body.len() - pad].iter().all(|&c| is_b64(c)) {
        return None;
    }
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .or_else(|_| {
            base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
            )
            .decode(body)
        })
        .ok()?;
    Some((end + 1 - start, bytes))
}

/// `h'…'`: pairs of hex digits.
fn hex_literal(b: &[u8], start: usize) -> Option<(usize, Vec<u8>)> {
    let body_start = start + 2;
    let end = body_start + b[body_start..].iter().position(|&c| c == b'\'')?;
    let body = &b[body_start..end];
    if !body.len().is_multiple_of(2) || !body.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let bytes = body
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect();
    Some((end + 1 - start, bytes))
}

/// `t'YYYY-MM-DDTHH:MM:SS[.f+]Z'` with the grammar's digit ranges (month 01–12, day
/// 01–31, hour 00–23, minute 00–59, second 00–60).
fn timestamp_literal(b: &[u8], start: usize) -> Option<(usize, String)> {
    let s = &b[start + 2..];
    let d = |i: usize| s.get(i).copied().filter(u8::is_ascii_digit);
    let lit = |i: usize, c: u8| s.get(i) == Some(&c);
    for i in [0, 1, 2, 3] {
        d(i)?;
    }
    if !lit(4, b'-') || !lit(7, b'-') || !lit(10, b'T') || !lit(13, b':') || !lit(16, b':') {
        return None;
    }
    let two = |i: usize| -> Option<u32> {
        Some(u32::from(d(i)? - b'0') * 10 + u32::from(d(i + 1)? - b'0'))
    };
    let (month, day, hour, min, sec) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if lit(i, b'.') {
        i += 1;
        let digits_start = i;
        while d(i).is_some() {
            i += 1;
        }
        if i == digits_start {
            return None;
        }
    }
    if !lit(i, b'Z') || !lit(i + 1, b'\'') {
        return None;
    }
    let text = std::str::from_utf8(&s[..=i]).ok()?.to_string();
    Some((i + 4, text))
}

/// Longest numeric token at `start`: (length, token).
fn number(b: &[u8], start: usize) -> Option<(usize, Tok)> {
    let text = |len: usize| String::from_utf8_lossy(&b[start..start + len]).into_owned();
    let mut i = start;
    let sign = match b.get(i) {
        Some(b'-') => {
            i += 1;
            Some(b'-')
        }
        Some(b'+') => {
            i += 1;
            Some(b'+')
        }
        _ => None,
    };
    let digits_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = i - digits_start;
    // Float: [0-9]* '.' [0-9]+
    let mut float_len = None;
    if b.get(i) == Some(&b'.') {
        let mut j = i + 1;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j > i + 1 {
            float_len = Some(j - start);
        }
    }
    // Int: '0' | [1-9][0-9]*
    let int_len = if int_digits == 0 {
        None
    } else if b[digits_start] == b'0' {
        Some(digits_start + 1 - start)
    } else {
        Some(i - start)
    };
    let neg = sign == Some(b'-');
    match (float_len, int_len) {
        (Some(f), Some(n)) if n >= f => Some((
            n,
            if neg {
                Tok::IntNeg(text(n))
            } else {
                Tok::IntPos(text(n))
            },
        )),
        (Some(f), _) => Some((
            f,
            if neg {
                Tok::FloatNeg(text(f))
            } else {
                Tok::FloatPos(text(f))
            },
        )),
        (None, Some(n)) => Some((
            n,
            if neg {
                Tok::IntNeg(text(n))
            } else {
                Tok::IntPos(text(n))
            },
        )),
        (None, None) => None,
    }
}

/// Splits a pattern into tokens with their byte offsets.
pub(crate) fn lex(text: &str) -> Result<Vec<(usize, Tok)>, PatternError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ch = text[i..].chars().next().unwrap_or('\0');
        if is_ws(ch) {
            i += ch.len_utf8();
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            match text[i + 2..].find("*/") {
                Some(e) => i += e + 4,
                None => return Err(PatternError::syntax(i, "unterminated /* comment")),
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            i = text[i..].find(['\n', '\r']).map_or(b.len(), |e| i + e);
            continue;
        }
        if c == b'\'' {
            match string_literal(text, i) {
                Ok(Some((len, s))) => {
                    out.push((i, Tok::Str(s)));
                    i += len;
                }
                Ok(None) => return Err(PatternError::syntax(i, "unterminated string literal")),
                Err(at) => {
                    return Err(PatternError::syntax(
                        at,
                        "invalid escape in string literal: only \\' and \\\\ are allowed",
                    ));
                }
            }
            continue;
        }
        if b.get(i + 1) == Some(&b'\'') {
            let special = match c {
                b'b' => binary_literal(b, i).map(|(l, v)| (l, Tok::Base64(v))),
                b'h' => hex_literal(b, i).map(|(l, v)| (l, Tok::Hex(v))),
                b't' => timestamp_literal(b, i).map(|(l, v)| (l, Tok::Timestamp(v))),
                _ => None,
            };
            if let Some((len, tok)) = special {
                out.push((i, tok));
                i += len;
                continue;
            }
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            let word = &text[start..i];
            let tok = if word.contains('-') {
                Tok::IdentHyphen(word.to_string())
            } else if word == "true" || word == "false" {
                Tok::Bool(word == "true")
            } else if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
                Tok::Keyword(k)
            } else {
                Tok::Ident(word.to_string())
            };
            out.push((start, tok));
            continue;
        }
        if (c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.'))
            && let Some((len, tok)) = number(b, i)
        {
            out.push((i, tok));
            i += len;
            continue;
        }
        let two = text.get(i..i + 2).unwrap_or("");
        let punct2 = ["==", "!=", "<>", "<=", ">="]
            .into_iter()
            .find(|p| *p == two);
        if let Some(p) = punct2 {
            out.push((i, Tok::Punct(p)));
            i += 2;
            continue;
        }
        let punct1 = ["[", "]", "(", ")", ",", ":", ".", "=", "<", ">", "*"]
            .into_iter()
            .find(|p| p.as_bytes()[0] == c);
        match punct1 {
            Some(p) => {
                out.push((i, Tok::Punct(p)));
                i += 1;
            }
            None => {
                return Err(PatternError::syntax(
                    i,
                    format!("unexpected character '{ch}'"),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn literals() {
        assert_eq!(toks(r"'a\'b\\c'"), vec![Tok::Str(r"a'b\c".into())]);
        assert!(lex(r"'a\nb'").is_err());
        assert_eq!(toks("h'01ff'"), vec![Tok::Hex(vec![1, 255])]);
        assert_eq!(toks("b'AQIDBA=='"), vec![Tok::Base64(vec![1, 2, 3, 4])]);
        assert_eq!(toks("b'===='")[0], Tok::Ident("b".into()));
        assert_eq!(
            toks("t'2024-02-30T12:00:00.5Z'"),
            vec![Tok::Timestamp("2024-02-30T12:00:00.5Z".into())]
        );
        assert_eq!(toks("t'2024-01-15T12:30:61Z'")[0], Tok::Ident("t".into()));
        assert_eq!(
            toks("-5 +3 1.5 -.5 0123"),
            vec![
                Tok::IntNeg("-5".into()),
                Tok::IntPos("+3".into()),
                Tok::FloatPos("1.5".into()),
                Tok::FloatNeg("-.5".into()),
                Tok::IntPos("0".into()),
                Tok::IntPos("123".into()),
            ]
        );
    }

    #[test]
    fn words_and_comments() {
        assert_eq!(
            toks("AND within x-y true /* c */ // d\n NOT"),
            vec![
                Tok::Keyword("AND"),
                Tok::Ident("within".into()),
                Tok::IdentHyphen("x-y".into()),
                Tok::Bool(true),
                Tok::Keyword("NOT"),
            ]
        );
        assert_eq!(lex("[a:b =? 1]").unwrap_err().offset, 6);
    }
}
