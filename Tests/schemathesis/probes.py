"""Documented answers that schemathesis' generated requests do not reach, checked against openapi.yaml.

schemathesis sends undeclared methods but checks only their status and that `Allow` is there, and it
never sends a body between 4 and 8 KiB or over 8 KiB. It runs as alice only, so it never meets a user
without a verified phone, a delegate, or a step-up token refused for its action and then admitted. These
probes send exactly such requests through nginx and validate each answer with schemathesis' own
conformance checks (status code, content type, headers, body schema) against the operation whose
documented responses must describe it. Codes are read from the stack's SMS sink (OTP_SMS_FILE).

With --database, it also holds the database's write lock (as a stuck writer would) for the 503 answers
of send and verify and the protected route's 503.

With --firewall-url, it checks the SMS firewall's answers on a second stack whose budgets are tiny
(one request per user, one SMS per country an hour) and whose nginx keeps the shipped send rate limit:
otp-fcgi's 429 and 503, then nginx's own 429.

usage: probes.py BASE_URL CA_FILE USER:PASSWORD --phone PHONE --other-user USER:PASSWORD
                 --delegate USER:PASSWORD [--database PATH] [--firewall-url URL --firewall-ca CA_FILE]
USER has PHONE as their verified phone, the other user has none, the delegate is listed in
OTP_DELEGATE_PRINCIPALS. Prints one line per probe and "probes: N passed, M failed"; exits 1 if any failed.
"""

import argparse
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

from sms_sink import last_code

CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
JSON = {"Content-Type": "application/json"}
SEND = ("/api/otp/send", "POST")
VERIFY = ("/api/otp/verify", "POST")
CANCEL = ("/account/cancel-appointment", "POST")
PAYOUT = ("/account/change-payout", "POST")
CONFIRM = ("/account/confirm", "POST")


def credentials(text):
    user, password = text.split(":", 1)
    return (user, password)


