//! Users, roles, API tokens, console sessions and per-collection permissions.
//!
//! # Why tokens look like `tiaki_<id>_<secret>`
//!
//! The id is a lookup key that may appear in logs and listings; only the secret is a
//! credential, and only its SHA-256 is stored. A token of 32 random bytes needs no slow
//! password hash: SHA-256 of a 256-bit secret cannot be brute-forced, and the comparison of
//! the hashes runs in constant time (`subtle`) so response timing says nothing about how
//! much of a guess was right. The same scheme backs console sessions (a cookie holding a
//! session token) and HTTP Basic for TAXII clients (the user name, and a token as the
//! password), which is what taxii2-client and medallion speak.
//!
//! # Roles
//!
//! `read` sees cases and the collections granted to it; `write` may also hunt into cases,
//! record verdicts and notes, and post to collections it may write; `admin` manages users,
//! tokens and collections and sees everything. Per-collection grants narrow what `read` and
//! `write` users reach through TAXII.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{CaseStore, Result, StoreError, now, sha256_hex};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// See cases and granted collections.
    Read,
    /// Also change cases (hunts, verdicts, notes) and post to writable collections.
    Write,
    /// Also manage users, tokens and collections; sees everything.
    Admin,
}

impl Role {
    /// `read`, `write` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// Parses `read`, `write` or `admin`.
    pub fn parse(s: &str) -> Result<Role> {
        match s.to_ascii_lowercase().as_str() {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "admin" => Ok(Role::Admin),
            other => Err(StoreError::Invalid(format!(
                "'{other}' is not a role (expected read, write or admin)"
            ))),
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user's name.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// A partner account: TAXII only, refused by the console and the JSON API.
    pub partner: bool,
}

impl Principal {
    /// Whether the user's role is at least `role`.
    pub fn has(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When the user was created.
    pub created: String,
    /// Disabled users cannot authenticate.
    pub disabled: bool,
    /// A partner account (TAXII only).
    pub partner: bool,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The public id.
    pub id: String,
    /// The owner.
    pub user: String,
    /// What it is for.
    pub label: String,
    /// When it was issued.
    pub created: String,
    /// When it was last used, if ever.
    pub last_used: Option<String>,
    /// Revoked tokens cannot authenticate.
    pub revoked: bool,
}

/// What a user may do with one TAXII collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Access {
    /// May read objects.
    pub can_read: bool,
    /// May add objects.
    pub can_write: bool,
}

/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Splits `tiaki_<id>_<secret>` (or `tiakis_…` for sessions) into id and secret.
fn split_token<'a>(token: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    if id.is_empty() || secret.is_empty() || id.len() > 64 || secret.len() > 256 {
        return None;
    }
    Some((id, secret))
}

/// Constant-time equality of two hex hashes.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn valid_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "'{name}' is not a valid user name (1-64 of A-Z a-z 0-9 . - _ @)"
        )))
    }
}

