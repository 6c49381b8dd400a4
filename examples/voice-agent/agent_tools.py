#!/usr/bin/env python3
"""Tool functions for a voice agent that confirms a caller with an SMS code before it cancels their
appointment, through otp-fcgi behind nginx. Python standard library only (urllib, ssl, json, base64).

The agent logs in as its own service principal (`voice-agent`, listed in OTP_DELEGATE_PRINCIPALS) and
acts for the patient it has identified (`subject`): the code goes to the phone on record of that
patient, never to a number the caller names, and the step-up token it gets back is good once, for
cancelling that patient's appointment only.

Three tools, each answering a dict with `status` (for the agent's logic) and `say` (a sentence the
agent can speak as it is):

    request_code(patient, language=None)   a delegated step_up send for the action cancel-appointment
    check_code(patient, code)              verifies the code the caller reads out ("four one five ...")
    cancel_appointment(patient)            the protected action, with the token from check_code

The step-up token never leaves this object: the language model sees only `status` and `say`.
`TOOLS` describes the three for a model's function calling; `call_tool` runs one by name.

Try it against `make run` (in the repository folder, in a second terminal):

    python3 examples/voice-agent/agent_tools.py --url https://127.0.0.1:8443 --ca-file .state/cert.pem alice
"""

import base64
import json
import re
import ssl
import time
import urllib.error
import urllib.request

ACTION = "cancel-appointment"

# Spoken digits as a speech-to-text service may write them.
DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
REPEATS = {"double": 2, "triple": 3}

TOOLS = [
    {
        "name": "request_code",
        "description": "Send a one-time code by text message to the phone on record of the identified patient, "
                       "to confirm it is them before cancelling their appointment. Never ask the caller for a phone number.",
        "parameters": {
            "type": "object",
            "properties": {
                "patient": {"type": "string", "description": "The patient's account name, as identified earlier in the call."},
                "language": {"type": "string", "enum": ["en", "de", "es"], "description": "Language of the text message."},
            },
            "required": ["patient"],
        },
    },
    {
        "name": "check_code",
        "description": "Check the code the caller reads out from the text message. Pass it as heard, digits or words.",
        "parameters": {
            "type": "object",
            "properties": {
                "patient": {"type": "string"},
                "code": {"type": "string", "description": "The code as the caller said it, e.g. '415 023' or 'four one five zero two three'."},
            },
            "required": ["patient", "code"],
        },
    },
    {
        "name": "cancel_appointment",
        "description": "Cancel the patient's appointment. Works once after check_code confirmed the caller.",
        "parameters": {
            "type": "object",
            "properties": {"patient": {"type": "string"}},
            "required": ["patient"],
        },
    },
]


def spoken_code(text):
    """The digits of a code as read out: '415 023', '4-1-5', 'four one five', 'double five' → '55'."""
    digits = []
    repeat = 1
    for word in re.findall(r"[0-9]|[a-z]+", text.lower()):
        if word in REPEATS:
            repeat = REPEATS[word]
            continue
        digit = word if word.isdigit() else DIGIT_WORDS.get(word)
        if digit is None:
            continue  # "um", "it's", "the code is"
        digits.append(digit * repeat)
        repeat = 1
    return "".join(digits)


def last_digits(phone_hint):
    return re.sub(r"[^0-9]", "", phone_hint or "")