class Prober:
    """Sends one request, checks its status, the exact things asked for, and its conformance to the document."""

    def __init__(self, schema, base_url, ca_file):
        self.schema = schema
        self.base_url = base_url
        self.ca_file = ca_file
        self.session = requests.Session()
        self.passed = 0
        self.failed = 0

    def probe(self, what, operation, expected, method=None, path=None, expect_json=None, expect_headers=None, **arguments):
        path_documented, method_documented = operation
        method = method or method_documented
        path = path or path_documented
        response = self.session.request(method, self.base_url + path, timeout=10, verify=self.ca_file, **arguments)
        problems = []
        if response.status_code != expected:
            problems.append(f"status {response.status_code}, expected {expected}")
        if expect_json is not None:
            try:
                body = response.json()
            except ValueError:
                body = None
            if body != expect_json:
                problems.append(f"body is not {json.dumps(expect_json)}")
        for name, value in (expect_headers or {}).items():
            if response.headers.get(name) != value:
                problems.append(f"{name} is {response.headers.get(name)!r}, expected {value!r}")
        case = self.schema[path_documented][method_documented].Case(method=method)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            problems.extend(f"{failure.title}: {' '.join(failure.message.split())[:300]}" for failure in group.exceptions)
        except AssertionError as error:
            problems.append(" ".join(str(error).split())[:300] or type(error).__name__)
        if problems:
            self.failed += 1
            print(f"FAIL {what}: {method} {path} -> {response.status_code} {response.headers.get('content-type')}: {'; '.join(problems)}")
            print(f"     body: {response.text[:300]!r}")
        else:
            self.passed += 1
            print(f"ok   {what}: {method} {path} -> {response.status_code} {response.headers.get('content-type')}")
        return response

    def fail(self, what, why):
        self.failed += 1
        print(f"FAIL {what}: {why}")

    def step_up_token(self, what, auth, action=None, subject=None):
        """A step_up code for `action` (for `subject`), read from the sink and verified: the token, or None."""
        body = {"purpose": "step_up"}
        if action:
            body["action"] = action
        if subject:
            body["subject"] = subject
        sent = self.probe(f"{what}: send", SEND, 200, auth=auth, json=body)
        code = last_code(None, "step_up")
        if sent.status_code != 200 or code is None:
            self.fail(what, "no step_up SMS in the sink")
            return None
        verified = self.probe(f"{what}: verify", VERIFY, 200, auth=auth, json={**body, "code": code})
        return verified.json().get("step_up_token") if verified.status_code == 200 else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("ca_file")
    parser.add_argument("user", type=credentials, help="USER:PASSWORD of a user with a verified phone")
    parser.add_argument("--phone", required=True, help="the user's verified phone")
    parser.add_argument("--other-user", type=credentials, required=True, help="USER:PASSWORD of a user without a verified phone")
    parser.add_argument("--delegate", type=credentials, required=True, help="USER:PASSWORD of a principal in OTP_DELEGATE_PRINCIPALS")
    parser.add_argument("--database")
    parser.add_argument("--firewall-url")
    parser.add_argument("--firewall-ca")
    options = parser.parse_args()

    schema = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "openapi.yaml")
    prober = Prober(schema, options.base_url, options.ca_file)
    probe = prober.probe
    auth = options.user
    user = auth[0]
    send = {"phone_e164": "+14155550123", "purpose": "verify_phone"}
    over_4k = json.dumps({"phone_e164": "+14155550123", "purpose": "x" * 5000})
    over_8k = json.dumps({"phone_e164": "+14155550123", "purpose": "x" * 9000})
    bogus_token = {"X-Step-Up-Token": "A" * 43}

    # Methods, sizes, content types and credentials.
    probe("GET send", SEND, 405, method="GET", auth=auth, expect_headers={"Allow": "POST"})
    probe("PUT send", SEND, 405, method="PUT", auth=auth, json=send, expect_headers={"Allow": "POST"})
    probe("DELETE verify", VERIFY, 405, method="DELETE", auth=auth, expect_headers={"Allow": "POST"})
    probe("OPTIONS verify", VERIFY, 405, method="OPTIONS", auth=auth, expect_headers={"Allow": "POST"})
    probe("send, 5 KiB body (otp-fcgi)", SEND, 413, auth=auth, data=over_4k, headers=JSON)
    probe("verify, 9 KiB body (nginx)", VERIFY, 413, auth=auth, data=over_8k, headers=JSON)
    probe("send, no credentials (nginx)", SEND, 401, json=send)
    probe("send, charset parameter", SEND, 200, auth=auth, data=json.dumps(send), headers={"Content-Type": "application/json; charset=utf-8"})
    probe("verify, empty body", VERIFY, 400, auth=auth, data=b"", headers=JSON)
    probe("verify, invalid UTF-8", VERIFY, 400, auth=auth, data=b'{"code": "\xff"}', headers=JSON)
    probe("protected, wrong password", CANCEL, 401, auth=(user, auth[1] + "-wrong"), headers=bogus_token,
          expect_json={"detail": "Not authenticated"})

    # The step-up binding: the phone on record, the operator's actions, delegates.
    no_phone = {"detail": "This account has no verified phone"}
    probe("step_up send, user without a verified phone", SEND, 409, auth=options.other_user,
          json={"purpose": "step_up", "action": "cancel-appointment"}, expect_json=no_phone)
    probe("step_up verify, user without a verified phone", VERIFY, 409, auth=options.other_user,
          json={"purpose": "step_up", "code": "123456"}, expect_json=no_phone)
    probe("step_up send, not the phone on record", SEND, 422, auth=auth, json={"purpose": "step_up", "phone_e164": "+14155550199"},
          expect_json={"detail": "phone_e164 is not the verified phone of this account"})
    probe("step_up send, an action the site does not list", SEND, 422, auth=auth, json={"purpose": "step_up", "action": "delete-account"},
          expect_json={"detail": "Field action is not a step-up action of this site"})
    probe("step_up verify, an action the site does not list", VERIFY, 422, auth=auth,
          json={"purpose": "step_up", "action": "delete-account", "code": "123456"},
          expect_json={"detail": "Field action is not a step-up action of this site"})
    not_a_delegate = {"detail": "Only a delegate principal may act for a subject"}
    probe("step_up send, subject from a non-delegate", SEND, 403, auth=auth, json={"purpose": "step_up", "subject": "bob"},
          expect_json=not_a_delegate)
    probe("protected, subject from a non-delegate", CANCEL, 403, auth=auth, headers={**bogus_token, "X-Step-Up-Subject": "bob"},
          expect_json=not_a_delegate)
    step_up_required = "Step-up required: verify a step_up code for this action and send the token in X-Step-Up-Token"
    probe("protected change-payout, no token", PAYOUT, 401, auth=auth,
          expect_json={"detail": step_up_required, "step_up": "required", "action": "change-payout"},
          expect_headers={"WWW-Authenticate": 'OTP-Step-Up action="change-payout"'})
    probe("protected confirm (no action), no token", CONFIRM, 401, auth=auth,
          expect_json={"detail": step_up_required, "step_up": "required"}, expect_headers={"WWW-Authenticate": "OTP-Step-Up"})

    # A token is refused for another action without being spent, then admitted for its own.
    token = prober.step_up_token("cancel-appointment token", auth, action="cancel-appointment")
    if token:
        probe("cancel-appointment token at change-payout", PAYOUT, 401, auth=auth, headers={"X-Step-Up-Token": token},
              expect_headers={"WWW-Authenticate": 'OTP-Step-Up action="change-payout"'})
        probe("cancel-appointment token at confirm", CONFIRM, 401, auth=auth, headers={"X-Step-Up-Token": token})
        probe("cancel-appointment token at its route", CANCEL, 200, auth=auth, headers={"X-Step-Up-Token": token},
              expect_json={"status": "cancelled", "confirmed_by": user, "delegate": ""})
    token = prober.step_up_token("token without an action", auth)
    if token:
        probe("token without an action at confirm", CONFIRM, 200, auth=auth, headers={"X-Step-Up-Token": token},
              expect_json={"status": "confirmed", "confirmed_by": user, "delegate": ""})

    # A delegate acts for the user: the user's phone, the user's token, both named to the application.
    token = prober.step_up_token("delegate's change-payout token for the user", options.delegate, action="change-payout", subject=user)
    if token:
        probe("delegate at change-payout for the user", PAYOUT, 200, auth=options.delegate,
              headers={"X-Step-Up-Token": token, "X-Step-Up-Subject": user},
              expect_json={"status": "payout account changed", "confirmed_by": user, "delegate": options.delegate[0]})

    # Replacing the verified phone needs a change-phone step-up with the current one.
    new_phone = "+14155550198"
    probe("verify_phone send, a new phone", SEND, 200, auth=auth, json={"phone_e164": new_phone, "purpose": "verify_phone"})
    code = last_code(new_phone, "verify_phone")
    if code is None:
        prober.fail("verify_phone of a new phone", "no SMS in the sink")
    else:
        change = {"phone_e164": new_phone, "purpose": "verify_phone", "code": code}
        challenge = {"WWW-Authenticate": 'OTP-Step-Up action="change-phone"'}
        refused = {"detail": "Changing the verified phone needs a step-up with the current phone", "step_up": "required", "action": "change-phone"}
        probe("verify_phone of a new phone without a change-phone token", VERIFY, 403, auth=auth, json=change,
              expect_json=refused, expect_headers=challenge)
        probe("verify_phone of a new phone with a bogus token", VERIFY, 403, auth=auth, json=change, headers=bogus_token,
              expect_json=refused, expect_headers=challenge)
        token = prober.step_up_token("change-phone token", auth, action="change-phone")
        if token:
            # The code was not spent by the refusals; the token is spent now, and the phone changes.
            probe("verify_phone of a new phone with the change-phone token", VERIFY, 200, auth=auth, json=change,
                  headers={"X-Step-Up-Token": token}, expect_json={"status": "verified"})
            probe("step_up send goes to the new phone", SEND, 200, auth=auth, json={"purpose": "step_up"},
                  expect_json={"status": "sent", "phone_hint": "…" + new_phone[-4:]})

    if options.database:
        # otp-fcgi waits OTP_DB_BUSY_TIMEOUT_MS (2 s) for the lock, then answers 503; the step-up check's
        # 503 becomes nginx's 500 on the protected route, which the example site answers as a JSON 503.
        database = sqlite3.connect(options.database, isolation_level=None, timeout=5)
        database.execute("BEGIN IMMEDIATE")
        try:
            probe("send, database locked", SEND, 503, auth=auth, json={"purpose": "step_up"})
            probe("verify, database locked", VERIFY, 503, auth=auth, json={**send, "code": "123456"})
            probe("protected, database locked", CANCEL, 503, auth=auth, headers=bogus_token,
                  expect_json={"detail": "Step-up check unavailable, try again later"}, expect_headers={"Retry-After": "5"})
        finally:
            database.execute("ROLLBACK")
            database.close()

    # Not an operation: any other path under /api/otp/ (components/responses/NotFound), health and
    # metrics included (they live on the loopback status server).
    not_found = schema.raw_schema["components"]["responses"]["NotFound"]
    for method, path in (("POST", "/api/otp/unknown"), ("GET", "/api/otp/health"), ("GET", "/api/otp/metrics")):
        response = prober.session.request(method, options.base_url + path, auth=auth, json=send if method == "POST" else None,
                                          timeout=10, verify=options.ca_file)
        body_ok = response.headers.get("content-type") == "application/json" and response.json() == {"detail": "Not found"}
        if response.status_code == 404 and body_ok and response.headers.get("cache-control") == "no-store" and not_found:
            prober.passed += 1
            print(f"ok   not an operation: {method} {path} -> 404 application/json")
        else:
            prober.fail(f"not an operation: {method} {path}", f"{response.status_code} {response.headers} {response.text[:200]!r}")

    if options.firewall_url:
        prober.base_url, prober.ca_file = options.firewall_url, options.firewall_ca
        firewall(prober, options)

    print(f"probes: {prober.passed} passed, {prober.failed} failed")
    return 1 if prober.failed else 0


