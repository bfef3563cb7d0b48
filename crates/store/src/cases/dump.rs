//! The export of a whole case ([`CaseDump`]).

use super::{CaseDump, DUMP_FORMAT};
use crate::{CaseStore, Result, now};

impl CaseStore {
    /// Everything in the case, for export.
    pub fn dump_case(&self, case: &str) -> Result<CaseDump> {
        let c = self.case_required(case)?;
        Ok(CaseDump {
            format: DUMP_FORMAT.to_string(),
            exported: now(),
            evidence: self.evidence(case)?,
            custody: self.custody(case)?,
            runs: self.runs(case)?,
            detections: self.stored_detections(c.id)?,
            analysis: self.analysis(case)?,
            incidents: self.incidents(case)?,
            assessments: self.assessments(case)?,
            verdicts: self.verdicts(case)?,
            notes: self.notes(case)?,
            case: c,
        })
    }
}
