//! The machinery that runs named cases: requirement handling, timeouts, panic isolation.

use crate::report::{CaseResult, Requirement, Status};
use crate::Options;
use futures::future::BoxFuture;
use gureum_core::{Error, ErrorKind};
use std::fmt::Debug;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a case did not pass.
#[derive(Debug)]
pub(crate) enum CaseError {
    /// The case's assertion did not hold.
    Fail(String),
    /// A prerequisite is missing; the case could not run.
    Skip(String),
}

impl From<Error> for CaseError {
    fn from(e: Error) -> Self {
        CaseError::Fail(format!("unexpected error: {e}"))
    }
}

pub(crate) type Outcome = std::result::Result<(), CaseError>;

/// What a case function gets: the shared context and its own name.
pub(crate) struct Scope<C> {
    pub ctx: Arc<C>,
    pub case: &'static str,
    notes: Arc<std::sync::Mutex<Vec<String>>>,
}

impl<C> Deref for Scope<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.ctx
    }
}

impl<C> Scope<C> {
    /// Attach a note to the case result (shown even when the case passes).
    pub fn note(&self, msg: impl Into<String>) {
        self.notes.lock().unwrap().push(msg.into());
    }
    /// The case name without its area prefix.
    pub fn short(&self) -> &'static str {
        self.case.split_once('.').map(|x| x.1).unwrap_or(self.case)
    }
}

/// The context of an area's cases names the capability struct its gates read.
pub(crate) trait Gated {
    /// The capability flags cases are gated on (e.g. [`gureum_core::StorageCapabilities`]).
    type Caps: 'static;
}

/// A capability gate: the flag's name (as in reports) and a typed accessor reading it.
pub(crate) struct Gate<K: 'static> {
    pub name: &'static str,
    pub get: fn(&K) -> bool,
}

/// One named case.
pub(crate) struct CaseDef<C: Gated> {
    pub name: &'static str,
    pub caps: &'static [Gate<C::Caps>],
    pub f: fn(Scope<C>) -> BoxFuture<'static, Outcome>,
}

/// Define a case: `case!("storage.name", [multipart, copy], |s| { ... Ok(()) })`.
///
/// Each gate is a field of the area's capability struct, read as `|c| c.multipart`, so a
/// misspelt or removed flag is a compile error rather than a silently unadvertised case.
macro_rules! case {
    ($name:literal, [$($cap:ident),*], |$s:ident| $body:block) => {
        $crate::harness::CaseDef {
            name: $name,
            caps: &[$($crate::harness::Gate {
                name: stringify!($cap),
                get: |c| c.$cap,
            }),*],
            f: |$s| Box::pin(async move $body),
        }
    };
}
pub(crate) use case;

/// Fail the case unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::harness::CaseError::Fail(format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;

/// Fail unless `a == b`, showing both.
macro_rules! ensure_eq {
    ($a:expr, $b:expr, $($msg:tt)+) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err($crate::harness::CaseError::Fail(format!(
                "{}: got {}, expected {}",
                format!($($msg)+),
                $crate::harness::short_debug(a),
                $crate::harness::short_debug(b)
            )));
        }
    }};
}
pub(crate) use ensure_eq;

/// Debug output cut to a readable length.
pub(crate) fn short_debug<T: Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} chars)", &s[..cut], s.len())
    } else {
        s
    }
}

/// Fail unless `r` is an error of `kind`.
pub(crate) fn expect_kind<T: Debug>(
    r: gureum_core::Result<T>,
    kind: ErrorKind,
    what: &str,
) -> Outcome {
    match r {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(CaseError::Fail(format!(
            "{what}: expected a {kind} error, got {} error: {e}",
            e.kind()
        ))),
        Ok(v) => Err(CaseError::Fail(format!(
            "{what}: expected a {kind} error, but it succeeded with {}",
            short_debug(&v)
        ))),
    }
}

/// Fail unless `r` is an error of one of `kinds`.
pub(crate) fn expect_kinds<T: Debug>(
    r: gureum_core::Result<T>,
    kinds: &[ErrorKind],
    what: &str,
) -> Outcome {
    match r {
        Err(e) if kinds.contains(&e.kind()) => Ok(()),
        Err(e) => Err(CaseError::Fail(format!(
            "{what}: expected one of {kinds:?}, got {} error: {e}",
            e.kind()
        ))),
        Ok(v) => Err(CaseError::Fail(format!(
            "{what}: expected one of {kinds:?}, but it succeeded with {}",
            short_debug(&v)
        ))),
    }
}

/// Fail with a message.
pub(crate) fn fail<T>(msg: impl Into<String>) -> std::result::Result<T, CaseError> {
    Err(CaseError::Fail(msg.into()))
}

