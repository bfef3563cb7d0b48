//! Leaf matchers that are cheaper than a general regex engine.
//!
//! Building a `regex::Regex` costs far more than matching with it, and a
//! large rule set has hundreds of wildcard values and regexes of which a
//! given evidence set exercises few. Wildcard values therefore get a small
//! dedicated matcher ([`Glob`]), and `|re` values are checked for syntax at
//! load time but compiled on first use ([`LazyRegex`]).

use std::sync::OnceLock;

use crate::string::{Piece, SigmaString};

/// One element of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Tok {
    Lit(String),
    Many,
    One,
}

/// A Sigma wildcard pattern (`*`, `?`) matched against a whole value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    toks: Vec<Tok>,
    cased: bool,
}

impl Glob {
    /// Builds a matcher; case-insensitive patterns are lowercased here and
    /// must be given lowercased text at match time.
    pub fn new(s: &SigmaString, cased: bool) -> Result<Glob, String> {
        let mut toks = Vec::new();
        for p in s.pieces() {
            toks.push(match p {
                Piece::Lit(t) => Tok::Lit(if cased { t.clone() } else { t.to_lowercase() }),
                Piece::AnyMany => {
                    if toks.last() == Some(&Tok::Many) {
                        continue;
                    }
                    Tok::Many
                }
                Piece::AnyOne => Tok::One,
                Piece::Placeholder(n) => return Err(format!("unexpanded placeholder %{n}%")),
            });
        }
        Ok(Glob { toks, cased })
    }

    /// True if the pattern is case-sensitive.
    pub fn cased(&self) -> bool {
        self.cased
    }

    /// A canonical text form, for deduplication.
    pub fn key(&self) -> String {
        let mut out = String::new();
        for t in &self.toks {
            match t {
                Tok::Lit(s) => {
                    out.push('L');
                    out.push_str(&s.len().to_string());
                    out.push(':');
                    out.push_str(s);
                }
                Tok::Many => out.push('*'),
                Tok::One => out.push('?'),
            }
        }
        out
    }

    /// Matches the whole of `text` (already lowercased unless cased).
    pub fn is_match(&self, text: &str) -> bool {
        matches_from(&self.toks, text)
    }
}

/// Matches a segment (literals and `?`, no `*`) at byte `pos`; returns
/// the end position.
fn segment_at(seg: &[Tok], text: &str, mut pos: usize) -> Option<usize> {
    for t in seg {
        match t {
            Tok::Lit(l) => {
                if !text[pos..].starts_with(l.as_str()) {
                    return None;
                }
                pos += l.len();
            }
            Tok::One => pos += text[pos..].chars().next()?.len_utf8(),
            Tok::Many => return None,
        }
    }
    Some(pos)
}

/// Finds the leftmost occurrence of a segment in `text[from..limit]`;
/// returns its end position.
fn segment_find(seg: &[Tok], text: &str, from: usize, limit: usize) -> Option<usize> {
    let hay = &text[..limit];
    let mut pos = from;
    loop {
        // Jump to the next place the leading literal occurs, if there is one.
        if let Some(Tok::Lit(l)) = seg.first() {
            pos += hay[pos..].find(l.as_str())?;
        }
        if let Some(end) = segment_at(seg, hay, pos) {
            return Some(end);
        }
        pos += hay[pos..].chars().next()?.len_utf8();
    }
}

/// Wildcard matching without backtracking: the text between stars is
/// matched leftmost-first, which is optimal once the last segment is
/// pinned to the end of the text. Linear in practice.
fn matches_from(toks: &[Tok], text: &str) -> bool {
    let segments: Vec<&[Tok]> = toks.split(|t| *t == Tok::Many).collect();
    if segments.len() == 1 {
        return segment_at(segments[0], text, 0) == Some(text.len());
    }
    let (first, rest) = (segments[0], &segments[1..]);
    let (last, middle) = (rest[rest.len() - 1], &rest[..rest.len() - 1]);
    let Some(mut pos) = segment_at(first, text, 0) else {
        return false;
    };
    // The last segment has a fixed length in characters: find where it starts.
    let last_chars: usize = last
        .iter()
        .map(|t| match t {
            Tok::Lit(l) => l.chars().count(),
            _ => 1,
        })
        .sum();
    let mut last_start = text.len();
    for _ in 0..last_chars {
        match text[..last_start].chars().next_back() {
            Some(c) => last_start -= c.len_utf8(),
            None => return false,
        }
    }
    if last_start < pos || segment_at(last, text, last_start) != Some(text.len()) {
        return false;
    }
    for seg in middle {
        match segment_find(seg, text, pos, last_start) {
            Some(end) => pos = end,
            None => return false,
        }
    }
    true
}

