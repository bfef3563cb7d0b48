//! Unit tests of the pattern module: grammar corners, re-serialisation, matching rules
//! and the hunting API.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::timestamp::Timestamp;

fn p(s: &str) -> Pattern {
    Pattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// One observation at `time` of the given root objects, no pool.
fn obs(time: &str, objects: Vec<Value>) -> Observation {
    Observation::new(ts(time), ts(time), 1, objects, Arc::new(ObjectPool::new()))
}

#[test]
fn observation_precedence() {
    // FOLLOWEDBY < OR < AND.
    let e = p("[a:x = 1] AND [a:x = 2] OR [a:x = 3] FOLLOWEDBY [a:x = 4]");
    let ObservationExpr::FollowedBy(fb) = e.root() else {
        panic!("{:?}", e.root())
    };
    let ObservationExpr::Or(or) = &fb[0] else {
        panic!("{:?}", fb[0])
    };
    assert!(matches!(&or[0], ObservationExpr::And(a) if a.len() == 2));
    assert!(matches!(fb[1], ObservationExpr::Bracket(_)));
}

#[test]
fn comparison_precedence() {
    let e = p("[a:x = 1 OR a:y = 2 AND a:z = 3]");
    let ObservationExpr::Bracket(ComparisonExpr::Or(items)) = e.root() else {
        panic!("{:?}", e.root())
    };
    assert!(matches!(&items[1], ComparisonExpr::And(a) if a.len() == 2));
}

#[test]
fn qualifiers_bind_to_the_nearest_expression() {
    let e = p("[a:x = 1] AND [a:x = 2] WITHIN 5 SECONDS");
    let ObservationExpr::And(items) = e.root() else {
        panic!()
    };
    assert!(matches!(items[0], ObservationExpr::Bracket(_)));
    assert!(matches!(
        items[1],
        ObservationExpr::Qualified(_, Qualifier::Within(Literal::Int(5)))
    ));
    let e = p("([a:x = 1] AND [a:x = 2]) WITHIN 5 SECONDS");
    assert!(
        matches!(e.root(), ObservationExpr::Qualified(inner, _) if matches!(**inner, ObservationExpr::And(_)))
    );
    // Chained qualifiers: the later one wraps the earlier.
    let e = p("[a:x = 1] REPEATS 5 TIMES WITHIN 1.5 SECONDS");
    let ObservationExpr::Qualified(inner, Qualifier::Within(Literal::Float(f))) = e.root() else {
        panic!()
    };
    assert_eq!(*f, 1.5);
    assert!(matches!(
        **inner,
        ObservationExpr::Qualified(_, Qualifier::Repeats(5))
    ));
}

#[test]
fn escapes_and_quoted_paths() {
    let e = p(r"[file:hashes.'SHA-256' = 'it\'s a \\ path' AND x-y:a.'b.c'[*][-1] = 1]");
    let c = e.comparisons();
    assert_eq!(
        c[0].path,
        vec![
            PathStep::Key("hashes".into()),
            PathStep::Key("SHA-256".into())
        ]
    );
    assert_eq!(
        c[0].value,
        Operand::Literal(Literal::Str(r"it's a \ path".into()))
    );
    assert_eq!(c[1].object_type, "x-y");
    assert_eq!(
        c[1].path,
        vec![
            PathStep::Key("a".into()),
            PathStep::Key("b.c".into()),
            PathStep::AnyIndex,
            PathStep::Index(-1)
        ]
    );
}

#[test]
fn errors_carry_offsets() {
    let cases = [
        ("file:size = 1280", 0),
        ("[file:size = ]", 13),
        ("[file:hashes.MD5 = cead3f77]", 19),
        ("[file:name MATCHES /.*/]", 19),
        ("[a:b = 'x'] WITHIN -5 SECONDS", 19),
        ("[a:b = 'x'] WITHIN 5 HOURS", 21),
        ("[foo:bar=1] within 2 seconds", 12),
        ("[artifact:payload_bin = b'====']", 24),
        ("[some-type:needs-quotes = 1]", 11),
        ("[a:b = null]", 7),
        ("[a:b = 'x'] START t'2020-01-01T00:00:00Z'", 41),
        ("[a:b = 'x\\n']", 9),
        (
            "[a:b = 1] START '2020-01-01T00:00:00Z' STOP '2020-01-02T00:00:00Z'",
            16,
        ),
    ];
    for (text, offset) in cases {
        let e = Pattern::parse(text).expect_err(text);
        assert_eq!(e.kind, PatternErrorKind::Syntax, "{text}");
        assert_eq!(e.offset, offset, "{text}: {e}");
    }
    // EXISTS is STIX 2.1 only; plain-string START/STOP is STIX 2.0 only.
    assert!(
        Pattern::parse_version(
            "[a:b = 1] START '2020-01-01T00:00:00Z' STOP '2020-01-02T00:00:00Z'",
            SpecVersion::V20
        )
        .is_ok()
    );
    assert!(Pattern::parse_version("[EXISTS a:b]", SpecVersion::V20).is_err());
    assert!(Pattern::parse("[EXISTS a:b]").is_ok());
}

#[test]
fn semantic_errors() {
    let e = Pattern::validate("[file:hashes.'SHA-256' = 'f00']", SpecVersion::V21).unwrap_err();
    assert_eq!(e.kind, PatternErrorKind::Semantic);
    assert!(
        Pattern::validate(
            "[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']",
            SpecVersion::V21
        )
        .is_ok()
    );
    assert!(Pattern::parse("[file:hashes.'SHA-256' = 'f00']").is_ok());
}

#[test]
fn display_round_trips() {
    for text in [
        "[file:hashes.'SHA-256' = 'ab' OR file:name = 'it\\'s']",
        "([a:x = 1] AND [a:y = 2.0]) WITHIN 300 SECONDS",
        "[a:x = 1] AND ([a:y = 2] OR [a:z = 3]) FOLLOWEDBY [b:c[*].d != true]",
        "[a:x IN (1, 2, 3)] REPEATS 5 TIMES START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'",
        "[a:x NOT LIKE 'a%' AND (NOT EXISTS a:y OR a:z MATCHES '^x\\\\.y$')]",
        "[a:x = h'01ff' AND a:y = b'AQIDBA==' AND a:z ISSUBSET '10.0.0.0/8']",
        "([a:x = 1] FOLLOWEDBY [a:y = 2]) OR [a:z = -3]",
    ] {
        let once = p(text);
        assert_eq!(once.to_string(), text);
        assert_eq!(p(&once.to_string()), once);
    }
    assert_eq!(
        p("[a:x == 1 AND a:y <> 'q']").to_string(),
        "[a:x = 1 AND a:y != 'q']"
    );
    assert_eq!(p("/* c */ [ a:x=1 ] // done").to_string(), "[a:x = 1]");
}

#[test]
fn like_and_matches() {
    let o = [obs(
        "2024-01-01T00:00:00Z",
        vec![json!({"type": "file", "name": "invoice.exe", "payload_bin": "YWxpY2U="})],
    )];
    assert!(p("[file:name LIKE 'inv%.e_e']").matches(&o).unwrap());
    assert!(!p("[file:name LIKE 'voice%']").matches(&o).unwrap());
    assert!(p("[file:name MATCHES 'voice']").matches(&o).unwrap());
    assert!(!p("[file:name MATCHES '^voice']").matches(&o).unwrap());
    assert!(
        p("[file:name MATCHES '^inv.*\\\\.exe$']")
            .matches(&o)
            .unwrap()
    );
    assert!(
        p("[file:payload_bin = 'alice' AND file:payload_bin MATCHES '^\\\\x61']")
            .matches(&o)
            .unwrap()
    );
    assert!(matches!(
        p("[file:name MATCHES '(?<=x)y']").matches(&o),
        Err(MatchError::InvalidRegex(..))
    ));
}

#[test]
fn ip_sets() {
    let o = [obs(
        "2024-01-01T00:00:00Z",
        vec![
            json!({"type": "ipv6-addr", "value": "2001:db8::1"}),
            json!({"type": "ipv4-addr", "value": "10.1.2.3"}),
        ],
    )];
    assert!(
        p("[ipv6-addr:value ISSUBSET '2001:db8::/32']")
            .matches(&o)
            .unwrap()
    );
    assert!(
        !p("[ipv6-addr:value ISSUBSET '2001:db9::/32']")
            .matches(&o)
            .unwrap()
    );
    assert!(
        p("[ipv6-addr:value NOT ISSUBSET '2001:db9::/32']")
            .matches(&o)
            .unwrap()
    );
    assert!(
        p("[ipv4-addr:value ISSUBSET '10.0.0.0/8']")
            .matches(&o)
            .unwrap()
    );
    assert!(!p("[ipv4-addr:value ISSUBSET '::/0']").matches(&o).unwrap());
    assert!(matches!(
        p("[ipv4-addr:value ISSUBSET 'not-an-ip']").matches(&o),
        Err(MatchError::InvalidLiteral(_))
    ));
}

#[test]
fn exists_and_not_exists() {
    let o = [obs(
        "2024-01-01T00:00:00Z",
        vec![json!({"type": "file", "hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}})],
    )];
    assert!(p("[EXISTS file:hashes.MD5]").matches(&o).unwrap());
    assert!(!p("[EXISTS file:hashes.'SHA-512']").matches(&o).unwrap());
    assert!(p("[NOT EXISTS file:hashes.'SHA-512']").matches(&o).unwrap());
    assert!(!p("[NOT EXISTS file:hashes.MD5]").matches(&o).unwrap());
    // A different root type satisfies neither.
    assert!(!p("[NOT EXISTS process:pid]").matches(&o).unwrap());
}

#[test]
fn references_and_types() {
    let objects = vec![
        json!({"type": "observed-data", "id": "observed-data--1", "first_observed": "2024-01-01T00:00:00Z",
               "last_observed": "2024-01-01T00:00:00Z", "number_observed": 1,
               "object_refs": ["network-traffic--1", "ipv4-addr--1"]}),
        json!({"type": "network-traffic", "id": "network-traffic--1", "dst_ref": "ipv4-addr--1", "dst_port": 443}),
        json!({"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "198.51.100.7"}),
    ];
    let o = Observation::from_stix_objects(&objects).unwrap();
    assert_eq!(o.len(), 1);
    assert!(
        p("[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]")
            .matches(&o)
            .unwrap()
    );
    assert!(
        p("[network-traffic:dst_ref = 'ipv4-addr--1']")
            .matches(&o)
            .unwrap()
    );
    assert!(!p("[network-traffic:dst_port = '443']").matches(&o).unwrap());
    assert!(
        p("[network-traffic:dst_port != '443']")
            .matches(&o)
            .unwrap()
    );
    assert!(!p("[network-traffic:dst_port > 'a']").matches(&o).unwrap());
    assert!(p("[network-traffic:dst_port < 443.5]").matches(&o).unwrap());
    // AND across root types never matches inside one bracket.
    assert!(
        !p("[network-traffic:dst_port = 443 AND ipv4-addr:value = '198.51.100.7']")
            .matches(&o)
            .unwrap()
    );
    // A missing property is false, with or without NOT.
    assert!(!p("[network-traffic:src_port NOT = 1]").matches(&o).unwrap());
}

#[test]
fn observation_operators_need_distinct_observations() {
    let alice = json!({"type": "person", "name": "alice", "age": 10});
    let one = [obs("2024-01-01T00:00:00Z", vec![alice.clone()])];
    assert!(
        !p("[person:name = 'alice'] AND [person:age = 10]")
            .matches(&one)
            .unwrap()
    );
    // The same observation seen twice is two observations.
    let twice = [Observation::new(
        ts("2024-01-01T00:00:00Z"),
        ts("2024-01-01T00:00:00Z"),
        2,
        vec![alice.clone()],
        Arc::new(ObjectPool::new()),
    )];
    assert!(
        p("[person:name = 'alice'] AND [person:age = 10]")
            .matches(&twice)
            .unwrap()
    );
    assert!(
        p("[person:age = 10] REPEATS 2 TIMES")
            .matches(&twice)
            .unwrap()
    );
    assert!(
        !p("[person:age = 10] REPEATS 3 TIMES")
            .matches(&twice)
            .unwrap()
    );
}

#[test]
fn time_qualifiers() {
    let a = obs("2024-01-01T00:00:00Z", vec![json!({"type": "x", "v": 1})]);
    let b = obs("2024-01-01T00:00:30Z", vec![json!({"type": "x", "v": 2})]);
    let both = [a, b];
    assert!(p("[x:v = 1] FOLLOWEDBY [x:v = 2]").matches(&both).unwrap());
    assert!(!p("[x:v = 2] FOLLOWEDBY [x:v = 1]").matches(&both).unwrap());
    assert!(
        p("([x:v = 1] FOLLOWEDBY [x:v = 2]) WITHIN 30 SECONDS")
            .matches(&both)
            .unwrap()
    );
    assert!(
        !p("([x:v = 1] FOLLOWEDBY [x:v = 2]) WITHIN 29.9 SECONDS")
            .matches(&both)
            .unwrap()
    );
    // START inclusive, STOP exclusive.
    assert!(
        p("[x:v = 2] START t'2024-01-01T00:00:30Z' STOP t'2024-01-01T00:00:31Z'")
            .matches(&both)
            .unwrap()
    );
    assert!(
        !p("[x:v = 2] START t'2024-01-01T00:00:00Z' STOP t'2024-01-01T00:00:30Z'")
            .matches(&both)
            .unwrap()
    );
    assert!(matches!(
        p("[x:v = 1] WITHIN 0 SECONDS").matches(&both),
        Err(MatchError::InvalidQualifier(_))
    ));
    assert!(matches!(
        p("[x:v IN (1, 'a')]").matches(&both),
        Err(MatchError::HeterogeneousSet(_))
    ));
}

#[test]
fn bindings_and_streaming_api() {
    let observations: Vec<Observation> = (0..6)
        .map(|i| {
            obs(
                &format!("2024-01-01T00:00:0{i}Z"),
                vec![json!({"type": "x", "v": i % 2})],
            )
            .with_id(format!("obs-{i}"))
        })
        .collect();
    let pat = p("[x:v = 0] FOLLOWEDBY [x:v = 1]");
    assert_eq!(pat.brackets().len(), 2);
    let b = pat.find_binding(&observations).unwrap().unwrap();
    assert_eq!(b.observations, vec![0, 1]);
    assert_eq!(b.ids(&observations), vec!["obs-0", "obs-1"]);
    // Per-bracket evaluation, then the observation logic on the hits.
    let mut hits = vec![Vec::new(); pat.brackets().len()];
    for (i, o) in observations.iter().enumerate() {
        for (bi, h) in hits.iter_mut().enumerate() {
            if pat.matches_bracket(bi, o).unwrap() {
                h.push(i);
            }
        }
    }
    assert_eq!(hits, vec![vec![0, 2, 4], vec![1, 3, 5]]);
    let b = pat
        .find_binding_with_hits(&observations, &hits)
        .unwrap()
        .unwrap();
    assert_eq!(b.observations, vec![0, 1]);
    assert!(matches!(
        pat.matches_bracket(7, &observations[0]),
        Err(MatchError::NoSuchBracket(7))
    ));
}

#[test]
fn search_budget_is_enforced() {
    let many: Vec<Observation> = (0..40)
        .map(|i| {
            obs(
                &format!("2024-01-01T00:{:02}:00Z", i),
                vec![json!({"type": "x", "v": 1})],
            )
        })
        .collect();
    // 40 observations a minute apart cannot give 10 within 60 s; the search must give up
    // (or finish) rather than run for ever.
    let pat = p("[x:v = 1] REPEATS 10 TIMES WITHIN 60 SECONDS").with_search_budget(1000);
    match pat.matches(&many) {
        Ok(false) | Err(MatchError::TooComplex(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(
        !p("[x:v = 1] REPEATS 10 TIMES WITHIN 60 SECONDS")
            .matches(&many)
            .unwrap()
    );
}

#[test]
fn huge_repeats_are_refused_or_fail_fast() {
    let few: Vec<Observation> = (0..5)
        .map(|i| {
            obs(
                &format!("2024-01-01T00:{:02}:00Z", i),
                vec![json!({"type": "x", "v": 1})],
            )
        })
        .collect();
    // Over the limit: a clear error naming the count and the limit, no search at all.
    let pat = p("[x:v = 1] REPEATS 9000000000000000000 TIMES");
    match pat.matches(&few) {
        Err(MatchError::Limit(m)) => {
            assert!(m.contains("max_repeats") && m.contains("1000"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // The limit is configurable: a low one refuses a small count.
    let low = crate::pattern::SearchLimits {
        max_repeats: 3,
        ..Default::default()
    };
    let pat = p("[x:v = 1] REPEATS 4 TIMES").with_limits(low);
    assert!(matches!(pat.matches(&few), Err(MatchError::Limit(_))));
    assert!(
        p("[x:v = 1] REPEATS 3 TIMES")
            .with_limits(low)
            .matches(&few)
            .unwrap()
    );
    // Within the limit but more copies than observations: no binding, found at once.
    let pat = p("[x:v = 1] REPEATS 1000 TIMES").with_search_budget(100);
    assert!(!pat.matches(&few).unwrap());
}

#[test]
fn simple_patterns_for_indexing() {
    let groups = p("[file:hashes.MD5 = 'a' OR (file:name = 'x' AND file:size IN (1, 2))]")
        .simple_comparisons()
        .unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].len(), 1);
    assert_eq!(groups[0][0].op, CmpOp::Eq);
    assert_eq!(groups[1][1].op, CmpOp::In);
    assert_eq!(
        groups[1][1].value,
        Operand::Set(vec![Literal::Int(1), Literal::Int(2)])
    );
    let dist = p("[(a:x = 1 OR a:x = 2) AND (a:y = 3 OR a:y = 4)]")
        .simple_comparisons()
        .unwrap();
    assert_eq!(dist.len(), 4);
    assert!(p("[a:x = 1] AND [a:y = 2]").simple_comparisons().is_none());
    assert!(
        p("[a:x = 1] WITHIN 5 SECONDS")
            .simple_comparisons()
            .is_none()
    );
}

#[test]
fn inspection() {
    let ins = p("[foo:bar=1 AND bar:foo NOT >33] REPEATS 12 TIMES OR ([baz:bar ISSUBSET '1234'] FOLLOWEDBY [baz:quux NOT LIKE 'a_cd'])").inspect();
    assert_eq!(
        ins.observation_ops.iter().cloned().collect::<Vec<_>>(),
        vec!["FOLLOWEDBY", "OR"]
    );
    assert_eq!(
        ins.qualifiers.iter().cloned().collect::<Vec<_>>(),
        vec!["REPEATS 12 TIMES"]
    );
    assert_eq!(
        ins.comparisons_json()["bar"],
        json!([[["foo"], "NOT >", "33"]])
    );
}

#[test]
fn patterns_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Pattern>();
    shared::<Observation>();
}

#[test]
fn time_ordered_hunts_scale() {
    // 3000 events a second apart, alternating kinds; a REPEATS window that never fills
    // and a FOLLOWEDBY that never holds must both finish well within the budget.
    let events: Vec<Observation> = (0..3000)
        .map(|i| {
            let t = Timestamp::from_unix(1_700_000_000 + i, 0);
            Observation::new(
                t.clone(),
                t,
                1,
                vec![json!({"type": "x", "v": i % 2, "i": i})],
                Arc::new(ObjectPool::new()),
            )
        })
        .collect();
    let pat = p("[x:v = 1] REPEATS 5 TIMES WITHIN 7.9 SECONDS").with_search_budget(2_000_000);
    assert!(!pat.matches(&events).unwrap());
    let pat = p("[x:v = 1] REPEATS 5 TIMES WITHIN 8 SECONDS");
    assert!(pat.matches(&events).unwrap());
    let pat =
        p("([x:i = 0] FOLLOWEDBY [x:v = 1]) WITHIN 0.5 SECONDS").with_search_budget(2_000_000);
    assert!(!pat.matches(&events).unwrap());
    let pat = p("[x:i >= 1500] FOLLOWEDBY [x:i < 1500]").with_search_budget(2_000_000);
    assert!(!pat.matches(&events).unwrap());
}
