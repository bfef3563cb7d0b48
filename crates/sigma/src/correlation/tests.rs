//! Tests of correlation parsing and evaluation.

use crate::compile::RuleSet;
use crate::error::RuleError;

use super::rule::*;
use super::state::*;
use super::*;

use crate::collection::{Collection, LoadOptions};
use crate::eval::Scratch;
use serde_json::{Value as Json, json};

/// Detection rules shared by the tests.
const BASE: &str = "\
title: fail
id: 00000000-0000-4000-8000-000000000001
name: fail
logsource: {product: test}
detection:
    sel: {Action: fail}
    condition: sel
---
title: ok
id: 00000000-0000-4000-8000-000000000002
name: ok
logsource: {product: test}
detection:
    sel: {Action: ok}
    condition: sel
---
title: web
name: web
logsource: {product: test}
detection:
    sel: {Kind: web}
    condition: sel
---
title: fa_prefix
name: fa_prefix
logsource: {product: test}
detection:
    sel: {Action|startswith: fa}
    condition: sel
";

struct H {
    set: RuleSet,
    eng: CorrelationEngine,
    scratch: Scratch,
}

fn compile(corr: &str) -> (RuleSet, Vec<RuleError>) {
    let mut col = Collection::new(LoadOptions::default());
    col.add_source("base.yml", BASE);
    col.add_source("corr.yml", corr);
    let c = col.compile();
    (c.ruleset, c.errors)
}

fn harness_with(corr: &str, opts: EngineOptions) -> H {
    let (set, errors) = compile(corr);
    assert!(errors.is_empty(), "load errors: {errors:?}");
    let eng = match CorrelationEngine::with_options(&set, opts) {
        Ok(e) => e,
        Err(errs) => panic!("engine errors: {errs:?}"),
    };
    let scratch = set.scratch();
    H { set, eng, scratch }
}

fn harness(corr: &str) -> H {
    harness_with(corr, EngineOptions::default())
}

impl H {
    /// Feeds one event at `ts` seconds.
    fn feed(&mut self, ts: f64, ev: Json) -> Vec<Alert> {
        let mut hits = Vec::new();
        self.set.matches(&ev, None, &mut self.scratch, &mut hits);
        self.eng
            .process(&self.set, &ev, (ts * 1000.0) as i64, &hits)
    }

    /// Feeds events and returns `(title, group, value, last_ms)` of every alert.
    fn run(&mut self, events: &[(f64, Json)]) -> Vec<(String, String, f64, i64)> {
        let mut out = Vec::new();
        for (ts, ev) in events {
            for a in self.feed(*ts, ev.clone()) {
                out.push((
                    self.eng.rule(a.correlation).meta.title.clone(),
                    a.group.join("|"),
                    a.value,
                    a.last_ms,
                ));
            }
        }
        out
    }

    fn counters(&self, i: usize) -> CorrelationCounters {
        self.eng.stats().correlations[i].clone()
    }
}

fn fail(user: &str) -> Json {
    json!({"Action": "fail", "User": user})
}

fn ok(user: &str) -> Json {
    json!({"Action": "ok", "User": user})
}

fn web(user: &str) -> Json {
    json!({"Kind": "web", "User": user})
}

fn corr(kind: &str, rules: &str, rest: &str) -> String {
    format!(
        "title: c\nname: c\ncorrelation:\n    type: {kind}\n    rules: [{rules}]\n    group-by: [User]\n{rest}"
    )
}

/// Load errors of a correlation document (rules unresolved: load only).
fn load_error(doc: &str) -> RuleError {
    let mut col = Collection::new(LoadOptions::default());
    col.add_source("bad.yml", doc);
    let errs = col.errors().to_vec();
    assert_eq!(
        errs.len(),
        1,
        "expected one error for:\n{doc}\ngot {errs:?}"
    );
    errs[0].clone()
}

fn engine_errors(corr: &str) -> Vec<RuleError> {
    let (set, errors) = compile(corr);
    assert!(errors.is_empty(), "load errors: {errors:?}");
    CorrelationEngine::new(&set).expect_err("engine should refuse")
}

// ---------------------------------------------------------------- parsing

