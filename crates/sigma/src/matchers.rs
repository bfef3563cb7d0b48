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
                Piece::Lit(t) => Tok::Lit(if cased { t.clone() } else { lowercase(t) }),
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
    /// The pattern with `\w \d \s \b` and their negations made ASCII.
    engine_pattern: String,
    flags: ReFlags,
    size_limit: usize,
    compiled: OnceLock<Result<regex::Regex, String>>,
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex {
            pattern: self.pattern.clone(),
            engine_pattern: self.engine_pattern.clone(),
            flags: self.flags,
            size_limit: self.size_limit,
            compiled: OnceLock::new(),
        }
    }
}

/// The default size limit of one compiled regex, in bytes (16 MiB; see
/// [`crate::LoadOptions::regex_size_limit`]).
pub const DEFAULT_REGEX_SIZE_LIMIT: usize = 1 << 24;

impl LazyRegex {
    /// Checks the syntax of `pattern` (the `regex` crate's dialect, which
    /// covers the specification's PCRE subset) without compiling it.
    pub fn new(pattern: &str, flags: ReFlags) -> Result<LazyRegex, String> {
        let engine_pattern = ascii_perl_classes(pattern);
        regex_syntax::ParserBuilder::new()
            .case_insensitive(flags.ignore_case)
            .multi_line(flags.multi_line)
            .dot_matches_new_line(flags.dot_all)
            .build()
            .parse(&engine_pattern)
            .map_err(|e| e.to_string())?;
        Ok(LazyRegex {
            pattern: pattern.to_string(),
            engine_pattern,
            flags,
            size_limit: DEFAULT_REGEX_SIZE_LIMIT,
            compiled: OnceLock::new(),
        })
    }

    /// The same regex with another compiled-size limit, in bytes: compiling a larger one
    /// fails with the `regex` crate's "exceeds size limit" error, which refuses its rule.
    pub fn with_size_limit(mut self, bytes: usize) -> LazyRegex {
        self.size_limit = bytes;
        self.compiled = OnceLock::new();
        self
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
                regex::RegexBuilder::new(&self.engine_pattern)
                    .case_insensitive(self.flags.ignore_case)
                    .multi_line(self.flags.multi_line)
                    .dot_matches_new_line(self.flags.dot_all)
                    .size_limit(self.size_limit)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// A literal that occurs (lowercased) in every text this regex matches,
    /// once the text is lowercased: the longest run of ASCII characters the
    /// pattern requires in sequence. `None` when no run of at least three
    /// characters is required (for example, the pattern is an alternation).
    ///
    /// It lets a regex-only rule be triggered by the literal automata
    /// instead of running the regex on every event. Sound by construction:
    /// only characters every match must contain are taken, and a
    /// case-insensitive class counts as a character only when it is exactly
    /// an ASCII letter in both cases (so Unicode folds such as `K` for the
    /// Kelvin sign end a run rather than being assumed away).
    pub fn required_literal(&self) -> Option<String> {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(self.flags.ignore_case)
            .multi_line(self.flags.multi_line)
            .dot_matches_new_line(self.flags.dot_all)
            .build()
            .parse(&self.engine_pattern)
            .ok()?;
        required(&hir).best.filter(|l| l.len() >= 3)
    }

    /// Unanchored search; a regex that cannot be compiled matches nothing
    /// (and is reported by [`crate::RuleSet::compile_regexes`]).
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled().is_ok_and(|re| re.is_match(text))
    }
}

/// Rewrites the Perl classes `\w \W \d \D \s \S` and the word boundaries
/// `\b \B` to their ASCII meaning, which is what the Sigma specification's
/// dialect (a PCRE subset; pySigma validates with RE2) gives them. The
/// `regex` crate would otherwise read them as Unicode classes, which differ
/// on non-ASCII text and make counted repetitions such as `\w{1,64}` so
/// large that the lazy DFA gives up and every search falls back to a much
/// slower engine. Escapes and bracketed classes are tracked so that only real
/// class escapes are rewritten: outside brackets `\w` becomes `[[:word:]]`,
/// inside them `[:word:]`; `\b` becomes `(?-u:\b)`.
pub(crate) fn ascii_perl_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut depth = 0usize;
    // Just after `[` or `[^`, where `]` is a literal.
    let mut class_start = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let at_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push(c);
                    break;
                };
                let posix = match e {
                    'w' => Some("word"),
                    'W' => Some("^word"),
                    'd' => Some("digit"),
                    'D' => Some("^digit"),
                    's' => Some("space"),
                    'S' => Some("^space"),
                    _ => None,
                };
                match (posix, e) {
                    (Some(name), _) if depth > 0 => {
                        out.push_str("[:");
                        out.push_str(name);
                        out.push_str(":]");
                    }
                    (Some(name), _) => {
                        out.push_str("[[:");
                        out.push_str(name);
                        out.push_str(":]]");
                    }
                    (None, 'b' | 'B') if depth == 0 => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' => {
                if depth > 0 && chars.peek() == Some(&':') {
                    // A POSIX class such as `[:alpha:]`: copy it whole.
                    out.push(c);
                    for p in chars.by_ref() {
                        out.push(p);
                        if p == ']' {
                            break;
                        }
                    }
                } else {
                    depth += 1;
                    out.push(c);
                    if chars.peek() == Some(&'^') {
                        out.push('^');
                        chars.next();
                    }
                    class_start = true;
                }
            }
            ']' if depth > 0 && !at_start => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// What a regex node says about the text it matches: the exact (lowercase)