impl CaseStore {
    /// Creates a user, or changes the role of an existing one.
    pub fn upsert_user(&mut self, name: &str, role: Role) -> Result<()> {
        valid_name(name)?;
        self.conn
            .execute(
                "INSERT INTO auth_users (name, role, created) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET role = excluded.role,
                   partner = CASE WHEN excluded.role = 'admin' THEN 0 ELSE partner END",
                params![name, role.as_str(), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Marks a user as a partner account (TAXII only: the console and the JSON API refuse it)
    /// or not. An admin cannot be a partner account.
    pub fn set_user_partner(&mut self, name: &str, partner: bool) -> Result<()> {
        if partner && self.user_role(name)?.is_some_and(|(r, _)| r == Role::Admin) {
            return Err(StoreError::Invalid(format!(
                "'{name}' is an admin; a partner account is read or write"
            )));
        }
        self.set_user_flag(
            name,
            "UPDATE auth_users SET partner = ?2 WHERE name = ?1",
            partner,
        )
    }

    /// Enables or disables a user (a disabled user's tokens and sessions stop working).
    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        self.set_user_flag(
            name,
            "UPDATE auth_users SET disabled = ?2 WHERE name = ?1",
            disabled,
        )
    }

    /// Runs `sql` (an UPDATE of one flag of user `?1` to `?2`); the user must exist.
    fn set_user_flag(&mut self, name: &str, sql: &str, value: bool) -> Result<()> {
        let n = self
            .conn
            .execute(sql, params![name, value])
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "user",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut st = self
            .conn
            .prepare("SELECT name, role, created, disabled, partner FROM auth_users ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, created, disabled, partner) = row.map_err(|e| self.err(e))?;
            out.push(User {
                name,
                role: Role::parse(&role)?,
                created,
                disabled,
                partner,
            });
        }
        Ok(out)
    }

    /// Issues an API token for `user`. The returned string is the only copy of the secret.
    pub fn issue_token(&mut self, user: &str, label: &str) -> Result<String> {
        self.user_role(user)?.ok_or_else(|| StoreError::NotFound {
            kind: "user",
            name: user.to_owned(),
        })?;
        let id = random_hex(6)?;
        let secret = random_hex(32)?;
        self.conn
            .execute(
                "INSERT INTO auth_tokens (id, user, hash, label, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user, sha256_hex(secret.as_bytes()), label, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(format!("tiaki_{id}_{secret}"))
    }

    /// Revokes a token by its public id.
    pub fn revoke_token(&mut self, id: &str) -> Result<()> {
        let n = self
            .conn
            .execute("UPDATE auth_tokens SET revoked = 1 WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "token",
                name: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Every token (never the secrets), newest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, user, label, created, last_used, revoked FROM auth_tokens
                 ORDER BY created DESC",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    label: r.get(2)?,
                    created: r.get(3)?,
                    last_used: r.get(4)?,
                    revoked: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    fn user_role(&self, user: &str) -> Result<Option<(Role, bool)>> {
        let row: Option<(String, bool)> = self
            .conn
            .query_row(
                "SELECT role, partner FROM auth_users WHERE name = ?1 AND disabled = 0",
                [user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(r, p)| Ok((Role::parse(&r)?, p))).transpose()
    }

    /// The user an API token belongs to, if the token is valid (issued, not revoked, user
    /// enabled). Records when the token was last used.
    pub fn authenticate_token(&mut self, token: &str) -> Result<Option<Principal>> {
        let Some((id, secret)) = split_token(token, "tiaki") else {
            return Ok(None);
        };
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT user, hash FROM auth_tokens WHERE id = ?1 AND revoked = 0",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        // Hash even when the id is unknown, so both paths cost the same.
        let presented = sha256_hex(secret.as_bytes());
        let Some((user, stored)) = row else {
            let _ = same_hash(&presented, &presented);
            return Ok(None);
        };
        if !same_hash(&presented, &stored) {
            return Ok(None);
        }
        let Some((role, partner)) = self.user_role(&user)? else {
            return Ok(None);
        };
        self.conn
            .execute(
                "UPDATE auth_tokens SET last_used = ?2 WHERE id = ?1",
                params![id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(Some(Principal {
            user,
            role,
            partner,
        }))
    }

    /// HTTP Basic as TAXII clients send it: the user name, and one of that user's tokens as
    /// the password.
    pub fn authenticate_basic(&mut self, user: &str, password: &str) -> Result<Option<Principal>> {
        Ok(self
            .authenticate_token(password)?
            .filter(|p| same_hash(&sha256_hex(p.user.as_bytes()), &sha256_hex(user.as_bytes()))))
    }

    /// Opens a console session for `user` (after a successful token login); returns the
    /// cookie value.
    pub fn create_session(&mut self, user: &str) -> Result<String> {
        let id = random_hex(6)?;
        let secret = random_hex(32)?;
        let expires = (chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS))
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        self.conn
            .execute(
                "INSERT INTO auth_sessions (id, user, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user, sha256_hex(secret.as_bytes()), now(), expires],
            )
            .map_err(|e| self.err(e))?;
        Ok(format!("tiakis_{id}_{secret}"))
    }

    /// The user of a live console session.
    pub fn authenticate_session(&mut self, cookie: &str) -> Result<Option<Principal>> {
        let Some((id, secret)) = split_token(cookie, "tiakis") else {
            return Ok(None);
        };
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT user, hash FROM auth_sessions WHERE id = ?1 AND expires > ?2",
                params![id, now()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let presented = sha256_hex(secret.as_bytes());
        let Some((user, stored)) = row else {
            return Ok(None);
        };
        if !same_hash(&presented, &stored) {
            return Ok(None);
        }
        Ok(self.user_role(&user)?.map(|(role, partner)| Principal {
            user,
            role,
            partner,
        }))
    }

    /// Ends a console session (logout).
    pub fn end_session(&mut self, cookie: &str) -> Result<()> {
        if let Some((id, _)) = split_token(cookie, "tiakis") {
            self.conn
                .execute("DELETE FROM auth_sessions WHERE id = ?1", [id])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Grants (or changes) a user's access to one TAXII collection.
    pub fn grant(&mut self, user: &str, collection_id: &str, access: Access) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO auth_grants (user, collection_id, can_read, can_write) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user, collection_id) DO UPDATE SET can_read = excluded.can_read, can_write = excluded.can_write",
                params![user, collection_id, access.can_read, access.can_write],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// What `who` may do with a collection: admins everything; others what they were granted,
    /// and writing only with the `write` role.
    pub fn access(&self, who: &Principal, collection_id: &str) -> Result<Access> {
        if who.role == Role::Admin {
            return Ok(Access {
                can_read: true,
                can_write: true,
            });
        }
        let row: Option<(bool, bool)> = self
            .conn
            .query_row(
                "SELECT can_read, can_write FROM auth_grants WHERE user = ?1 AND collection_id = ?2",
                params![who.user, collection_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let (r, w) = row.unwrap_or((false, false));
        Ok(Access {
            can_read: r,
            can_write: w && who.has(Role::Write),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> CaseStore {
        let mut s = CaseStore::in_memory().unwrap();
        s.upsert_user("ana", Role::Write).unwrap();
        s.upsert_user("root", Role::Admin).unwrap();
        s
    }

    #[test]
    fn tokens_authenticate_and_are_stored_hashed() {
        let mut s = store();
        let t = s.issue_token("ana", "laptop").unwrap();
        let p = s.authenticate_token(&t).unwrap().unwrap();
        assert_eq!(p.user, "ana");
        assert_eq!(p.role, Role::Write);
        let secret = t.rsplit('_').next().unwrap();
        let stored: String = s
            .conn
            .query_row("SELECT hash FROM auth_tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, secret);
        assert_eq!(stored, sha256_hex(secret.as_bytes()));
        assert!(s.tokens().unwrap()[0].last_used.is_some());
    }

    #[test]
    fn wrong_revoked_and_disabled_tokens_fail() {
        let mut s = store();
        let t = s.issue_token("ana", "").unwrap();
        let mut bad = t.clone();
        bad.pop();
        bad.push('x');
        assert!(s.authenticate_token(&bad).unwrap().is_none());
        assert!(s.authenticate_token("nonsense").unwrap().is_none());
        assert!(s.authenticate_token("tiaki__").unwrap().is_none());
        s.set_user_disabled("ana", true).unwrap();
        assert!(s.authenticate_token(&t).unwrap().is_none());
        s.set_user_disabled("ana", false).unwrap();
        assert!(s.authenticate_token(&t).unwrap().is_some());
        let id = s.tokens().unwrap()[0].id.clone();
        s.revoke_token(&id).unwrap();
        assert!(s.authenticate_token(&t).unwrap().is_none());
    }

    #[test]
    fn basic_auth_needs_the_owner_name() {
        let mut s = store();
        let t = s.issue_token("ana", "").unwrap();
        assert!(s.authenticate_basic("ana", &t).unwrap().is_some());
        assert!(s.authenticate_basic("root", &t).unwrap().is_none());
    }

    #[test]
    fn sessions_open_and_close() {
        let mut s = store();
        let c = s.create_session("ana").unwrap();
        assert_eq!(s.authenticate_session(&c).unwrap().unwrap().user, "ana");
        assert!(s.authenticate_token(&c).unwrap().is_none());
        s.end_session(&c).unwrap();
        assert!(s.authenticate_session(&c).unwrap().is_none());
    }

    #[test]
    fn grants_narrow_collections_and_admin_sees_all() {
        let mut s = store();
        s.upsert_user("reader", Role::Read).unwrap();
        let ana = Principal {
            user: "ana".into(),
            role: Role::Write,
            partner: false,
        };
        let reader = Principal {
            user: "reader".into(),
            role: Role::Read,
            partner: true,
        };
        let root = Principal {
            user: "root".into(),
            role: Role::Admin,
            partner: false,
        };
        assert_eq!(s.access(&ana, "c1").unwrap(), Access::default());
        let rw = Access {
            can_read: true,
            can_write: true,
        };
        s.grant("ana", "c1", rw).unwrap();
        s.grant("reader", "c1", rw).unwrap();
        assert_eq!(s.access(&ana, "c1").unwrap(), rw);
        // A read-role user never writes, whatever the grant says.
        assert_eq!(
            s.access(&reader, "c1").unwrap(),
            Access {
                can_read: true,
                can_write: false
            }
        );
        assert_eq!(s.access(&root, "zz").unwrap(), rw);
    }

    #[test]
    fn bad_names_and_roles_are_refused() {
        let mut s = store();
        assert!(s.upsert_user("a b", Role::Read).is_err());
        assert!(Role::parse("owner").is_err());
        assert!(s.issue_token("nobody", "").is_err());
    }

    #[test]
    fn partner_accounts_are_marked_on_every_credential() {
        let mut s = store();
        s.upsert_user("cert-au", Role::Read).unwrap();
        s.set_user_partner("cert-au", true).unwrap();
        let t = s.issue_token("cert-au", "taxii").unwrap();
        assert!(s.authenticate_token(&t).unwrap().unwrap().partner);
        assert!(
            s.authenticate_basic("cert-au", &t)
                .unwrap()
                .unwrap()
                .partner
        );
        let c = s.create_session("cert-au").unwrap();
        assert!(s.authenticate_session(&c).unwrap().unwrap().partner);
        assert!(
            s.users()
                .unwrap()
                .iter()
                .any(|u| u.name == "cert-au" && u.partner)
        );
        // An admin cannot be one; an unknown user is named.
        s.upsert_user("root", Role::Admin).unwrap();
        assert!(s.set_user_partner("root", true).is_err());
        assert!(s.set_user_partner("nobody", true).is_err());
        s.set_user_partner("cert-au", false).unwrap();
        assert!(!s.authenticate_token(&t).unwrap().unwrap().partner);
    }
}
