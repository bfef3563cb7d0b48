//! A syntax check of STIX patterns, enough for validating indicators.
//!
//! An indicator with `pattern_type: stix` MUST carry a pattern that parses, and the object
//! types and property names it names must be well-formed. This module is a small
//! recursive-descent recogniser of the STIX 2.1 pattern grammar (`STIXPattern.g4`) that
//! returns the `(object type, first property)` of each comparison. It does not build a
//! syntax tree and does not evaluate anything: the full patterning engine (parser, matcher)
//! is a separate module to come, and can replace this one.

/// A pattern syntax error, with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternSyntaxError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str,
    Num,
    Punct(&'static str),
}

fn lex(p: &str) -> Result<Vec<(usize, Tok)>, PatternSyntaxError> {
    let b = p.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |offset, m: &str| PatternSyntaxError {
        offset,
        message: m.to_string(),
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = p[i + 2..]
                .find("*/")
                .ok_or_else(|| err(i, "unterminated comment"))?;
            i += end + 4;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            i = p[i..].find('\n').map_or(b.len(), |e| i + e);
        } else if c == b'\'' || (matches!(c, b't' | b'h' | b'b') && b.get(i + 1) == Some(&b'\'')) {
            let start = i;
            i += if c == b'\'' { 1 } else { 2 };
            loop {
                match b.get(i) {
                    None => return Err(err(start, "unterminated string literal")),
                    Some(b'\\') => {
                        if !matches!(b.get(i + 1), Some(b'\'') | Some(b'\\')) {
                            return Err(err(i, "only \\' and \\\\ escapes are allowed in strings"));
                        }
                        i += 2;
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            out.push((start, Tok::Str));
        } else if c.is_ascii_digit()
            || ((c == b'-' || c == b'+') && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            out.push((start, Tok::Num));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            out.push((start, Tok::Word(p[start..i].to_string())));
        } else {
            let two = p.get(i..i + 2).unwrap_or("");
            let punct = match two {
                "==" => Some("=="),
                "!=" => Some("!="),
                "<>" => Some("<>"),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(pu) = punct {
                out.push((i, Tok::Punct(pu)));
                i += 2;
                continue;
            }
            let one = match c {
                b'[' => "[",
                b']' => "]",
                b'(' => "(",
                b')' => ")",
                b',' => ",",
                b':' => ":",
                b'.' => ".",
                b'=' => "=",
                b'<' => "<",
                b'>' => ">",
                b'*' => "*",
                _ => {
                    let ch = p[i..].chars().next().unwrap_or('?');
                    return Err(err(i, &format!("unexpected character '{ch}'")));
                }
            };
            out.push((i, Tok::Punct(one)));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    comparisons: Vec<(String, String)>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }
    fn fail<T>(&self, m: &str) -> Result<T, PatternSyntaxError> {
        Err(PatternSyntaxError {
            offset: self.offset(),
            message: m.to_string(),
        })
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(x)) if *x == p)
    }
    fn eat_word(&mut self, w: &str) -> bool {
        let y = self.is_word(w);
        if y {
            self.pos += 1;
        }
        y
    }
    fn eat_punct(&mut self, p: &str) -> bool {
        let y = self.is_punct(p);
        if y {
            self.pos += 1;
        }
        y
    }
    fn expect_punct(&mut self, p: &str) -> Result<(), PatternSyntaxError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.fail(&format!("expected '{p}'"))
        }
    }

    fn obs_exprs(&mut self) -> Result<(), PatternSyntaxError> {
        self.obs_or()?;
        while self.eat_word("FOLLOWEDBY") {
            self.obs_or()?;
        }
        Ok(())
    }
    fn obs_or(&mut self) -> Result<(), PatternSyntaxError> {
        self.obs_and()?;
        while self.eat_word("OR") {
            self.obs_and()?;
        }
        Ok(())
    }
    fn obs_and(&mut self) -> Result<(), PatternSyntaxError> {
        self.obs_qualified()?;
        while self.eat_word("AND") {
            self.obs_qualified()?;
        }
        Ok(())
    }
    fn obs_qualified(&mut self) -> Result<(), PatternSyntaxError> {
        if self.eat_punct("[") {
            self.cmp_or()?;
            self.expect_punct("]")?;
        } else if self.eat_punct("(") {
            self.obs_exprs()?;
            self.expect_punct(")")?;
        } else {
            return self.fail("expected '[' or '('");
        }
        loop {
            if self.eat_word("START") {
                self.timestamp_literal()?;
                if !self.eat_word("STOP") {
                    return self.fail("expected STOP");
                }
                self.timestamp_literal()?;
            } else if self.eat_word("WITHIN") {
                if !matches!(self.peek(), Some(Tok::Num)) {
                    return self.fail("expected a number after WITHIN");
                }
                self.pos += 1;
                if !self.eat_word("SECONDS") {
                    return self.fail("expected SECONDS");
                }
            } else if self.eat_word("REPEATS") {
                if !matches!(self.peek(), Some(Tok::Num)) {
                    return self.fail("expected a number after REPEATS");
                }
                self.pos += 1;
                if !self.eat_word("TIMES") {
                    return self.fail("expected TIMES");
                }
            } else {
                return Ok(());
            }
        }
    }
    fn timestamp_literal(&mut self) -> Result<(), PatternSyntaxError> {
        if matches!(self.peek(), Some(Tok::Str)) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail("expected a timestamp literal")
        }
    }
    fn cmp_or(&mut self) -> Result<(), PatternSyntaxError> {
        self.cmp_and()?;
        while self.eat_word("OR") {
            self.cmp_and()?;
        }
        Ok(())
    }
    fn cmp_and(&mut self) -> Result<(), PatternSyntaxError> {
        self.prop_test()?;
        while self.eat_word("AND") {
            self.prop_test()?;
        }
        Ok(())
    }
    fn prop_test(&mut self) -> Result<(), PatternSyntaxError> {
        if self.eat_punct("(") {
            self.cmp_or()?;
            return self.expect_punct(")");
        }
        if self.is_word("NOT")
            && matches!(self.toks.get(self.pos + 1), Some((_, Tok::Word(w))) if w == "EXISTS")
        {
            self.pos += 1;
        }
        if self.eat_word("EXISTS") {
            return self.path();
        }
        self.path()?;
        self.eat_word("NOT");
        for op in ["=", "==", "!=", "<>", "<", "<=", ">", ">="] {
            if self.eat_punct(op) {
                return self.literal();
            }
        }
        for op in ["LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"] {
            if self.eat_word(op) {
                if matches!(self.peek(), Some(Tok::Str)) {
                    self.pos += 1;
                    return Ok(());
                }
                return self.fail(&format!("expected a string after {op}"));
            }
        }
        if self.eat_word("IN") {
            self.expect_punct("(")?;
            if self.eat_punct(")") {
                return Ok(());
            }
            loop {
                self.literal()?;
                if self.eat_punct(")") {
                    return Ok(());
                }
                self.expect_punct(",")?;
            }
        }
        self.fail("expected a comparison operator")
    }
    fn literal(&mut self) -> Result<(), PatternSyntaxError> {
        match self.peek() {
            Some(Tok::Str) | Some(Tok::Num) => {
                self.pos += 1;
                Ok(())
            }
            Some(Tok::Word(w)) if w == "true" || w == "false" => {
                self.pos += 1;
                Ok(())
            }
            _ => self.fail("expected a literal"),
        }
    }
    fn path(&mut self) -> Result<(), PatternSyntaxError> {
        let Some(Tok::Word(obj_type)) = self.peek().cloned() else {
            return self.fail("expected an object type");
        };
        self.pos += 1;
        self.expect_punct(":")?;
        let first = match self.peek().cloned() {
            Some(Tok::Word(w)) => w,
            Some(Tok::Str) => {
                let (o, _) = self.toks[self.pos];
                format!("'{o}")
            }
            _ => return self.fail("expected a property name"),
        };
        self.pos += 1;
        loop {
            if self.eat_punct(".") {
                match self.peek() {
                    Some(Tok::Word(_)) | Some(Tok::Str) => self.pos += 1,
                    _ => return self.fail("expected a property name after '.'"),
                }
            } else if self.eat_punct("[") {
                if !(self.eat_punct("*") || matches!(self.peek(), Some(Tok::Num))) {
                    return self.fail("expected an index or '*'");
                }
                if matches!(self.peek(), Some(Tok::Num)) {
                    self.pos += 1;
                }
                self.expect_punct("]")?;
            } else {
                break;
            }
        }
        self.comparisons.push((obj_type, first));
        Ok(())
    }
}

