#!/usr/bin/env python3
"""Tests of agent_tools.py against a running otp-fcgi behind nginx with the file SMS sink (the caller's
phone is the sink: the test reads the code there and "reads it out"). Standard library only.

    python3 examples/voice-agent/test_agent_tools.py --url https://127.0.0.1:8443 --ca-file .state/cert.pem \
        --sms-file .state/sms.jsonl --phone +14155550123

Needs: alice's verified phone is --phone, bob's --bob-phone, carol has none, voice-agent is in
OTP_DELEGATE_PRINCIPALS, no resend cooldown and room for more than three codes an hour
(OTP_RESEND_COOLDOWN_SECONDS=0, OTP_MAX_SENDS_PER_HOUR=20: every test sends alice a new code).
Tests/IntegrationTests/VoiceAgentExampleTests.swift sets that up and runs it.
"""

import argparse
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_tools import TOOLS, CancellationTools, call_tool, spoken_code  # noqa: E402

CONFIG = {}
SPOKEN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def sms_messages():
    try:
        with open(CONFIG["sms_file"], encoding="utf-8") as file:
            return [json.loads(line) for line in file if line.strip()]
    except FileNotFoundError:
        return []


class Phone:
    """The patient's phone: the SMS sink's messages to one number."""

    def __init__(self, number):
        self.number = number
        self.read = len(sms_messages())

    def next_code(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = sms_messages()
            for index in range(self.read, len(messages)):
                if messages[index]["to"] == self.number and messages[index]["purpose"] == "step_up":
                    self.read = index + 1
                    body = messages[index]["body"]
                    return re.search(r"\b([0-9]{6})\b", body).group(1), body
            time.sleep(0.05)
        raise AssertionError(f"no step_up SMS to {self.number} within {timeout} s")


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


class AgentToolsTests(unittest.TestCase):
    tokens = set()

    def setUp(self):
        self.tools = CancellationTools(CONFIG["url"], "voice-agent", "voice-agent-password", ca_file=CONFIG["ca_file"])
        self.phone = Phone(CONFIG["phone"])
        self.ending = CONFIG["phone"][-4:]

    def tearDown(self):
        AgentToolsTests.tokens.update(self.tools._tokens.values())

    def keep(self, patient="alice"):
        """The token check_code holds (the test looks into the tool; a model never sees it)."""
        token = self.tools._tokens[patient]
        AgentToolsTests.tokens.add(token)
        return token

    def test_the_caller_reads_the_code_and_the_appointment_is_cancelled(self):
        sent = self.tools.request_code("alice")
        self.assertEqual(sent["status"], "sent")
        self.assertEqual(sent["say"], f"I sent a code to the phone ending {self.ending}. Could you read it to me when it arrives?")
        code, body = self.phone.next_code()
        self.assertIn("to cancel your appointment", body)
        heard = " ".join(SPOKEN[int(digit)] for digit in code)  # "four one five zero two three"
        checked = self.tools.check_code("alice", heard)
        self.assertEqual(checked, {"status": "verified", "say": "Thank you, that's confirmed."})
        self.keep()
        cancelled = self.tools.cancel_appointment("alice")
        self.assertEqual(cancelled, {"status": "cancelled", "confirmed_by": "alice", "say": "Your appointment is cancelled."})

    def test_a_wrong_code_asks_again_and_the_right_one_still_works(self):
        self.tools.request_code("alice", language="es")
        code, body = self.phone.next_code()
        self.assertIn("cancelar su cita", body)
        checked = self.tools.check_code("alice", wrong(code))
        self.assertEqual(checked, {"status": "wrong_code", "say": "That code didn't work. Could you read it again?"})
        # Five digits heard: asked again without spending one of the caller's attempts.
        partial = self.tools.check_code("alice", code[:5])
        self.assertEqual(partial["status"], "incomplete_code")
        self.assertEqual(partial["say"], "I got 5 digits, but the code has 6. Could you read it again, one digit at a time?")
        self.assertEqual(self.tools.check_code("alice", f"{code[:3]} {code[3:]}")["status"], "verified")
        self.keep()
        self.assertEqual(self.tools.cancel_appointment("alice")["say"], "Your appointment is cancelled.")

    def test_three_wrong_codes_lock_the_patient_out_and_the_agent_says_so(self):
        # bob: otp-fcgi counts wrong codes per patient and phone until the code expires.
        bob = Phone(CONFIG["bob_phone"])
        self.assertEqual(self.tools.request_code("bob")["status"], "sent")
        code, _ = bob.next_code()
        self.assertEqual(self.tools.check_code("bob", wrong(code))["status"], "wrong_code")
        self.assertEqual(self.tools.check_code("bob", wrong(code))["status"], "wrong_code")
        third = self.tools.check_code("bob", wrong(code))
        self.assertEqual(third["status"], "locked_out")
        self.assertEqual(third["say"], "That code didn't work either, and for your security I can't check another one for a while. "
                                       "Let me put you through to a colleague who can help.")
        # otp-fcgi agrees: even the right code fails now (asked directly, past the tool's own count)...
        self.tools._locked_until.clear()
        self.tools._wrong_codes["bob"] = 2
        self.assertEqual(self.tools.check_code("bob", code)["status"], "locked_out")
        # ...and the agent does not promise a new code that would not be sent.
        before = len(sms_messages())
        again = self.tools.request_code("bob")
        self.assertEqual(again["status"], "locked_out")
        self.assertEqual(again["say"], "For your security I can't use a text message code for you for a while. "
                                       "Let me put you through to a colleague who can help.")
        self.assertEqual(len(sms_messages()), before)

    def test_a_replayed_token_is_refused(self):
        self.tools.request_code("alice")
        code, _ = self.phone.next_code()
        self.tools.check_code("alice", code)
        token = self.keep()
        self.assertEqual(self.tools.cancel_appointment("alice")["status"], "cancelled")
        # The same token again (as a replaying client would send it): otp-fcgi spent it.
        self.tools._tokens["alice"] = token
        replayed = self.tools.cancel_appointment("alice")
        self.assertEqual(replayed["status"], "step_up_required")
        self.assertEqual(replayed["action"], "cancel-appointment")
        self.assertEqual(replayed["say"], "Before I cancel, I need to confirm it's you. I'll send a code to your phone.")
        # And the tool forgot it: no second use from this side either.
        self.assertNotIn("alice", self.tools._tokens)

    def test_cancelling_without_a_code_asks_for_one(self):
        answer = self.tools.cancel_appointment("alice")
        self.assertEqual(answer["status"], "step_up_required")

    def test_a_patient_without_a_verified_phone_gets_a_helpful_answer(self):
        before = len(sms_messages())
        answer = self.tools.request_code("carol")
        self.assertEqual(answer["status"], "no_verified_phone")
        self.assertEqual(answer["say"], "I can't send you a code: there is no verified mobile number on your account. "
                                        "You can add one in the patient portal, or I can put you through to a colleague who can help.")
        self.assertEqual(len(sms_messages()), before, "no SMS")

    def test_a_principal_that_may_not_act_for_others_is_refused(self):
        bob = CancellationTools(CONFIG["url"], "bob", "bob-password", ca_file=CONFIG["ca_file"])
        answer = bob.request_code("alice")
        self.assertEqual(answer["status"], "refused")
        self.assertEqual(answer["http_status"], 403)
        self.assertEqual(answer["say"], "I'm not able to do that over the phone right now. Let me put you through to a colleague.")

    def test_the_tool_descriptions_and_the_dispatcher(self):
        self.assertEqual([tool["name"] for tool in TOOLS], ["request_code", "check_code", "cancel_appointment"])
        self.assertEqual(call_tool(self.tools, "check_code", {"patient": "alice", "code": "12"})["status"], "incomplete_code")
        self.assertEqual(spoken_code("it's four, double five, oh, 2 - 3"), "455023")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--sms-file", required=True)
    parser.add_argument("--phone", default="+14155550123", help="alice's verified phone")
    parser.add_argument("--bob-phone", default="+14155550125", help="bob's verified phone")
    parser.add_argument("--tokens-file", default=None, help="write the step-up tokens seen here")
    args, rest = parser.parse_known_args()
    CONFIG.update(url=args.url, ca_file=args.ca_file, sms_file=args.sms_file, phone=args.phone, bob_phone=args.bob_phone)
    program = unittest.main(argv=[sys.argv[0], "-v"] + rest, exit=False)
    if args.tokens_file:
        with open(args.tokens_file, "w", encoding="utf-8") as file:
            file.write("".join(f"{token}\n" for token in sorted(AgentToolsTests.tokens)))
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
