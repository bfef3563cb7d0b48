//! `tiaki serve` and the commands that set up who may use it: `tiaki user …` (users, roles,
//! API tokens, collection grants) and `tiaki collection …` (the TAXII collections partners
//! read and write).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use tiaki_server::ServerConfig;
use tiaki_store::auth::{Access, Role};

use crate::case::open_store;
use crate::intel::store_path;

/// Flags of `tiaki serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one; the first line printed says
    /// which). Put a TLS-terminating proxy in front for anything beyond loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Title of the console and of TAXII discovery.
    #[arg(long, value_name = "TEXT", default_value = "tiaki")]
    pub title: String,
    /// Largest request body accepted (MiB): the TAXII `max_content_length`.
    #[arg(long, value_name = "MIB", default_value_t = 10)]
    pub max_body_mib: usize,
    /// SQLite connections serving requests.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub connections: usize,
    /// Mark the session cookie `Secure` and send `Strict-Transport-Security` (when served
    /// over HTTPS through a proxy).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Requests per second each client address may sustain (0: no limit); above it, 429 with
    /// `Retry-After`.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub rate_limit: u32,
    /// Requests a client may send at once above `--rate-limit` (the bucket's size).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub rate_burst: u32,
    /// Failed authentications from one address, or for one user name, after which its
    /// credentials are refused (429) until `--auth-window` has passed (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub auth_failures: u32,
    /// The window (seconds) failed authentications are counted over, and the longest refusal.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub auth_window: u64,
    /// A reverse proxy whose `X-Forwarded-For` names the client for the limits (repeat for
    /// several). Without it, behind a proxy every client is the proxy.
    #[arg(long, value_name = "ADDR")]
    pub trusted_proxy: Vec<std::net::IpAddr>,
}

/// Runs `tiaki serve` until Ctrl-C.
pub fn run(args: ServeArgs, store: Option<&Path>) -> Result<ExitCode> {
    let db = store_path(store)?;
    // Create and migrate the store before the first request, so a bad file fails here.
    drop(open_store(Some(&db))?);
    let config = ServerConfig {
        db: db.clone(),
        title: args.title,
        max_body: args.max_body_mib.max(1) * 1024 * 1024,
        connections: args.connections,
        secure_cookies: args.secure_cookies,
        rate_per_sec: args.rate_limit,
        rate_burst: args.rate_burst,
        auth_failures: args.auth_failures,
        auth_window: std::time::Duration::from_secs(args.auth_window.max(1)),
        trusted_proxies: args.trusted_proxy,
        ..ServerConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(tiaki_server::serve(config, args.listen, |addr| {
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
        eprintln!(
            "tiaki serve: case store {}; console http://{addr}/ ; TAXII discovery http://{addr}/taxii2/ ; API http://{addr}/api/v1/openapi.json",
            db.display()
        );
    }))
    .with_context(|| format!("cannot serve on {}", args.listen))?;
    Ok(ExitCode::SUCCESS)
}

/// `tiaki user …`.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user, or change an existing user's role.
    Add {
        /// User name.
        name: String,
        /// `read`, `write` or `admin`.
        #[arg(long, default_value = "read")]
        role: String,
        /// A partner agency's account: TAXII collections it is granted, never the console or
        /// the JSON API (which show every case). Not with `--role admin`.
        #[arg(long)]
        partner: bool,
    },
    /// List users and their tokens (never the secrets).
    List,
    /// Issue an API token; printed once, stored only as a hash.
    Token {
        /// User name.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (the part after `tiaki_`).
        id: String,
    },
    /// Disable (or with --enable, enable again) a user.
    Disable {
        /// User name.
        name: String,
        /// Enable instead.
        #[arg(long)]
        enable: bool,
    },
    /// Grant a user read and/or write access to a TAXII collection.
    Grant {
        /// User name.
        name: String,
        /// Collection id.
        collection: String,
        /// May read objects.
        #[arg(long)]
        read: bool,
        /// May add objects (needs the write role too).
        #[arg(long)]
        write: bool,
    },
}

