//! The one error type of the crate.
//!
//! Every variant names what failed (the URL, the object, the field) and why, so the CLI can
//! print it as is: a partner's TAXII server failing must be diagnosable from the message alone.

use tiaki_stix::Tlp;

/// What went wrong while exporting or talking to a TAXII server.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// A timestamp given to the export is not RFC 3339.
    #[error("{field}: {value:?} is not an RFC 3339 timestamp")]
    InvalidTime {
        /// Which input (`now`, `incident INC-001 first_seen`…).
        field: String,
        /// The value given.
        value: String,
    },
    /// Every object was withheld: the case is above the destination's ceiling.
    #[error(
        "nothing to share from case {case:?}: all {withheld} objects are above the destination \
         ceiling {ceiling} (case TLP {case_tlp})"
    )]
    NothingToShare {
        /// The case name.
        case: String,
        /// The case's TLP.
        case_tlp: Tlp,
        /// The destination ceiling.
        ceiling: Tlp,
        /// How many objects were withheld.
        withheld: usize,
    },
    /// A URL that cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an HTTP error (a TAXII error resource when it sent one).
    #[error("{method} {url}: HTTP {status}: {title}{}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Http {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The error resource's `title`, or the status text.
        title: String,
        /// The error resource's `description`, or the start of the body.
        description: Option<String>,
    },
    /// The request did not complete (connection refused, timeout, TLS).
    #[error("{method} {url}: {reason}")]
    Transport {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server answered, but not as TAXII 2.1 requires.
    #[error("{url}: not a TAXII 2.1 response: {reason}")]
    Protocol {
        /// The URL requested.
        url: String,
        /// What was wrong (media type, JSON, missing field).
        reason: String,
    },
    /// One object is larger than the API root accepts in a request.
    #[error(
        "object {id} is {size} bytes as an envelope, over the max_content_length {max} of {url}"
    )]
    TooLarge {
        /// The object's id.
        id: String,
        /// Its size in an envelope of its own.
        size: usize,
        /// The API root's `max_content_length`.
        max: usize,
        /// The API root.
        url: String,
    },
    /// A status resource was still pending when the wait ended.
    #[error("{url}: status still {status:?} after {secs} s")]
    StatusTimeout {
        /// The status URL.
        url: String,
        /// The last status seen.
        status: String,
        /// How long we waited.
        secs: u64,
    },
    /// Pagination did not end.
    #[error("{url}: still more objects after {pages} pages; giving up")]
    Pagination {
        /// The objects URL.
        url: String,
        /// Pages read.
        pages: usize,
    },
}
