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
    /// True when the text is valid YAML refused by a [`YamlLimits`] bound (an alias bomb),
    /// not a syntax error.
    pub limit: bool,
}

/// Bounds on one YAML document, against alias bombs ("billion laughs": anchors that
/// reference each other so that a few lines expand to billions of nodes). Aliases are
/// expanded into copies in the tree, so the count of nodes *after* expansion is what is
/// bounded; it is checked before each copy is made, so memory never follows the expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlLimits {
    /// Aliases (`*name`) one document may use (default 1,000). Past it the document (and
    /// its file) is refused with an error naming `max_yaml_aliases`.
    pub max_aliases: u64,
    /// Nodes (scalars, lists, mappings) one document may hold once its aliases are expanded
    /// (default 100,000; the largest SigmaHQ rule has a few thousand). Past it the file is
    /// refused with an error naming `max_yaml_nodes`.
    pub max_nodes: u64,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_aliases: 1_000,
            max_nodes: 100_000,
        }
    }
}

/// One YAML document of a multi-document stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root node (a `null` scalar for an empty document).
    pub root: Node,
    /// The 1-based line where the document starts.
    pub line: usize,
}

/// Parses every document of a YAML stream, within the default [`YamlLimits`].
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    parse_documents_limited(text, &YamlLimits::default())
}

/// Parses every document of a YAML stream; a document past one of `limits` is refused
/// (the error has `limit` set and names the limit).
pub fn parse_documents_limited(
    text: &str,
    limits: &YamlLimits,
) -> Result<Vec<Document>, YamlError> {
    let mut builder = TreeBuilder {
        limits: *limits,
        ..TreeBuilder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        pos: (*e.marker()).into(),
        message: e.info().to_string(),
        limit: false,
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

/// A collection being built: its position, anchor, items, and the document's node count
/// when it started (so its size, aliases expanded, is known when it ends).
enum Frame {
    Seq(Pos, usize, Vec<Node>, u64),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>, u64),
}

#[derive(Default)]
struct TreeBuilder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    /// Anchored nodes and their sizes in nodes (aliases inside them expanded).
    anchors: std::collections::HashMap<usize, (Node, u64)>,
    doc_line: usize,
    error: Option<YamlError>,
    limits: YamlLimits,
    /// Nodes in the current document, aliases expanded.
    nodes: u64,
    /// Aliases used in the current document.
    aliases: u64,
    /// A limit was passed: the rest of the stream is ignored.
    stopped: bool,
}

impl TreeBuilder {
    /// Counts `n` more nodes in the document; false (with the error recorded) past the limit.
    fn count(&mut self, n: u64, pos: Pos) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            self.refuse(
                pos,
                format!(
                    "the document expands to more than {} nodes (max_yaml_nodes); \
                     aliases referencing each other (an alias bomb)?",
                    self.limits.max_nodes
                ),
            );
            return false;
        }
        true
    }

    fn refuse(&mut self, pos: Pos, message: String) {
        self.error.get_or_insert(YamlError {
            pos,
            message,
            limit: true,
        });
        self.stopped = true;
        self.stack.clear();
        self.anchors.clear();
    }

    fn push_value(&mut self, node: Node, anchor: usize, size: u64) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(Document {
                root: node,
                line: self.doc_line,
            }),
            Some(Frame::Seq(_, _, items, _)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending, _)) => match pending.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar(_)) {
                        self.error.get_or_insert(YamlError {
                            pos: node.pos,
                            message: "mapping keys must be scalars".into(),
                            limit: false,
                        });
                    }
                    let text = node.key_text();
                    if entries.iter().any(|(k, _)| k.key_text() == text) {
                        self.error.get_or_insert(YamlError {
                            pos: node.pos,
                            message: format!("duplicate key '{}'", text.unwrap_or_default()),
                            limit: false,
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
        if self.stopped {
            return;
        }
        let pos: Pos = mark.into();
        match ev {
            Event::DocumentStart => {
                self.doc_line = pos.line;
                self.nodes = 0;
                self.aliases = 0;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count(1, pos) {
                    return;
                }
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
                    1,
                );
            }
            Event::SequenceStart(anchor, _) => {
                if self.count(1, pos) {
                    let start = self.nodes;
                    self.stack.push(Frame::Seq(pos, anchor, Vec::new(), start));
                }
            }
            Event::MappingStart(anchor, _) => {
                if self.count(1, pos) {
                    let start = self.nodes;
                    self.stack
                        .push(Frame::Map(pos, anchor, Vec::new(), None, start));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor, start) = match self.stack.pop() {
                    Some(Frame::Seq(p, a, items, start)) => (
                        Node {
                            kind: NodeKind::Seq(items),
                            pos: p,
                        },
                        a,
                        start,
                    ),
                    Some(Frame::Map(p, a, entries, _, start)) => (
                        Node {
                            kind: NodeKind::Map(entries),
                            pos: p,
                        },
                        a,
                        start,
                    ),
                    None => return,
                };
                let size = self.nodes - start + 1;
                self.push_value(node, anchor, size);
            }
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > self.limits.max_aliases {
                    let max = self.limits.max_aliases;
                    self.refuse(
                        pos,
                        format!("the document uses more than {max} aliases (max_yaml_aliases)"),
                    );
                    return;
                }
                let size = self.anchors.get(&id).map_or(1, |(_, n)| *n);
                // Checked before the copy is made: memory never follows an alias bomb.
                if !self.count(size, pos) {
                    return;
                }
                let node = self
                    .anchors
                    .get(&id)
                    .map(|(n, _)| n.clone())
                    .unwrap_or(Node {
                        kind: NodeKind::Scalar(Scalar::Null),
                        pos,
                    });
                self.push_value(node, 0, size);
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// A billion-laughs document: nine levels of nine aliases, 9^9 nodes once expanded.
    pub(crate) fn billion_laughs() -> String {
        let mut s = String::from("a0: &a0 [\"lol\"]\n");
        for i in 1..=9 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        s
    }

    #[test]
    fn alias_bombs_are_refused_before_expanding() {
        let t = std::time::Instant::now();
        let err = parse_documents(&billion_laughs()).unwrap_err();
        assert!(err.limit, "{err:?}");
        assert!(err.message.contains("max_yaml_nodes"), "{}", err.message);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        // Aliases are still fine in moderation, and expanded.
        let docs = parse_documents("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(
            docs[0].root.get("b").unwrap().type_name(),
            docs[0].root.get("a").unwrap().type_name()
        );
        // Both limits are configurable.
        let tight = YamlLimits {
            max_aliases: 1,
            max_nodes: 100,
        };
        let err = parse_documents_limited("a: &x 1\nb: *x\nc: *x\n", &tight).unwrap_err();
        assert!(err.message.contains("max_yaml_aliases"), "{}", err.message);
        let big: String = (0..60).map(|i| format!("k{i}: {i}\n")).collect();
        let err = parse_documents_limited(&big, &tight).unwrap_err();
        assert!(
            err.message.contains("more than 100 nodes"),
            "{}",
            err.message
        );
        // Counts are per document.
        let two = format!("{big}---\n{big}");
        assert_eq!(
            parse_documents_limited(
                &two,
                &YamlLimits {
                    max_nodes: 200,
                    ..tight
                }
            )
            .unwrap()
            .len(),
            2
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
    }
}
