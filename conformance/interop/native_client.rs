//! The Rust side of the native-client interop tests, included by the provider crates'
//! integration tests with `#[path = ".../conformance/interop/native_client.rs"] mod ...;`.
//!
//! A native client is one of the `*_native.py` scripts beside this file: JSON request on
//! stdin, `{"results": [...]}` on stdout, exit status 3 when its Python package is missing.
//! Without `GUREUM_REQUIRE_EMULATORS=1` a missing interpreter, package or server skips the
//! test with a message; with it (CI) they fail the test.
#![allow(dead_code)]

use serde_json::{json, Value};
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The shared key set (conformance/interop/keyset.json).
pub struct KeySet {
    /// Every small-object key, exact strings.
    pub keys: Vec<String>,
    /// The big object's key.
    pub big_key: String,
    /// The big object's size.
    pub big_size: usize,
    /// The metadata every object carries (names with `_` and `-`, a non-ASCII value).
    pub metadata: BTreeMap<String, String>,
}

/// Load the shared key set.
pub fn keyset() -> KeySet {
    let v: Value = serde_json::from_str(include_str!("keyset.json")).expect("keyset.json");
    KeySet {
        keys: v["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["key"].as_str().expect("key").to_string())
            .collect(),
        big_key: v["big_object"]["key"]
            .as_str()
            .expect("big key")
            .to_string(),
        big_size: v["big_object"]["bytes"].as_u64().expect("big size") as usize,
        metadata: v["metadata"]
            .as_object()
            .expect("metadata")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("value").to_string()))
            .collect(),
    }
}

/// The deterministic test content the scripts also make: byte i is `(i * 131 + seed) mod 256`.
pub fn gen_bytes(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| ((i as u64 * 131 + seed as u64) & 255) as u8)
        .collect()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// `None` after printing why the test is skipped, or a panic when CI requires the test.
pub fn skip_or_fail<T>(why: &str) -> Option<T> {
    if std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1") {
        panic!("{why} (GUREUM_REQUIRE_EMULATORS=1)");
    }
    eprintln!("skipping: {why}");
    None
}

/// A native client script with its connection settings.
pub struct Native {
    python: String,
    script: PathBuf,
    base: Value,
}

impl Native {
    /// The script `name` (e.g. `swift_native.py`) run by the interpreter in the environment
    /// variable `python_var` (default `default_python`), with `base` (connection settings,
    /// container) merged into every request. Checks once that interpreter and package are
    /// there.
    pub fn new(name: &str, python_var: &str, default_python: &str, base: Value) -> Option<Self> {
        let python = std::env::var(python_var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default_python.to_string());
        // Included by crates two levels down (providers/x) and one level down (cli).
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let script = ["../../conformance/interop", "../conformance/interop"]
            .iter()
            .map(|d| root.join(d).join(name))
            .find(|p| p.exists())
            .unwrap_or_else(|| root.join("../../conformance/interop").join(name));
        let n = Native {
            python,
            script,
            base,
        };
        match n.exec(&[]) {
            Ok(_) => Some(n),
            Err(why) => skip_or_fail(&why),
        }
    }

    fn exec(&self, ops: &[Value]) -> Result<Vec<Value>, String> {
        let mut req = self.base.clone();
        req["ops"] = json!(ops);
        let mut child = Command::new(&self.python)
            .arg(&self.script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.python))?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(req.to_string().as_bytes())
            .map_err(|e| format!("writing to {}: {e}", self.script.display()))?;
        let out = child
            .wait_with_output()
            .map_err(|e| format!("waiting for {}: {e}", self.script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(3) => {
                return Err(format!(
                    "{} with {}: Python package missing: {stdout}",
                    self.script.display(),
                    self.python
                ))
            }
            _ => {
                return Err(format!(
                    "{} failed ({}): {stdout} {stderr}",
                    self.script.display(),
                    out.status
                ))
            }
        }
        let v: Value = serde_json::from_str(&stdout)
            .map_err(|e| format!("{}: bad JSON {e}: {stdout}", self.script.display()))?;
        Ok(v["results"].as_array().cloned().unwrap_or_default())
    }

    /// Run `ops` (one result each). A script failure (not a per-op error) panics.
    pub fn run(&self, ops: Vec<Value>) -> Vec<Value> {
        let n = ops.len();
        let r = self.exec(&ops).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.len(), n, "one result per op: {r:?}");
        r
    }

    /// Run one op that must succeed.
    pub fn ok(&self, op: Value) -> Value {
        let r = self.run(vec![op.clone()]).remove(0);
        assert_eq!(r["ok"], json!(true), "native {op}: {r}");
        r
    }
}

/// The metadata of a native `get`/`head` result.
pub fn metadata_of(r: &Value) -> BTreeMap<String, String> {
    r["metadata"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}
