//! Sigma string values: wildcards, escapes and placeholders.
//!
//! A Sigma value such as `'C:\Windows\*\cmd.exe'` is not a plain string: `*`
//! and `?` are wildcards unless escaped, and the escape rules are subtle
//! (a backslash only escapes `*`, `?` and another backslash). Parsing values
//! once into [`SigmaString`] pieces means every later step — modifiers,
//! compilation to Aho-Corasick literals or regexes — works on an unambiguous
//! form instead of re-interpreting backslashes.

use std::fmt;

/// One piece of a parsed Sigma string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`: any sequence of characters, including none.
    AnyMany,
    /// `?`: exactly one character.
    AnyOne,
    /// `%name%` inside a value with the `expand` modifier.
    Placeholder(String),
}

/// A Sigma string value parsed into literal text and wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SigmaString {
    pieces: Vec<Piece>,
}

impl SigmaString {
    /// Parses a rule value, applying the Sigma escape rules.
    ///
    /// `\*`, `\?` and `\\` stand for the literal character; a backslash
    /// before anything else (or at the end) is itself literal.
    pub fn parse(text: &str) -> Self {
        Self::parse_inner(text, false)
    }

    /// Parses a value of an `expand` item: as [`SigmaString::parse`], and
    /// `%name%` becomes a placeholder (`\%` is a literal percent sign).
    pub fn parse_with_placeholders(text: &str) -> Self {
        Self::parse_inner(text, true)
    }

    /// A string holding exactly `text`, with no wildcards.
    pub fn literal(text: &str) -> Self {
        let mut s = SigmaString::default();
        s.push_lit(text);
        s
    }

    fn parse_inner(text: &str, placeholders: bool) -> Self {
        let mut out = SigmaString::default();
        let mut chars = text.chars().peekable();
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        lit.push(n);
                        chars.next();
                    }
                    Some('%') if placeholders => {
                        lit.push('%');
                        chars.next();
                    }
                    _ => lit.push('\\'),
                },
                '*' | '?' => {
                    if !lit.is_empty() {
                        out.pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    out.pieces.push(if c == '*' {
                        Piece::AnyMany
                    } else {
                        Piece::AnyOne
                    });
                }
                '%' if placeholders => {
                    // A placeholder runs to the next '%'; an unmatched '%' is literal.
                    let rest: String = chars.clone().collect();
                    match rest.find('%') {
                        Some(end)
                            if end > 0
                                && rest[..end]
                                    .chars()
                                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-')) =>
                        {
                            if !lit.is_empty() {
                                out.pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                            }
                            out.pieces.push(Piece::Placeholder(rest[..end].to_string()));
                            for _ in 0..=rest[..end].chars().count() {
                                chars.next();
                            }
                        }
                        _ => lit.push('%'),
                    }
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            out.pieces.push(Piece::Lit(lit));
        }
        out
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Builds a string from pieces, merging adjacent literals.
    pub fn from_pieces(pieces: impl IntoIterator<Item = Piece>) -> Self {
        let mut s = SigmaString::default();
        for p in pieces {
            match p {
                Piece::Lit(t) => s.push_lit(&t),
                other => s.pieces.push(other),
            }
        }
        s
    }

    fn push_lit(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Lit(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else {
            self.pieces.push(Piece::Lit(text.to_string()));
        }
    }

    /// True if the string has `*` or `?` wildcards.
    pub fn has_wildcards(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::AnyMany | Piece::AnyOne))
    }

    /// The names of the placeholders in the string.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Placeholder(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The text if the string is a plain literal (no wildcards or placeholders).
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Adds a leading `*` unless the string already starts with one.
    pub fn prepend_any(&mut self) {
        if self.pieces.first() != Some(&Piece::AnyMany) {
            self.pieces.insert(0, Piece::AnyMany);
        }
    }

    /// Adds a trailing `*` unless the string already ends with one.
    pub fn append_any(&mut self) {
        if self.pieces.last() != Some(&Piece::AnyMany) {
            self.pieces.push(Piece::AnyMany);
        }
    }

    /// Replaces every placeholder using `resolve`, which returns the
    /// alternatives for a name; the result is the cartesian product.
    pub fn expand_placeholders(
        &self,
        resolve: &mut dyn FnMut(&str) -> Vec<SigmaString>,
    ) -> Vec<SigmaString> {
        let mut results = vec![SigmaString::default()];
        for piece in &self.pieces {
            match piece {
                Piece::Placeholder(name) => {
                    let values = resolve(name);
                    let mut next = Vec::with_capacity(results.len() * values.len());
                    for r in &results {
                        for v in &values {
                            let mut joined = r.clone();
                            for p in v.pieces() {
                                match p {
                                    Piece::Lit(t) => joined.push_lit(t),
                                    other => joined.pieces.push(other.clone()),
                                }
                            }
                            next.push(joined);
                        }
                    }
                    results = next;
                }
                Piece::Lit(t) => results.iter_mut().for_each(|r| r.push_lit(t)),
                other => results
                    .iter_mut()
                    .for_each(|r| r.pieces.push(other.clone())),
            }
        }
        results
    }
}

