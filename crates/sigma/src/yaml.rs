//! A small YAML tree that remembers where every node came from.
//!
//! Rule errors must point at the line that caused them, the way a compiler
//! does. `yaml-rust2`'s ready-made `Yaml` type throws positions away, so we
//! drive its event parser ourselves and build a tree of [`Node`]s that each
//! carry their 1-based line and column. Mapping keys keep their order and
//! duplicates are reported instead of silently overwritten.

use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node starts in its source text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// A scalar as YAML 1.2's core schema resolves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `null`, `~` or an empty plain scalar.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, with its source text (so `0x10` can still be shown as written).
    Int(i64),
    /// A floating point number with its source text.
    Float(f64, String),
    /// Any string (quoted, block, or plain text that is not another type).
    Str(String),
}

impl Scalar {
    /// The scalar as text, the way Sigma treats every value as a string.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Null => String::new(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(_, s) => s.clone(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

/// The content of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar value.
    Scalar(Scalar),
    /// A sequence of nodes.
    Seq(Vec<Node>),
    /// A mapping with scalar keys, in source order.
    Map(Vec<(Node, Node)>),
}

/// A YAML node and the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Where it starts.
    pub pos: Pos,
}

impl Node {
    /// The string value of a scalar node, if it is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The scalar, if this node is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping node.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks up a key in a mapping node (keys compared as text).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_text().as_deref() == Some(key))
            .map(|(_, v)| v)
    }

    /// The text of a scalar used as a mapping key (`null` keys are `""`).
    pub fn key_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s.to_text()),
            _ => None,
        }
    }

    /// A short name for the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(Scalar::Null) => "null",
            NodeKind::Scalar(Scalar::Bool(_)) => "boolean",
            NodeKind::Scalar(Scalar::Int(_)) => "integer",
            NodeKind::Scalar(Scalar::Float(..)) => "number",
            NodeKind::Scalar(Scalar::Str(_)) => "string",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "mapping",
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

/// One YAML document of a multi-document stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root node (a `null` scalar for an empty document).
    pub root: Node,
    /// The 1-based line where the document starts.
    pub line: usize,
}

/// Parses every document of a YAML stream.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        pos: (*e.marker()).into(),
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct TreeBuilder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Node>,
    doc_line: usize,
    error: Option<YamlError>,
}

impl TreeBuilder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(Document {
                root: node,
                line: self.doc_line,
            }),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar(_)) {
                        self.error.get_or_insert(YamlError {
                            pos: node.pos,
                            message: "mapping keys must be scalars".into(),
                        });
                    }
                    let text = node.key_text();
                    if entries.iter().any(|(k, _)| k.key_text() == text) {
                        self.error.get_or_insert(YamlError {
                            pos: node.pos,
                            message: format!("duplicate key '{}'", text.unwrap_or_default()),
                        });
                    }
                    *pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

fn resolve_plain(text: &str) -> Scalar {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Scalar::Int(i);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Scalar::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Scalar::Int(i);
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric && let Ok(f) = text.parse::<f64>() {
        return Scalar::Float(f, text.to_string());
    }
    Scalar::Str(text.to_string())
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos: Pos = mark.into();
        match ev {
            Event::DocumentStart => self.doc_line = pos.line,
            Event::Scalar(text, style, anchor, tag) => {
                let scalar = match (style, tag) {
                    (TScalarStyle::Plain, None) => resolve_plain(&text),
                    _ => Scalar::Str(text),
                };
                self.push_value(
                    Node {
                        kind: NodeKind::Scalar(scalar),
                        pos,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(pos, anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(p, a, items)) => (
                        Node {
                            kind: NodeKind::Seq(items),
                            pos: p,
                        },
                        a,
                    ),
                    Some(Frame::Map(p, a, entries, _)) => (
                        Node {
                            kind: NodeKind::Map(entries),
                            pos: p,
                        },
                        a,
                    ),
                    None => return,
                };
                self.push_value(node, anchor);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    kind: NodeKind::Scalar(Scalar::Null),
                    pos,
                });
                self.push_value(node, 0);
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_types() {
        let docs = parse_documents("a: 1\nb:\n  - 'x'\n  - null\n  - 1.5\nc: true\n").unwrap();
        assert_eq!(docs.len(), 1);
        let root = &docs[0].root;
        assert_eq!(
            root.get("a").unwrap().kind,
            NodeKind::Scalar(Scalar::Int(1))
        );
        let b = root.get("b").unwrap();
        assert_eq!(b.pos.line, 3);
        let NodeKind::Seq(items) = &b.kind else {
            panic!("not a list")
        };
        assert_eq!(items[0].as_str(), Some("x"));
        assert_eq!(items[1].kind, NodeKind::Scalar(Scalar::Null));
        assert!(matches!(items[2].kind, NodeKind::Scalar(Scalar::Float(f, _)) if f == 1.5));
        assert_eq!(
            root.get("c").unwrap().kind,
            NodeKind::Scalar(Scalar::Bool(true))
        );
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let docs = parse_documents("a: '4688'\n").unwrap();
        assert_eq!(docs[0].root.get("a").unwrap().as_str(), Some("4688"));
    }

    #[test]
    fn multi_document_and_duplicates() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line, 2);
        let err = parse_documents("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate key"), "{err:?}");
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
    }
}