class CancellationTools:
    """The three tools for one agent service account. Keep one per process; it holds the step-up
    tokens of the calls in progress (per patient) and forgets each when it is used."""

    def __init__(self, base_url, user, password, ca_file=None, code_length=6, max_attempts=3, code_ttl_seconds=600, timeout=10):
        self.base_url = base_url.rstrip("/")
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.context = ssl.create_default_context(cafile=ca_file)
        # otp-fcgi's OTP_CODE_LENGTH, OTP_MAX_ATTEMPTS and OTP_TTL_SECONDS. After OTP_MAX_ATTEMPTS wrong
        # codes the patient is locked out until the code expires: even the right code fails and no new
        # code is sent (otp-fcgi answers a send as usual, so that nobody learns about the lockout; the
        # agent knows, because it counted, and does not promise a code that will not come).
        self.code_length = code_length
        self.max_attempts = max_attempts
        self.code_ttl_seconds = code_ttl_seconds
        self.timeout = timeout
        self._tokens = {}
        self._wrong_codes = {}
        self._locked_until = {}
        self._code_sent_at = {}

    # ---- the tools ----

    def request_code(self, patient, language=None):
        if self._locked(patient):
            return self._locked_out()
        body = {"purpose": "step_up", "action": ACTION, "subject": patient}
        if language:
            body["locale"] = language
        status, answer, _ = self._post("/api/otp/send", body)
        if status == 200:
            self._code_sent_at[patient] = time.monotonic()
            hint = last_digits(answer.get("phone_hint"))
            return {"status": "sent", "phone_ending": hint,
                    "say": f"I sent a code to the phone ending {hint}. Could you read it to me when it arrives?"}
        if status == 409:
            return self._no_verified_phone()
        if status == 429:
            return {"status": "rate_limited",
                    "say": "Too many codes have been requested for now. Please try again in a few minutes, "
                           "or I can put you through to a colleague."}
        if status == 503 or status == 0:
            return {"status": "unavailable",
                    "say": "I couldn't send the text message just now. Shall I try again in a minute?"}
        if status == 422 and answer.get("detail") == "This phone number cannot receive SMS":
            return {"status": "cannot_receive_sms",
                    "say": "The number on your account can't receive text messages. I'll put you through to a colleague."}
        # 401/403: this agent may not act for callers (its login or OTP_DELEGATE_PRINCIPALS); 422: a bad request.
        return self._refused(status, answer)

    def check_code(self, patient, code):
        if self._locked(patient):
            return self._locked_out()
        digits = spoken_code(code)
        if len(digits) != self.code_length:
            # Not sent: a misheard code must not use up one of the caller's attempts.
            return {"status": "incomplete_code",
                    "say": f"I got {len(digits)} digits, but the code has {self.code_length}. "
                           "Could you read it again, one digit at a time?"}
        status, answer, _ = self._post("/api/otp/verify", {"purpose": "step_up", "action": ACTION, "subject": patient, "code": digits})
        if status == 200 and answer.get("step_up_token"):
            self._tokens[patient] = answer["step_up_token"]
            self._wrong_codes[patient] = 0
            return {"status": "verified", "say": "Thank you, that's confirmed."}
        if status == 400:
            wrong = self._wrong_codes.get(patient, 0) + 1
            self._wrong_codes[patient] = wrong
            if wrong < self.max_attempts:
                return {"status": "wrong_code", "say": "That code didn't work. Could you read it again?"}
            # Locked out until the code expires (counted from the last send).
            sent_at = self._code_sent_at.get(patient, time.monotonic())
            self._locked_until[patient] = sent_at + self.code_ttl_seconds
            return self._locked_out(just_now=True)
        if status == 409:
            return self._no_verified_phone()
        if status == 0 or status >= 500:
            return {"status": "unavailable", "say": "I couldn't check the code just now. Could you read it again in a moment?"}
        return self._refused(status, answer)

    def cancel_appointment(self, patient):
        token = self._tokens.pop(patient, None)  # good once: forgotten whatever the answer
        headers = {"X-Step-Up-Subject": patient}
        if token:
            headers["X-Step-Up-Token"] = token
        status, answer, challenge = self._post(f"/account/{ACTION}", None, headers)
        if status == 200 and answer.get("status") == "cancelled":
            return {"status": "cancelled", "confirmed_by": answer.get("confirmed_by"), "say": "Your appointment is cancelled."}
        if status == 401 and (challenge or "").startswith("OTP-Step-Up"):
            return {"status": "step_up_required", "action": answer.get("action", ACTION),
                    "say": "Before I cancel, I need to confirm it's you. I'll send a code to your phone."}
        if status == 0 or status >= 500:
            return {"status": "unavailable",
                    "say": "I couldn't cancel the appointment just now. Please bear with me, or I can put you through to a colleague."}
        return self._refused(status, answer)

    # ---- plumbing ----

    def _locked(self, patient):
        until = self._locked_until.get(patient)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        del self._locked_until[patient]
        self._wrong_codes[patient] = 0
        return False

    @staticmethod
    def _locked_out(just_now=False):
        first = ("That code didn't work either, and for your security I can't check another one for a while."
                 if just_now else "For your security I can't use a text message code for you for a while.")
        return {"status": "locked_out", "say": first + " Let me put you through to a colleague who can help."}

    @staticmethod
    def _no_verified_phone():
        return {"status": "no_verified_phone",
                "say": "I can't send you a code: there is no verified mobile number on your account. "
                       "You can add one in the patient portal, or I can put you through to a colleague who can help."}

    def _refused(self, status, answer):
        return {"status": "refused", "http_status": status, "detail": answer.get("detail"),
                "say": "I'm not able to do that over the phone right now. Let me put you through to a colleague."}

    def _post(self, path, body, headers=None):
        """POST; answers (status, JSON object, WWW-Authenticate). Status 0: no answer at all."""
        request = urllib.request.Request(self.base_url + path, method="POST")
        request.add_header("Authorization", self.authorization)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        data = b""
        if body is not None:
            request.add_header("Content-Type", "application/json")
            data = json.dumps(body).encode()
        try:
            with urllib.request.urlopen(request, data=data, context=self.context, timeout=self.timeout) as response:
                return response.status, self._json(response.read()), response.headers.get("WWW-Authenticate")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, self._json(error.read()), error.headers.get("WWW-Authenticate")
        except (urllib.error.URLError, OSError):
            return 0, {}, None

    @staticmethod
    def _json(raw):
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return value if isinstance(value, dict) else {}


def call_tool(tools, name, arguments):
    """Runs the tool a model asked for, by name with its JSON arguments."""
    functions = {"request_code": tools.request_code, "check_code": tools.check_code, "cancel_appointment": tools.cancel_appointment}
    if name not in functions:
        return {"status": "unknown_tool", "say": "Sorry, something went wrong on my side."}
    return functions[name](**arguments)


def main():
    import argparse

    parser = argparse.ArgumentParser(description="Play the agent's side of a call in the terminal.")
    parser.add_argument("patient", help="the patient the agent has identified, e.g. alice")
    parser.add_argument("--url", default="https://127.0.0.1:8443")
    parser.add_argument("--ca-file", default=None)
    parser.add_argument("--user", default="voice-agent")
    parser.add_argument("--password", default="voice-agent-password")
    parser.add_argument("--language", default=None, choices=["en", "de", "es"])
    args = parser.parse_args()
    tools = CancellationTools(args.url, args.user, args.password, ca_file=args.ca_file)

    print("Agent: For security, I'll send a code to the phone number on your account.")
    sent = tools.request_code(args.patient, args.language)
    print("Agent:", sent["say"])
    if sent["status"] != "sent":
        return 1
    while True:
        heard = input("Caller: ")
        checked = tools.check_code(args.patient, heard)
        print("Agent:", checked["say"])
        if checked["status"] == "verified":
            break
        if checked["status"] not in ("wrong_code", "incomplete_code"):
            return 1
    cancelled = tools.cancel_appointment(args.patient)
    print("Agent:", cancelled["say"])
    return 0 if cancelled["status"] == "cancelled" else 1


if __name__ == "__main__":
    raise SystemExit(main())
