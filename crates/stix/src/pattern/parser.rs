//! Recursive-descent parser for `STIXPattern.g4`.
//!
//! Precedence, lowest first: `FOLLOWEDBY`, `OR`, `AND` between observation expressions;
//! qualifiers are postfix and bind to the nearest observation expression (`[a] AND [b]
//! WITHIN 5 SECONDS` qualifies `[b]` only). Inside brackets `AND` binds tighter than `OR`.
//! Chains of one operator are flattened (all three operators are associative for the
//! matcher).

use super::PatternError;
use super::ast::*;
use super::lexer::{Tok, lex};
use crate::validate::SpecVersion;

pub(crate) struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    version: SpecVersion,
    _text: &'a str,
}

type R<T> = Result<T, PatternError>;

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str, version: SpecVersion) -> R<Parser<'a>> {
        Ok(Parser {
            toks: lex(text)?,
            pos: 0,
            end: text.len(),
            version,
            _text: text,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the pattern".to_string(), Tok::describe)
    }

    fn fail<T>(&self, expected: &str) -> R<T> {
        Err(PatternError::syntax(
            self.offset(),
            format!("expected {expected}, found {}", self.found()),
        ))
    }

    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Keyword(x)) if *x == k)
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        let y = self.is_kw(k);
        if y {
            self.pos += 1;
        }
        y
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(x)) if *x == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let y = self.is_punct(p);
        if y {
            self.pos += 1;
        }
        y
    }

    fn expect_punct(&mut self, p: &str) -> R<()> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.fail(&format!("'{p}'"))
        }
    }

    fn expect_kw(&mut self, k: &str) -> R<()> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            self.fail(&format!("'{k}'"))
        }
    }

    /// `pattern := observationExpressions EOF`
    pub(crate) fn pattern(&mut self) -> R<ObservationExpr> {
        if !self.is_punct("[") && !self.is_punct("(") {
            return Err(PatternError::syntax(
                self.offset(),
                format!(
                    "a pattern starts with '[' or '(' (found {}); is it missing its square brackets?",
                    self.found()
                ),
            ));
        }
        let e = self.followed_by()?;
        if self.pos != self.toks.len() {
            return self.fail("AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern");
        }
        Ok(e)
    }

    fn followed_by(&mut self) -> R<ObservationExpr> {
        let first = self.obs_or()?;
        let mut items = vec![first];
        while self.eat_kw("FOLLOWEDBY") {
            items.push(self.obs_or()?);
        }
        Ok(flatten_obs(items, ObsOp::FollowedBy))
    }

    fn obs_or(&mut self) -> R<ObservationExpr> {
        let mut items = vec![self.obs_and()?];
        while self.eat_kw("OR") {
            items.push(self.obs_and()?);
        }
        Ok(flatten_obs(items, ObsOp::Or))
    }

    fn obs_and(&mut self) -> R<ObservationExpr> {
        let mut items = vec![self.obs_qualified()?];
        while self.eat_kw("AND") {
            items.push(self.obs_qualified()?);
        }
        Ok(flatten_obs(items, ObsOp::And))
    }

    fn obs_qualified(&mut self) -> R<ObservationExpr> {
        let mut e = if self.eat_punct("[") {
            let c = self.cmp_or()?;
            self.expect_punct("]")?;
            ObservationExpr::Bracket(c)
        } else if self.eat_punct("(") {
            let inner = self.followed_by()?;
            self.expect_punct(")")?;
            inner
        } else {
            return self.fail("'[' or '('");
        };
        loop {
            let q = if self.eat_kw("START") {
                let start = self.start_stop_literal()?;
                self.expect_kw("STOP")?;
                let stop = self.start_stop_literal()?;
                Qualifier::StartStop(start, stop)
            } else if self.eat_kw("WITHIN") {
                let n = match self.peek().cloned() {
                    Some(Tok::IntPos(s)) => Literal::Int(self.int_value(&s)?),
                    Some(Tok::FloatPos(s)) => Literal::Float(float_value(&s)),
                    _ => return self.fail("a positive number after WITHIN"),
                };
                self.pos += 1;
                self.expect_kw("SECONDS")?;
                Qualifier::Within(n)
            } else if self.eat_kw("REPEATS") {
                let n = match self.peek().cloned() {
                    Some(Tok::IntPos(s)) => self.int_value(&s)?,
                    _ => return self.fail("a positive integer after REPEATS"),
                };
                self.pos += 1;
                self.expect_kw("TIMES")?;
                Qualifier::Repeats(n.unsigned_abs())
            } else {
                return Ok(e);
            };
            e = ObservationExpr::Qualified(Box::new(e), q);
        }
    }

    fn start_stop_literal(&mut self) -> R<Literal> {
        match self.peek().cloned() {
            Some(Tok::Timestamp(t)) => {
                self.pos += 1;
                Ok(Literal::Timestamp(t))
            }
            // STIX 2.0 wrote START/STOP with plain strings (checked when matching).
            Some(Tok::Str(s)) if self.version == SpecVersion::V20 => {
                self.pos += 1;
                Ok(Literal::Str(s))
            }
            _ => self.fail("a timestamp literal t'…'"),
        }
    }

    fn int_value(&self, s: &str) -> R<i64> {
        s.trim_start_matches('+').parse::<i64>().map_err(|_| {
            PatternError::syntax(self.offset(), format!("integer {s} is out of range"))
        })
    }

    fn cmp_or(&mut self) -> R<ComparisonExpr> {
        let mut items = vec![self.cmp_and()?];
        while self.eat_kw("OR") {
            items.push(self.cmp_and()?);
        }
        Ok(flatten_cmp(items, false))
    }

    fn cmp_and(&mut self) -> R<ComparisonExpr> {
        let mut items = vec![self.prop_test()?];
        while self.eat_kw("AND") {
            items.push(self.prop_test()?);
        }
        Ok(flatten_cmp(items, true))
    }

    fn prop_test(&mut self) -> R<ComparisonExpr> {
        if self.eat_punct("(") {
            let e = self.cmp_or()?;
            self.expect_punct(")")?;
            return Ok(e);
        }
        if self.version == SpecVersion::V21 {
            let not_exists = self.is_kw("NOT")
                && matches!(
                    self.toks.get(self.pos + 1),
                    Some((_, Tok::Keyword("EXISTS")))
                );
            if not_exists || self.is_kw("EXISTS") {
                if not_exists {
                    self.pos += 1;
                }
                self.pos += 1;
                let (object_type, path) = self.object_path()?;
                return Ok(ComparisonExpr::Test(Comparison {
                    object_type,
                    path,
                    op: CmpOp::Exists,
                    negated: not_exists,
                    value: Operand::None,
                }));
            }
        }
        let (object_type, path) = self.object_path()?;
        let negated = self.eat_kw("NOT");
        let op_tok = self.peek().cloned();
        let (op, value) = match op_tok {
            Some(Tok::Punct(p @ ("=" | "==" | "!=" | "<>"))) => {
                self.pos += 1;
                let op = if matches!(p, "=" | "==") {
                    CmpOp::Eq
                } else {
                    CmpOp::Ne
                };
                (op, Operand::Literal(self.primitive_literal(true)?))
            }
            Some(Tok::Punct(p @ ("<" | "<=" | ">" | ">="))) => {
                self.pos += 1;
                let op = match p {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                (op, Operand::Literal(self.primitive_literal(false)?))
            }
            Some(Tok::Keyword(k @ ("LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET"))) => {
                self.pos += 1;
                let op = match k {
                    "LIKE" => CmpOp::Like,
                    "MATCHES" => CmpOp::Matches,
                    "ISSUBSET" => CmpOp::IsSubset,
                    _ => CmpOp::IsSuperset,
                };
                match self.peek().cloned() {
                    Some(Tok::Str(s)) => {
                        self.pos += 1;
                        (op, Operand::Literal(Literal::Str(s)))
                    }
                    _ => return self.fail(&format!("a string literal after {k}")),
                }
            }
            Some(Tok::Keyword("IN")) => {
                self.pos += 1;
                self.expect_punct("(")?;
                let mut items = Vec::new();
                if !self.eat_punct(")") {
                    loop {
                        items.push(self.primitive_literal(true)?);
                        if self.eat_punct(")") {
                            break;
                        }
                        if !self.eat_punct(",") {
                            return self.fail("',' or ')'");
                        }
                    }
                }
                (CmpOp::In, Operand::Set(items))
            }
            _ => {
                return self.fail(
                    "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)",
                );
            }
        };
        Ok(ComparisonExpr::Test(Comparison {
            object_type,
            path,
            op,
            negated,
            value,
        }))
    }

    /// `primitiveLiteral` (with booleans) or `orderableLiteral` (without).
    fn primitive_literal(&mut self, allow_bool: bool) -> R<Literal> {
        let lit = match self.peek().cloned() {
            Some(Tok::Str(s)) => Literal::Str(s),
            Some(Tok::IntPos(s) | Tok::IntNeg(s)) => Literal::Int(self.int_value(&s)?),
            Some(Tok::FloatPos(s) | Tok::FloatNeg(s)) => Literal::Float(float_value(&s)),
            Some(Tok::Bool(b)) if allow_bool => Literal::Bool(b),
            Some(Tok::Base64(v)) => Literal::Base64(v),
            Some(Tok::Hex(v)) => Literal::Hex(v),
            Some(Tok::Timestamp(t)) => Literal::Timestamp(t),
            _ => {
                return self.fail(if allow_bool {
                    "a literal (string, number, boolean, b'…', h'…' or t'…')"
                } else {
                    "an orderable literal (string, number, b'…', h'…' or t'…')"
                });
            }
        };
        self.pos += 1;
        Ok(lit)
    }

    /// `objectType ':' firstPathComponent objectPathComponent*`
    fn object_path(&mut self) -> R<(String, Vec<PathStep>)> {
        let object_type = match self.peek().cloned() {
            Some(Tok::Ident(s) | Tok::IdentHyphen(s)) => s,
            _ => return self.fail("an object type (e.g. file:name)"),
        };
        self.pos += 1;
        self.expect_punct(":")?;
        let mut path = Vec::new();
        match self.peek().cloned() {
            Some(Tok::Ident(s) | Tok::Str(s)) => path.push(PathStep::Key(s)),
            Some(Tok::IdentHyphen(s)) => {
                return Err(PatternError::syntax(
                    self.offset(),
                    format!("property name '{s}' contains '-' and must be quoted: '{s}'"),
                ));
            }
            _ => return self.fail("a property name"),
        }
        self.pos += 1;
        loop {
            if self.eat_punct(".") {
                match self.peek().cloned() {
                    Some(Tok::Ident(s) | Tok::Str(s)) => path.push(PathStep::Key(s)),
                    Some(Tok::IdentHyphen(s)) => {
                        return Err(PatternError::syntax(
                            self.offset(),
                            format!("property name '{s}' contains '-' and must be quoted"),
                        ));
                    }
                    _ => return self.fail("a property name after '.'"),
                }
                self.pos += 1;
            } else if self.is_punct("[") {
                // `[` after a path is an index step only when followed by an index and `]`;
                // otherwise it is the next observation's bracket, which cannot follow a
                // path anyway, so report it as an index error.
                self.pos += 1;
                let step = match self.peek().cloned() {
                    Some(Tok::Punct("*")) => PathStep::AnyIndex,
                    Some(Tok::IntPos(s) | Tok::IntNeg(s)) => PathStep::Index(self.int_value(&s)?),
                    _ => return self.fail("a list index or '*'"),
                };
                self.pos += 1;
                self.expect_punct("]")?;
                path.push(step);
            } else if let Some(Tok::FloatPos(s)) = self.peek().cloned()
                && s.starts_with('.')
            {
                // `a.0` lexes as identifier + float `.0`; the grammar rejects it too.
                return self.fail(&format!("a property name after '.', not {s}"));
            } else {
                return Ok((object_type, path));
            }
        }
    }
}

