//! Runs every shared STIX validator and SCO-id vector and lists every disagreement.

use tiaki_stix::vectors::{run_sco_id_vector, run_validator_vector};

mod common;

use common::run;

#[test]
fn stix_validator_v21_vectors() {
    run("stix-validator-v21.jsonl", 552, &run_validator_vector);
}

#[test]
fn sco_deterministic_id_vectors() {
    run("sco-deterministic-ids.jsonl", 18, &run_sco_id_vector);
}
