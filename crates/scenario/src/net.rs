//! The fictional environment (hosts, addresses, accounts, actor infrastructure) as data.
//!
//! Why a data file: the storyline and the background refer to the same hosts and accounts,
//! and readers of the scenario want to see the network in one place. `data/environment.json`
//! is built in and parsed once; code looks hosts and users up by name.

use std::sync::LazyLock;

use serde::Deserialize;

/// The built-in environment description.
const ENVIRONMENT_JSON: &str = include_str!("../data/environment.json");

/// An Active Directory domain.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Domain {
    pub fqdn: String,
    pub netbios: String,
    pub dcs: Vec<String>,
    pub sid: String,
}

/// A host that writes evidence.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Host {
    pub name: String,
    /// NetBIOS name of the host's domain.
    pub domain: String,
    pub ip: String,
    /// `web`, `rag`, `dc`, `fs`, `sql`, `exch`, `jmp`, `bkp`, `bms`, `ws`.
    pub role: String,
    pub os: String,
}

impl Host {
    /// Whether this is a Windows host (writes event logs).
    pub fn windows(&self) -> bool {
        self.os.starts_with("Windows")
    }
}

/// A staff member: account and workstation.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub sam: String,
    pub domain: String,
    pub ws: String,
    pub ip: String,
}

/// Fixed infrastructure addresses (documentation of the network; the generators use the
/// same values, checked by tests).
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Infra {
    pub pdo_firewall: String,
    pub pdo_proxy: String,
    pub pdo_scanner: String,
    pub pdo_sql_app: String,
    pub lsa_proxy: String,
}

/// Administrator accounts.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Admins {
    pub domain_admin: String,
    pub helpdesk: String,
    pub linux_admins: Vec<String>,
}

/// Actor infrastructure addresses (the storylines' constants are checked against these).
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Actor {
    pub apt40_main: String,
    pub apt40_week2: String,
    pub apt40_recon: String,
    pub apt31_orbs: Vec<String>,
}

/// A range of the last octet within a /24.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Range {
    pub prefix: String,
    pub first: u8,
    pub last: u8,
}

/// The whole environment.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Environment {
    pub window_start: String,
    pub window_end: String,
    pub domains: Vec<Domain>,
    pub hosts: Vec<Host>,
    pub infrastructure: Infra,
    pub users: Vec<User>,
    pub admins: Admins,
    pub service_accounts: Vec<String>,
    pub spns: Vec<String>,
    pub actor: Actor,
    pub reserved_ips: Vec<String>,
    pub residential: Vec<Range>,
    pub botnet: Vec<Range>,
}

/// The parsed built-in environment.
pub(crate) static ENV: LazyLock<Environment> = LazyLock::new(|| {
    serde_json::from_str(ENVIRONMENT_JSON).expect("data/environment.json is valid")
});

impl Environment {
    /// A host by name (panics on an unknown name: names are fixed in code and data).
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("unknown host {name}"))
    }

    /// A domain by NetBIOS name.
    pub fn domain(&self, netbios: &str) -> &Domain {
        self.domains
            .iter()
            .find(|d| d.netbios == netbios)
            .unwrap_or_else(|| panic!("unknown domain {netbios}"))
    }

    /// Staff of one domain.
    pub fn staff(&self, netbios: &str) -> Vec<&User> {
        self.users.iter().filter(|u| u.domain == netbios).collect()
    }

    /// The addresses of a set of ranges, without the reserved (actor) addresses.
    pub fn pool(&self, ranges: &[Range]) -> Vec<String> {
        let mut out = Vec::new();
        for r in ranges {
            for o in r.first..=r.last {
                let ip = format!("{}{o}", r.prefix);
                if !self.reserved_ips.contains(&ip) {
                    out.push(ip);
                }
            }
        }
        out
    }

    /// The IP of a host or workstation name, if known.
    pub fn ip_of(&self, name: &str) -> Option<&str> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.ip.as_str())
            .or_else(|| {
                self.users
                    .iter()
                    .find(|u| u.ws == name)
                    .map(|u| u.ip.as_str())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_parses_and_pools_exclude_actors() {
        let e = &*ENV;
        assert_eq!(e.host("PDO-WEB01").ip, "172.16.10.21");
        let res = e.pool(&e.residential);
        let bot = e.pool(&e.botnet);
        for r in &e.reserved_ips {
            assert!(!res.contains(r) && !bot.contains(r));
        }
        assert!(res.iter().all(|r| !bot.contains(r)));
    }
}