enum ObsOp {
    And,
    Or,
    FollowedBy,
}

fn flatten_obs(items: Vec<ObservationExpr>, op: ObsOp) -> ObservationExpr {
    if items.len() == 1 {
        return items.into_iter().next().expect("one item");
    }
    let mut out = Vec::new();
    for e in items {
        match (&op, e) {
            (ObsOp::And, ObservationExpr::And(inner))
            | (ObsOp::Or, ObservationExpr::Or(inner))
            | (ObsOp::FollowedBy, ObservationExpr::FollowedBy(inner)) => out.extend(inner),
            (_, e) => out.push(e),
        }
    }
    match op {
        ObsOp::And => ObservationExpr::And(out),
        ObsOp::Or => ObservationExpr::Or(out),
        ObsOp::FollowedBy => ObservationExpr::FollowedBy(out),
    }
}

fn flatten_cmp(items: Vec<ComparisonExpr>, and: bool) -> ComparisonExpr {
    if items.len() == 1 {
        return items.into_iter().next().expect("one item");
    }
    let mut out = Vec::new();
    for e in items {
        match (and, e) {
            (true, ComparisonExpr::And(inner)) | (false, ComparisonExpr::Or(inner)) => {
                out.extend(inner)
            }
            (_, e) => out.push(e),
        }
    }
    if and {
        ComparisonExpr::And(out)
    } else {
        ComparisonExpr::Or(out)
    }
}

fn float_value(s: &str) -> f64 {
    s.trim_start_matches('+').parse().unwrap_or(f64::NAN)
}
