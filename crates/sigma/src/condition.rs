//! The detection condition language: `selection and not 1 of filter_*`.
//!
//! A hand-written recursive-descent parser following the precedence the
//! specification gives (lowest to highest: `or`, `and`, `not`, `x of`,
//! parentheses). Operators are lowercase keywords; `AND` is an error with a
//! hint rather than an undefined identifier. The removed v1 pipe
//! aggregations (`| count() > 5`) are refused with a pointer to correlation
//! rules.

/// Which identifiers an `x of` expression ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `them`: every identifier not starting with `_`.
    Them,
    /// A name with `*` wildcards (or a plain name).
    Glob(String),
}

impl Pattern {
    /// True if `name` is in the range of this pattern.
    pub fn covers(&self, name: &str) -> bool {
        match self {
            Pattern::Them => !name.starts_with('_'),
            Pattern::Glob(g) => glob_match(g.as_bytes(), name.as_bytes()),
        }
    }
}

fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| glob_match(rest, &name[i..])),
        Some((c, rest)) => name.first() == Some(c) && glob_match(rest, &name[1..]),
    }
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// All must hold.
    And(Vec<Condition>),
    /// At least one must hold.
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// A search identifier.
    Ident(String),
    /// `1 of pattern` (also written `any of`).
    OneOf(Pattern),
    /// `all of pattern`.
    AllOf(Pattern),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, String> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::Open, at));
                i += 1
            }
            ')' => {
                out.push((Tok::Close, at));
                i += 1
            }
            '|' => {
                out.push((Tok::Pipe, at));
                i += 1
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '.') => {
                let start = i;
                while i < chars.len()
                    && (chars[i].1.is_alphanumeric() || matches!(chars[i].1, '_' | '-' | '*' | '.'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
                out.push((Tok::Word(word), at));
            }
            other => {
                return Err(format!(
                    "unexpected character '{other}' at column {}",
                    at + 1
                ));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
}

fn is_keyword(w: &str) -> bool {
    matches!(w, "and" | "or" | "not" | "of" | "them")
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn col(&self) -> usize {
        self.toks.get(self.at).map(|(_, c)| c + 1).unwrap_or(0)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.and()?];
        while self.peek_word() == Some("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Condition::Or(Vec::new()))
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.not()?];
        while self.peek_word() == Some("and") {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Condition::And(Vec::new()))
        } else {
            Condition::And(parts)
        })
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self.peek_word() == Some("not") {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, String> {
        let col = self.col();
        match self.toks.get(self.at).map(|(t, _)| t.clone()) {
            None => Err("condition ends where an identifier was expected".into()),
            Some(Tok::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(format!("missing ')' at column {}", self.col()));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Tok::Close) => Err(format!("unexpected ')' at column {col}")),
            Some(Tok::Pipe) => Err(pipe_error()),
            Some(Tok::Word(w)) => {
                self.at += 1;
                if self.peek_word() == Some("of") {
                    let all = match w.as_str() {
                        "1" | "any" => false,
                        "all" => true,
                        other => {
                            return Err(format!(
                                "'{other} of' at column {col}: only '1 of', 'any of' and 'all of' exist"
                            ));
                        }
                    };
                    self.at += 1;
                    let pattern = match self.peek_word() {
                        Some("them") => Pattern::Them,
                        Some(p) if !is_keyword(p) => Pattern::Glob(p.to_string()),
                        _ => {
                            return Err(format!(
                                "'of' at column {} needs 'them' or an identifier pattern",
                                self.col()
                            ));
                        }
                    };
                    self.at += 1;
                    return Ok(if all {
                        Condition::AllOf(pattern)
                    } else {
                        Condition::OneOf(pattern)
                    });
                }
                if is_keyword(&w) {
                    return Err(format!("unexpected '{w}' at column {col}"));
                }
                if matches!(w.as_str(), "AND" | "OR" | "NOT" | "And" | "Or" | "Not") {
                    return Err(format!(
                        "'{w}' at column {col}: boolean operators are lowercase ('{}')",
                        w.to_lowercase()
                    ));
                }
                if w.contains('*') {
                    return Err(format!(
                        "wildcard identifier '{w}' at column {col} is only allowed after '1 of' or 'all of'"
                    ));
                }
                Ok(Condition::Ident(w))
            }
        }
    }
}

fn pipe_error() -> String {
    "pipe aggregations ('| count() ...') were removed in Sigma 2.0; write a correlation rule instead"
        .into()
}

/// Parses one condition string.
pub fn parse_condition(text: &str) -> Result<Condition, String> {
    if text.contains('|') {
        return Err(pipe_error());
    }
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser { toks, at: 0 };
    let cond = p.or()?;
    match p.toks.get(p.at) {
        None => Ok(cond),
        Some((Tok::Pipe, _)) => Err(pipe_error()),
        Some((Tok::Word(w), col)) if matches!(w.as_str(), "AND" | "OR" | "And" | "Or") => {
            Err(format!(
                "'{w}' at column {}: boolean operators are lowercase ('{}')",
                col + 1,
                w.to_lowercase()
            ))
        }
        Some((t, col)) => Err(format!(
            "unexpected {} at column {}",
            match t {
                Tok::Word(w) => format!("'{w}'"),
                Tok::Close => "')'".into(),
                _ => "token".into(),
            },
            col + 1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Condition {
        Condition::Ident(s.into())
    }

    #[test]
    fn precedence_or_and_not() {
        let c = parse_condition("a or b and not c").unwrap();
        assert_eq!(
            c,
            Condition::Or(vec![
                id("a"),
                Condition::And(vec![id("b"), Condition::Not(Box::new(id("c")))])
            ])
        );
    }

    #[test]
    fn parentheses_and_of() {
        let c = parse_condition("(a or b) and not 1 of filter_*").unwrap();
        assert_eq!(
            c,
            Condition::And(vec![
                Condition::Or(vec![id("a"), id("b")]),
                Condition::Not(Box::new(Condition::OneOf(Pattern::Glob("filter_*".into()))))
            ])
        );
        assert_eq!(
            parse_condition("all of them").unwrap(),
            Condition::AllOf(Pattern::Them)
        );
        assert_eq!(
            parse_condition("not not a").unwrap(),
            Condition::Not(Box::new(Condition::Not(Box::new(id("a")))))
        );
    }

    #[test]
    fn identifiers_may_contain_keywords_and_dashes() {
        assert_eq!(parse_condition("notepad").unwrap(), id("notepad"));
        assert_eq!(parse_condition("order_and-x").unwrap(), id("order_and-x"));
    }

    #[test]
    fn errors() {
        assert!(
            parse_condition("a AND b")
                .unwrap_err()
                .contains("lowercase")
        );
        assert!(
            parse_condition("a | count() > 5")
                .unwrap_err()
                .contains("correlation")
        );
        assert!(parse_condition("(a or b").is_err());
        assert!(parse_condition("a and").is_err());
        assert!(parse_condition("2 of x").is_err());
        assert!(parse_condition("").is_err());
    }

    #[test]
    fn pattern_cover() {
        assert!(Pattern::Glob("*_evil".into()).covers("a_evil"));
        assert!(!Pattern::Glob("*_evil".into()).covers("a_good"));
        assert!(Pattern::Glob("sel".into()).covers("sel"));
        assert!(!Pattern::Them.covers("_x"));
    }
}
