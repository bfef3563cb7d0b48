//! The TAXII store on an in-memory database: filters, version selection, pagination,
//! `added_after` exclusivity, duplicates and the TLP ceiling.

use serde_json::{Value, json};
use tiaki_stix::tlp::Tlp;

use super::*;

fn store_with(max_tlp: Tlp) -> (CaseStore, String) {
    let mut s = CaseStore::in_memory().unwrap();
    let c = s
        .create_collection(NewCollection {
            title: "shared".into(),
            description: String::new(),
            alias: Some("shared".into()),
            max_tlp,
        })
        .unwrap();
    (s, c.id)
}

fn sdo(ty: &str, n: u32, modified: &str) -> Value {
    json!({"type": ty, "spec_version": "2.1", "id": format!("{ty}--00000000-0000-4000-8000-{n:012}"),
           "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": format!("{ty} {n}")})
}

fn ids(p: &ObjectPage) -> Vec<String> {
    p.items
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn collections_are_created_listed_and_found() {
    let (mut s, id) = store_with(Tlp::Amber);
    let c = s.collection(&id).unwrap();
    assert_eq!(
        (c.title.as_str(), c.max_tlp, c.api_root.as_str()),
        ("shared", Tlp::Amber, "tiaki")
    );
    assert_eq!(s.collections().unwrap().len(), 1);
    assert!(matches!(
        s.collection("nope"),
        Err(StoreError::NotFound { .. })
    ));
    let dup = s.create_collection(NewCollection {
        title: "again".into(),
        description: String::new(),
        alias: Some("shared".into()),
        max_tlp: Tlp::Clear,
    });
    assert!(matches!(dup, Err(StoreError::Invalid(_))));
    assert_eq!(s.api_roots().unwrap()[0].name, DEFAULT_API_ROOT);
    assert_eq!(uuid_v4().unwrap().len(), 36);
}

#[test]
fn filters_by_id_type_and_spec_version() {
    let (mut s, c) = store_with(Tlp::AmberStrict);
    let objs = [
        sdo("indicator", 1, "2024-01-01T00:00:00Z"),
        sdo("malware", 2, "2024-01-01T00:00:00Z"),
        sdo("sighting", 3, "2024-01-01T00:00:00Z"),
    ];
    let st = s.add_objects(&c, &objs).unwrap();
    assert_eq!(
        (st.total_count, st.success_count, st.failure_count),
        (3, 3, 0)
    );
    let q = |types: &[&str]| ObjectQuery {
        types: types.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    assert_eq!(
        s.query_objects(&c, &q(&["indicator", "sighting"]))
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(s.query_objects(&c, &q(&[])).unwrap().items.len(), 3);
    let by_id = ObjectQuery {
        ids: vec![objs[1]["id"].as_str().unwrap().into()],
        ..Default::default()
    };
    assert_eq!(
        ids(&s.query_objects(&c, &by_id).unwrap()),
        vec![objs[1]["id"].as_str().unwrap()]
    );
    let v20 = ObjectQuery {
        spec_versions: vec!["2.0".into()],
        ..Default::default()
    };
    assert!(s.query_objects(&c, &v20).unwrap().items.is_empty());
    let v21 = ObjectQuery {
        spec_versions: vec!["2.1".into()],
        ..Default::default()
    };
    assert_eq!(s.query_objects(&c, &v21).unwrap().items.len(), 3);
}

#[test]
fn version_selection_first_last_all_and_timestamp() {
    let (mut s, c) = store_with(Tlp::AmberStrict);
    // Newer version posted first: "last" goes by version, not by arrival.
    s.add_objects(&c, &[sdo("indicator", 1, "2024-03-01T00:00:00.000Z")])
        .unwrap();
    s.add_objects(&c, &[sdo("indicator", 1, "2024-02-01T00:00:00Z")])
        .unwrap();
    let get = |s: &CaseStore, v: &str| {
        let q = ObjectQuery {
            versions: VersionSel::parse(v).unwrap(),
            ..Default::default()
        };
        s.query_objects(&c, &q)
            .unwrap()
            .items
            .iter()
            .map(|o| o["modified"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(get(&s, "last"), vec!["2024-03-01T00:00:00.000Z"]);
    assert_eq!(get(&s, "first"), vec!["2024-02-01T00:00:00Z"]);
    assert_eq!(get(&s, "all").len(), 2);
    assert_eq!(get(&s, "first,last").len(), 2);
    assert_eq!(
        get(&s, "2024-02-01T00:00:00.000Z"),
        vec!["2024-02-01T00:00:00Z"]
    );
    assert_eq!(
        s.query_objects(&c, &ObjectQuery::default())
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(VersionSel::parse("newest").is_err());
    let id = "indicator--00000000-0000-4000-8000-000000000001";
    let vs = s.versions(&c, id, &ObjectQuery::default()).unwrap();
    assert_eq!(
        vs.items,
        vec!["2024-03-01T00:00:00.000Z", "2024-02-01T00:00:00Z"]
    );
    let m = s.manifest(&c, &ObjectQuery::default()).unwrap();
    assert_eq!(m.items[0].version, "2024-03-01T00:00:00.000Z");
    assert_eq!(m.items[0].media_type, STIX_MEDIA_TYPE);
    // Delete the first version only, then the rest.
    assert_eq!(
        s.delete_object(&c, id, &VersionSel::parse("first").unwrap(), &[])
            .unwrap(),
        1
    );
    assert_eq!(get(&s, "all"), vec!["2024-03-01T00:00:00.000Z"]);
    assert_eq!(s.delete_object(&c, id, &VersionSel::all(), &[]).unwrap(), 1);
    assert!(!s.has_object(&c, id).unwrap());
    assert!(matches!(
        s.delete_object(&c, id, &VersionSel::all(), &[]),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn pagination_has_no_duplicates_and_added_after_is_exclusive() {
    let (mut s, c) = store_with(Tlp::AmberStrict);
    let objs: Vec<Value> = (0..7)
        .map(|n| sdo("indicator", n, "2024-01-01T00:00:00Z"))
        .collect();
    s.add_objects(&c, &objs).unwrap();
    let mut seen = vec![];
    let mut q = ObjectQuery {
        limit: Some(3),
        types: vec!["indicator".into()],
        ..Default::default()
    };
    let mut pages = 0;
    loop {
        let p = s.query_objects(&c, &q).unwrap();
        pages += 1;
        assert!(p.items.len() <= 3);
        seen.extend(ids(&p));
        if !p.more {
            assert!(p.next.is_none());
            break;
        }
        q.next = Some(p.next.expect("next always sent with more"));
    }
    assert_eq!(pages, 3);
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!((seen.len(), dedup.len()), (7, 7));
    // The cursor refuses other filters.
    let other = ObjectQuery {
        next: q.next.clone(),
        types: vec!["malware".into()],
        ..q.clone()
    };
    assert!(matches!(
        s.query_objects(&c, &other),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.query_objects(
            &c,
            &ObjectQuery {
                next: Some("zz".into()),
                ..Default::default()
            }
        ),
        Err(StoreError::Invalid(_))
    ));
    // date_added strictly increases; added_after excludes its own bound.
    let all = s.manifest(&c, &ObjectQuery::default()).unwrap();
    let dates: Vec<&String> = all.items.iter().map(|m| &m.date_added).collect();
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
    let q = ObjectQuery {
        added_after: Some(all.items[3].date_added.clone()),
        ..Default::default()
    };
    let after = s.query_objects(&c, &q).unwrap();
    assert_eq!(after.items.len(), 3);
    assert_eq!(after.first_added.as_ref(), Some(&all.items[4].date_added));
    let q = ObjectQuery {
        added_after: Some(all.last_added.clone().unwrap()),
        ..Default::default()
    };
    assert!(s.query_objects(&c, &q).unwrap().items.is_empty());
    let q = ObjectQuery {
        added_after: Some("yesterday".into()),
        ..Default::default()
    };
    assert!(matches!(
        s.query_objects(&c, &q),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn tlp_ceiling_refuses_objects_above_it() {
    let (mut s, c) = store_with(Tlp::Green);
    let mut amber = sdo("indicator", 1, "2024-01-01T00:00:00Z");
    amber["object_marking_refs"] = json!([Tlp::Amber.marking_id()]);
    let mut green = sdo("indicator", 2, "2024-01-01T00:00:00Z");
    green["object_marking_refs"] = json!([Tlp::Green.marking_id_v1().unwrap()]);
    let mut red_part = sdo("indicator", 3, "2024-01-01T00:00:00Z");
    red_part["granular_markings"] =
        json!([{"marking_ref": Tlp::Red.marking_id(), "selectors": ["name"]}]);
    let unmarked = sdo("indicator", 4, "2024-01-01T00:00:00Z");
    let st = s
        .add_objects(&c, &[amber, green, red_part, unmarked])
        .unwrap();
    assert_eq!((st.success_count, st.failure_count), (2, 2));
    assert!(
        st.failures[0]
            .message
            .as_deref()
            .unwrap()
            .contains("above the collection's TLP ceiling")
    );
    assert_eq!(
        s.query_objects(&c, &ObjectQuery::default())
            .unwrap()
            .items
            .len(),
        2
    );
    let back = s.status(&st.id).unwrap();
    assert_eq!(back, st);
}

#[test]
fn invalid_objects_and_duplicates() {
    let (mut s, c) = store_with(Tlp::AmberStrict);
    let sco = json!({"type": "ipv4-addr", "id": "ipv4-addr--00000000-0000-5000-8000-000000000001", "value": "198.51.100.7"});
    let st = s
        .add_objects(&c, &[
            json!({"id": "indicator--x"}),
            json!({"type": "indicator", "id": "malware--00000000-0000-4000-8000-000000000001"}),
            json!({"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000009", "spec_version": "2.0"}),
            json!({"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000009", "modified": "soon"}),
            sco.clone(),
            sdo("malware", 1, "2024-01-01T00:00:00Z"),
        ])
        .unwrap();
    assert_eq!(
        (st.success_count, st.failure_count, st.total_count),
        (2, 4, 6)
    );
    // Identical re-post: success, nothing added; same version, other content: failure.
    let mut changed = sdo("malware", 1, "2024-01-01T00:00:00.000Z");
    changed["name"] = json!("renamed");
    let mut sco2 = sco.clone();
    sco2["value"] = json!("198.51.100.8");
    let st = s
        .add_objects(
            &c,
            &[
                sco.clone(),
                sdo("malware", 1, "2024-01-01T00:00:00Z"),
                changed,
                sco2,
            ],
        )
        .unwrap();
    assert_eq!((st.success_count, st.failure_count), (2, 2));
    let m = s.manifest(&c, &ObjectQuery::default()).unwrap();
    assert_eq!(m.items.len(), 2);
    let sco_rec = m.items.iter().find(|r| r.id.starts_with("ipv4")).unwrap();
    assert_eq!(
        sco_rec.version, sco_rec.date_added,
        "unversioned objects are versioned by date_added"
    );
    assert!(matches!(s.status("nope"), Err(StoreError::NotFound { .. })));
}

#[test]
fn a_collection_cannot_have_a_red_ceiling() {
    let mut s = CaseStore::in_memory().unwrap();
    let e = s
        .create_collection(NewCollection {
            title: "red".into(),
            description: String::new(),
            alias: None,
            max_tlp: Tlp::Red,
        })
        .unwrap_err();
    assert!(e.to_string().contains("cannot serve TLP:RED"), "{e}");
    assert!(s.collections().unwrap().is_empty());
}