#[test]
fn timespans() {
    assert_eq!(parse_timespan("30s"), Ok(30_000));
    assert_eq!(parse_timespan("5m"), Ok(300_000));
    assert_eq!(parse_timespan("2h"), Ok(7_200_000));
    assert_eq!(parse_timespan("1d"), Ok(86_400_000));
    assert_eq!(parse_timespan("1w"), Ok(604_800_000));
    assert_eq!(parse_timespan("1M"), Ok(2_629_746_000));
    assert_eq!(parse_timespan("1y"), Ok(31_556_952_000));
    for bad in [
        "",
        "m",
        "5",
        "0m",
        "5x",
        "-5m",
        "5 m",
        "1.5h",
        "5S",
        "99999999999999999999s",
    ] {
        assert!(parse_timespan(bad).is_err(), "{bad:?} accepted");
    }
    assert!(
        parse_timespan("9999999999999999s").is_err(),
        "overflow accepted"
    );
}

#[test]
fn parses_every_type() {
    let cases = [
        ("event_count", "    timespan: 1h\n    condition: {gte: 3}\n"),
        (
            "value_count",
            "    timespan: 1h\n    condition: {field: [A, B], gt: 2}\n",
        ),
        ("temporal", "    timespan: 1h\n"),
        (
            "temporal_ordered",
            "    timespan: 1h\n    condition: 'fail and not ok'\n",
        ),
        (
            "value_sum",
            "    timespan: 1h\n    condition: {field: Bytes, gt: 100, lte: 200}\n",
        ),
        (
            "value_avg",
            "    timespan: 1h\n    condition: {field: Bytes, gt: 1.5}\n",
        ),
        (
            "value_percentile",
            "    timespan: 1h\n    condition: {field: Bytes, percentile: 95, gte: '10'}\n",
        ),
        (
            "value_median",
            "    timespan: 1h\n    condition: {field: Bytes, neq: 0}\n",
        ),
    ];
    for (kind, rest) in cases {
        let (set, errors) = compile(&corr(kind, "fail, ok", rest));
        assert!(errors.is_empty(), "{kind}: {errors:?}");
        let c = &set.correlations()[0];
        assert_eq!(c.kind.as_str(), kind);
        assert_eq!(c.timespan_ms, 3_600_000);
        assert_eq!(c.group_by, vec!["User"]);
        assert_eq!(c.rules, vec!["fail", "ok"]);
        match kind {
            "value_count" => assert_eq!(c.field, vec!["A", "B"]),
            "value_percentile" => {
                assert_eq!(c.percentile, Some(95.0));
                assert_eq!(
                    c.condition,
                    CorrelationCondition::Range(vec![Threshold {
                        op: ThresholdOp::Gte,
                        value: 10.0
                    }])
                );
            }
            "value_sum" => assert_eq!(
                c.condition,
                CorrelationCondition::Range(vec![
                    Threshold {
                        op: ThresholdOp::Gt,
                        value: 100.0
                    },
                    Threshold {
                        op: ThresholdOp::Lte,
                        value: 200.0
                    },
                ])
            ),
            "temporal" => assert_eq!(
                c.condition,
                CorrelationCondition::Range(vec![Threshold {
                    op: ThresholdOp::Gte,
                    value: 2.0
                }])
            ),
            "temporal_ordered" => assert_eq!(
                c.condition,
                CorrelationCondition::Expression {
                    text: "fail and not ok".into(),
                    terms: vec![Term {
                        present: 1,
                        absent: 2
                    }]
                }
            ),
            _ => {}
        }
        assert!(!c.generate);
    }
}

#[test]
fn extended_condition_details() {
    // Rules may be omitted (taken from the condition); uppercase operators
    // as in the SEP's example are accepted.
    let doc = "title: c\ncorrelation:\n    type: temporal\n    timespan: 5m\n    condition: fail AND (ok OR web) AND NOT fa_prefix\n";
    let (set, errors) = compile(doc);
    assert!(errors.is_empty(), "{errors:?}");
    let c = &set.correlations()[0];
    assert_eq!(c.rules, vec!["fail", "ok", "web", "fa_prefix"]);
    let CorrelationCondition::Expression { terms, .. } = &c.condition else {
        panic!("not an expression")
    };
    assert_eq!(
        terms,
        &vec![
            Term {
                present: 0b0011,
                absent: 0b1000
            },
            Term {
                present: 0b0101,
                absent: 0b1000
            }
        ]
    );
    // generate at top level (schema) or inside correlation (pySigma).
    let (set, _) = compile(&format!(
        "{}generate: true\n",
        corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 1}\n"
        )
    ));
    assert!(set.correlations()[0].generate);
}

