//! The access record's entries: JSON lines, hash chain, signed checkpoints, verification
//! and queries.

use chrono::{DateTime, Utc};
use gureum_core::{Error, Result};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry.
///
/// ```
/// use gureum_layers::audit::chain::GENESIS;
/// assert_eq!(GENESIS.len(), 64);
/// assert!(GENESIS.bytes().all(|b| b == b'0'));
/// ```
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acted: the configured identity plus the OS user and host the SDK ran as.
///
/// ```
/// use gureum_layers::audit::Principal;
/// let p = Principal { id: Some("clerk-7".into()), user: "civic".into(), host: "app-1".into() };
/// assert!(p.matches("clerk-7") && p.matches("civic") && p.matches("civic@app-1"));
/// assert!(!p.matches("someone-else"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    /// The configured identity (`audit_principal=`, `GUREUM_PRINCIPAL`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// OS user name (or uid).
    pub user: String,
    /// Host name.
    pub host: String,
}

impl Principal {
    /// The principal of this process: `id` plus the OS user and host.
    ///
    /// ```
    /// use gureum_layers::audit::Principal;
    /// let p = Principal::current(Some("ocr-worker".into()));
    /// assert_eq!(p.id.as_deref(), Some("ocr-worker"));
    /// assert!(!p.user.is_empty() && !p.host.is_empty());
    /// ```
    pub fn current(id: Option<String>) -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| {
                // SAFETY: getuid has no preconditions and cannot fail.
                format!("uid:{}", unsafe { libc::getuid() })
            });
        Principal {
            id,
            user,
            host: hostname(),
        }
    }
    /// Whether `who` names this principal (its id, user, or `user@host`).
    ///
    /// ```
    /// use gureum_layers::audit::Principal;
    /// let p = Principal::current(None);
    /// assert!(p.matches(&p.user));
    /// assert!(p.matches(&format!("{}@{}", p.user, p.host)));
    /// ```
    pub fn matches(&self, who: &str) -> bool {
        self.id.as_deref() == Some(who)
            || self.user == who
            || format!("{}@{}", self.user, self.host) == who
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if let Ok(s) = std::str::from_utf8(&buf[..n]) {
            if !s.is_empty() {
                return s.to_string();
            }
        }
    }
    "unknown-host".to_string()
}

/// One line of the access record. Data operations have `kind = "op"`; `"checkpoint"` lines
/// carry a signature over the chain so far.
///
/// ```
/// use gureum_layers::audit::{chain::GENESIS, Entry};
/// let e = Entry { seq: 1, time: "2026-11-27T09:00:00.000000Z".into(), kind: "op".into(), op: Some("put".into()), prev: GENESIS.into(), ..Entry::default() };
/// let (sealed, line) = e.seal();
/// assert_eq!(sealed.hash, sealed.compute_hash());
/// assert!(line.starts_with("{\"seq\":1,"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// UTC time, RFC 3339 with microseconds.
    pub time: String,
    /// `op` or `checkpoint`.
    pub kind: String,
    /// Who acted (operations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// Operation: `put`, `get`, `head`, `list`, `delete`, `copy`, `rename`, `send`,
    /// `receive`, `ack`, `nack`, `extend`, `purge`, `open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Resource URL (bucket or queue; secrets redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Object key (or listing prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Destination key of a copy or rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `ok`, or the error kind (`not_found`, `policy_violation`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Bytes of object data or message bodies moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Objects or messages in the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The provider's request id, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Checkpoint signature: `hmac-sha256:HEX` over `"SEQ:PREV"`, or absent without a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
    /// `hash` of the previous entry ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 (hex) of this entry's JSON without `hash`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

/// Current UTC time in the record's format.
///
/// ```
/// use gureum_layers::audit::{chain::now, Entry};
/// let e = Entry { time: now(), ..Entry::default() };
/// assert!(e.parsed_time().is_some());
/// ```
pub fn now() -> String {
    format_time(Utc::now())
}

