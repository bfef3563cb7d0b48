//! Compiling rule sets: the embedded project pack plus user files, each file
//! in its own namespace, broken files skipped and reported.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::scan::{FileScanner, ScanOptions};
use crate::walk::EvidenceWalker;

/// Builds a [`RuleProblem`] from a YARA-X error or warning (their `Label`
/// type is not exported, hence a macro).
macro_rules! report {
    ($origin:expr, $text:expr, $kind:expr, $report:expr) => {{
        let report = $report;
        let label = report
            .labels()
            .next()
            .map(|l| (l.span().start(), l.text().to_string()));
        problem(
            $origin,
            $text,
            $kind,
            report.title(),
            label,
            report.to_string(),
        )
    }};
}

/// One file of the project's embedded rule pack (`rules/yara/*.yar`).
#[derive(Debug, Clone, Copy)]
pub struct PackFile {
    /// File name inside `rules/yara`, e.g. `webshell_aspx.yar`.
    pub name: &'static str,
    /// The rule text, embedded at build time.
    pub source: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/pack.rs"));

/// The files of the project's own rule pack, embedded at build time and
/// sorted by name.
pub fn project_pack() -> &'static [PackFile] {
    PACK
}

/// Modules this build of YARA-X leaves out (see the `yara-x` features in the
/// workspace `Cargo.toml`). Rules that use them are ignored with a warning
/// instead of failing the whole file.
const MODULES_NOT_BUILT: &[&str] = &[
    "crx", "cuckoo", "dex", "macho", "magic", "msi", "olecf", "vba", "vt",
];

/// What kind of problem a rule source had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file does not compile; none of its rules were loaded.
    CompileError,
    /// The file (or directory) could not be read; nothing was loaded from it.
    Unreadable,
    /// The file was loaded, but the compiler warned about it (for example a
    /// rule that uses a module this build leaves out, which is ignored).
    Warning,
}

/// A problem found while loading rules: which source, where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The rule source: a file path, or `tiaki:<name>` for the embedded pack.
    pub origin: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column (in bytes) of the problem, when known.
    pub column: Option<usize>,
    /// Error, unreadable file or warning.
    pub kind: ProblemKind,
    /// One-line description, e.g. `unknown identifier \`foo\``.
    pub message: String,
    /// The compiler's full report (with the source excerpt), or the I/O
    /// error text.
    pub detail: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        let kind = match self.kind {
            ProblemKind::CompileError => "error (file skipped)",
            ProblemKind::Unreadable => "unreadable (skipped)",
            ProblemKind::Warning => "warning",
        };
        write!(f, ": {kind}: {}", self.message)
    }
}

/// A rule file that was compiled into the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedFile {
    /// Where the rules came from (file path, or `tiaki:<name>`).
    pub origin: String,
    /// The YARA namespace its rules live in (one per file, so two files may
    /// define rules with the same name).
    pub namespace: String,
    /// Number of rules the file defines.
    pub rules: usize,
}

/// Compiled YARA rules: compiled once, then shared by every scanning thread.
///
/// `YaraRules` is `Send + Sync`; share it by reference (or in an `Arc`) and
/// create one [`FileScanner`] per thread with [`YaraRules::scanner`].
pub struct YaraRules {
    rules: yara_x::Rules,
    rule_count: usize,
    files: Vec<LoadedFile>,
    problems: Vec<RuleProblem>,
}

