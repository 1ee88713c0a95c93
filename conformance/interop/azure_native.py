#!/usr/bin/env python3
"""The Azure SDK (azure-storage-blob) side of the Azure Blob interop tests (JSON in, JSON out).

Reads one JSON request on stdin:

    {"connection_string": "...", "container": "...",
     "ops": [{"op": "put", "key": "...", "data_b64": "..." | "gen": {"size": N, "seed": S},
              "metadata": {"name": "value"}, "content_type": "..."},
             {"op": "get", "key": "..."}, {"op": "head", "key": "..."},
             {"op": "list", "prefix": "..."}, {"op": "delete", "key": "..."},
             {"op": "create_container"}, {"op": "delete_container"}]}

and writes {"results": [...]} on stdout, one result per op: {"ok": true, ...} or
{"ok": false, "status": HTTP status or null, "error": "..."}. `get` returns size, sha256,
the body (base64, when at most 64 KiB), content_type and metadata exactly as the SDK shows
them; `list` returns every blob name (the SDK pages itself).

Blob names and metadata go to the SDK exactly as a user of it would pass them. Needs
`pip install azure-storage-blob`. Exit status 3 when the SDK cannot be imported, so the
caller can tell a missing client from a failure.
"""

import base64
import hashlib
import json
import sys

try:
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.storage.blob import BlobServiceClient, ContentSettings
except ImportError as e:  # pragma: no cover - reported to the caller
    print(json.dumps({"missing": "azure-storage-blob", "error": str(e)}))
    sys.exit(3)

INLINE = 64 * 1024


def gen_bytes(size, seed):
    """The deterministic test content: byte i is (i * 131 + seed) mod 256 (period 256)."""
    block = bytes(((i * 131 + seed) & 255) for i in range(256))
    return (block * (size // 256 + 1))[:size]


def body_of(op):
    if "gen" in op:
        return gen_bytes(op["gen"]["size"], op["gen"].get("seed", 0))
    return base64.b64decode(op.get("data_b64", ""))


def run(service, container, op):
    kind = op["op"]
    cc = service.get_container_client(container)
    if kind == "create_container":
        cc.create_container()
        return {"ok": True}
    if kind == "delete_container":
        cc.delete_container()
        return {"ok": True}
    if kind == "list":
        return {"ok": True, "names": [b.name for b in cc.list_blobs(name_starts_with=op.get("prefix"))]}
    blob = cc.get_blob_client(op["key"])
    if kind == "put":
        settings = None
        if op.get("content_type"):
            settings = ContentSettings(content_type=op["content_type"])
        r = blob.upload_blob(
            body_of(op),
            overwrite=True,
            metadata=op.get("metadata") or None,
            content_settings=settings,
        )
        return {"ok": True, "etag": r.get("etag")}
    if kind in ("get", "head"):
        props = blob.get_blob_properties()
        out = {
            "ok": True,
            "content_type": props.content_settings.content_type,
            "metadata": dict(props.metadata or {}),
            "size": props.size,
        }
        if kind == "get":
            body = blob.download_blob().readall()
            out["size"] = len(body)
            out["sha256"] = hashlib.sha256(body).hexdigest()
            if len(body) <= INLINE:
                out["data_b64"] = base64.b64encode(body).decode()
        return out
    if kind == "delete":
        blob.delete_blob()
        return {"ok": True}
    return {"ok": False, "error": "unknown op %r" % kind}


def main():
    req = json.load(sys.stdin)
    service = BlobServiceClient.from_connection_string(req["connection_string"])
    results = []
    for op in req["ops"]:
        try:
            results.append(run(service, req["container"], op))
        except HttpResponseError as e:
            results.append({"ok": False, "status": e.status_code, "error": str(e).splitlines()[0]})
        except (AzureError, ValueError, UnicodeError) as e:
            results.append({"ok": False, "status": None, "error": "%s: %s" % (type(e).__name__, e)})
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