/// Format a time as the record does.
///
/// ```
/// use gureum_layers::audit::chain::format_time;
/// let t = chrono::DateTime::parse_from_rfc3339("2026-11-27T09:00:00Z").unwrap().to_utc();
/// assert_eq!(format_time(t), "2026-11-27T09:00:00.000000Z");
/// ```
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Entry {
    /// The hash this entry must carry.
    ///
    /// ```
    /// use gureum_layers::audit::Entry;
    /// let a = Entry { seq: 1, ..Entry::default() };
    /// let b = Entry { seq: 2, ..Entry::default() };
    /// assert_ne!(a.compute_hash(), b.compute_hash());
    /// assert_eq!(a.compute_hash().len(), 64); // SHA-256, hex
    /// ```
    pub fn compute_hash(&self) -> String {
        let mut e = self.clone();
        e.hash = String::new();
        let body = serde_json::to_vec(&e).expect("entries serialize");
        hex::encode(Sha256::digest(&body))
    }
    /// Fill `hash` and return the JSON line (without newline).
    ///
    /// ```
    /// use gureum_layers::audit::Entry;
    /// let (e, line) = Entry { seq: 3, kind: "op".into(), ..Entry::default() }.seal();
    /// assert!(line.ends_with(&format!("\"hash\":\"{}\"}}", e.hash)));
    /// ```
    pub fn seal(mut self) -> (Entry, String) {
        self.hash = self.compute_hash();
        let line = serde_json::to_string(&self).expect("entries serialize");
        (self, line)
    }
    /// The time, parsed.
    ///
    /// ```
    /// use gureum_layers::audit::Entry;
    /// let e = Entry { time: "not a time".into(), ..Entry::default() };
    /// assert_eq!(e.parsed_time(), None);
    /// ```
    pub fn parsed_time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// How an Ed25519 signing key is written in a key file (or variable): this prefix and the
/// 32-byte seed as 64 hex digits. Anything else is an HMAC-SHA256 key.
///
/// The two prefixes tell the key kinds apart (the public key of a secret key carries the
/// other one):
///
/// ```
/// use gureum_layers::audit::chain::{public_key, ED25519_PUBLIC_PREFIX, ED25519_SECRET_PREFIX};
/// let sk = format!("{ED25519_SECRET_PREFIX}{}", "11".repeat(32));
/// let pk = public_key(sk.as_bytes()).unwrap().unwrap();
/// assert!(pk.starts_with(ED25519_PUBLIC_PREFIX) && pk.len() == ED25519_PUBLIC_PREFIX.len() + 64);
/// assert_eq!(public_key(b"an HMAC key").unwrap(), None); // no prefix: HMAC-SHA256
/// ```
pub const ED25519_SECRET_PREFIX: &str = "ed25519-secret:";
/// How an Ed25519 public key is written (for `gureum audit verify --key`): this prefix and
/// the 32-byte key as 64 hex digits. It verifies but cannot sign.
///
/// Example: see [`ED25519_SECRET_PREFIX`].
pub const ED25519_PUBLIC_PREFIX: &str = "ed25519-public:";

/// A checkpoint key as read from its file: HMAC bytes, an Ed25519 signing key, or an Ed25519
/// public key (verification only).
enum CheckpointKey {
    Hmac,
    Ed25519Secret(ed25519_dalek::SigningKey),
    Ed25519Public(ed25519_dalek::VerifyingKey),
}

fn hex32(what: &str, s: &str) -> Result<[u8; 32]> {
    let b = hex::decode(s.trim())
        .map_err(|_| Error::invalid(format!("audit_key: the {what} is not hex")))?;
    b.try_into().map_err(|_| {
        Error::invalid(format!(
            "audit_key: the {what} is not 32 bytes (64 hex digits)"
        ))
    })
}

fn parse_key(key: &[u8]) -> Result<CheckpointKey> {
    if let Some(rest) = key.strip_prefix(ED25519_SECRET_PREFIX.as_bytes()) {
        let seed = hex32(
            "Ed25519 seed",
            std::str::from_utf8(rest).map_err(|_| Error::invalid("audit_key: not UTF-8"))?,
        )?;
        return Ok(CheckpointKey::Ed25519Secret(
            ed25519_dalek::SigningKey::from_bytes(&seed),
        ));
    }
    if let Some(rest) = key.strip_prefix(ED25519_PUBLIC_PREFIX.as_bytes()) {
        let pk = hex32(
            "Ed25519 public key",
            std::str::from_utf8(rest).map_err(|_| Error::invalid("audit_key: not UTF-8"))?,
        )?;
        return ed25519_dalek::VerifyingKey::from_bytes(&pk)
            .map(CheckpointKey::Ed25519Public)
            .map_err(|_| Error::invalid("audit_key: not a valid Ed25519 public key"));
    }
    Ok(CheckpointKey::Hmac)
}

const PUBLIC_CANNOT_SIGN: &str = "audit_key: an Ed25519 public key verifies but cannot sign \
     checkpoints; give the writer the ed25519-secret: key";

/// Check that `key` is usable; with `for_signing`, refuse an Ed25519 public key (it only
/// verifies). The error never contains the key.
///
/// ```
/// use gureum_layers::audit::chain::{check_key, public_key};
/// let sk = format!("ed25519-secret:{}", "11".repeat(32));
/// let pk = public_key(sk.as_bytes()).unwrap().unwrap();
/// assert!(check_key(sk.as_bytes(), true).is_ok());
/// assert!(check_key(pk.as_bytes(), false).is_ok());
/// assert!(check_key(pk.as_bytes(), true).is_err());
/// ```
pub fn check_key(key: &[u8], for_signing: bool) -> Result<()> {
    match parse_key(key)? {
        CheckpointKey::Ed25519Public(_) if for_signing => Err(Error::invalid(PUBLIC_CANNOT_SIGN)),
        _ => Ok(()),
    }
}

/// The Ed25519 public key (`ed25519-public:HEX`) of an Ed25519 key, for the verifiers; `None`
/// for an HMAC key (which has no public part).
///
/// ```
/// use gureum_layers::audit::chain::public_key;
/// let sk = format!("ed25519-secret:{}", "11".repeat(32));
/// assert!(public_key(sk.as_bytes()).unwrap().unwrap().starts_with("ed25519-public:"));
/// assert!(public_key(b"0123456789abcdef").unwrap().is_none());
/// ```
pub fn public_key(key: &[u8]) -> Result<Option<String>> {
    Ok(match parse_key(key)? {
        CheckpointKey::Hmac => None,
        CheckpointKey::Ed25519Secret(k) => Some(format!(
            "{ED25519_PUBLIC_PREFIX}{}",
            hex::encode(k.verifying_key().as_bytes())
        )),
        CheckpointKey::Ed25519Public(k) => Some(format!(
            "{ED25519_PUBLIC_PREFIX}{}",
            hex::encode(k.as_bytes())
        )),
    })
}

/// Sign `"SEQ:HASH"` with the city's key: `hmac-sha256:HEX` (HMAC-SHA256) for a plain key,
/// `ed25519:HEX` (the 64-byte signature) for an `ed25519-secret:` key. An Ed25519 public key
/// cannot sign (an error).
///
/// ```
/// use gureum_layers::audit::chain::sign;
/// let sig = sign(b"0123456789abcdef", 64, "ab12").unwrap();
/// assert!(sig.starts_with("hmac-sha256:"));
/// assert_ne!(sig, sign(b"another-key-16-bytes", 64, "ab12").unwrap());
/// let ed = format!("ed25519-secret:{}", "11".repeat(32));
/// assert!(sign(ed.as_bytes(), 64, "ab12").unwrap().starts_with("ed25519:"));
/// ```
pub fn sign(key: &[u8], seq: u64, hash: &str) -> Result<String> {
    let msg = format!("{seq}:{hash}");
    match parse_key(key)? {
        CheckpointKey::Hmac => {
            let mut m =
                <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(msg.as_bytes());
            Ok(format!(
                "hmac-sha256:{}",
                hex::encode(m.finalize().into_bytes())
            ))
        }
        CheckpointKey::Ed25519Secret(k) => {
            use ed25519_dalek::Signer as _;
            Ok(format!(
                "ed25519:{}",
                hex::encode(k.sign(msg.as_bytes()).to_bytes())
            ))
        }
        CheckpointKey::Ed25519Public(_) => Err(Error::invalid(PUBLIC_CANNOT_SIGN)),
    }
}

fn sig_ok(key: &[u8], seq: u64, hash: &str, sig: &str) -> bool {
    let msg = format!("{seq}:{hash}");
    let vk = match parse_key(key) {
        Err(_) => return false,
        Ok(CheckpointKey::Hmac) => {
            let Some(h) = sig.strip_prefix("hmac-sha256:") else {
                return false;
            };
            let Ok(bytes) = hex::decode(h) else {
                return false;
            };
            let mut m =
                <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(msg.as_bytes());
            return m.verify_slice(&bytes).is_ok();
        }
        Ok(CheckpointKey::Ed25519Secret(k)) => k.verifying_key(),
        Ok(CheckpointKey::Ed25519Public(k)) => k,
    };
    let Some(h) = sig.strip_prefix("ed25519:") else {
        return false;
    };
    let Ok(bytes) = hex::decode(h) else {
        return false;
    };
    let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
        return false;
    };
    vk.verify_strict(
        msg.as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&bytes),
    )
    .is_ok()
}

