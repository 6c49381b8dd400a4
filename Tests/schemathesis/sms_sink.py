"""The stack's file SMS sink (OTP_SMS_FILE: one JSON line {"to", "purpose", "body"} per message), read as
the owner of the phone would read their SMS. Shared by hooks.py and probes.py."""

import json
import os
import re

CODE = re.compile(r"[0-9]{6}")


def last_code(phone, purpose, path=None):
    """The code of the last SMS for `purpose` to `phone` (to any phone when None), or None."""
    path = path or os.environ.get("OTP_SMS_FILE")
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
                if message.get("purpose") == purpose and (phone is None or message.get("to") == phone):
                    found = CODE.search(message.get("body", ""))
                    if found:
                        code = found.group(0)
    except OSError:
        return None
    return code