#[test]
fn parse_errors_name_line_and_reason() {
    let head = "title: bad\ncorrelation:\n";
    // (body, expected line, expected words)
    let cases: &[(&str, usize, &str)] = &[
        (
            "    type: event_cnt\n    rules: [a]\n    timespan: 1m\n    condition: {gte: 1}\n",
            3,
            "unknown correlation type 'event_cnt'",
        ),
        (
            "    rules: [a]\n    timespan: 1m\n    condition: {gte: 1}\n",
            3,
            "without 'type'",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 5x\n    condition: {gte: 1}\n",
            5,
            "invalid timespan '5x'",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 0m\n    condition: {gte: 1}\n",
            5,
            "greater than zero",
        ),
        (
            "    type: event_count\n    rules: [a]\n    condition: {gte: 1}\n",
            3,
            "without 'timespan'",
        ),
        (
            "    type: event_count\n    timespan: 1m\n    condition: {gte: 1}\n",
            3,
            "without 'rules'",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n",
            3,
            "needs a 'condition'",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gte: many\n",
            7,
            "must be a number, not 'many'",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gtx: 3\n",
            7,
            "unknown condition operator 'gtx'",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gt: 1\n        gte: 2\n        lt: 9\n",
            7,
            "one threshold or two",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gt: 10\n        lt: 5\n",
            7,
            "can never hold",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: User\n",
            7,
            "needs a threshold",
        ),
        (
            "    type: value_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gte: 3\n",
            7,
            "value_count needs 'field'",
        ),
        (
            "    type: value_sum\n    rules: [a]\n    timespan: 1m\n    condition:\n        gte: 3\n",
            7,
            "value_sum needs 'field'",
        ),
        (
            "    type: value_sum\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: [A, B]\n        gte: 3\n",
            7,
            "only value_count accepts a list",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: User\n        gte: 3\n",
            7,
            "no meaning for event_count",
        ),
        (
            "    type: value_percentile\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: X\n        gte: 3\n",
            7,
            "needs 'percentile",
        ),
        (
            "    type: value_percentile\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: X\n        percentile: 150\n        gte: 3\n",
            8,
            "between 0 and 100",
        ),
        (
            "    type: value_sum\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: X\n        percentile: 50\n        gte: 3\n",
            8,
            "only meaningful for value_percentile",
        ),
        (
            "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition: a and b\n",
            6,
            "only allowed for temporal",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: a and c\n",
            6,
            "names 'c', which is not in 'rules'",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: a\n",
            6,
            "'b' is listed in 'rules' but not used",
        ),
        (
            "    type: temporal\n    rules: [a]\n    timespan: 1m\n    condition: not a\n",
            6,
            "without any rule matching",
        ),
        (
            "    type: temporal\n    rules: [a]\n    timespan: 1m\n    condition: a and not a\n",
            6,
            "can never hold",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: 1 of a*\n",
            6,
            "not allowed in correlation",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition:\n        gte: 3\n",
            7,
            "can never hold",
        ),
        (
            "    type: temporal\n    rules: [a, a]\n    timespan: 1m\n",
            4,
            "'a' is listed twice",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    group_by: [User]\n    timespan: 1m\n",
            5,
            "did you mean 'group-by'",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    generate: yes\n",
            6,
            "'generate' must be true or false",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    aliases:\n        ip: 10.0.0.1\n",
            7,
            "alias 'ip' must map rule names",
        ),
        (
            "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: [a, b]\n",
            6,
            "'condition' must be a mapping",
        ),
    ];
    for (body, line, words) in cases {
        let doc = format!("{head}{body}");
        let e = load_error(&doc);
        assert!(
            e.reason.contains(words),
            "expected '{words}' in '{}' for:\n{doc}",
            e.reason
        );
        assert_eq!(e.line, Some(*line), "line of '{}' for:\n{doc}", e.reason);
        assert_eq!(e.origin, "bad.yml");
        assert_eq!(e.title.as_deref(), Some("bad"));
    }
}

// ------------------------------------------------------------ resolution