/// The signed head of a record: its last sequence number and hash, kept beside the record
/// (file `PATH.head`, sqlite table `head`, object `head.json`) so a truncated tail shows.
///
/// ```
/// use gureum_layers::audit::Head;
/// let h: Head = serde_json::from_str(r#"{"seq":7,"hash":"ab"}"#).unwrap();
/// assert_eq!((h.seq, h.sig), (7, None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    /// Last sequence number written at the time of the head.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// Signature over `"SEQ:HASH"`, if a key is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

/// The first problem [`verify`] found.
///
/// ```
/// use gureum_layers::audit::verify;
/// let v = verify(["not json"], None, None);
/// let p = v.problem.unwrap();
/// assert_eq!((p.line, p.expected_seq), (1, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 1-based line number in the record as read.
    pub line: u64,
    /// The sequence number expected at that line.
    pub expected_seq: u64,
    /// What is wrong, for humans.
    pub reason: String,
}

/// Result of [`verify`].
///
/// ```
/// use gureum_layers::audit::{verify, Verification};
/// let v: Verification = verify(std::iter::empty(), None, None);
/// assert!(v.ok());
/// assert_eq!(v.entries, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints read (and, with a key, whose signatures matched).
    pub checkpoints: u64,
    /// Entries after the last signed checkpoint (chained but not yet signed).
    pub unsigned_tail: u64,
    /// The first problem, if any: an edited, deleted, reordered, inserted or truncated entry,
    /// or a bad signature.
    pub problem: Option<Problem>,
}

