//! Output helpers, error printing and exit codes.

use gureum::{Error, ErrorKind};
use std::io::Write;

/// Success.
#[allow(dead_code)]
pub const EXIT_OK: i32 = 0;
/// Any error without a more specific code.
pub const EXIT_GENERIC: i32 = 1;
/// Bad command line, bad URL, bad key or other invalid argument.
pub const EXIT_USAGE: i32 = 2;
/// Object, queue, message or instance not found.
pub const EXIT_NOT_FOUND: i32 = 3;
/// Permission denied, unauthenticated, or the placement policy forbids it.
pub const EXIT_DENIED: i32 = 4;
/// The conformance suite reported failures.
#[allow(dead_code)]
pub const EXIT_CONFORMANCE: i32 = 5;
/// The backend does not support the operation.
pub const EXIT_UNSUPPORTED: i32 = 6;
/// Unavailable, rate limited or timed out: retrying later may help.
pub const EXIT_UNAVAILABLE: i32 = 7;
/// Already exists or a precondition failed.
pub const EXIT_CONFLICT: i32 = 8;
/// Integrity check failed.
pub const EXIT_INTEGRITY: i32 = 9;

/// The process exit code for an error.
pub fn exit_code_of(e: &Error) -> i32 {
    match e.kind() {
        ErrorKind::InvalidArgument => EXIT_USAGE,
        ErrorKind::NotFound => EXIT_NOT_FOUND,
        ErrorKind::PermissionDenied
        | ErrorKind::Unauthenticated
        | ErrorKind::PolicyViolation
        | ErrorKind::Tls
        | ErrorKind::QuotaExceeded => EXIT_DENIED,
        ErrorKind::Unsupported => EXIT_UNSUPPORTED,
        ErrorKind::Unavailable | ErrorKind::RateLimited | ErrorKind::Timeout => EXIT_UNAVAILABLE,
        ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed => EXIT_CONFLICT,
        ErrorKind::Integrity => EXIT_INTEGRITY,
        _ => EXIT_GENERIC,
    }
}

/// Print an error to stderr: `error[<kind>]: message (code X) [request id Y]`, or one JSON
/// object with `--json`. Only the error's own message is printed (drivers keep secrets out
/// of it); source chains are not.
pub fn print_error(out: &Out, e: &Error) {
    let mut err = std::io::stderr().lock();
    if out.json {
        let v = serde_json::json!({
            "error": {
                "kind": e.kind().as_str(),
                "message": e.message(),
                "provider_code": e.provider_code(),
                "request_id": e.request_id(),
                "exit_code": exit_code_of(e),
            }
        });
        let _ = writeln!(err, "{v}");
    } else {
        // One line: provider bodies quoted in messages may contain newlines.
        let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        let mut line = format!("error[{}]: {msg}", e.kind().as_str());
        if let Some(c) = e.provider_code() {
            line.push_str(&format!(" (code {c})"));
        }
        if let Some(r) = e.request_id() {
            line.push_str(&format!(" [request id {r}]"));
        }
        let _ = writeln!(err, "{line}");
    }
}

/// Where results go.
#[derive(Debug, Clone)]
pub struct Out {
    /// `--json` was given.
    pub json: bool,
}

impl Out {
    /// New output settings.
    pub fn new(json: bool) -> Self {
        Out { json }
    }

    /// Print one line of text (human mode) to stdout.
    pub fn line(&self, s: impl AsRef<str>) -> gureum::Result<()> {
        write_stdout(format!("{}\n", s.as_ref()).as_bytes())
    }

    /// Print one JSON value on its own line.
    pub fn json_line(&self, v: &serde_json::Value) -> gureum::Result<()> {
        write_stdout(format!("{v}\n").as_bytes())
    }
}

/// Write to stdout; a closed pipe (`gureum ls ... | head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> gureum::Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(bytes).and_then(|_| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Serialize to a JSON value (never fails for our plain data types).
pub fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