#[test]
fn unresolved_reference_names_file_line_and_reference() {
    let errs = engine_errors(&corr(
        "event_count",
        "fail, nosuchrule",
        "    timespan: 1m\n    condition: {gte: 1}\n",
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!(e.origin, "corr.yml");
    assert_eq!(e.line, Some(5));
    assert!(e.reason.contains("'nosuchrule'"), "{e}");
    assert!(e.to_string().starts_with("corr.yml:5: rule 'c':"), "{e}");
}

#[test]
fn cycles_duplicates_ambiguity_and_bad_aliases_are_refused() {
    let cycle = "title: A\nname: a\ncorrelation:\n    type: event_count\n    rules:\n        - fail\n        - b\n    timespan: 1m\n    condition: {gte: 1}\n---\ntitle: B\nname: b\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition: {gte: 1}\n";
    let errs = engine_errors(cycle);
    assert!(
        errs.iter()
            .any(|e| e.reason.contains("forms a cycle: A -> B -> A")
                || e.reason.contains("forms a cycle: B -> A -> B")),
        "{errs:?}"
    );
    let selfref = "title: S\nname: s\ncorrelation:\n    type: event_count\n    rules: [s]\n    timespan: 1m\n    condition: {gte: 1}\n";
    let errs = engine_errors(selfref);
    assert!(errs[0].reason.contains("cycle: S -> S"), "{errs:?}");
    assert_eq!(errs[0].line, Some(5));

    // The same rule by name and by id.
    let errs = engine_errors(&corr(
        "temporal",
        "fail, 00000000-0000-4000-8000-000000000001",
        "    timespan: 1m\n",
    ));
    assert!(errs[0].reason.contains("a second time"), "{errs:?}");

    // A name shared by a detection rule and a correlation.
    let amb = format!(
        "{}---\ntitle: other\nname: fail\ncorrelation:\n    type: event_count\n    rules: [ok]\n    timespan: 1m\n    condition: {{gte: 1}}\n",
        corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 1}\n"
        )
    );
    let errs = engine_errors(&amb);
    assert!(errs[0].reason.contains("ambiguous"), "{errs:?}");

    let alias = corr(
        "temporal",
        "fail, ok",
        "    timespan: 1m\n    aliases:\n        User:\n            web: X\n",
    );
    let errs = engine_errors(&alias);
    assert!(
        errs[0].reason.contains("alias 'User' maps rule 'web'"),
        "{errs:?}"
    );
    assert_eq!(errs[0].line, Some(10));
}

// ------------------------------------------------------------- semantics

#[test]
fn event_count_with_range_condition() {
    let mut h = harness(&corr(
        "event_count",
        "fail",
        "    timespan: 1m\n    condition:\n        gt: 1\n        lte: 2\n",
    ));
    let fired = h.run(&[
        (0.0, fail("al")),
        (10.0, fail("al")),  // 2 -> fires
        (20.0, fail("al")),  // 3 -> out of range
        (30.0, ok("al")),    // not referenced
        (200.0, fail("al")), // 1
        (210.0, fail("al")), // 2 -> fires again (new episode)
    ]);
    assert_eq!(
        fired,
        vec![
            ("c".into(), "al".into(), 2.0, 10_000),
            ("c".into(), "al".into(), 2.0, 210_000)
        ]
    );
    // neq / lt / eq fire on the first event of a group.
    for cond in ["lt: 2", "eq: 1", "neq: 5"] {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            &format!("    timespan: 1m\n    condition: {{{cond}}}\n"),
        ));
        assert_eq!(h.run(&[(0.0, fail("x"))]).len(), 1, "{cond}");
    }
}

#[test]
fn window_edges_are_inclusive() {
    let mut h = harness(&corr(
        "event_count",
        "fail",
        "    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    let fired = h.run(&[
        (0.0, fail("a")),
        (60.0, fail("a")), // exactly one timespan apart: same window
        (0.0, fail("b")),
        (60.001, fail("b")), // one millisecond too far
    ]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 60_000)]);
}

#[test]
fn sliding_window_and_one_alert_per_episode() {
    let mut h = harness(&corr(
        "event_count",
        "fail",
        "    timespan: 1m\n    condition: {gte: 3}\n",
    ));
    let events: Vec<(f64, Json)> = (0..=18).map(|i| (i as f64 * 10.0, fail("a"))).collect();
    let fired: Vec<i64> = h.run(&events).into_iter().map(|f| f.3).collect();
    // Fires at 20 s; silent while windows overlap [-40 s, 20 s]; next at
    // 90 s (window [30 s, 90 s] shares nothing with the first), then 160 s.
    assert_eq!(fired, vec![20_000, 90_000, 160_000]);
    let c = h.counters(0);
    assert_eq!(c.alerts, 3);
    assert_eq!(c.deduplicated, 19 - 2 - 3);
}

#[test]
fn value_count_distinct_values_and_combinations() {
    let mut h = harness(&corr(
        "value_count",
        "fail",
        "    timespan: 5m\n    condition:\n        field: Host\n        gte: 3\n",
    ));
    let ev = |u: &str, host: &str| json!({"Action": "fail", "User": u, "Host": host});
    let fired = h.run(&[
        (0.0, ev("a", "h1")),
        (1.0, ev("a", "h1")),
        (2.0, ev("a", "h2")),
        (3.0, json!({"Action": "fail", "User": "a"})), // no Host: skipped, counted
        (4.0, ev("a", "h3")),
    ]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 3.0, 4_000)]);
    assert_eq!(h.counters(0).missing_value_field, 1);

    let mut h = harness(&corr(
        "value_count",
        "fail",
        "    timespan: 5m\n    condition:\n        field: [Host, Port]\n        gte: 3\n",
    ));
    let ev =
        |host: &str, port: i64| json!({"Action": "fail", "User": "a", "Host": host, "Port": port});
    let fired = h.run(&[
        (0.0, ev("h1", 1)),
        (1.0, ev("h1", 2)),
        (2.0, ev("h1", 1)),
        (3.0, ev("h2", 1)),
    ]);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].2, 3.0);
    assert_eq!(fired[0].3, 3_000);
}