impl Verification {
    /// Whether the record verified.
    ///
    /// ```
    /// use gureum_layers::audit::{verify, Entry, chain::GENESIS};
    /// let (_, line) = Entry { seq: 1, kind: "op".into(), prev: GENESIS.into(), time: "2026-11-27T09:00:00.000000Z".into(), ..Entry::default() }.seal();
    /// assert!(verify([line.as_str()], None, None).ok());
    /// assert!(!verify([line.replace("\"op\"", "\"xx\"").as_str()], None, None).ok()); // edited
    /// ```
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verify a record: every line parses, sequence numbers run 1, 2, 3, ..., each entry's `prev`
/// is the previous entry's hash and its `hash` matches its content; with `key`, every
/// checkpoint's signature and the head's. With `head`, a record that ends before the head's
/// sequence number was truncated. Stops at the first problem, naming the line and the
/// sequence number expected there.
///
/// ```
/// use gureum_layers::audit::{chain::GENESIS, verify, Entry, Head};
/// let t = "2026-11-27T09:00:00.000000Z".to_string();
/// let (a, la) = Entry { seq: 1, kind: "op".into(), time: t.clone(), prev: GENESIS.into(), ..Entry::default() }.seal();
/// let (b, lb) = Entry { seq: 2, kind: "op".into(), time: t, prev: a.hash.clone(), ..Entry::default() }.seal();
/// assert_eq!(verify([la.as_str(), lb.as_str()], None, None).entries, 2);
/// // The head says two entries were written; a record cut after the first shows it.
/// let head = Head { seq: 2, hash: b.hash, sig: None };
/// assert!(!verify([la.as_str()], None, Some(&head)).ok());
/// ```
pub fn verify<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    key: Option<&[u8]>,
    head: Option<&Head>,
) -> Verification {
    let mut v = Verification::default();
    let mut prev = GENESIS.to_string();
    let mut last_seq = 0u64;
    let mut since_sig = 0u64;
    let mut line_no = 0u64;
    let bad = |line: u64, expected_seq: u64, reason: String| Problem {
        line,
        expected_seq,
        reason,
    };
    for line in lines {
        line_no += 1;
        if line.trim().is_empty() {
            v.problem = Some(bad(line_no, last_seq + 1, "empty line".into()));
            return v;
        }
        let e: Entry = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(err) => {
                v.problem = Some(bad(
                    line_no,
                    last_seq + 1,
                    format!(
                        "entry {} is not a valid record line (edited?): {err}",
                        last_seq + 1
                    ),
                ));
                return v;
            }
        };
        let expected = last_seq + 1;
        if e.seq != expected {
            let why = if e.seq > expected {
                format!(
                    "entry {expected} is missing: found entry {} (deleted or reordered)",
                    e.seq
                )
            } else {
                format!(
                    "entry {} appears where entry {expected} belongs (reordered or duplicated)",
                    e.seq
                )
            };
            v.problem = Some(bad(line_no, expected, why));
            return v;
        }
        if e.hash != e.compute_hash() {
            v.problem = Some(bad(
                line_no,
                expected,
                format!("entry {expected} was edited: its hash does not match its content"),
            ));
            return v;
        }
        if e.prev != prev {
            v.problem = Some(bad(
                line_no,
                expected,
                format!(
                    "entry {expected} does not follow entry {}: the chain is broken (an entry \
                     before it was replaced)",
                    expected - 1
                ),
            ));
            return v;
        }
        if e.kind == "checkpoint" {
            if let Some(k) = key {
                let ok = e
                    .sig
                    .as_deref()
                    .is_some_and(|s| sig_ok(k, e.seq - 1, &e.prev, s));
                if !ok {
                    v.problem = Some(bad(
                        line_no,
                        expected,
                        format!(
                            "checkpoint entry {expected}: the signature does not match (wrong key, \
                             or the chain before it was rewritten)"
                        ),
                    ));
                    return v;
                }
            }
            v.checkpoints += 1;
            since_sig = 0;
        } else {
            since_sig += 1;
        }
        prev = e.hash;
        last_seq = e.seq;
        v.entries += 1;
    }
    if let Some(h) = head {
        if let (Some(k), Some(sig)) = (key, h.sig.as_deref()) {
            if !sig_ok(k, h.seq, &h.hash, sig) {
                v.problem = Some(bad(
                    line_no + 1,
                    last_seq + 1,
                    "the head's signature does not match".into(),
                ));
                return v;
            }
        } else if key.is_some() {
            v.problem = Some(bad(
                line_no + 1,
                last_seq + 1,
                "the head is not signed".into(),
            ));
            return v;
        }
        if h.seq > last_seq {
            v.problem = Some(bad(
                line_no + 1,
                last_seq + 1,
                format!(
                    "truncated: the record ends at entry {last_seq} but its head says {} \
                     entries were written (entry {} onwards is missing)",
                    h.seq,
                    last_seq + 1
                ),
            ));
            return v;
        }
        if h.seq > 0 && h.seq == last_seq && h.hash != prev {
            v.problem = Some(bad(
                line_no,
                last_seq,
                format!("entry {last_seq} differs from the head's"),
            ));
            return v;
        }
    }
    v.unsigned_tail = since_sig;
    v
}