/// Runs `tiaki user …`.
pub fn run_user(cmd: UserCommand, store: Option<&Path>) -> Result<ExitCode> {
    let mut cs = open_store(store)?;
    match cmd {
        UserCommand::Add {
            name,
            role,
            partner,
        } => {
            let role = Role::parse(&role)?;
            if partner && role == Role::Admin {
                anyhow::bail!("a partner account is read or write, not admin");
            }
            cs.upsert_user(&name, role)?;
            cs.set_user_partner(&name, partner)?;
            println!(
                "user {name}: role {}{}",
                role.as_str(),
                if partner {
                    ", partner (TAXII only)"
                } else {
                    ""
                }
            );
        }
        UserCommand::List => {
            let tokens = cs.tokens()?;
            for u in cs.users()? {
                println!(
                    "{:<20} {:<6} created {}{}{}",
                    u.name,
                    u.role.as_str(),
                    u.created,
                    if u.partner {
                        "  partner (TAXII only)"
                    } else {
                        ""
                    },
                    if u.disabled { "  (disabled)" } else { "" }
                );
                for t in tokens.iter().filter(|t| t.user == u.name) {
                    println!(
                        "    token {} {:<16} created {} last used {}{}",
                        t.id,
                        t.label,
                        t.created,
                        t.last_used.as_deref().unwrap_or("never"),
                        if t.revoked { "  (revoked)" } else { "" }
                    );
                }
            }
        }
        UserCommand::Token { name, label } => {
            let token = cs.issue_token(&name, &label)?;
            println!("{token}");
            eprintln!(
                "token for {name}: shown once, stored only as a hash. Use it as a bearer token, \
                 as the HTTP Basic password with the user name (TAXII clients), or to log in to \
                 the console."
            );
        }
        UserCommand::Revoke { id } => {
            cs.revoke_token(&id)?;
            println!("token {id} revoked");
        }
        UserCommand::Disable { name, enable } => {
            cs.set_user_disabled(&name, !enable)?;
            println!(
                "user {name} {}",
                if enable { "enabled" } else { "disabled" }
            );
        }
        UserCommand::Grant {
            name,
            collection,
            read,
            write,
        } => {
            cs.collection(&collection)?;
            cs.grant(
                &name,
                &collection,
                Access {
                    can_read: read,
                    can_write: write,
                },
            )?;
            println!("user {name}: collection {collection} read={read} write={write}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tiaki collection …`.
#[derive(Subcommand)]
pub enum CollectionCommand {
    /// Create a TAXII collection.
    Add {
        /// Title.
        title: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Short alias.
        #[arg(long)]
        alias: Option<String>,
        /// The most restrictive TLP the collection may hold (`clear`, `green`, `amber`,
        /// `amber+strict`; TLP:RED never goes into a collection).
        #[arg(long, default_value = "green")]
        max_tlp: String,
    },
    /// List the collections.
    List,
}

/// Runs `tiaki collection …`.
pub fn run_collection(cmd: CollectionCommand, store: Option<&Path>) -> Result<ExitCode> {
    let mut cs = open_store(store)?;
    match cmd {
        CollectionCommand::Add {
            title,
            description,
            alias,
            max_tlp,
        } => {
            let tlp: tiaki_stix::Tlp = max_tlp
                .parse()
                .with_context(|| format!("--max-tlp {max_tlp}"))?;
            if tlp == tiaki_stix::Tlp::Red {
                anyhow::bail!(
                    "--max-tlp red: TLP:RED is for named individuals and never goes into a TAXII collection"
                );
            }
            let c = cs.create_collection(tiaki_store::taxii::NewCollection {
                title,
                description,
                alias,
                max_tlp: tlp,
            })?;
            println!("{}", c.id);
            eprintln!("collection {} created (max {})", c.id, c.max_tlp);
        }
        CollectionCommand::List => {
            for c in cs.collections()? {
                println!("{}  {:<18} {}", c.id, c.max_tlp, c.title);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