#[test]
fn temporal_any_order_and_distinct_rule_count() {
    let mut h = harness(&corr("temporal", "fail, ok, web", "    timespan: 1m\n"));
    let fired = h.run(&[
        (0.0, web("a")),
        (10.0, ok("a")),
        (20.0, fail("a")), // all three, any order
        (0.0, web("b")),
        (10.0, ok("b")),
        (70.0, fail("b")), // web left the window
    ]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 3.0, 20_000)]);

    let mut h = harness(&corr(
        "temporal",
        "fail, ok, web",
        "    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    let fired = h.run(&[(0.0, fail("a")), (1.0, fail("a")), (2.0, web("a"))]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 2_000)]);
}

#[test]
fn temporal_ordered_order_and_ties() {
    let c = corr("temporal_ordered", "fail, ok", "    timespan: 1m\n");
    let mut h = harness(&c);
    let fired = h.run(&[
        (0.0, fail("in_order")),
        (5.0, ok("in_order")),
        (0.0, ok("reversed")),
        (5.0, fail("reversed")),
        (7.0, fail("tie")), // equal times: arrival order decides
        (7.0, ok("tie")),
        (9.0, ok("tie_rev")),
        (9.0, fail("tie_rev")),
        (0.0, fail("too_far")),
        (61.0, ok("too_far")),
    ]);
    let groups: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(groups, vec!["in_order", "tie"]);

    // A failure between two successes still counts: ok@0, fail@1, ok@2.
    let mut h = harness(&c);
    assert_eq!(
        h.run(&[(0.0, ok("a")), (1.0, fail("a")), (2.0, ok("a"))])
            .len(),
        1
    );

    // Numeric condition: the longest in-order chain of distinct rules.
    let mut h = harness(&corr(
        "temporal_ordered",
        "fail, ok, web",
        "    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    let fired = h.run(&[(0.0, web("a")), (1.0, ok("a")), (2.0, web("a"))]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 2_000)]);
}

#[test]
fn extended_temporal_conditions() {
    let mut h = harness(&corr(
        "temporal",
        "fail, ok, web",
        "    timespan: 1m\n    condition: fail and ok and not web\n",
    ));
    let fired = h.run(&[
        (0.0, fail("clean")),
        (1.0, ok("clean")),
        (0.0, web("dirty")),
        (1.0, fail("dirty")),
        (2.0, ok("dirty")),
        (0.0, web("late")),
        (70.0, fail("late")), // the web match has left the window
        (71.0, ok("late")),
    ]);
    let groups: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(groups, vec!["clean", "late"]);

    let mut h = harness(&corr(
        "temporal_ordered",
        "fail, ok, web",
        "    timespan: 1m\n    condition: (fail and ok) or web\n",
    ));
    let fired = h.run(&[
        (0.0, ok("a")),
        (1.0, fail("a")), // wrong order: no
        (0.0, fail("b")),
        (1.0, ok("b")),  // fail then ok: yes
        (0.0, web("c")), // web alone: yes
    ]);
    let groups: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(groups, vec!["b", "c"]);
}

#[test]
fn numeric_aggregations_and_non_numeric_values() {
    let bytes = |u: &str, b: Json| json!({"Kind": "web", "User": u, "Bytes": b});
    let mut h = harness(&corr(
        "value_sum",
        "web",
        "    timespan: 1h\n    condition: {field: Bytes, gt: 1000}\n",
    ));
    let fired = h.run(&[
        (0.0, bytes("a", json!(600))),
        (1.0, bytes("a", json!("lots"))), // not a number: ignored, counted
        (2.0, bytes("a", json!(null))),   // null: missing
        (3.0, bytes("a", json!("400.5"))), // numeric text counts
    ]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 1000.5, 3_000)]);
    let c = h.counters(0);
    assert_eq!((c.non_numeric, c.missing_value_field), (1, 1));

    let mut h = harness(&corr(
        "value_avg",
        "web",
        "    timespan: 1h\n    condition: {field: Bytes, gt: 500}\n",
    ));
    let fired = h.run(&[
        (0.0, bytes("a", json!(400))),
        (1.0, bytes("a", json!(700))),
        (2.0, bytes("b", json!(100))),
    ]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 550.0, 1_000)]);

    let mut h = harness(&corr(
        "value_percentile",
        "web",
        "    timespan: 1h\n    condition: {field: Bytes, percentile: 90, gte: 9}\n",
    ));
    let events: Vec<(f64, Json)> = (1..=10).map(|i| (i as f64, bytes("a", json!(i)))).collect();
    let fired = h.run(&events);
    // p90 of 1..=9 is 8.2; of 1..=10 it is 9.1 (linear interpolation).
    assert_eq!(fired.len(), 1);
    assert!((fired[0].2 - 9.1).abs() < 1e-9, "{fired:?}");
    assert_eq!(fired[0].3, 10_000);

    let mut h = harness(&corr(
        "value_median",
        "web",
        "    timespan: 1h\n    condition: {field: Bytes, gte: 4}\n",
    ));
    let fired = h.run(&[
        (0.0, bytes("a", json!(1))),
        (1.0, bytes("a", json!(9))),
        (2.0, bytes("a", json!(3))),
    ]);
    // medians: 1, 5 -> fires at the second event.
    assert_eq!(fired, vec![("c".into(), "a".into(), 5.0, 1_000)]);
}

