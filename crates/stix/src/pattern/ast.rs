//! The syntax tree of a STIX pattern, and its re-serialisation.
//!
//! The tree keeps what a reader, a matcher and an indexer need: the observation-level
//! operators and qualifiers, and every comparison with its object type, property path,
//! operator, `NOT` and literal. `Display` writes a pattern back in a canonical spelling
//! (single spaces, `=` for `==`, `!=` for `<>`, minimal parentheses) that parses to the
//! same tree.

use std::fmt;

/// An observation expression: the level of a pattern above the brackets.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ … ]`: one comparison expression, tested against one observation.
    Bracket(ComparisonExpr),
    /// `A AND B AND …`: every operand matches, each with different observations.
    And(Vec<ObservationExpr>),
    /// `A OR B OR …`: at least one operand matches.
    Or(Vec<ObservationExpr>),
    /// `A FOLLOWEDBY B FOLLOWEDBY …`: every operand matches, each one's observations no
    /// later than the next one's.
    FollowedBy(Vec<ObservationExpr>),
    /// An observation expression with a qualifier (`WITHIN`, `REPEATS`, `START … STOP`).
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// A qualifier of an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`; the literal is an [`Literal::Int`] or a [`Literal::Float`].
    Within(Literal),
    /// `REPEATS n TIMES`.
    Repeats(u64),
    /// `START t1 STOP t2`; the literals are [`Literal::Timestamp`] (STIX 2.0 patterns may
    /// also use [`Literal::Str`]).
    StartStop(Literal, Literal),
}

/// A comparison expression: the inside of a bracket.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    /// `A AND B AND …` (binds tighter than `OR`).
    And(Vec<ComparisonExpr>),
    /// `A OR B OR …`.
    Or(Vec<ComparisonExpr>),
    /// One comparison.
    Test(Comparison),
}

/// One comparison: `object-type:path [NOT] op value`, or `[NOT] EXISTS object-type:path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The object type before the colon (`file`, `network-traffic`, `x-custom`).
    pub object_type: String,
    /// The property path after the colon; never empty.
    pub path: Vec<PathStep>,
    /// The operator.
    pub op: CmpOp,
    /// `NOT` was written before the operator (or before `EXISTS`).
    pub negated: bool,
    /// The right-hand side ([`Operand::None`] for `EXISTS`).
    pub value: Operand,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// No operand (`EXISTS`).
    None,
    /// One literal (every operator but `IN` and `EXISTS`). `LIKE`, `MATCHES`, `ISSUBSET`
    /// and `ISSUPERSET` always take a [`Literal::Str`].
    Literal(Literal),
    /// The set of `IN (…)`, possibly empty.
    Set(Vec<Literal>),
}

impl Operand {
    /// The single literal, if this is one.
    pub fn literal(&self) -> Option<&Literal> {
        match self {
            Operand::Literal(l) => Some(l),
            _ => None,
        }
    }
}

/// A comparison operator (without its `NOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` (also written `==`).
    Eq,
    /// `!=` (also written `<>`).
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `IN (…)`.
    In,
    /// `LIKE`: SQL-style, anchored, `%` any run and `_` one character.
    Like,
    /// `MATCHES`: a regular expression searched anywhere in the value.
    Matches,
    /// `ISSUBSET`: the value (an address or CIDR block) lies inside the literal block.
    IsSubset,
    /// `ISSUPERSET`: the value (a CIDR block) contains the literal address or block.
    IsSuperset,
    /// `EXISTS` (STIX 2.1).
    Exists,
}

impl CmpOp {
    /// The operator as written in a pattern.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "IN",
            CmpOp::Like => "LIKE",
            CmpOp::Matches => "MATCHES",
            CmpOp::IsSubset => "ISSUBSET",
            CmpOp::IsSuperset => "ISSUPERSET",
            CmpOp::Exists => "EXISTS",
        }
    }
}

/// One step of a property path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// A property name (`name`, `'SHA-256'`, `'windows-pebinary-ext'`).
    Key(String),
    /// A list index `[n]`; a negative index counts from the end.
    Index(i64),
    /// `[*]`: any element of a list (or any value of a dictionary).
    AnyIndex,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string `'…'` (escapes resolved).
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A binary literal written `b'base64'`.
    Base64(Vec<u8>),
    /// A binary literal written `h'hex'`.
    Hex(Vec<u8>),
    /// A timestamp literal `t'…'`: the text between the quotes. Its shape was checked by
    /// the grammar; whether it is a real calendar date is checked when it is used.
    Timestamp(String),
}