/// Flags of a `|re` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReFlags {
    /// `i`: case-insensitive.
    pub ignore_case: bool,
    /// `m`: `^`/`$` at line boundaries.
    pub multi_line: bool,
    /// `s`: `.` matches newlines.
    pub dot_all: bool,
}

/// A regular expression checked at load time and compiled on first use.
#[derive(Debug)]
pub struct LazyRegex {
    pattern: String,
    flags: ReFlags,
    compiled: OnceLock<Result<regex::Regex, String>>,
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex {
            pattern: self.pattern.clone(),
            flags: self.flags,
            compiled: OnceLock::new(),
        }
    }
}

/// Size limit for one compiled regex.
const REGEX_SIZE_LIMIT: usize = 1 << 24;

impl LazyRegex {
    /// Checks the syntax of `pattern` (the `regex` crate's dialect, which
    /// covers the specification's PCRE subset) without compiling it.
    pub fn new(pattern: &str, flags: ReFlags) -> Result<LazyRegex, String> {
        regex_syntax::ParserBuilder::new()
            .case_insensitive(flags.ignore_case)
            .multi_line(flags.multi_line)
            .dot_matches_new_line(flags.dot_all)
            .build()
            .parse(pattern)
            .map_err(|e| e.to_string())?;
        Ok(LazyRegex {
            pattern: pattern.to_string(),
            flags,
            compiled: OnceLock::new(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The flags.
    pub fn flags(&self) -> ReFlags {
        self.flags
    }

    /// Compiles the regex now (if not done yet); the error says why it
    /// cannot be compiled (for example, it exceeds the size limit).
    pub fn compiled(&self) -> Result<&regex::Regex, &str> {
        self.compiled
            .get_or_init(|| {
                regex::RegexBuilder::new(&self.pattern)
                    .case_insensitive(self.flags.ignore_case)
                    .multi_line(self.flags.multi_line)
                    .dot_matches_new_line(self.flags.dot_all)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Unanchored search; a regex that cannot be compiled matches nothing
    /// (and is reported by [`crate::RuleSet::compile_regexes`]).
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled().is_ok_and(|re| re.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Glob {
        Glob::new(&SigmaString::parse(p), false).unwrap()
    }

    #[test]
    fn glob_basics() {
        assert!(g("a*b").is_match("ab"));
        assert!(g("a*b").is_match("axxb"));
        assert!(!g("a*b").is_match("axxbc"));
        assert!(g("a*b*").is_match("axxbc"));
        assert!(g("*a?c*").is_match("xxabcxx"));
        assert!(!g("*a?c").is_match("xxacxx"));
        assert!(g("?").is_match("é"));
        assert!(!g("?").is_match("ab"));
        assert!(g("*").is_match(""));
        assert!(g("c:\\windows\\\\*\\cmd.exe").is_match("c:\\windows\\system32\\cmd.exe"));
        assert!(g("*\\temp\\\\*.exe").is_match("c:\\users\\x\\temp\\a.exe.exe"));
        assert!(!g("*\\temp\\\\*.exe").is_match("c:\\users\\x\\temp\\a.exe.txt"));
        // Backtracking past a first partial occurrence.
        assert!(g("*aab").is_match("aaab"));
        assert!(g("*ab*ab").is_match("abxabab"));
        assert!(g("sekurlsa::*pass*").is_match("sekurlsa::logonpasswords"));
        assert!(!g("sekurlsa::*pass*").is_match("sekurlsa:: nothing"));
        assert!(g("*?x").is_match("ax"));
        assert!(!g("*?x").is_match("x"));
        assert!(g("a*?").is_match("ab"));
        assert!(!g("a*?").is_match("a"));
    }

    #[test]
    fn glob_agrees_with_regex_on_many_cases() {
        let pats = [
            "*a*b?", "a?*c", "*ab*", "??", "*a", "a*", "*?a*?", "ab*ba", "*b*a*b*",
        ];
        let texts = [
            "",
            "a",
            "ab",
            "abc",
            "aabbc",
            "abba",
            "ba",
            "bab",
            "abab",
            "xaxbx",
            "abcba",
            "bbbaaabbb",
        ];
        for p in pats {
            let mut re = String::from("(?s)^");
            for c in p.chars() {
                match c {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            let re = regex::Regex::new(&re).unwrap();
            for t in texts {
                assert_eq!(g(p).is_match(t), re.is_match(t), "pattern {p} on {t:?}");
            }
        }
    }

    #[test]
    fn lazy_regex_validates_and_compiles() {
        assert!(LazyRegex::new("(", ReFlags::default()).is_err());
        let re = LazyRegex::new("^ab+c$", ReFlags::default()).unwrap();
        assert!(re.is_match("abbc"));
        assert!(!re.is_match("ABBC"));
        let re = LazyRegex::new(
            "^ab+c$",
            ReFlags {
                ignore_case: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(re.is_match("ABBC"));
    }
}