/// text if the node always matches the same ASCII string, and the longest
/// string every match contains.
struct Required {
    exact: Option<String>,
    best: Option<String>,
}

fn longer(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.len() > x.len() { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The single character a class stands for once text is lowercased, if it
/// is one ASCII character or exactly one ASCII letter in both cases.
fn class_char(class: &regex_syntax::hir::Class) -> Option<char> {
    use regex_syntax::hir::Class;
    let mut chars: Vec<u32> = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                let (a, b) = (r.start() as u32, r.end() as u32);
                if b - a > 2 {
                    return None;
                }
                chars.extend(a..=b);
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                let (a, b) = (r.start() as u32, r.end() as u32);
                if b - a > 2 {
                    return None;
                }
                chars.extend(a..=b);
            }
        }
    }
    // Every member must lowercase (as matching lowercases text) to the same
    // ASCII character.
    let mut folded = chars
        .into_iter()
        .map(|c| char::from_u32(c).and_then(lower_char));
    let first = folded.next()??;
    (first.is_ascii() && folded.all(|c| c == Some(first))).then_some(first)
}

/// The lowercase form of `c` as matching computes it (see
/// [`lowercase_into`]), if it is a single character.
fn lower_char(c: char) -> Option<char> {
    if c == LONG_S {
        return Some('s');
    }
    let mut l = c.to_lowercase();
    let first = l.next()?;
    l.next().is_none().then_some(first)
}

/// `ſ` (U+017F), the one character whose Unicode case folding (`s`) differs
/// from its lowercase form (itself).
const LONG_S: char = '\u{17F}';

/// `text` lowercased as [`lowercase_into`] does it.
pub(crate) fn lowercase(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    lowercase_into(text, &mut out);
    out
}

/// Lowercases `src` into `dst` the way every case-insensitive comparison of
/// the engine does: Unicode lowercase, fast for ASCII, and `ſ` folded to
/// `s` as Unicode case folding (and so a case-insensitive regex) does.
pub(crate) fn lowercase_into(src: &str, dst: &mut String) {
    dst.clear();
    if src.is_ascii() {
        dst.push_str(src);
        dst.make_ascii_lowercase();
    } else {
        for c in src.chars() {
            if c == LONG_S {
                dst.push('s');
            } else {
                dst.extend(c.to_lowercase());
            }
        }
    }
}