#[test]
fn window_expiry_updates_aggregates() {
    // Sum must drop values leaving the window, not only add.
    let bytes = |b: i64| json!({"Kind": "web", "User": "a", "Bytes": b});
    let mut h = harness(&corr(
        "value_sum",
        "web",
        "    timespan: 10s\n    condition: {field: Bytes, gte: 100}\n",
    ));
    let fired = h.run(&[(0.0, bytes(60)), (20.0, bytes(60)), (25.0, bytes(40))]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 100.0, 25_000)]);
}

#[test]
fn aliases_resolve_group_and_value_fields_per_rule() {
    let doc = "title: c\ncorrelation:\n    type: temporal\n    rules: [fail, ok]\n    group-by: [account]\n    timespan: 1m\n    aliases:\n        account:\n            fail: TargetUser\n            ok: SubjectUser\n";
    let mut h = harness(doc);
    let fired = h.run(&[
        (
            0.0,
            json!({"Action": "fail", "TargetUser": "x", "SubjectUser": "other"}),
        ),
        (
            1.0,
            json!({"Action": "ok", "SubjectUser": "x", "TargetUser": "y"}),
        ),
    ]);
    assert_eq!(fired, vec![("c".into(), "x".into(), 2.0, 1_000)]);
    // value_count over an aliased field (tiaki extension).
    let doc = "title: c\ncorrelation:\n    type: value_count\n    rules: [fail, ok]\n    timespan: 1m\n    condition:\n        field: src\n        gte: 2\n    aliases:\n        src:\n            fail: A\n            ok: B\n";
    let mut h = harness(doc);
    let fired = h.run(&[
        (0.0, json!({"Action": "fail", "A": "1"})),
        (1.0, json!({"Action": "ok", "B": "2"})),
    ]);
    assert_eq!(fired, vec![("c".into(), "".into(), 2.0, 1_000)]);
}

const CHAIN: &str = "\
title: many_fails
name: many_fails
correlation:
    type: event_count
    rules: [fail]
    group-by: [User]
    timespan: 10m
    condition: {gte: 3}
---
title: brute_force
correlation:
    type: temporal_ordered
    rules: [many_fails, ok]
    group-by: [User]
    timespan: 10m
";

#[test]
fn chain_event_count_then_temporal_ordered() {
    let events = [
        (0.0, fail("eve")),
        (10.0, fail("eve")),
        (20.0, fail("eve")),
        (60.0, ok("eve")),
        (0.0, fail("frank")),
        (10.0, fail("frank")),
        (60.0, ok("frank")),
    ];
    let mut h = harness(CHAIN);
    assert!(!h.eng.reports(0));
    assert!(h.eng.reports(1));
    assert_eq!(
        h.eng.references(1),
        vec![Referenced::Correlation(0), Referenced::Detection(1)]
    );
    let mut all = Vec::new();
    for (ts, ev) in &events {
        all.extend(h.feed(*ts, ev.clone()));
    }
    assert_eq!(all.len(), 1, "{all:?}");
    let a = &all[0];
    assert_eq!(h.eng.rule(a.correlation).meta.title, "brute_force");
    assert_eq!(a.group, vec!["eve"]);
    assert_eq!((a.first_ms, a.last_ms), (20_000, 60_000));
    assert_eq!(
        a.rules,
        vec![Referenced::Correlation(0), Referenced::Detection(1)]
    );
    // Evidence reaches through the inner correlation to the base events.
    assert_eq!(a.events, vec![0, 1, 2, 3]);
    assert!(!a.intermediate);
    // Both referenced detection rules are not stand-alone outputs.
    assert_eq!(h.eng.suppressed_detections(), vec![0, 1]);
    assert_eq!(h.eng.stats().correlations[0].alerts, 1);

    // With report_intermediate the inner alert is returned too, flagged.
    let opts = EngineOptions {
        report_intermediate: true,
        ..Default::default()
    };
    let mut h = harness_with(CHAIN, opts);
    let mut titles = Vec::new();
    for (ts, ev) in &events {
        for a in h.feed(*ts, ev.clone()) {
            titles.push((h.eng.rule(a.correlation).meta.title.clone(), a.intermediate));
        }
    }
    assert_eq!(
        titles,
        vec![("many_fails".into(), true), ("brute_force".into(), false)]
    );
}

