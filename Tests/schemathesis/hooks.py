"""schemathesis hooks for the API schema test (Tests/IntegrationTests/SchemaConformanceTests.swift).

They read the SMS, as the owner of the phone would and a generator cannot. In the stateful phase,
when a verify's body is well formed (a purpose, a 6-digit code, string fields of verify only), the
code is replaced by the last code the stack's file SMS sink (OTP_SMS_FILE) holds for that purpose
and phone. A `step_up` body may leave the phone out: its code went to the user's verified phone
(the test verified one for alice before the run, and alice is the only user of the run), so it is
the last `step_up` SMS of the sink. So `verify` can answer 200 with a step-up token when the link
from send carried the purpose and action over, and the links from verify to the protected routes
carry a real token. The other phases keep their generated codes (400 Invalid or expired code), and
a body that is not well formed is never touched.
"""

import os
import re
import sys

import schemathesis

# schemathesis loads this file by path: its folder is not on the module path by itself.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sms_sink import CODE, last_code  # noqa: E402

PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
PURPOSES = ("verify_phone", "step_up")
FIELDS = {"phone_e164", "purpose", "code", "action", "subject"}


def _phase(case):
    meta = getattr(case, "meta", None)
    phase = getattr(meta, "phase", None)
    return str(getattr(phase, "name", ""))


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != "/api/otp/verify" or _phase(case) != "stateful":
        return
    body = case.body
    if not isinstance(body, dict) or not set(body) <= FIELDS or not {"purpose", "code"} <= set(body):
        return
    if not all(isinstance(value, str) for value in body.values()):
        return
    purpose, code, phone = body["purpose"], body["code"], body.get("phone_e164")
    if purpose not in PURPOSES or not CODE.fullmatch(code):
        return
    if phone is not None and not PHONE.fullmatch(phone):
        return
    if phone is None and purpose != "step_up":
        return
    sent = last_code(phone, purpose)
    if sent is not None:
        case.body = {**body, "code": sent}
