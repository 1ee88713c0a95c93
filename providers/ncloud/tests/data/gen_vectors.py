#!/usr/bin/env python3
"""Generate fixed test vectors for the Naver Cloud API Gateway signature (v2).

Written independently of the Rust code, from the published algorithm:

    stringToSign = METHOD + " " + requestURI + "\n" + timestamp + "\n" + accessKey
    signature    = Base64(HMAC-SHA256(secretKey, stringToSign))

where requestURI is the path plus "?query" exactly as sent (no host), timestamp is epoch
milliseconds as a decimal string, "\n" is a bare LF and Base64 is the standard alphabet with
padding. Sources: https://api.ncloud-docs.com/docs/common-ncpapi and the "Server (VPC)"
overview (x-ncp-apigw-signature-v2).

Run:  python3 gen_vectors.py > signature_vectors.json
The keys below are made up for the test; they are not credentials of any account.
"""
import base64
import hashlib
import hmac
import json

CASES = [
    # (name, method, request_uri, timestamp_ms, access_key, secret_key)
    ("doc-style GET list", "GET",
     "/vserver/v2/getServerInstanceList?regionCode=KR&responseFormatType=json",
     "1593848345548", "7fIvgFY428mtY6sY8maw", "testSecretKey0123456789abcdefghijklmnopq"),
    ("GET with list parameters", "GET",
     "/vserver/v2/stopServerInstances?regionCode=KR&responseFormatType=json&serverInstanceNoList.1=1088217&serverInstanceNoList.2=1021003",
     "1700000000000", "AKIDEXAMPLE0000NCP01", "c2VjcmV0LW5vdC1yZWFs-secret"),
    ("gov base path", "GET",
     "/vserver/v2/getServerSpecList?regionCode=KR&responseFormatType=json",
     "1764000000123", "govAccessKey1234", "govSecretKey5678"),
    ("percent-encoded value", "GET",
     "/vserver/v2/createServerInstances?regionCode=KR&responseFormatType=json&serverDescription=gureum%3A%7B%22n%22%3A%22a%20b%22%7D&serverName=web-1",
     "1764065400000", "ak-unicode-test", "sk-unicode-test"),
    ("POST without query (form body is not signed)", "POST",
     "/vserver/v2/createInitScript",
     "1764065400999", "AKPOST0000000000", "SKPOST00000000000000000000000000"),
    ("root path", "GET", "/", "0", "a", "b"),
]


def sign(method, uri, ts, ak, sk):
    msg = f"{method} {uri}\n{ts}\n{ak}"
    mac = hmac.new(sk.encode("utf-8"), msg.encode("utf-8"), hashlib.sha256).digest()
    return msg, base64.b64encode(mac).decode("ascii")


def main():
    out = []
    for name, method, uri, ts, ak, sk in CASES:
        msg, sig = sign(method, uri, ts, ak, sk)
        out.append({
            "name": name,
            "method": method,
            "request_uri": uri,
            "timestamp": ts,
            "access_key": ak,
            "secret_key": sk,
            "string_to_sign": msg,
            "signature": sig,
        })
    print(json.dumps({"algorithm": "ncloud-apigw-signature-v2", "vectors": out}, indent=2,
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