impl fmt::Debug for YaraRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YaraRules")
            .field("rule_count", &self.rule_count)
            .field("files", &self.files)
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl YaraRules {
    /// Starts a rule set; the project pack is included unless
    /// [`RulesBuilder::project_pack`] turns it off.
    pub fn builder() -> RulesBuilder {
        RulesBuilder::new()
    }

    /// The project's embedded rule pack alone.
    pub fn project_pack_only() -> YaraRules {
        RulesBuilder::new().build()
    }

    /// Number of rules loaded (private and global rules included).
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// The rule files that were compiled, in loading order.
    pub fn files(&self) -> &[LoadedFile] {
        &self.files
    }

    /// Every problem met while loading: compile errors (file skipped),
    /// unreadable paths, and warnings.
    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }

    /// Number of sources that were skipped (did not compile or could not be
    /// read). Warnings do not count.
    pub fn skipped_files(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.kind != ProblemKind::Warning)
            .map(|p| p.origin.as_str())
            .collect::<HashSet<_>>()
            .len()
    }

    /// A scanner for the current thread. Creating one costs a little (it
    /// instantiates the compiled rules); reuse it for many files.
    pub fn scanner(&self, options: ScanOptions) -> FileScanner<'_> {
        FileScanner::new(self, options)
    }

    /// The compiled YARA-X rules, for uses this crate does not wrap.
    pub fn yara_rules(&self) -> &yara_x::Rules {
        &self.rules
    }
}

enum Input {
    Path(PathBuf),
    Source { origin: String, text: String },
}

/// Collects rule sources, then compiles them with [`RulesBuilder::build`].
pub struct RulesBuilder {
    project_pack: bool,
    inputs: Vec<Input>,
}

impl Default for RulesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RulesBuilder {
    /// A builder with the project pack included and no user rules.
    pub fn new() -> Self {
        RulesBuilder {
            project_pack: true,
            inputs: Vec::new(),
        }
    }

    /// Whether to include the project's embedded pack (default: yes).
    pub fn project_pack(mut self, yes: bool) -> Self {
        self.project_pack = yes;
        self
    }

    /// Adds user rules: a single file (any extension), or a directory whose
    /// `.yar` / `.yara` files are loaded recursively, in path order.
    pub fn add_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.inputs.push(Input::Path(path.into()));
        self
    }

    /// Adds rule text held in memory; `origin` names it in problems and is
    /// its namespace.
    pub fn add_source(mut self, origin: impl Into<String>, text: impl Into<String>) -> Self {
        self.inputs.push(Input::Source {
            origin: origin.into(),
            text: text.into(),
        });
        self
    }

    /// Compiles every source. Never fails as a whole: a source that does not
    /// compile or cannot be read is skipped and listed in
    /// [`YaraRules::problems`]; the others are loaded.
    pub fn build(self) -> YaraRules {
        let mut state = BuildState {
            compiler: new_compiler(),
            files: Vec::new(),
            problems: Vec::new(),
            namespaces: HashSet::new(),
            seen_paths: HashSet::new(),
        };
        if self.project_pack {
            for file in PACK {
                state.add(format!("tiaki:{}", file.name), file.source);
            }
        }
        for input in self.inputs {
            match input {
                Input::Source { origin, text } => state.add(origin, &text),
                Input::Path(path) => state.add_path(&path),
            }
        }
        let rules = state.compiler.build();
        let rule_count = rules.iter().len();
        let mut per_namespace: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for rule in rules.iter() {
            *per_namespace.entry(rule.namespace()).or_default() += 1;
        }
        for file in &mut state.files {
            file.rules = per_namespace
                .get(file.namespace.as_str())
                .copied()
                .unwrap_or(0);
        }
        YaraRules {
            rules,
            rule_count,
            files: state.files,
            problems: state.problems,
        }
    }
}

fn new_compiler<'a>() -> yara_x::Compiler<'a> {
    let mut compiler = yara_x::Compiler::new();
    // Accept the regular expressions legacy YARA accepts (community rule
    // sets are written for it).
    compiler.relaxed_re_syntax(true);
    for module in MODULES_NOT_BUILT {
        compiler.ignore_module(*module);
    }
    compiler
}

struct BuildState<'a> {
    compiler: yara_x::Compiler<'a>,
    files: Vec<LoadedFile>,
    problems: Vec<RuleProblem>,
    namespaces: HashSet<String>,
    seen_paths: HashSet<PathBuf>,
}