#[test]
fn generate_true_keeps_referenced_rules_as_outputs() {
    let doc = CHAIN.replace(
        "title: brute_force\n",
        "title: brute_force\ngenerate: true\n",
    );
    let mut h = harness(&doc);
    assert!(h.eng.reports(0));
    // 'fail' is still referenced by many_fails (generate: false).
    assert_eq!(h.eng.suppressed_detections(), vec![0]);
    let fired = h.run(&[
        (0.0, fail("e")),
        (1.0, fail("e")),
        (2.0, fail("e")),
        (3.0, ok("e")),
    ]);
    let titles: Vec<&str> = fired.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(titles, vec!["many_fails", "brute_force"]);
}

#[test]
fn chain_carries_fields_the_inner_rule_does_not_group_by() {
    // Spec example: the inner correlation groups by host, the outer by user.
    let doc = CHAIN.replacen("group-by: [User]", "group-by: [Host]", 1);
    let mut h = harness(&doc);
    let ev = |a: &str, u: &str| json!({"Action": a, "User": u, "Host": "h1"});
    let fired = h.run(&[
        (0.0, ev("fail", "x")),
        (1.0, ev("fail", "y")),
        (2.0, ev("fail", "z")),
        (3.0, ev("ok", "z")),
    ]);
    assert_eq!(fired, vec![("brute_force".into(), "z".into(), 2.0, 3_000)]);
}

#[test]
fn missing_group_by_field_is_skipped_and_counted() {
    let mut h = harness(&corr(
        "event_count",
        "fail",
        "    timespan: 1m\n    condition: {gte: 2}\n",
    ));
    let fired = h.run(&[
        (0.0, json!({"Action": "fail"})),
        (1.0, json!({"Action": "fail", "User": null})),
        (2.0, json!({"Action": "fail", "User": ""})),
        (3.0, json!({"Action": "fail", "User": ""})), // empty string is a value
    ]);
    assert_eq!(fired, vec![("c".into(), "".into(), 2.0, 3_000)]);
    assert_eq!(h.counters(0).missing_group_field, 2);
}

#[test]
fn no_group_by_is_one_global_group_and_one_event_counts_once() {
    let doc = "title: c\ncorrelation:\n    type: event_count\n    rules: [fail, fa_prefix]\n    timespan: 1m\n    condition: {gte: 2}\n";
    let mut h = harness(doc);
    // Each event matches both referenced rules but is counted once.
    let fired = h.run(&[(0.0, fail("a")), (1.0, fail("b"))]);
    assert_eq!(fired, vec![("c".into(), "".into(), 2.0, 1_000)]);
}

#[test]
fn state_expires_with_the_window() {
    let mut h = harness(&corr("temporal", "fail, ok", "    timespan: 1m\n"));
    for i in 0..100 {
        h.feed(i as f64, fail(&format!("u{i}")));
    }
    let s = h.eng.stats();
    assert_eq!((s.groups(), s.entries()), (100, 100));
    // Lateness defaults to the timespan: a group is kept until the
    // watermark passes its newest entry by timespan + lateness (2 min),
    // then dropped on the next event, matching or not.
    h.feed(159.0, json!({"Action": "none"}));
    let s = h.eng.stats();
    assert_eq!((s.groups(), s.entries()), (61, 61), "u0..u38 expired");
    h.feed(99.0 + 120.0, json!({}));
    assert_eq!(h.eng.stats().groups(), 1, "u99 is exactly at the horizon");
    h.feed(99.0 + 120.001, json!({}));
    assert_eq!(h.eng.stats().groups(), 0);
    // An explicit advance at the end of a stream releases everything.
    h.feed(500.0, fail("z"));
    assert_eq!(h.eng.stats().entries(), 1);
    h.eng.advance_to(i64::MAX);
    let s = h.eng.stats();
    assert_eq!((s.groups(), s.entries()), (0, 0));
}