impl fmt::Display for SigmaString {
    /// Writes the string back in Sigma syntax (wildcards and escapes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pieces {
            match p {
                Piece::Lit(t) => {
                    for c in t.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            write!(f, "\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                }
                Piece::AnyMany => write!(f, "*")?,
                Piece::AnyOne => write!(f, "?")?,
                Piece::Placeholder(n) => write!(f, "%{n}%")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.into())
    }

    #[test]
    fn escape_table_from_the_spec() {
        // `\` before a normal character stays literal.
        assert_eq!(
            SigmaString::parse(r"C:\Windows").pieces(),
            &[lit(r"C:\Windows")]
        );
        // `\\` is one backslash.
        assert_eq!(SigmaString::parse(r"C:\\Temp").pieces(), &[lit(r"C:\Temp")]);
        // `\*` is a literal star.
        assert_eq!(SigmaString::parse(r"a\*").pieces(), &[lit("a*")]);
        // `\\*` is a backslash, then a wildcard.
        assert_eq!(
            SigmaString::parse(r"C:\\*").pieces(),
            &[lit(r"C:\"), Piece::AnyMany]
        );
        // `\\\*` is a backslash then a literal star.
        assert_eq!(SigmaString::parse(r"C:\\\*").pieces(), &[lit(r"C:\*")]);
        // `\\\` + normal char is two backslashes.
        assert_eq!(
            SigmaString::parse(r"\\\server").pieces(),
            &[lit(r"\\server")]
        );
        // `\\\\` is two backslashes.
        assert_eq!(SigmaString::parse(r"\\\\").pieces(), &[lit(r"\\")]);
        // A trailing backslash is literal.
        assert_eq!(SigmaString::parse(r"Temp\").pieces(), &[lit(r"Temp\")]);
        // The pitfall: `\Windows\*\cmd.exe` has an escaped star.
        assert_eq!(
            SigmaString::parse(r"C:\Windows\*\cmd.exe")
                .as_plain()
                .unwrap(),
            r"C:\Windows*\cmd.exe"
        );
    }

    #[test]
    fn pysigma_escaping_golden() {
        // pySigma test_strings_escaping: escaped\*\?\\*? -> literal "escaped*?\" + * + ?
        let s = SigmaString::parse(r"escaped\*\?\\*?");
        assert_eq!(
            s.pieces(),
            &[lit(r"escaped*?\"), Piece::AnyMany, Piece::AnyOne]
        );
    }

    #[test]
    fn wildcards_and_display_round_trip() {
        let s = SigmaString::parse(r"a*b?c\*");
        assert!(s.has_wildcards());
        assert_eq!(s.to_string(), r"a*b?c\*");
    }

    #[test]
    fn placeholders_only_with_expand() {
        assert_eq!(SigmaString::parse("%a%").as_plain().unwrap(), "%a%");
        let s = SigmaString::parse_with_placeholders(r"x%name%y\%z%");
        assert_eq!(
            s.pieces(),
            &[lit("x"), Piece::Placeholder("name".into()), lit("y%z%")]
        );
        let expanded = s.expand_placeholders(&mut |_| {
            vec![SigmaString::literal("1"), SigmaString::parse("2*")]
        });
        let texts: Vec<String> = expanded.iter().map(|s| s.to_string()).collect();
        assert_eq!(texts, vec!["x1y%z%", "x2*y%z%"]);
    }

    #[test]
    fn contains_does_not_double_stars() {
        let mut s = SigmaString::parse("*abc");
        s.prepend_any();
        s.append_any();
        assert_eq!(s.to_string(), "*abc*");
    }
}
