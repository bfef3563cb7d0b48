//! `tiaki intel update`: download ATT&CK Enterprise (STIX 2.1), verify it, import it.
//!
//! # Where ATT&CK is published
//!
//! MITRE publishes ATT&CK in STIX 2.1 in the `mitre-attack/attack-stix-data` repository. Its
//! `index.json` lists, per domain collection, every released version with a raw URL of the form
//! `…/enterprise-attack/enterprise-attack-<version>.json` (and its `modified` date); the file
//! without a version, `…/enterprise-attack/enterprise-attack.json`, is always the latest
//! release. [`DEFAULT_URL`] is that latest file; [`versioned_url`] builds the pinned one.
//!
//! # Why a checksum, and where it comes from
//!
//! The knowledge base decides attributions a government may act on; a bundle altered in
//! transit or at a mirror must not get in silently. MITRE's index publishes no checksums, so
//! the expected SHA-256 comes from the analyst: `--sha256 HEX` or the `TIAKI_ATTACK_SHA256`
//! environment variable (for a pinned version, whose digest an organisation records once and
//! distributes with its configuration). A mismatch refuses the import and names both
//! digests. With no expected digest the update refuses to start unless the analyst says
//! `--no-verify`; the digest of what was imported is then recorded in the store's
//! `intel_imports` table either way.
//!
//! The HTTP client is `ureq` (blocking, rustls with the webpki roots): one GET of one file
//! needs no async runtime, and rustls needs no system OpenSSL.

use std::io::Read;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::store::{ImportReport, Store, StoreError, sha256_hex};

/// The latest ATT&CK Enterprise release in STIX 2.1.
pub const DEFAULT_URL: &str = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json";

/// The index of every ATT&CK release in STIX 2.1 (versions and their URLs; no checksums).
pub const INDEX_URL: &str =
    "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/index.json";

/// The environment variable the CLI reads an expected SHA-256 from.
pub const SHA256_ENV: &str = "TIAKI_ATTACK_SHA256";

/// The largest download accepted (ATT&CK Enterprise is about 50 MB).
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// The URL of one ATT&CK Enterprise release, e.g. `versioned_url("18.1")`.
pub fn versioned_url(version: &str) -> String {
    format!(
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack-{version}.json"
    )
}

/// What went wrong with an update.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The expected checksum is not 64 hex digits.
    #[error("--sha256: `{0}` is not a SHA-256 digest (64 hexadecimal digits)")]
    BadDigest(String),
    /// No expected checksum and no `--no-verify`.
    #[error(
        "no SHA-256 to verify {url} against: pass --sha256 HEX or set TIAKI_ATTACK_SHA256 (or, to trust the download as it comes, --no-verify; its SHA-256 is recorded in the store)"
    )]
    NoDigest {
        /// The URL.
        url: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request failed (DNS, connection, TLS, timeout, body too large…).
    #[error("{url}: download failed: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// The client's reason.
        reason: String,
    },
    /// The download does not have the expected digest; nothing was imported.
    #[error(
        "{url}: SHA-256 mismatch, nothing imported: expected {expected}, got {actual} ({bytes} bytes)"
    )]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what was downloaded.
        actual: String,
        /// Bytes downloaded.
        bytes: u64,
    },
    /// The import itself failed (store error, not a bundle…).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How to update.
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    /// Where to download from ([`DEFAULT_URL`] by default).
    pub url: String,
    /// The expected SHA-256, hex (any case).
    pub sha256: Option<String>,
    /// Import without a digest to check against.
    pub allow_unverified: bool,
    /// Give up after this long (the whole request, body included).
    pub timeout: Duration,
    /// Refuse bodies larger than this.
    pub max_bytes: u64,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            sha256: None,
            allow_unverified: false,
            timeout: Duration::from_secs(600),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// A verified download.
#[derive(Clone, Debug, Serialize)]
pub struct Download {
    /// The URL.
    pub url: String,
    /// The body as downloaded (not serialised).
    #[serde(skip)]
    pub body: Vec<u8>,
    /// SHA-256 of the body, hex.
    pub sha256: String,
    /// Whether it was checked against an expected digest.
    pub verified: bool,
    /// Seconds the download took.
    pub seconds: f64,
}

/// Checks an expected digest's syntax and lower-cases it.
pub fn normalize_digest(hex: &str) -> Result<String, UpdateError> {
    let h = hex.trim().to_ascii_lowercase();
    if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(h)
    } else {
        Err(UpdateError::BadDigest(hex.to_owned()))
    }
}

/// Downloads `opts.url` and verifies it; does not import.
pub fn download(opts: &UpdateOptions) -> Result<Download, UpdateError> {
    let expected = match (&opts.sha256, opts.allow_unverified) {
        (Some(h), _) => Some(normalize_digest(h)?),
        (None, true) => None,
        (None, false) => {
            return Err(UpdateError::NoDigest {
                url: opts.url.clone(),
            });
        }
    };
    let t0 = Instant::now();
    let url = opts.url.clone();
    let http = |reason: String| UpdateError::Http {
        url: url.clone(),
        reason,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .user_agent(concat!("tiaki/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut resp = agent.get(&opts.url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => UpdateError::Status {
            url: url.clone(),
            status,
        },
        other => http(other.to_string()),
    })?;
    let mut body = Vec::new();
    resp.body_mut()
        .with_config()
        .limit(opts.max_bytes)
        .reader()
        .read_to_end(&mut body)
        .map_err(|e| http(e.to_string()))?;
    let actual = sha256_hex(&body);
    if let Some(expected) = &expected
        && *expected != actual
    {
        return Err(UpdateError::ChecksumMismatch {
            url: opts.url.clone(),
            expected: expected.clone(),
            actual,
            bytes: body.len() as u64,
        });
    }
    Ok(Download {
        url: opts.url.clone(),
        body,
        sha256: actual,
        verified: expected.is_some(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Downloads, verifies and imports into `store` (one transaction, like any import).
pub fn update(
    store: &mut Store,
    opts: &UpdateOptions,
) -> Result<(Download, ImportReport), UpdateError> {
    let d = download(opts)?;
    let report = store.import_bytes(&d.url, &d.body)?;
    Ok((d, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked_and_normalised() {
        let h = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(normalize_digest(h).unwrap(), h.to_ascii_lowercase());
        assert!(normalize_digest("abc").is_err());
        assert!(normalize_digest(&"g".repeat(64)).is_err());
    }

    #[test]
    fn no_digest_refuses_before_downloading() {
        let opts = UpdateOptions {
            url: "http://127.0.0.1:9/never-contacted".into(),
            ..Default::default()
        };
        assert!(matches!(download(&opts), Err(UpdateError::NoDigest { .. })));
    }

    #[test]
    fn versioned_urls_follow_the_index() {
        assert!(versioned_url("18.1").ends_with("/enterprise-attack/enterprise-attack-18.1.json"));
        assert!(
            DEFAULT_URL
                .starts_with("https://raw.githubusercontent.com/mitre-attack/attack-stix-data/")
        );
    }
}