impl Literal {
    /// The bytes of a binary literal (`b''` or `h''`).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Literal::Base64(b) | Literal::Hex(b) => Some(b),
            _ => None,
        }
    }

    /// The type name used in messages (`string`, `int`, `float`, `bool`, `binary`,
    /// `timestamp`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Literal::Str(_) => "string",
            Literal::Int(_) => "int",
            Literal::Float(_) => "float",
            Literal::Bool(_) => "bool",
            Literal::Base64(_) | Literal::Hex(_) => "binary",
            Literal::Timestamp(_) => "timestamp",
        }
    }
}

/// Writes `s` as a STIX string literal (quotes, `\'` and `\\` escapes).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => f.write_str(&quote(s)),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => {
                let s = format!("{x}");
                if s.contains('.') || !x.is_finite() {
                    f.write_str(&s)
                } else {
                    write!(f, "{s}.0")
                }
            }
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Base64(b) => {
                use base64::Engine as _;
                write!(
                    f,
                    "b'{}'",
                    base64::engine::general_purpose::STANDARD.encode(b)
                )
            }
            Literal::Hex(b) => {
                f.write_str("h'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("'")
            }
            Literal::Timestamp(t) => write!(f, "t'{t}'"),
        }
    }
}

/// True if `name` can be written without quotes as a path step.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !super::lexer::is_keyword(name)
}

/// Writes a path (without the object type) as in a pattern: `hashes.'SHA-256'`.
pub(crate) fn write_path(f: &mut impl fmt::Write, path: &[PathStep]) -> fmt::Result {
    for (i, step) in path.iter().enumerate() {
        match step {
            PathStep::Key(k) => {
                if i > 0 {
                    f.write_char('.')?;
                }
                if is_plain_identifier(k) {
                    f.write_str(k)?;
                } else {
                    f.write_str(&quote(k))?;
                }
            }
            PathStep::Index(n) => write!(f, "[{n}]")?,
            PathStep::AnyIndex => f.write_str("[*]")?,
        }
    }
    Ok(())
}

impl Comparison {
    /// The path written as in a pattern, with the object type: `file:hashes.'SHA-256'`.
    pub fn path_string(&self) -> String {
        let mut s = format!("{}:", self.object_type);
        let _ = write_path(&mut s, &self.path);
        s
    }

    /// The operator with its `NOT`, as the pattern inspector reports it (`NOT !=`).
    pub fn op_string(&self) -> String {
        if self.negated {
            format!("NOT {}", self.op.as_str())
        } else {
            self.op.as_str().to_string()
        }
    }

    /// The right-hand side as written in a pattern (`'x'`, `(1, 2)`, empty for `EXISTS`).
    pub fn value_string(&self) -> String {
        match &self.value {
            Operand::None => String::new(),
            Operand::Literal(l) => l.to_string(),
            Operand::Set(items) => format!(
                "({})",
                items
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == CmpOp::Exists {
            if self.negated {
                f.write_str("NOT ")?;
            }
            return write!(f, "EXISTS {}", self.path_string());
        }
        write!(
            f,
            "{} {} {}",
            self.path_string(),
            self.op_string(),
            self.value_string()
        )
    }
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonExpr::Test(c) => write!(f, "{c}"),
            ComparisonExpr::Or(items) => {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            ComparisonExpr::And(items) => {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    if matches!(e, ComparisonExpr::Or(_)) {
                        write!(f, "({e})")?;
                    } else {
                        write!(f, "{e}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Within(n) => write!(f, "WITHIN {n} SECONDS"),
            Qualifier::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
            Qualifier::StartStop(a, b) => write!(f, "START {a} STOP {b}"),
        }
    }
}

/// Binding strength for parenthesisation: FOLLOWEDBY < OR < AND < qualified/bracket.
fn level(e: &ObservationExpr) -> u8 {
    match e {
        ObservationExpr::FollowedBy(_) => 0,
        ObservationExpr::Or(_) => 1,
        ObservationExpr::And(_) => 2,
        ObservationExpr::Qualified(..) | ObservationExpr::Bracket(_) => 3,
    }
}

fn write_operands(
    f: &mut fmt::Formatter<'_>,
    items: &[ObservationExpr],
    op: &str,
    my_level: u8,
) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            write!(f, " {op} ")?;
        }
        // Operators are left-associative: a same-level operand needs parentheses
        // except in first position.
        if level(e) < my_level || (level(e) == my_level && i > 0) {
            write!(f, "({e})")?;
        } else {
            write!(f, "{e}")?;
        }
    }
    Ok(())
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationExpr::Bracket(c) => write!(f, "[{c}]"),
            ObservationExpr::And(items) => write_operands(f, items, "AND", 2),
            ObservationExpr::Or(items) => write_operands(f, items, "OR", 1),
            ObservationExpr::FollowedBy(items) => write_operands(f, items, "FOLLOWEDBY", 0),
            ObservationExpr::Qualified(inner, q) => {
                if level(inner) < 3 {
                    write!(f, "({inner}) {q}")
                } else {
                    write!(f, "{inner} {q}")
                }
            }
        }
    }
}