/// A filter over record entries (`gureum audit query`).
///
/// ```
/// use gureum_layers::audit::{parse_time, Entry, Query};
/// let e = Entry { kind: "op".into(), op: Some("get".into()), key: Some("민원/2026/c-1.json".into()), time: "2026-11-27T09:00:00.000000Z".into(), ..Entry::default() };
/// let q = Query { prefix: Some("민원/".into()), since: Some(parse_time("2026-11").unwrap()), ..Query::default() };
/// assert!(q.matches(&e));
/// assert!(!Query { op: Some("put".into()), ..Query::default() }.matches(&e));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Principal: configured id, OS user, or `user@host`.
    pub principal: Option<String>,
    /// Key prefix (`민원/2026/`), or a resource URL prefix when it contains `://`.
    pub prefix: Option<String>,
    /// Operation name.
    pub op: Option<String>,
    /// From this time (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (exclusive).
    pub until: Option<DateTime<Utc>>,
}

impl Query {
    /// Whether `e` matches. Checkpoints never match.
    ///
    /// ```
    /// use gureum_layers::audit::{Entry, Query};
    /// let checkpoint = Entry { kind: "checkpoint".into(), ..Entry::default() };
    /// assert!(!Query::default().matches(&checkpoint)); // checkpoints never match
    /// ```
    pub fn matches(&self, e: &Entry) -> bool {
        if e.kind != "op" {
            return false;
        }
        if let Some(p) = &self.principal {
            if !e.principal.as_ref().is_some_and(|x| x.matches(p)) {
                return false;
            }
        }
        if let Some(p) = &self.prefix {
            let hit = if p.contains("://") {
                e.resource.as_deref().is_some_and(|r| {
                    r.starts_with(p.as_str())
                        || e.key
                            .as_deref()
                            .is_some_and(|k| format!("{r}#{k}").starts_with(p.as_str()))
                })
            } else {
                e.key.as_deref().is_some_and(|k| k.starts_with(p.as_str()))
                    || e.to.as_deref().is_some_and(|k| k.starts_with(p.as_str()))
            };
            if !hit {
                return false;
            }
        }
        if let Some(o) = &self.op {
            if e.op.as_deref() != Some(o.as_str()) {
                return false;
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = e.parsed_time() else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        true
    }
}

/// Parse a query time: RFC 3339, `YYYY-MM-DD` (midnight UTC) or `YYYY-MM` (first of month).
///
/// ```
/// use gureum_layers::audit::parse_time;
/// assert_eq!(parse_time("2026-11-27").unwrap().to_rfc3339(), "2026-11-27T00:00:00+00:00");
/// assert_eq!(parse_time("2026-11").unwrap().to_rfc3339(), "2026-11-01T00:00:00+00:00");
/// assert!(parse_time("yesterday").is_err());
/// ```
pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = if s.len() == 7 {
        format!("{s}-01")
    } else {
        s.to_string()
    };
    chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        .map_err(|_| {
            Error::invalid(format!(
                "time {s:?}: use RFC 3339 (2026-11-01T00:00:00Z), YYYY-MM-DD or YYYY-MM"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64, key: &[u8]) -> Vec<String> {
        let mut prev = GENESIS.to_string();
        let mut out = Vec::new();
        for seq in 1..=n {
            let mut e = Entry {
                seq,
                time: now(),
                kind: "op".into(),
                op: Some("get".into()),
                key: Some(format!("민원/{seq}")),
                prev: prev.clone(),
                ..Default::default()
            };
            if seq % 4 == 0 {
                e.kind = "checkpoint".into();
                e.op = None;
                e.key = None;
                e.sig = Some(sign(key, seq - 1, &prev).unwrap());
            }
            let (e, line) = e.seal();
            prev = e.hash;
            out.push(line);
        }
        out
    }

    #[test]
    fn tampering_is_named_at_the_first_bad_entry() {
        let k = b"city key";
        let lines = chain(10, k);
        let v = verify(lines.iter().map(String::as_str), Some(k), None);
        assert!(v.ok(), "{v:?}");
        assert_eq!((v.entries, v.checkpoints, v.unsigned_tail), (10, 2, 2));

        // Edited.
        let mut ed = lines.clone();
        ed[4] = ed[4].replace("민원/5", "민원/X");
        let p = verify(ed.iter().map(String::as_str), Some(k), None)
            .problem
            .unwrap();
        assert_eq!((p.line, p.expected_seq), (5, 5));
        assert!(p.reason.contains("edited"), "{p:?}");
        // Deleted.
        let mut del = lines.clone();
        del.remove(6);
        let p = verify(del.iter().map(String::as_str), Some(k), None)
            .problem
            .unwrap();
        assert_eq!(p.expected_seq, 7);
        assert!(p.reason.contains("missing"), "{p:?}");
        // Reordered.
        let mut re = lines.clone();
        re.swap(2, 3);
        let p = verify(re.iter().map(String::as_str), Some(k), None)
            .problem
            .unwrap();
        assert_eq!(p.expected_seq, 3);
        // Truncated: the head knows there were 10.
        let head = Head {
            seq: 10,
            hash: serde_json::from_str::<Entry>(&lines[9]).unwrap().hash,
            sig: None,
        };
        let signed = Head {
            sig: Some(sign(k, head.seq, &head.hash).unwrap()),
            ..head.clone()
        };
        assert!(verify(lines.iter().map(String::as_str), Some(k), Some(&signed)).ok());
        let p = verify(
            lines[..8].iter().map(String::as_str),
            Some(k),
            Some(&signed),
        )
        .problem
        .unwrap();
        assert!(p.reason.contains("truncated"), "{p:?}");
        assert_eq!(p.expected_seq, 9);
        // An unsigned head is refused when a key is given.
        assert!(!verify(lines.iter().map(String::as_str), Some(k), Some(&head)).ok());
        // A rewritten chain (entry edited and every hash after it recomputed) fails at the
        // checkpoint's signature.
        let mut forged: Vec<Entry> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        forged[1].key = Some("민원/forged".into());
        let mut prev = GENESIS.to_string();
        let mut out = Vec::new();
        for mut e in forged {
            e.prev = prev.clone();
            let (e, l) = e.seal();
            prev = e.hash;
            out.push(l);
        }
        let p = verify(out.iter().map(String::as_str), Some(k), None)
            .problem
            .unwrap();
        assert_eq!(p.expected_seq, 4);
        assert!(p.reason.contains("signature"), "{p:?}");
        // The wrong key fails at the first checkpoint.
        assert!(!verify(lines.iter().map(String::as_str), Some(b"other"), None).ok());
    }

    #[test]
    fn ed25519_checkpoints_tamper_truncation_and_wrong_key() {
        let sk = format!("{ED25519_SECRET_PREFIX}{}", "11".repeat(32));
        let sk = sk.as_bytes();
        let pk = public_key(sk).unwrap().unwrap();
        assert!(pk.starts_with(ED25519_PUBLIC_PREFIX));
        let pk = pk.as_bytes();
        assert!(check_key(sk, true).is_ok());
        assert!(check_key(pk, false).is_ok());
        // A public key cannot sign, and says so without printing the key.
        let e = check_key(pk, true).unwrap_err();
        assert!(!e.to_string().contains(&"11".repeat(8)), "{e}");
        assert!(sign(pk, 1, GENESIS).is_err());
        assert!(public_key(b"an hmac key of some length").unwrap().is_none());
        assert!(check_key(b"ed25519-secret:zz", true).is_err());

        let lines = chain(10, sk);
        let first_sig = serde_json::from_str::<Entry>(&lines[3])
            .unwrap()
            .sig
            .unwrap();
        assert!(first_sig.starts_with("ed25519:"), "{first_sig}");
        // The public key verifies what the secret key signed.
        for k in [sk, pk] {
            let v = verify(lines.iter().map(String::as_str), Some(k), None);
            assert!(v.ok(), "{v:?}");
            assert_eq!(v.checkpoints, 2);
        }
        // Tampered: an edit with every later hash recomputed fails at the checkpoint.
        let mut forged: Vec<Entry> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        forged[1].key = Some("민원/forged".into());
        let mut prev = GENESIS.to_string();
        let mut out = Vec::new();
        for mut e in forged {
            e.prev = prev.clone();
            let (e, l) = e.seal();
            prev = e.hash;
            out.push(l);
        }
        let p = verify(out.iter().map(String::as_str), Some(pk), None)
            .problem
            .unwrap();
        assert_eq!(p.expected_seq, 4);
        assert!(p.reason.contains("signature"), "{p:?}");
        // A flipped signature byte fails.
        let mut bad = lines.clone();
        let last = first_sig.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &first_sig[..first_sig.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        bad[3] = bad[3].replace(&first_sig, &flipped);
        assert!(!verify(bad.iter().map(String::as_str), Some(pk), None).ok());
        // Truncated: the signed head knows there were 10.
        let hash = serde_json::from_str::<Entry>(&lines[9]).unwrap().hash;
        let head = Head {
            seq: 10,
            sig: Some(sign(sk, 10, &hash).unwrap()),
            hash,
        };
        assert!(verify(lines.iter().map(String::as_str), Some(pk), Some(&head)).ok());
        let p = verify(lines[..8].iter().map(String::as_str), Some(pk), Some(&head))
            .problem
            .unwrap();
        assert!(p.reason.contains("truncated"), "{p:?}");
        // The wrong key (another Ed25519 key, or an HMAC key) fails at the first checkpoint.
        let other = format!("{ED25519_SECRET_PREFIX}{}", "22".repeat(32));
        let other_pk = public_key(other.as_bytes()).unwrap().unwrap();
        for k in [
            other.as_bytes(),
            other_pk.as_bytes(),
            b"an hmac key of some length",
        ] {
            let p = verify(lines.iter().map(String::as_str), Some(k), None)
                .problem
                .unwrap();
            assert_eq!(p.expected_seq, 4, "{p:?}");
        }
        // And an HMAC-signed record does not verify under an Ed25519 key.
        let hm = chain(8, b"city hmac key 0123");
        assert!(!verify(hm.iter().map(String::as_str), Some(pk), None).ok());
    }

    #[test]
    fn query_times() {
        assert_eq!(
            parse_time("2026-11").unwrap(),
            parse_time("2026-11-01T00:00:00Z").unwrap()
        );
        assert!(parse_time("yesterday").is_err());
    }
}