#[test]
fn retained_entries_are_pruned_within_a_busy_group() {
    let mut h = harness(&corr(
        "event_count",
        "fail",
        "    timespan: 10s\n    condition: {gte: 1000}\n",
    ));
    for i in 0..1000 {
        h.feed(i as f64, fail("a"));
    }
    // timespan + lateness = 20 s of entries (both ends inclusive).
    assert_eq!(h.eng.stats().entries(), 21);
}

#[test]
fn out_of_order_events() {
    let mut h = harness(&corr(
        "event_count",
        "fail",
        "    timespan: 1m\n    condition: {gte: 3}\n",
    ));
    let fired = h.run(&[
        (0.0, fail("a")),
        (20.0, fail("a")),
        (10.0, fail("a")), // late but within the lateness: completes the window ending at 20 s
    ]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 3.0, 20_000)]);
    assert_eq!(h.counters(0).out_of_order, 1);
    // Older than watermark - lateness: dropped and counted.
    let fired = h.run(&[(200.0, fail("b")), (100.0, fail("b")), (139.999, fail("b"))]);
    assert!(fired.is_empty());
    assert_eq!(h.counters(0).late_dropped, 2);

    // Out-of-order matches are ordered by event time for temporal_ordered.
    let mut h = harness(&corr("temporal_ordered", "fail, ok", "    timespan: 1m\n"));
    let fired = h.run(&[(10.0, ok("a")), (5.0, fail("a"))]);
    assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 10_000)]);
    // A zero lateness drops anything behind the watermark.
    let opts = EngineOptions {
        max_lateness_ms: Some(0),
        ..Default::default()
    };
    let mut h = harness_with(
        &corr("temporal_ordered", "fail, ok", "    timespan: 1m\n"),
        opts,
    );
    assert!(h.run(&[(10.0, ok("a")), (5.0, fail("a"))]).is_empty());
    assert_eq!(h.counters(0).late_dropped, 1);
}

#[test]
fn caps_evict_and_count() {
    let opts = EngineOptions {
        max_groups: 2,
        max_entries_per_group: 3,
        ..Default::default()
    };
    let mut h = harness_with(
        &corr(
            "event_count",
            "fail",
            "    timespan: 1h\n    condition: {gte: 4}\n",
        ),
        opts,
    );
    let fired = h.run(&[
        (0.0, fail("a")),
        (1.0, fail("b")),
        (2.0, fail("c")), // evicts a (least recently active)
        (3.0, fail("c")),
        (4.0, fail("c")),
        (5.0, fail("c")), // 4th entry evicts the oldest: count stays 3
    ]);
    assert!(fired.is_empty());
    let c = h.counters(0);
    assert_eq!(
        (c.groups_evicted, c.entries_evicted, c.groups, c.entries),
        (1, 1, 2, 4)
    );
    assert_eq!(h.eng.stats().lossy(), 2);
}

#[test]
fn alert_contents() {
    let opts = EngineOptions {
        max_evidence: 2,
        ..Default::default()
    };
    let mut h = harness_with(
        &corr(
            "temporal",
            "fail, ok",
            "    timespan: 1m\n    condition: {gte: 1}\n",
        ),
        opts,
    );
    h.feed(0.0, json!({"Action": "noise", "User": "a"}));
    let a = h.feed(5.0, ok("a"));
    assert_eq!(a.len(), 1);
    let a = &a[0];
    assert_eq!(a.correlation, 0);
    assert_eq!(a.group, vec!["a"]);
    assert_eq!(a.fields, vec![("User".to_string(), "a".to_string())]);
    assert_eq!((a.first_ms, a.last_ms, a.value), (5_000, 5_000, 1.0));
    assert_eq!(a.rules, vec![Referenced::Detection(1)]);
    assert_eq!((a.events.clone(), a.events_total), (vec![1], 1));

    let mut h = harness_with(
        &corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 3}\n",
        ),
        EngineOptions {
            max_evidence: 2,
            ..Default::default()
        },
    );
    let fired: Vec<Alert> = (0..3).flat_map(|i| h.feed(i as f64, fail("a"))).collect();
    assert_eq!(fired[0].events, vec![0, 1]);
    assert_eq!(fired[0].events_total, 3);
    assert_eq!(h.eng.stats().watermark_ms, Some(2_000));
    assert_eq!(h.eng.stats().events, 3);
}
