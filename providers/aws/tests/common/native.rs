//! The native-client side of the interop tests: conformance/interop/s3_native.py (boto3),
//! and the shared key set conformance/interop/keyset.json.
//!
//! With GUREUM_REQUIRE_EMULATORS=1 a missing python3 or boto3 fails the test; otherwise the
//! test is skipped with a message.
#![allow(dead_code)]

use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/interop")
}

fn required() -> bool {
    std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1")
}

/// One entry of the key set.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// The keys, exact.
    pub keys: Vec<String>,
    /// The big object's key.
    pub big_key: String,
    /// The big object's size.
    pub big_bytes: usize,
    /// The shared metadata (names with `_` and `-`, a non-ASCII value).
    pub metadata: BTreeMap<String, String>,
}

/// Load conformance/interop/keyset.json.
pub fn keyset() -> KeySet {
    let p = interop_dir().join("keyset.json");
    let v: Value = serde_json::from_slice(&std::fs::read(&p).expect("keyset.json")).unwrap();
    KeySet {
        keys: v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap().to_string())
            .collect(),
        big_key: v["big_object"]["key"].as_str().unwrap().to_string(),
        big_bytes: v["big_object"]["bytes"].as_u64().unwrap() as usize,
        metadata: v["metadata"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
    }
}

/// The deterministic test body of `n` bytes (byte i is i % 251), as s3_native.py makes it.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Hex SHA-256 (boto3's side answers digests, not 10 MiB bodies).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where boto3 connects.
#[derive(Debug, Clone)]
pub struct NativeTarget {
    /// S3 endpoint URL (loopback).
    pub endpoint: String,
    /// Access key.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
    /// Bucket.
    pub bucket: String,
}

/// Run `ops` with boto3. `None` (skip) when python3/boto3 is missing and CI does not require it.
pub fn boto3(t: &NativeTarget, ops: Vec<Value>) -> Option<Vec<Value>> {
    let req = json!({
        "endpoint": t.endpoint, "access_key": t.access_key, "secret_key": t.secret_key,
        "bucket": t.bucket, "ops": ops,
    });
    let script = interop_dir().join("s3_native.py");
    let child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !required(),
                "python3 not runnable ({e}) and GUREUM_REQUIRE_EMULATORS=1"
            );
            eprintln!("skipping: python3 not runnable: {e}");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        assert!(
            !required(),
            "boto3 is not installed and GUREUM_REQUIRE_EMULATORS=1"
        );
        eprintln!("skipping: boto3 is not installed");
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "s3_native.py answered no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        v["ok"].as_bool() == Some(true),
        "s3_native.py failed: {}",
        v["error"]
    );
    Some(v["results"].as_array().unwrap().clone())
}

/// `put` op with an explicit body.
pub fn put_op(key: &str, data: &[u8], meta: &BTreeMap<String, String>) -> Value {
    json!({"op": "put", "key": key,
           "data_b64": base64::engine::general_purpose::STANDARD.encode(data),
           "metadata": meta})
}

/// `put` op with the deterministic pattern body.
pub fn put_pattern_op(key: &str, n: usize) -> Value {
    json!({"op": "put", "key": key, "pattern_bytes": n})
}

/// Any single-key op (`get`, `delete`, `exists`).
pub fn key_op(op: &str, key: &str) -> Value {
    json!({"op": op, "key": key})
}

/// Keys as listed by boto3 (`list` = V2, `list_v1` = V1).
pub fn listed(v: &Value) -> Vec<String> {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// Metadata of a `get` answer as boto3 returned it, and decoded.
pub fn meta_of(v: &Value, field: &str) -> BTreeMap<String, String> {
    v[field]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}
