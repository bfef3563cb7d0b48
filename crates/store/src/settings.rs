//! Per-case settings: small values a case keeps between hunts, such as the victim's sectors
//! and countries that every re-analysis of the case gives the attribution model.

use rusqlite::{OptionalExtension, params};

use crate::{CaseStore, Result, now};

impl CaseStore {
    /// Sets (or replaces) a case setting.
    pub fn set_case_setting(&mut self, case: &str, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO case_settings (case_name, key, value, updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(case_name, key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                params![case, key, value, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A case setting, if set.
    pub fn case_setting(&self, case: &str, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM case_settings WHERE case_name = ?1 AND key = ?2",
                params![case, key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use crate::CaseStore;

    #[test]
    fn settings_replace_and_read_back() {
        let mut s = CaseStore::in_memory().unwrap();
        assert_eq!(s.case_setting("pdo", "sectors").unwrap(), None);
        s.set_case_setting("pdo", "sectors", "government").unwrap();
        s.set_case_setting("pdo", "sectors", "government,legal")
            .unwrap();
        assert_eq!(
            s.case_setting("pdo", "sectors").unwrap().as_deref(),
            Some("government,legal")
        );
    }
}