/// Checks a STIX pattern's syntax; returns the `(object type, first property)` of every
/// comparison, e.g. `("file", "hashes")` for `[file:hashes.'SHA-256' = '…']`. Quoted first
/// properties are returned as `'` followed by the literal's offset (they are not checked).
pub(crate) fn check_pattern(p: &str) -> Result<Vec<(String, String)>, PatternSyntaxError> {
    let toks = lex(p)?;
    let mut parser = Parser {
        toks,
        pos: 0,
        end: p.len(),
        comparisons: Vec::new(),
    };
    parser.obs_exprs()?;
    if parser.pos != parser.toks.len() {
        return parser.fail("unexpected input after the pattern");
    }
    Ok(parser.comparisons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_examples() {
        for p in [
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24'] AND [domain-name:value = 'x.example']",
            "([a:b = 1] OR [c:d = 'x']) FOLLOWEDBY [e:f[*].g != true] WITHIN 300 SECONDS",
            "[network-traffic:dst_port IN (80, 443)] REPEATS 5 TIMES START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
            "[x-a:b NOT LIKE 'a%' AND NOT EXISTS x-a:c]",
        ] {
            assert!(check_pattern(p).is_ok(), "{p}: {:?}", check_pattern(p));
        }
    }

    #[test]
    fn rejects_syntax_errors() {
        for p in [
            "[file:hashes.\"SHA-256\" = 'x']",
            "[file:size = ]",
            "[file:name = 'x'",
            "file:name = 'x'",
            "[file:name = 'x'] AND",
            "[file:name = 'x'] WITHIN SECONDS",
        ] {
            assert!(check_pattern(p).is_err(), "{p}");
        }
    }
}
