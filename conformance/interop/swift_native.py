#!/usr/bin/env python3
"""The python-swiftclient side of the Swift interop tests (JSON in, JSON out).

Reads one JSON request on stdin:

    {"auth_url": "...", "user": "...", "key": "...", "container": "...",
     "ops": [{"op": "put", "key": "...", "data_b64": "..." | "gen": {"size": N, "seed": S},
              "metadata": {"name": "value"}, "content_type": "..."},
             {"op": "get", "key": "..."}, {"op": "head", "key": "..."},
             {"op": "list", "prefix": "..."}, {"op": "delete", "key": "..."},
             {"op": "create_container"}, {"op": "delete_container"}]}

and writes {"results": [...]} on stdout, one result per op: {"ok": true, ...} or
{"ok": false, "status": HTTP status, "error": "..."}. `get` returns size, sha256, the body
(base64, when at most 64 KiB), content_type and metadata (names as python-swiftclient shows
them: lower-cased, without `x-object-meta-`); `list` returns every name (python-swiftclient
pages with full_listing=True).

Object names and metadata go through python-swiftclient exactly as a user of it would pass
them. Needs the Debian package python3-swiftclient (run with /usr/bin/python3). Exit status 3
when swiftclient cannot be imported, so the caller can tell a missing client from a failure.
"""

import base64
import hashlib
import json
import sys

try:
    import swiftclient
    from swiftclient.exceptions import ClientException
except ImportError as e:  # pragma: no cover - reported to the caller
    print(json.dumps({"missing": "python3-swiftclient", "error": str(e)}))
    sys.exit(3)

META = "x-object-meta-"
INLINE = 64 * 1024


def gen_bytes(size, seed):
    """The deterministic test content: byte i is (i * 131 + seed) mod 256 (period 256)."""
    block = bytes(((i * 131 + seed) & 255) for i in range(256))
    return (block * (size // 256 + 1))[:size]


def body_of(op):
    if "gen" in op:
        return gen_bytes(op["gen"]["size"], op["gen"].get("seed", 0))
    return base64.b64decode(op.get("data_b64", ""))


def run(conn, container, op):
    kind = op["op"]
    if kind == "create_container":
        conn.put_container(container)
        return {"ok": True}
    if kind == "delete_container":
        conn.delete_container(container)
        return {"ok": True}
    if kind == "put":
        headers = {META + k: v for k, v in op.get("metadata", {}).items()}
        etag = conn.put_object(
            container,
            op["key"],
            contents=body_of(op),
            content_type=op.get("content_type"),
            headers=headers,
        )
        return {"ok": True, "etag": etag}
    if kind in ("get", "head"):
        if kind == "get":
            headers, body = conn.get_object(container, op["key"])
        else:
            headers, body = conn.head_object(container, op["key"]), None
        out = {
            "ok": True,
            "content_type": headers.get("content-type"),
            "metadata": {k[len(META):]: v for k, v in headers.items() if k.startswith(META)},
            "size": int(headers.get("content-length", "0")),
        }
        if body is not None:
            out["size"] = len(body)
            out["sha256"] = hashlib.sha256(body).hexdigest()
            if len(body) <= INLINE:
                out["data_b64"] = base64.b64encode(body).decode()
        return out
    if kind == "list":
        _, objs = conn.get_container(container, prefix=op.get("prefix"), full_listing=True)
        return {"ok": True, "names": [o["name"] for o in objs]}
    if kind == "delete":
        conn.delete_object(container, op["key"])
        return {"ok": True}
    return {"ok": False, "error": "unknown op %r" % kind}


def main():
    req = json.load(sys.stdin)
    conn = swiftclient.Connection(
        authurl=req["auth_url"], user=req["user"], key=req["key"], retries=1
    )
    results = []
    for op in req["ops"]:
        try:
            results.append(run(conn, req["container"], op))
        except ClientException as e:
            results.append({"ok": False, "status": e.http_status, "error": str(e)})
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