impl BuildState<'_> {
    fn add_path(&mut self, path: &Path) {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => return self.unreadable(path, &e),
        };
        if !meta.is_dir() {
            return self.add_file(path);
        }
        let mut files = Vec::new();
        for entry in EvidenceWalker::new([path]) {
            match entry {
                Ok(file) if is_rule_file(&file) => files.push(file),
                Ok(_) => {}
                Err(e) => self.unreadable(&e.path, &e.source),
            }
        }
        if files.is_empty() {
            self.problems.push(RuleProblem {
                origin: path.display().to_string(),
                line: None,
                column: None,
                kind: ProblemKind::Warning,
                message: "no .yar or .yara files in this directory".to_string(),
                detail: String::new(),
            });
        }
        for file in files {
            self.add_file(&file);
        }
    }

    fn add_file(&mut self, path: &Path) {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !self.seen_paths.insert(key) {
            return; // the same file given twice (directory and file, or two spellings)
        }
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.add(path.display().to_string(), &text),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(e.as_bytes());
                    let (line, column) = line_column(&text, at);
                    self.problems.push(RuleProblem {
                        origin: path.display().to_string(),
                        line: Some(line),
                        column: Some(column),
                        kind: ProblemKind::CompileError,
                        message: "invalid UTF-8 in rule file".to_string(),
                        detail: e.to_string(),
                    });
                }
            },
            Err(e) => self.unreadable(path, &e),
        }
    }

    fn unreadable(&mut self, path: &Path, error: &std::io::Error) {
        self.problems.push(RuleProblem {
            origin: path.display().to_string(),
            line: None,
            column: None,
            kind: ProblemKind::Unreadable,
            message: error.to_string(),
            detail: error.to_string(),
        });
    }

    /// Compiles `text` alone first, so that a file with an error is skipped
    /// entirely (YARA-X would otherwise keep its valid rules), then adds it
    /// to the set in its own namespace.
    fn add(&mut self, origin: String, text: &str) {
        let namespace = self.unique_namespace(&origin);
        let mut probe = new_compiler();
        probe.new_namespace(&namespace);
        let _ = probe.add_source(yara_x::SourceCode::from(text).with_origin(origin.as_str()));
        if !probe.errors().is_empty() {
            for error in probe.errors() {
                self.problems
                    .push(report!(&origin, text, ProblemKind::CompileError, error));
            }
            return;
        }
        for warning in probe.warnings() {
            self.problems
                .push(report!(&origin, text, ProblemKind::Warning, warning));
        }
        self.compiler.new_namespace(&namespace);
        if let Err(error) = self
            .compiler
            .add_source(yara_x::SourceCode::from(text).with_origin(origin.as_str()))
        {
            // Not expected after a clean probe; reported all the same.
            self.problems
                .push(report!(&origin, text, ProblemKind::CompileError, error));
            return;
        }
        self.namespaces.insert(namespace.clone());
        self.files.push(LoadedFile {
            origin,
            namespace,
            rules: 0,
        });
    }

    fn unique_namespace(&self, origin: &str) -> String {
        let mut namespace = origin.to_string();
        let mut n = 2;
        while self.namespaces.contains(&namespace) {
            namespace = format!("{origin}#{n}");
            n += 1;
        }
        namespace
    }
}

fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
}

fn problem(
    origin: &str,
    text: &str,
    kind: ProblemKind,
    title: &str,
    label: Option<(usize, String)>,
    detail: String,
) -> RuleProblem {
    let position = label.map(|(start, note)| (line_column(text, start), note));
    let (line, column, message) = match position {
        Some(((line, column), note)) if !note.is_empty() && note != title => {
            (Some(line), Some(column), format!("{title}: {note}"))
        }
        Some(((line, column), _)) => (Some(line), Some(column), title.to_string()),
        None => (None, None, title.to_string()),
    };
    RuleProblem {
        origin: origin.to_string(),
        line,
        column,
        kind,
        message,
        detail,
    }
}

