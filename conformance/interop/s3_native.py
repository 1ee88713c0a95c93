#!/usr/bin/env python3
"""The native S3 client side of gureum's interop tests: boto3, used the way its users use it.

Reads one JSON request on stdin and prints one JSON answer on stdout:

    {"endpoint": "http://127.0.0.1:5000", "access_key": "...", "secret_key": "...",
     "bucket": "b", "ops": [{"op": "put", "key": "...", ...}, ...]}

Answer: {"ok": true, "results": [...]} (one result per op), or {"ok": false, "error": "..."}
with exit status 1. Exit status 3 means boto3 is not installed.

Ops (keys and metadata are exact strings; bytes travel as base64 or as a deterministic pattern):
  put     key, data_b64 | pattern_bytes, metadata {name: value}   -> {"etag"}
          Non-ASCII metadata values are sent as RFC 2047 encoded-words, the form S3 documents
          (boto3 itself refuses non-ASCII header values).
  get     key -> {"size", "sha256", "data_b64" (when <= 64 KiB), "metadata" (as boto3 returns
          it), "metadata_decoded" (RFC 2047 decoded)}
  list    prefix? -> {"keys": [...]} via list_objects_v2 (boto3 asks for encoding-type=url
          and decodes), all pages
  list_v1 prefix? -> {"keys": [...]} via list_objects (V1, marker pagination)
  delete  key -> {}
  exists  key -> {"exists": bool}
"""
import base64
import hashlib
import json
import sys

try:
    import boto3
    from botocore.config import Config
except ImportError:  # pragma: no cover - reported to the Rust side
    print(json.dumps({"ok": False, "error": "boto3 is not installed"}))
    sys.exit(3)

from email.header import decode_header


def pattern(n):
    """The deterministic test body of n bytes: byte i is i % 251 (the Rust side makes the same)."""
    return bytes(i % 251 for i in range(n)) if n < 4096 else (bytes(range(251)) * (n // 251 + 1))[:n]


def encode_rfc2047(v):
    """A metadata value as S3 documents non-ASCII values: RFC 2047 encoded-words (UTF-8, B)."""
    if all(0x20 <= ord(ch) < 0x7F for ch in v):
        return v
    raw = v.encode("utf-8")
    words, i = [], 0
    while i < len(raw):
        j = min(len(raw), i + 45)
        while j < len(raw) and (raw[j] & 0xC0) == 0x80:  # whole UTF-8 characters per word
            j -= 1
        words.append("=?UTF-8?B?" + base64.b64encode(raw[i:j]).decode() + "?=")
        i = j
    return " ".join(words)


def decode_rfc2047(v):
    """What a Python user does to read an encoded-word value: email.header.decode_header."""
    if "=?" not in v:
        return v
    out = []
    for part, charset in decode_header(v):
        out.append(part.decode(charset or "ascii") if isinstance(part, bytes) else part)
    return "".join(out)


def client(req):
    return boto3.client(
        "s3",
        endpoint_url=req["endpoint"],
        aws_access_key_id=req["access_key"],
        aws_secret_access_key=req["secret_key"],
        region_name=req.get("region", "us-east-1"),
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 2},
        ),
    )


def list_keys(c, bucket, prefix, v1):
    keys = []
    kw = {"Bucket": bucket}
    if prefix:
        kw["Prefix"] = prefix
    for _ in range(10000):
        if v1:
            r = c.list_objects(**kw)
            page = [o["Key"] for o in r.get("Contents", [])]
            keys += page
            if not r.get("IsTruncated"):
                break
            kw["Marker"] = r.get("NextMarker") or page[-1]
        else:
            r = c.list_objects_v2(**kw)
            keys += [o["Key"] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                break
            kw["ContinuationToken"] = r["NextContinuationToken"]
    return keys


def run(c, bucket, op):
    kind = op["op"]
    if kind == "put":
        if "pattern_bytes" in op:
            body = pattern(op["pattern_bytes"])
        else:
            body = base64.b64decode(op.get("data_b64", ""))
        meta = {k: encode_rfc2047(v) for k, v in op.get("metadata", {}).items()}
        r = c.put_object(Bucket=bucket, Key=op["key"], Body=body, Metadata=meta)
        return {"etag": r.get("ETag")}
    if kind == "get":
        r = c.get_object(Bucket=bucket, Key=op["key"])
        body = r["Body"].read()
        out = {
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "metadata": r.get("Metadata", {}),
            "metadata_decoded": {k: decode_rfc2047(v) for k, v in r.get("Metadata", {}).items()},
        }
        if len(body) <= 65536:
            out["data_b64"] = base64.b64encode(body).decode()
        return out
    if kind in ("list", "list_v1"):
        return {"keys": list_keys(c, bucket, op.get("prefix"), kind == "list_v1")}
    if kind == "delete":
        c.delete_object(Bucket=bucket, Key=op["key"])
        return {}
    if kind == "exists":
        try:
            c.head_object(Bucket=bucket, Key=op["key"])
            return {"exists": True}
        except c.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return {"exists": False}
            raise
    raise ValueError(f"unknown op {kind!r}")


def main():
    req = json.load(sys.stdin)
    c = client(req)
    try:
        results = [run(c, req["bucket"], op) for op in req["ops"]]
    except Exception as e:  # the Rust test shows the message
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
    print(json.dumps({"ok": True, "results": results}))


if __name__ == "__main__":
    main()