def firewall(prober, options):
    """The SMS firewall's answers on the second stack (OTP_SMS_PER_USER_PER_HOUR=1,
    OTP_SMS_PER_COUNTRY_PER_HOUR=1, the shipped `limit_req` of 10 a minute, burst 5)."""
    probe = prober.probe
    too_many = {"detail": "Too many requests, try again later"}
    could_not_send = {"detail": "Could not send code, try again later"}
    probe("firewall: first send of the hour", SEND, 200, auth=options.user, json={"phone_e164": "+14155550101", "purpose": "verify_phone"})
    probe("firewall: the user's second send (user budget, otp-fcgi)", SEND, 429, auth=options.user,
          json={"phone_e164": "+14155550102", "purpose": "verify_phone"}, expect_json=too_many)
    probe("firewall: another user, the same country (country budget)", SEND, 503, auth=options.other_user,
          json={"phone_e164": "+14155550103", "purpose": "verify_phone"}, expect_json=could_not_send)
    probe("firewall: an invalid number (libphonenumber)", SEND, 422, auth=options.delegate,
          json={"phone_e164": "+10005550100", "purpose": "verify_phone"}, expect_json={"detail": "This phone number cannot receive SMS"})
    # Bodies otp-fcgi refuses with 422 until nginx's limit_req (burst 5 after the 4 sends above) answers
    # 429 itself: a 429 for such a body cannot be otp-fcgi's.
    for _ in range(20):
        response = prober.session.post(prober.base_url + SEND[0], auth=options.other_user, json={}, timeout=10, verify=prober.ca_file)
        if response.status_code != 422:
            break
    if response.status_code == 429:
        probe("firewall: past nginx's send rate limit", SEND, 429, auth=options.other_user, json={}, expect_json=too_many,
              expect_headers={"Retry-After": "60"})
    else:
        prober.fail("firewall: past nginx's send rate limit", f"{response.status_code} {response.text[:200]!r} instead of 422 then 429")


if __name__ == "__main__":
    sys.exit(main())