/// Skip with a reason.
pub(crate) fn skip<T>(msg: impl Into<String>) -> std::result::Result<T, CaseError> {
    Err(CaseError::Skip(msg.into()))
}

/// Add context to an error result.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> std::result::Result<T, CaseError>;
}

impl<T> Context<T> for gureum_core::Result<T> {
    fn ctx(self, what: &str) -> std::result::Result<T, CaseError> {
        self.map_err(|e| CaseError::Fail(format!("{what}: {} error: {e}", e.kind())))
    }
}

/// Cases allowed ten times the usual time bound.
const SLOW_CASES: &[&str] = &[
    "storage.pages_write_fixture",
    "storage.pages_delete_many_bulk",
];

/// Run the selected cases in order and collect their results.
pub(crate) async fn run_cases<C: Gated + Send + Sync + 'static>(
    ctx: Arc<C>,
    cases: &[CaseDef<C>],
    advertised: &C::Caps,
    opts: &Options,
    timeout: Duration,
    after: impl Fn(Arc<C>, &'static str) -> BoxFuture<'static, ()>,
) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for c in cases {
        if !opts.selects(c.name) {
            continue;
        }
        // The page fixture writes and deletes thousands of objects (10,001 on Swift): ten
        // times the bound.
        let t = if SLOW_CASES.contains(&c.name) {
            timeout * 10
        } else {
            timeout
        };
        let r = run_one(ctx.clone(), c, advertised, t).await;
        if let Some(p) = &opts.progress {
            p.lock().unwrap().push(r.clone());
        }
        out.push(r);
        // Safety net: whatever a failed or timed-out case left behind is removed now.
        after(ctx.clone(), c.name).await;
    }
    out
}

/// Run one case (also used for the mandatory final cleanup case).
pub(crate) async fn run_one<C: Gated + Send + Sync + 'static>(
    ctx: Arc<C>,
    c: &CaseDef<C>,
    advertised: &C::Caps,
    timeout: Duration,
) -> CaseResult {
    let is_adv = c.caps.iter().all(|g| (g.get)(advertised));
    let gates: Vec<&str> = c.caps.iter().map(|g| g.name).collect();
    let requirement = if gates.is_empty() {
        Requirement::Required
    } else {
        Requirement::Capability(gates.iter().map(|s| s.to_string()).collect())
    };
    let started = Instant::now();
    let notes: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let fut = (c.f)(Scope {
        ctx,
        case: c.name,
        notes: notes.clone(),
    });
    // Aborted if this future is dropped (the runner cancels a run on Ctrl-C), so a case never
    // keeps writing while the interrupted run cleans up.
    let mut handle = AbortOnDrop(tokio::spawn(tokio::time::timeout(timeout, fut)));
    let outcome: Outcome = match (&mut handle.0).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(CaseError::Fail(format!("timed out after {timeout:?}"))),
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(CaseError::Fail(format!("panicked: {msg}")))
        }
        Err(e) => Err(CaseError::Fail(format!("task failed: {e}"))),
    };
    let (status, message) = match (outcome, is_adv) {
        (Ok(()), true) => (Status::Passed, None),
        (Ok(()), false) => (
            Status::UnexpectedlyWorks,
            Some(format!(
                "capability {} is not advertised, yet the case passed",
                gates.join("+")
            )),
        ),
        (Err(CaseError::Fail(m)), true) => (Status::Failed, Some(m)),
        (Err(CaseError::Fail(m)), false) => (Status::Unsupported, Some(m)),
        (Err(CaseError::Skip(m)), _) => (Status::Skipped, Some(m)),
    };
    let notes = std::mem::take(&mut *notes.lock().unwrap());
    let message = match (message, notes.is_empty()) {
        (m, true) => m,
        (None, false) => Some(notes.join("; ")),
        (Some(m), false) => Some(format!("{m} (notes: {})", notes.join("; "))),
    };
    tracing_like(c.name, status);
    CaseResult {
        name: c.name.to_string(),
        requirement,
        advertised: is_adv,
        status,
        duration_ms: started.elapsed().as_millis() as u64,
        message,
    }
}

/// A task handle that aborts the task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn tracing_like(name: &str, status: Status) {
    if std::env::var_os("GUREUM_CONFORMANCE_VERBOSE").is_some() {
        eprintln!("{:<20} {name}", status.as_str());
    }
}

/// Capability flags of a serializable capability struct as a name → value map.
pub(crate) fn caps_map<T: serde::Serialize>(
    caps: &T,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(caps) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
        _ => Default::default(),
    }
}