fn required(h: &regex_syntax::hir::Hir) -> Required {
    use regex_syntax::hir::HirKind;
    let none = || Required {
        exact: None,
        best: None,
    };
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Required {
            exact: Some(String::new()),
            best: None,
        },
        HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
            Ok(t) if t.is_ascii() => {
                let t = t.to_ascii_lowercase();
                Required {
                    exact: Some(t.clone()),
                    best: Some(t),
                }
            }
            // Non-ASCII text: keep only its ASCII runs as candidates.
            Ok(t) => Required {
                exact: None,
                best: t
                    .split(|c: char| !c.is_ascii())
                    .map(str::to_ascii_lowercase)
                    .max_by_key(String::len)
                    .filter(|s| !s.is_empty()),
            },
            Err(_) => none(),
        },
        HirKind::Class(c) => match class_char(c) {
            Some(ch) => Required {
                exact: Some(ch.to_string()),
                best: Some(ch.to_string()),
            },
            None => none(),
        },
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) => {
            if rep.min == 0 {
                return none();
            }
            let sub = required(&rep.sub);
            let exact = match (&sub.exact, rep.max) {
                (Some(e), Some(max)) if max == rep.min && rep.min <= 16 => {
                    Some(e.repeat(rep.min as usize))
                }
                _ => None,
            };
            let best = longer(sub.best, exact.clone());
            Required { exact, best }
        }
        HirKind::Concat(parts) => {
            let mut run = Some(String::new());
            let mut all_exact = true;
            let mut whole = String::new();
            let mut best: Option<String> = None;
            for p in parts {
                let r = required(p);
                match r.exact {
                    Some(e) => {
                        whole.push_str(&e);
                        run.get_or_insert_with(String::new).push_str(&e);
                    }
                    None => {
                        all_exact = false;
                        best = longer(best, run.take().filter(|r| !r.is_empty()));
                        best = longer(best, r.best);
                    }
                }
            }
            best = longer(best, run.filter(|r| !r.is_empty()));
            Required {
                exact: all_exact.then_some(whole),
                best,
            }
        }
        HirKind::Alternation(_) => none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Glob {
        Glob::new(&SigmaString::parse(p), false).unwrap()
    }

    fn req(p: &str, ignore_case: bool) -> Option<String> {
        let flags = ReFlags {
            ignore_case,
            ..Default::default()
        };
        LazyRegex::new(p, flags).unwrap().required_literal()
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert_eq!(
            ascii_perl_classes(r"-k\s\w{1,64}"),
            "-k[[:space:]][[:word:]]{1,64}"
        );
        assert_eq!(ascii_perl_classes(r"[\w.-]+\d"), "[[:word:].-]+[[:digit:]]");
        assert_eq!(
            ascii_perl_classes(r"[^\S]\b\B"),
            r"[^[:^space:]](?-u:\b)(?-u:\B)"
        );
        // Escaped backslashes, literal `]` first in a class, POSIX classes.
        assert_eq!(
            ascii_perl_classes(r"\\w[]\w][[:alpha:]\d]"),
            r"\\w[][:word:]][[:alpha:][:digit:]]"
        );
        let re = |p: &str| LazyRegex::new(p, ReFlags::default()).unwrap();
        // ASCII meaning, as in PCRE and RE2.
        assert!(!re(r"^\w+$").is_match("café"));
        assert!(re(r"^\w+$").is_match("cafe_1"));
        assert!(!re(r"\d").is_match("\u{0663}"));
        assert!(re(r"\W").is_match("é"));
        assert!(re(r"a\s+b").is_match("a \t\x0Bb"));
        assert!(re(r"\bnet\b").is_match("c:\\net.exe"));
        assert!(re(r"[\w\\]+\.exe").is_match("C:\\Windows\\x.exe"));
    }

    #[test]
    fn required_literals_of_regexes() {
        // The longest run wins; classes and optional parts end runs.
        assert_eq!(
            req(r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe"#, false).as_deref(),
            Some("werfaultsecure.exe")
        );
        assert_eq!(req(r"nbtstat\s+-n", false).as_deref(), Some("nbtstat"));
        assert_eq!(
            req(r"\$VerbosePreference\.ToString\(", false).as_deref(),
            Some("$verbosepreference.tostring(")
        );
        // Inline and flag case-insensitivity give the same lowercase literal.
        assert_eq!(req("FooBar", true).as_deref(), Some("foobar"));
        assert_eq!(req("(?i)FooBar", false).as_deref(), Some("foobar"));
        // Looks do not break adjacency.
        assert_eq!(req(r"\bnet\b", false).as_deref(), Some("net"));
        // Bounded exact repetition expands.
        assert_eq!(req("(?:ab){3}x", false).as_deref(), Some("abababx"));
        // Nothing required: alternation, optional, too short.
        assert_eq!(req("foo|bar", false), None);
        assert_eq!(req("(?:longliteral)?x", false), None);
        assert_eq!(req("ab.cd", false), None);
        assert_eq!(req(r"[a-f0-9]{64}", false), None);
        // Unicode case folding adds the Kelvin sign to `k` and `ſ` to `s`;
        // both lowercase (as matching does it) to the ASCII letter.
        assert_eq!(req("(?i)kerberos", false).as_deref(), Some("kerberos"));
        assert_eq!(req("(?i)sam", false).as_deref(), Some("sam"));
        // A class of several letters ends a run.
        assert_eq!(req("abc[de]fgh", false).as_deref(), Some("abc"));
    }

    #[test]
    fn required_literal_is_necessary() {
        // Whenever the regex matches, the lowercased text contains the literal.
        let cases = [
            (r"(?i)Invoke-\w+Mimikatz", "powershell INVOKE-xMIMIKATZ now"),
            (r"cmd\.exe /c ping", "C:\\cmd.exe /c ping 127.0.0.1"),
            (r"(?i)kerberos", "\u{212A}ERBEROS ticket"),
            (r"(?i)lsass", "LſASS.exe"),
        ];
        for (p, text) in cases {
            let re = LazyRegex::new(p, ReFlags::default()).unwrap();
            assert!(re.is_match(text), "{p} should match {text}");
            let lit = re.required_literal().unwrap();
            let lower = lowercase(text);
            assert!(lower.contains(&lit), "{p}: {lit} not in {text}");
        }
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
