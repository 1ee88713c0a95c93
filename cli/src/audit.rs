//! `gureum audit verify`, `gureum audit query` and `gureum audit public-key`: read an access record (see
//! docs/security.md for its format).

use crate::output::Out;
use clap::{Args, Subcommand};
use gureum::layers::audit::{load_key, parse_time, public_key, query_spec, verify_spec, Query};
use gureum::Result;

/// `gureum audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check a record's hash chain, checkpoint signatures and head; name the first edited,
    /// deleted, reordered or truncated entry (exit 9 if any).
    Verify(VerifyArgs),
    /// Print the entries matching filters, as JSON lines: "who read 민원/2026/ this month" is
    /// `gureum audit query SINK --prefix 민원/2026/ --op get --since 2026-11`.
    Query(QueryArgs),
    /// Print the Ed25519 public key (`ed25519-public:HEX`) of an `ed25519-secret:` checkpoint
    /// key, for verifiers that must not be able to sign.
    PublicKey(PublicKeyArgs),
}

/// `gureum audit public-key`.
#[derive(Debug, Args)]
pub struct PublicKeyArgs {
    /// The Ed25519 checkpoint key: `file:///path` or `env:NAME`.
    #[arg(long, env = "GUREUM_AUDIT_KEY")]
    pub key: String,
}

/// `gureum audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The record: `file:///path`, `sqlite:///path` or `bucket+URL#PREFIX` (as in `audit=`).
    pub record: String,
    /// The checkpoint key: `file:///path` or `env:NAME`. Without it only the chain is checked.
    #[arg(long, env = "GUREUM_AUDIT_KEY")]
    pub key: Option<String>,
}

/// `gureum audit query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The record: `file:///path`, `sqlite:///path` or `bucket+URL#PREFIX`.
    pub record: String,
    /// Principal: configured identity, OS user, or `user@host`.
    #[arg(long)]
    pub principal: Option<String>,
    /// Key prefix (`민원/2026/`), or resource URL prefix when it contains `://`.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Operation (`get`, `put`, `list`, `delete`, `copy`, `send`, `receive`, ...).
    #[arg(long)]
    pub op: Option<String>,
    /// From (RFC 3339, YYYY-MM-DD or YYYY-MM; inclusive).
    #[arg(long)]
    pub since: Option<String>,
    /// Until (exclusive).
    #[arg(long)]
    pub until: Option<String>,
}

/// Run a `gureum audit` command.
pub async fn run(cmd: AuditCommand, out: &Out) -> Result<i32> {
    let reg = gureum::registry();
    match cmd {
        AuditCommand::Verify(a) => {
            let key = a.key.as_deref().map(load_key).transpose()?;
            let v = verify_spec(&a.record, key.as_ref(), &reg).await?;
            if out.json {
                let mut j = crate::output::to_json(&v);
                j["ok"] = serde_json::Value::Bool(v.ok());
                j["signed"] = serde_json::Value::Bool(key.is_some());
                out.json_line(&j)?;
            } else if let Some(p) = &v.problem {
                out.line(format!(
                    "FAILED at line {} (entry {}): {}",
                    p.line, p.expected_seq, p.reason
                ))?;
            } else {
                out.line(format!(
                    "ok: {} entries, {} checkpoints{}{}",
                    v.entries,
                    v.checkpoints,
                    if key.is_some() {
                        " (signatures checked)"
                    } else {
                        " (chain only: no --key, signatures not checked)"
                    },
                    if v.unsigned_tail > 0 {
                        format!(", {} entries after the last checkpoint", v.unsigned_tail)
                    } else {
                        String::new()
                    }
                ))?;
            }
            Ok(if v.ok() {
                0
            } else {
                crate::output::EXIT_INTEGRITY
            })
        }
        AuditCommand::PublicKey(a) => {
            use gureum::secrecy::ExposeSecret;
            let key = load_key(&a.key)?;
            match public_key(key.expose_secret())? {
                Some(pk) => {
                    out.line(pk)?;
                    Ok(0)
                }
                None => Err(gureum::Error::invalid(
                    "audit public-key: an HMAC key has no public part; make an Ed25519 key \
                     (ed25519-secret: followed by 64 hex digits, e.g. from `openssl rand -hex 32`)",
                )),
            }
        }
        AuditCommand::Query(a) => {
            let q = Query {
                principal: a.principal,
                prefix: a.prefix,
                op: a.op,
                since: a.since.as_deref().map(parse_time).transpose()?,
                until: a.until.as_deref().map(parse_time).transpose()?,
            };
            for e in query_spec(&a.record, &q, &reg).await? {
                out.json_line(&crate::output::to_json(&e))?;
            }
            Ok(0)
        }
    }
}
