//! Observations: what a pattern is matched against.
//!
//! The STIX matching model is "a pattern matches a set of observations". In STIX 2.1 one
//! observation is one `observed-data` object: a time interval (`first_observed`,
//! `last_observed`), a count (`number_observed`), and the cyber-observable objects its
//! `object_refs` names. References between SCOs (`dst_ref`, `resolves_to_refs`) are
//! followed through a pool of objects. STIX 2.0 observed-data embed their objects in an
//! `objects` dictionary whose keys are the references.
//!
//! A hunt that reads logs has no observed-data: it builds an [`Observation`] per event
//! with [`Observation::new`], from the event's time and the SCOs it derives, and a pool
//! for the references.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::MatchError;
use crate::timestamp::Timestamp;

/// Objects by id (or, for STIX 2.0, by their key in an observed-data's `objects`), for
/// following `_ref` and `_refs` properties.
#[derive(Debug, Clone, Default)]
pub struct ObjectPool {
    objects: HashMap<String, Value>,
}

impl ObjectPool {
    /// An empty pool.
    pub fn new() -> ObjectPool {
        ObjectPool::default()
    }

    /// Adds (or replaces) an object under `id`.
    pub fn insert(&mut self, id: impl Into<String>, object: Value) {
        self.objects.insert(id.into(), object);
    }

    /// The object with this id.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.objects.get(id)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True if the pool holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// A pool of every object of the list that has a string `id`.
    pub fn from_objects(objects: &[Value]) -> ObjectPool {
        let mut pool = ObjectPool::new();
        for o in objects {
            if let Some(id) = o.get("id").and_then(Value::as_str) {
                pool.insert(id, o.clone());
            }
        }
        pool
    }
}

/// One observation: a time interval, how many times it was seen, and its root objects.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The observed-data id, when the observation came from one.
    pub id: Option<String>,
    /// Start of the interval in which the objects were seen.
    pub first_observed: Timestamp,
    /// End of that interval (equal to `first_observed` for a single event).
    pub last_observed: Timestamp,
    /// How many times the objects were seen (at least 1); each counts as a separate
    /// observation for `REPEATS` and for the observation operators.
    pub number_observed: u64,
    /// The root objects a bracket is tested against (SCOs as JSON objects with `type`).
    pub objects: Vec<Value>,
    /// Where `_ref`/`_refs` values are looked up.
    pub pool: Arc<ObjectPool>,
}

impl Observation {
    /// An observation from its parts: the interval, the count (0 is taken as 1), the root
    /// SCOs and the pool for reference lookups (which may be shared between observations).
    pub fn new(
        first_observed: Timestamp,
        last_observed: Timestamp,
        number_observed: u64,
        objects: Vec<Value>,
        pool: Arc<ObjectPool>,
    ) -> Observation {
        Observation {
            id: None,
            first_observed,
            last_observed,
            number_observed: number_observed.max(1),
            objects,
            pool,
        }
    }

    /// The same observation with an id (reported in bindings).
    pub fn with_id(mut self, id: impl Into<String>) -> Observation {
        self.id = Some(id.into());
        self
    }

    /// The observations in a list of STIX objects, as in a bundle's `objects`: one per
    /// `observed-data`, in order. Bundles in the list are opened (their objects are
    /// merged into one list, as the reference matcher does).
    ///
    /// * STIX 2.1: the roots are the objects named by `object_refs`, looked up among all
    ///   the objects of the list (which also serve every `_ref` lookup).
    /// * STIX 2.0: an observed-data without `object_refs` but with an `objects`
    ///   dictionary uses its dictionary as roots and as its own reference pool. Any
    ///   object with `first_observed` and an `objects` dictionary counts as such a
    ///   container (the 2.0 suite also uses `cybox-container`).
    ///
    /// Fails on an observed-data without a valid `first_observed`, or with an invalid
    /// `last_observed`.
    pub fn from_stix_objects(objects: &[Value]) -> Result<Vec<Observation>, MatchError> {
        let mut flat = Vec::new();
        flatten(objects, &mut flat);
        let mut shared = ObjectPool::new();
        for o in &flat {
            if let Some(id) = o.get("id").and_then(Value::as_str) {
                shared.insert(id, (*o).clone());
            }
        }
        let pool = Arc::new(shared);
        let mut out = Vec::new();
        for od in flat.iter().filter(|o| {
            o.get("type").and_then(Value::as_str) == Some("observed-data")
                || (o.get("first_observed").is_some()
                    && o.get("objects").is_some_and(Value::is_object))
        }) {
            let (first, last) = interval(od)?;
            let number = od
                .get("number_observed")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let (roots, obs_pool) =
                if let Some(refs) = od.get("object_refs").and_then(Value::as_array) {
                    let roots = refs
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(|id| pool.get(id).cloned())
                        .collect();
                    (roots, Arc::clone(&pool))
                } else if let Some(embedded) = od.get("objects").and_then(Value::as_object) {
                    let mut p = ObjectPool::new();
                    for (k, v) in embedded {
                        p.insert(k.clone(), v.clone());
                    }
                    (embedded.values().cloned().collect(), Arc::new(p))
                } else {
                    (Vec::new(), Arc::clone(&pool))
                };
            let mut o = Observation::new(first, last, number, roots, obs_pool);
            o.id = od.get("id").and_then(Value::as_str).map(str::to_string);
            out.push(o);
        }
        Ok(out)
    }

    /// `first_observed` and `last_observed` in nanoseconds since the epoch.
    pub(crate) fn interval_nanos(&self) -> (i128, i128) {
        (nanos(&self.first_observed), nanos(&self.last_observed))
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn nanos(t: &Timestamp) -> i128 {
    i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.subsec_nanos())
}

fn flatten<'a>(objects: &'a [Value], out: &mut Vec<&'a Value>) {
    for o in objects {
        if o.get("type").and_then(Value::as_str) == Some("bundle") {
            if let Some(inner) = o.get("objects").and_then(Value::as_array) {
                flatten(inner, out);
            }
        } else {
            out.push(o);
        }
    }
}

fn interval(od: &Value) -> Result<(Timestamp, Timestamp), MatchError> {
    let id = od
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("observed-data");
    let get = |name: &str| -> Result<Option<Timestamp>, MatchError> {
        match od.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Timestamp::parse(s)
                .map(Some)
                .map_err(|_| MatchError::InvalidTimestamp(format!("{id}: {name} '{s}'"))),
            Some(other) => Err(MatchError::InvalidTimestamp(format!(
                "{id}: {name} is not a string: {other}"
            ))),
        }
    };
    let first = get("first_observed")?
        .ok_or_else(|| MatchError::InvalidTimestamp(format!("{id}: no first_observed")))?;
    let last = get("last_observed")?.unwrap_or_else(|| first.clone());
    Ok((first, last))
}