/// 1-based line and column (bytes) of `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_column("ab\n", 3), (2, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn pack_is_embedded_and_compiles_without_problems() {
        assert!(project_pack().len() >= 4);
        let rules = YaraRules::project_pack_only();
        assert!(rules.problems().is_empty(), "{:#?}", rules.problems());
        assert_eq!(rules.files().len(), project_pack().len());
        assert_eq!(
            rules.rule_count(),
            rules.files().iter().map(|f| f.rules).sum::<usize>()
        );
        assert!(rules.rule_count() >= 10);
    }

    #[test]
    fn every_pack_rule_has_the_required_metadata() {
        let rules = YaraRules::project_pack_only();
        for rule in rules.yara_rules().iter() {
            let meta: Vec<(&str, String)> = rule
                .metadata()
                .map(|(k, v)| {
                    (
                        k,
                        match v {
                            yara_x::MetaValue::String(s) => s.to_string(),
                            other => format!("{other:?}"),
                        },
                    )
                })
                .collect();
            let get = |key: &str| {
                meta.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.as_str())
            };
            let id = rule.identifier();
            assert!(id.starts_with("tiaki_"), "{id}");
            assert!(
                get("description").is_some_and(|d| d.len() > 20),
                "{id}: description"
            );
            assert_eq!(get("author"), Some("tiaki project"), "{id}");
            assert!(
                get("reference").is_some_and(|r| r.starts_with("https://")),
                "{id}: reference"
            );
            assert_eq!(get("attack"), Some("T1505.003"), "{id}");
            assert!(
                matches!(get("level"), Some("high" | "critical")),
                "{id}: level"
            );
            assert!(get("date").is_some_and(|d| d.len() == 10), "{id}: date");
            assert!(
                rule.tags().any(|t| t.identifier() == "webshell"),
                "{id}: webshell tag"
            );
        }
    }

    #[test]
    fn compile_error_names_origin_line_and_skips_only_that_source() {
        let rules = YaraRules::builder()
            .project_pack(false)
            .add_source(
                "good.yar",
                "rule good { strings: $a = \"abc\" condition: $a }",
            )
            .add_source(
                "bad.yar",
                "rule fine { condition: true }\n\nrule broken {\n  condition: $missing\n}\n",
            )
            .build();
        assert_eq!(
            rules.rule_count(),
            1,
            "only the good file; `fine` is skipped with its file"
        );
        assert_eq!(rules.skipped_files(), 1);
        let p = &rules.problems()[0];
        assert_eq!(p.origin, "bad.yar");
        assert_eq!(p.kind, ProblemKind::CompileError);
        assert_eq!(p.line, Some(4));
        assert!(p.to_string().starts_with("bad.yar:4:"), "{p}");
        assert!(p.detail.contains("$missing"), "{}", p.detail);
    }

    #[test]
    fn same_rule_name_in_two_sources_is_allowed() {
        let rules = YaraRules::builder()
            .project_pack(false)
            .add_source("a.yar", "rule same { condition: filesize > 1 }")
            .add_source("b.yar", "rule same { condition: filesize > 2 }")
            .add_source("a.yar", "rule same { condition: filesize > 3 }")
            .build();
        assert!(rules.problems().is_empty(), "{:?}", rules.problems());
        assert_eq!(rules.rule_count(), 3);
        let namespaces: Vec<_> = rules.files().iter().map(|f| f.namespace.as_str()).collect();
        assert_eq!(namespaces, ["a.yar", "b.yar", "a.yar#2"]);
    }

    #[test]
    fn rule_using_a_module_left_out_is_ignored_with_a_warning() {
        let rules = YaraRules::builder()
            .project_pack(false)
            .add_source("m.yar", "import \"macho\"\nrule uses_macho { condition: macho.number_of_segments > 0 }\nrule plain { condition: true }")
            .build();
        assert_eq!(rules.skipped_files(), 0, "{:?}", rules.problems());
        assert!(
            rules
                .problems()
                .iter()
                .any(|p| p.kind == ProblemKind::Warning)
        );
        let names: Vec<_> = rules.yara_rules().iter().map(|r| r.identifier()).collect();
        assert!(names.contains(&"plain"), "{names:?}");
    }

    #[test]
    fn rules_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<YaraRules>();
    }
}
