"""Documented answers that schemathesis' generated requests do not reach, checked against openapi.yaml.

schemathesis sends undeclared methods but checks only their status and that `Allow` is there, and it
never sends a body between 4 and 8 KiB or over 8 KiB. These probes send exactly such requests through
nginx and validate each answer with schemathesis' own conformance checks (status code, content type,
headers, body schema) against the operation whose documented responses must describe it.

With the database path, it also holds the database's write lock (as a stuck writer would) for the
503 answers of send and verify and the protected route's 500.

usage: probes.py BASE_URL CA_FILE USER:PASSWORD [DATABASE]
Prints one line per probe and "probes: N passed, M failed"; exits 1 if any failed.
"""

import json
import sqlite3
import sys
from pathlib import Path

import requests
import schemathesis
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]


def main():
    base_url, ca_file, credentials = sys.argv[1:4]
    user, password = credentials.split(":", 1)
    schema = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "openapi.yaml")
    session = requests.Session()
    auth = (user, password)
    send = {"phone_e164": "+14155550123", "purpose": "verify_phone"}
    json_headers = {"Content-Type": "application/json"}
    over_4k = json.dumps({"phone_e164": "+14155550123", "purpose": "x" * 5000})
    over_8k = json.dumps({"phone_e164": "+14155550123", "purpose": "x" * 9000})

    # (what, documented operation, method sent, path sent, expected status, request arguments)
    probes = [
        ("GET send", ("/api/otp/send", "POST"), "GET", "/api/otp/send", 405, {"auth": auth}),
        ("PUT send", ("/api/otp/send", "POST"), "PUT", "/api/otp/send", 405, {"auth": auth, "json": send}),
        ("DELETE verify", ("/api/otp/verify", "POST"), "DELETE", "/api/otp/verify", 405, {"auth": auth}),
        ("OPTIONS verify", ("/api/otp/verify", "POST"), "OPTIONS", "/api/otp/verify", 405, {"auth": auth}),
        ("POST health", ("/api/otp/health", "GET"), "POST", "/api/otp/health", 405, {"auth": auth, "json": {}}),
        ("send, 5 KiB body (otp-fcgi)", ("/api/otp/send", "POST"), "POST", "/api/otp/send", 413,
         {"auth": auth, "data": over_4k, "headers": json_headers}),
        ("verify, 9 KiB body (nginx)", ("/api/otp/verify", "POST"), "POST", "/api/otp/verify", 413,
         {"auth": auth, "data": over_8k, "headers": json_headers}),
        ("send, no credentials (nginx)", ("/api/otp/send", "POST"), "POST", "/api/otp/send", 401, {"json": send}),
        ("send, charset parameter", ("/api/otp/send", "POST"), "POST", "/api/otp/send", 200,
         {"auth": auth, "data": json.dumps(send), "headers": {"Content-Type": "application/json; charset=utf-8"}}),
        ("verify, empty body", ("/api/otp/verify", "POST"), "POST", "/api/otp/verify", 400,
         {"auth": auth, "data": b"", "headers": json_headers}),
        ("verify, invalid UTF-8", ("/api/otp/verify", "POST"), "POST", "/api/otp/verify", 400,
         {"auth": auth, "data": b'{"code": "\xff"}', "headers": json_headers}),
        ("protected, wrong password", ("/account/cancel-appointment", "POST"), "POST", "/account/cancel-appointment", 401,
         {"auth": (user, password + "-wrong"), "headers": {"X-Step-Up-Token": "A" * 43}}),
    ]

    passed = failed = 0

    def run(probes):
        nonlocal passed, failed
        for what, (path, method), sent_method, sent_path, expected, arguments in probes:
            operation = schema[path][method]
            response = session.request(sent_method, base_url + sent_path, timeout=10, verify=ca_file, **arguments)
            problems = []
            if response.status_code != expected:
                problems.append(f"status {response.status_code}, expected {expected}")
            case = operation.Case(method=sent_method)
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                problems.extend(f"{failure.title}: {' '.join(failure.message.split())[:300]}" for failure in group.exceptions)
            except AssertionError as error:
                problems.append(" ".join(str(error).split())[:300] or type(error).__name__)
            if problems:
                failed += 1
                print(f"FAIL {what}: {sent_method} {sent_path} -> {response.status_code} {response.headers.get('content-type')}: {'; '.join(problems)}")
                print(f"     body: {response.text[:300]!r}")
            else:
                passed += 1
                print(f"ok   {what}: {sent_method} {sent_path} -> {response.status_code} {response.headers.get('content-type')}")

    run(probes)

    if len(sys.argv) > 4:
        # otp-fcgi waits OTP_DB_BUSY_TIMEOUT_MS (2 s) for the lock, then answers 503; the step-up check's
        # 503 becomes nginx's 500 on the protected route.
        database = sqlite3.connect(sys.argv[4], isolation_level=None, timeout=5)
        database.execute("BEGIN IMMEDIATE")
        try:
            run([
                ("send, database locked", ("/api/otp/send", "POST"), "POST", "/api/otp/send", 503,
                 {"auth": auth, "json": {"phone_e164": "+14155550124", "purpose": "step_up"}}),
                ("verify, database locked", ("/api/otp/verify", "POST"), "POST", "/api/otp/verify", 503,
                 {"auth": auth, "json": {**send, "code": "123456"}}),
                ("protected, database locked", ("/account/cancel-appointment", "POST"), "POST", "/account/cancel-appointment",
                 500, {"auth": auth, "headers": {"X-Step-Up-Token": "A" * 43}}),
            ])
        finally:
            database.execute("ROLLBACK")
            database.close()

    # Not an operation: any other path under /api/otp/ (components/responses/NotFound).
    response = session.post(base_url + "/api/otp/unknown", auth=auth, json=send, timeout=10, verify=ca_file)
    not_found = schema.raw_schema["components"]["responses"]["NotFound"]
    body_ok = response.headers.get("content-type") == "application/json" and response.json() == {"detail": "Not found"}
    if response.status_code == 404 and body_ok and response.headers.get("cache-control") == "no-store" and not_found:
        passed += 1
        print("ok   unknown path under /api/otp/: POST /api/otp/unknown -> 404 application/json")
    else:
        failed += 1
        print(f"FAIL unknown path under /api/otp/: {response.status_code} {response.headers} {response.text[:200]!r}")

    print(f"probes: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
