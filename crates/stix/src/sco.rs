//! Typed views of the STIX cyber-observable objects (SCOs) tiaki meets in evidence.
//!
//! SCOs are the facts of a case: addresses, domains, URLs, files and hashes, processes,
//! registry keys, accounts. They carry no `created`/`modified`; their ids are
//! deterministic (see [`crate::sco_id`]), so the same address seen by two agencies gets the
//! same id. Build one with [`crate::sco_id::new_sco`].

use serde_json::{Map, Value};

use crate::timestamp::Timestamp;

stix_view! {
    /// `ipv4-addr`: an IPv4 address or CIDR block.
    Ipv4Addr = "ipv4-addr" {
        /// The address, e.g. `198.51.100.7` or `198.51.100.0/24`.
        value: String,
        /// MAC addresses it resolves to.
        resolves_to_refs: Vec<String>,
        /// Autonomous systems it belongs to.
        belongs_to_refs: Vec<String>,
    }
}

stix_view! {
    /// `ipv6-addr`: an IPv6 address or CIDR block.
    Ipv6Addr = "ipv6-addr" {
        /// The address.
        value: String,
        /// MAC addresses it resolves to.
        resolves_to_refs: Vec<String>,
        /// Autonomous systems it belongs to.
        belongs_to_refs: Vec<String>,
    }
}

stix_view! {
    /// `domain-name`: a DNS name.
    DomainName = "domain-name" {
        /// The name.
        value: String,
        /// What it resolves to (addresses, other domains).
        resolves_to_refs: Vec<String>,
    }
}

stix_view! {
    /// `url`: a URL.
    Url = "url" {
        /// The URL.
        value: String,
    }
}

stix_view! {
    /// `email-addr`: an e-mail address.
    EmailAddr = "email-addr" {
        /// The address.
        value: String,
        /// The display name.
        display_name: String,
        /// The user account it belongs to.
        belongs_to_ref: String,
    }
}

stix_view! {
    /// `mac-addr`: a MAC address (lower-case, colon-separated).
    MacAddr = "mac-addr" {
        /// The address.
        value: String,
    }
}

stix_view! {
    /// `file`: a file, by hashes and/or name.
    File = "file" {
        /// Hashes by algorithm (`MD5`, `SHA-1`, `SHA-256`, …).
        hashes: Map<String, Value>,
        /// Size in bytes.
        size: u64,
        /// The file name.
        name: String,
        /// The name's character set.
        name_enc: String,
        /// The magic number, hex.
        magic_number_hex: String,
        /// The MIME type.
        mime_type: String,
        /// Created.
        ctime: Timestamp,
        /// Modified.
        mtime: Timestamp,
        /// Accessed.
        atime: Timestamp,
        /// The directory it is in.
        parent_directory_ref: String,
        /// Files contained (archives).
        contains_refs: Vec<String>,
        /// An artifact with the content.
        content_ref: String,
    }
}

stix_view! {
    /// `network-traffic`: a flow between two endpoints.
    NetworkTraffic = "network-traffic" {
        /// Start.
        start: Timestamp,
        /// End.
        end: Timestamp,
        /// Whether the traffic is ongoing.
        is_active: bool,
        /// Source address object.
        src_ref: String,
        /// Destination address object.
        dst_ref: String,
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Protocols, outermost first (`ipv4`, `tcp`, `http`).
        protocols: Vec<String>,
        /// Bytes sent by the source.
        src_byte_count: u64,
        /// Bytes sent by the destination.
        dst_byte_count: u64,
    }
}

stix_view! {
    /// `mutex`: a named mutual-exclusion object.
    Mutex = "mutex" {
        /// The name.
        name: String,
    }
}

stix_view! {
    /// `windows-registry-key`: a registry key and its values.
    WindowsRegistryKey = "windows-registry-key" {
        /// The full key, with the hive spelled out (`HKEY_LOCAL_MACHINE\…`).
        key: String,
        /// The values.
        values: Vec<Value>,
        /// Last modified.
        modified_time: Timestamp,
        /// The account that created it.
        creator_user_ref: String,
        /// Number of subkeys.
        number_of_subkeys: u64,
    }
}

stix_view! {
    /// `process`: a running program.
    Process = "process" {
        /// Whether it is hidden.
        is_hidden: bool,
        /// Process id.
        pid: i64,
        /// When it was created.
        created_time: Timestamp,
        /// Working directory.
        cwd: String,
        /// The full command line.
        command_line: String,
        /// Environment variables.
        environment_variables: Map<String, Value>,
        /// Connections it opened.
        opened_connection_refs: Vec<String>,
        /// The account it runs as.
        creator_user_ref: String,
        /// The executable file.
        image_ref: String,
        /// The parent process.
        parent_ref: String,
        /// Child processes.
        child_refs: Vec<String>,
    }
}

stix_view! {
    /// `user-account`: an account on a system or service.
    UserAccount = "user-account" {
        /// The account's identifier (SID, UID).
        user_id: String,
        /// The login name.
        account_login: String,
        /// Account type vocabulary (`unix`, `windows-local`, `windows-domain`, …).
        account_type: String,
        /// The display name.
        display_name: String,
        /// Whether it is a service account.
        is_service_account: bool,
        /// Whether it is privileged.
        is_privileged: bool,
        /// Whether it is disabled.
        is_disabled: bool,
        /// Last login.
        account_last_login: Timestamp,
    }
}

stix_view! {
    /// `software`: a software product.
    Software = "software" {
        /// The name.
        name: String,
        /// The CPE 2.3 name.
        cpe: String,
        /// The SWID tag.
        swid: String,
        /// Supported languages (RFC 5646 codes).
        languages: Vec<String>,
        /// The vendor.
        vendor: String,
        /// The version.
        version: String,
    }
}

stix_view! {
    /// `directory`: a file-system directory.
    Directory = "directory" {
        /// The path.
        path: String,
        /// The path's character set.
        path_enc: String,
        /// Contents.
        contains_refs: Vec<String>,
    }
}

stix_view! {
    /// `artifact`: raw bytes, inline (`payload_bin`) or by `url` plus `hashes`.
    Artifact = "artifact" {
        /// The MIME type.
        mime_type: String,
        /// The content, base64.
        payload_bin: String,
        /// Where the content is.
        url: String,
        /// Hashes of the content.
        hashes: Map<String, Value>,
        /// Encryption algorithm of the content.
        encryption_algorithm: String,
        /// The key to decrypt it.
        decryption_key: String,
    }
}

stix_view! {
    /// `x509-certificate`: a certificate.
    X509Certificate = "x509-certificate" {
        /// Whether it is self-signed.
        is_self_signed: bool,
        /// Hashes of the encoded certificate.
        hashes: Map<String, Value>,
        /// The serial number.
        serial_number: String,
        /// The issuer DN.
        issuer: String,
        /// The subject DN.
        subject: String,
        /// Not valid before.
        validity_not_before: Timestamp,
        /// Not valid after.
        validity_not_after: Timestamp,
    }
}

stix_view! {
    /// `autonomous-system`: an AS.
    AutonomousSystem = "autonomous-system" {
        /// The AS number.
        number: u64,
        /// The name.
        name: String,
        /// The regional Internet registry.
        rir: String,
    }
}

stix_view! {
    /// `email-message`: an e-mail.
    EmailMessage = "email-message" {
        /// Whether the body is MIME multipart.
        is_multipart: bool,
        /// When it was sent.
        date: Timestamp,
        /// Sender address object.
        from_ref: String,
        /// Recipients.
        to_refs: Vec<String>,
        /// The subject.
        subject: String,
        /// The body (non-multipart).
        body: String,
    }
}
