"""schemathesis hooks for the API schema test (Tests/IntegrationTests/SchemaConformanceTests.swift).

They read the SMS, as the owner of the phone would and a generator cannot. In the stateful phase,
when the link from send to verify has carried a phone and purpose over and the generated code is
well formed (6 digits), the code is replaced by the last code the stack's file SMS sink
(OTP_SMS_FILE) holds for that phone and purpose. So `verify` can answer 200 with a step-up token,
and the link from verify to the protected route carries a real token. The other phases keep their
generated codes (400 Invalid or expired code), and a body that is not well formed is never touched.
"""

import json
import os
import re

import schemathesis

PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
CODE = re.compile(r"[0-9]{6}")
PURPOSES = ("verify_phone", "step_up")


def _phase(case):
    meta = getattr(case, "meta", None)
    phase = getattr(meta, "phase", None)
    return str(getattr(phase, "name", ""))


def _last_code(phone, purpose):
    path = os.environ.get("OTP_SMS_FILE")
    if not path:
        return None
    code = None
    try:
        with open(path, encoding="utf-8") as sink:
            for line in sink:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get("to") == phone and message.get("purpose") == purpose:
                    found = CODE.search(message.get("body", ""))
                    if found:
                        code = found.group(0)
    except OSError:
        return None
    return code


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != "/api/otp/verify" or _phase(case) != "stateful":
        return
    body = case.body
    if not isinstance(body, dict) or set(body) != {"phone_e164", "purpose", "code"}:
        return
    phone, purpose, code = body["phone_e164"], body["purpose"], body["code"]
    if not (isinstance(phone, str) and PHONE.fullmatch(phone) and purpose in PURPOSES
            and isinstance(code, str) and CODE.fullmatch(code)):
        return
    sent = _last_code(phone, purpose)
    if sent is not None:
        case.body = {**body, "code": sent}

