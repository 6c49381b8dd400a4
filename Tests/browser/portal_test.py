#!/usr/bin/env python3
"""The demo portal page (nginx/sites-available/otp-fcgi-example/portal/) in a real browser.

Debian's chromium, headless, driven by Selenium through Debian's chromium-driver, against the real
nginx and otp-fcgi with the file SMS sink (Tests/IntegrationTests/PortalBrowserTests.swift starts
them and runs this script). The user reads each code from the SMS sink, as the phone's owner would.

  1. the page: the code fields' autofill attributes and labels, the live regions for errors
  2. verify a phone: send, a wrong code shows the error, the right one verifies; the SMS ends
     with the WebOTP line "@<page host> #<code>"
  3. cancel the appointment: the protected action's challenge (401, WWW-Authenticate naming the
     action) opens the dialog "We sent a code to the phone ending 0123" (the SMS in the chosen
     language), WebOTP is asked for the code (navigator.credentials.get with an AbortController),
     a wrong code shows the error, the right one gets a token and the retried action succeeds
  4. the spent token presented again (from the page's origin, as the page would send it): refused
     with the challenge
  5. the page retrying with a replayed token (swapped in under it) tells the user it was not
     accepted; WebOTP delivers that round's code and the page submits it by itself
  6. a new phone number: verify_phone meets the change-phone challenge (the step-up code goes to
     the phone on record), and the retried verify with the token replaces the phone

A screenshot of every step goes to --screenshots. Exit status 0 when everything held.
"""

import argparse
import base64
import json
import os
import re
import sys
import tempfile
import time
import traceback
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

# Runs in every document before the page's own script.
# - WebOTP stand-in: headless Chromium has no phone to read an SMS from, so navigator.credentials.get
#   is replaced by one that records how it was called (the otp options, the AbortSignal), notices the
#   abort, and resolves when the test delivers the code it read from the SMS, as a browser would.
# - A window on the page's requests: the step-up tokens verify answered, the requests that carried one,
#   and, when the test asks for it, a spent token swapped in for the page's fresh one.
INIT_SCRIPT = r"""
(() => {
  const test = window.__portalTest = { calls: [], tokens: [], presented: [], replaceTokenWith: null };
  if (!('OTPCredential' in window)) window.OTPCredential = function OTPCredential() {};
  navigator.credentials.get = (options) => {
    const call = {
      otp: options && options.otp ? JSON.parse(JSON.stringify(options.otp)) : null,
      hasSignal: Boolean(options && options.signal), aborted: false, delivered: false,
    };
    test.calls.push(call);
    return new Promise((resolve, reject) => {
      call.deliver = (code) => { call.delivered = true; resolve({ type: 'otp', id: '', code }); };
      if (options && options.signal) {
        options.signal.addEventListener('abort', () => {
          if (!call.delivered) { call.aborted = true; reject(new DOMException('aborted', 'AbortError')); }
        });
      }
    });
  };
  test.deliver = (code) => {
    const open = test.calls.filter((call) => !call.aborted && !call.delivered);
    if (open.length === 0) return false;
    open[open.length - 1].deliver(code);
    return true;
  };
  test.summary = () => test.calls.map((call) => ({
    otp: call.otp, hasSignal: call.hasSignal, aborted: call.aborted, delivered: call.delivered }));
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input.url;
    const headers = new Headers(init.headers || {});
    let token = headers.get('X-Step-Up-Token');
    if (token && test.replaceTokenWith) {
      test.tokens.push(token);
      token = test.replaceTokenWith;
      headers.set('X-Step-Up-Token', token);
      init = { ...init, headers };
    }
    const response = await realFetch(input, init);
    if (token) test.presented.push({ url: new URL(url, location.href).pathname, status: response.status, token });
    if (url.endsWith('/api/otp/verify') && response.ok) {
      try {
        const body = await response.clone().json();
        if (body.step_up_token) test.tokens.push(body.step_up_token);
      } catch (error) {}
    }
    return response;
  };
})();
"""


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class SMSSink:
    """The file SMS sink: one JSON object a line with to, purpose and body."""

    def __init__(self, path, host):
        self.path = path
        self.host = host
        self.seen = len(self.messages())

    def messages(self):
        try:
            with open(self.path, encoding="utf-8") as file:
                return [json.loads(line) for line in file if line.strip()]
        except FileNotFoundError:
            return []

    def next(self, to, purpose, timeout=10):
        """The first message after the last one read, to `to` for `purpose`: (body, code)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            for index in range(self.seen, len(messages)):
                message = messages[index]
                if message.get("to") == to and message.get("purpose") == purpose:
                    self.seen = index + 1
                    body = message["body"]
                    # The WICG origin-bound one-time code line: the last line, "@host #code".
                    match = re.search(r"\n\n@([^\s#]+) #([0-9]{6})$", body)
                    check(match is not None, f"the SMS ends with the WebOTP line: {body!r}")
                    check(match.group(1) == self.host, f"the WebOTP line names the page's host {self.host}: {body!r}")
                    code = match.group(2)
                    check(code in body[: match.start()], "the code of the WebOTP line is the message's code")
                    return body, code
            time.sleep(0.05)
        raise Failure(f"no {purpose} SMS to {to} within {timeout} s")


class Portal:
    def __init__(self, args):
        self.args = args
        self.url = args.url
        self.host = urlsplit(args.url).hostname
        self.origin = f"{urlsplit(args.url).scheme}://{urlsplit(args.url).netloc}"
        self.sms = SMSSink(args.sms_file, self.host)
        self.step = 0
        self.tokens = set()
        self.started = time.monotonic()
        os.makedirs(args.screenshots, exist_ok=True)
        for name in os.listdir(args.screenshots):
            if name.endswith(".png"):
                os.remove(os.path.join(args.screenshots, name))

        options = Options()
        options.binary_location = args.chromium
        for argument in [
            "--headless=new", "--window-size=900,1000", "--lang=en-US", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
            f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-', dir=args.work)}",
        ]:
            options.add_argument(argument)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
        options.accept_insecure_certs = True  # the example site's self-signed certificate
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=args.chromedriver, log_output=os.path.join(args.work, "chromedriver.log"))
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_script_timeout(10)
        # HTTP basic auth without a login prompt: the site's Authorization header on every request.
        user = base64.b64encode(args.user.encode()).decode()
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {user}"}})
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": INIT_SCRIPT})

    # ---- helpers ----

    def log(self, text):
        print(f"[{time.monotonic() - self.started:5.1f} s] {text}", flush=True)

    def screenshot(self, name):
        self.step += 1
        path = os.path.join(self.args.screenshots, f"{self.step:02d}-{name}.png")
        self.driver.save_screenshot(path)
        self.log(f"screenshot {os.path.basename(path)}")

    def element(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id):
        return self.element(element_id).text.strip()

    def wait(self, what, condition, timeout=10):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda driver: condition())
        except TimeoutException:
            raise Failure(f"timed out waiting for {what}") from None

    def wait_text(self, element_id, needle, timeout=10):
        self.wait(f"#{element_id} to say {needle!r} (it says {self.text(element_id)!r})",
                  lambda: needle in self.text(element_id), timeout)

    def type_into(self, element_id, text):
        field = self.element(element_id)
        field.clear()
        field.send_keys(text)

    def enter_wrong_code(self, code, field, button, error):
        """Submits a code that is not `code`: the error appears in the live region, the field is marked invalid."""
        self.type_into(field, f"{(int(code) + 1) % 1_000_000:06d}")
        self.element(button).click()
        self.wait_text(error, "That code didn't work")
        check(self.element(field).get_attribute("aria-invalid") == "true", f"#{field} is marked invalid")

    def webotp_calls(self):
        return self.driver.execute_script("return window.__portalTest.summary();")

    def collect_tokens(self):
        """Every step-up token the current document saw, kept for the log check."""
        try:
            self.tokens.update(self.driver.execute_script("return window.__portalTest ? window.__portalTest.tokens : [];") or [])
        except Exception:  # noqa: BLE001 - no document yet
            pass

    def open(self):
        self.collect_tokens()
        self.driver.get(self.url)
        self.wait("the page", lambda: self.driver.execute_script("return document.readyState") == "complete")

    # ---- the steps ----

    def the_page(self):
        self.open()
        check(self.driver.title.startswith("Example Clinic"), f"title: {self.driver.title!r}")
        for field in ["phone-code", "step-up-code"]:
            element = self.element(field)
            check(element.get_attribute("autocomplete") == "one-time-code", f"#{field} autocomplete=one-time-code")
            check(element.get_attribute("inputmode") == "numeric", f"#{field} inputmode=numeric")
            labels = self.driver.find_elements(By.CSS_SELECTOR, f'label[for="{field}"]')
            check(len(labels) == 1 and labels[0].get_attribute("textContent").strip(), f"#{field} has a label")
            described = (element.get_attribute("aria-describedby") or "").split()
            errors = [name for name in described if name.endswith("-error")]
            check(errors, f"#{field} is described by its error region")
            for error in errors:
                check(self.element(error).get_attribute("aria-live") in ("assertive", "polite"), f"#{error} is an aria-live region")
        for region in ["phone-error", "appointment-error"]:
            check(self.element(region).get_attribute("aria-live") in ("assertive", "polite"), f"#{region} is an aria-live region")
        # Served by the same nginx behind the same login, with a strict Content-Security-Policy.
        headers = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(location.href, {cache: 'no-store'}).then((r) => done({status: r.status,"
            " csp: r.headers.get('Content-Security-Policy'), type: r.headers.get('Content-Type')}));")
        check(headers["status"] == 200, f"the page answers 200: {headers}")
        check("script-src 'self'" in (headers["csp"] or ""), f"the page has a Content-Security-Policy: {headers}")
        check(headers["type"] == "text/html; charset=utf-8", f"served as text/html; charset=utf-8: {headers}")
        self.log("page: code fields with autocomplete=one-time-code, inputmode=numeric and labels; aria-live error regions")
        self.screenshot("portal")

    def verify_phone(self, phone):
        Select(self.element("sms-language")).select_by_value("en")
        self.type_into("phone-number", phone)
        self.element("phone-send").click()
        self.wait_text("phone-status", f"We sent a code to {phone}")
        check(self.element("phone-code-form").is_displayed(), "the code field is shown")
        check(self.driver.switch_to.active_element.get_attribute("id") == "phone-code", "the code field has the focus")
        body, code = self.sms.next(phone, "verify_phone")
        check(body.startswith("Your verification code is"), f"English verify_phone SMS: {body!r}")
        self.log(f"verify_phone: SMS sent, it ends with '@{self.host} #<code>'")
        self.screenshot("phone-code-sent")

        self.enter_wrong_code(code, "phone-code", "phone-verify", "phone-error")
        self.log("verify_phone: a wrong code shows the error in the live region")
        self.screenshot("phone-wrong-code")

        self.type_into("phone-code", code)
        self.element("phone-verify").click()
        self.wait_text("phone-status", f"Your phone {phone} is verified")
        check(self.text("phone-error") == "", "the error is gone")
        check(self.element("phone-code").get_attribute("aria-invalid") is None, "the code field is no longer invalid")
        check(not self.element("phone-code-form").is_displayed(), "the code field is hidden again")
        self.log("verify_phone: the right code verifies the phone")
        self.screenshot("phone-verified")

    def cancel_appointment(self, phone):
        Select(self.element("sms-language")).select_by_value("de")
        calls_before = len(self.webotp_calls())
        self.element("cancel-appointment").click()
        self.wait("the step-up dialog", lambda: self.element("step-up").get_attribute("open") is not None)
        self.wait_text("step-up-sent", f"We sent a code to the phone ending {phone[-4:]}")
        check("cancel your appointment" in self.text("step-up-sent"), "the dialog says what the code confirms")
        check(self.driver.switch_to.active_element.get_attribute("id") == "step-up-code", "the code field has the focus")
        body, code = self.sms.next(phone, "step_up")
        check("Termin absagen" in body, f"the step-up SMS in German, naming the action: {body!r}")
        calls = self.webotp_calls()[calls_before:]
        check(len(calls) == 1, f"WebOTP asked once for the code: {calls}")
        check(calls[0]["otp"] == {"transport": ["sms"]} and calls[0]["hasSignal"],
              f"navigator.credentials.get({{otp: {{transport: ['sms']}}, signal}}): {calls[0]}")
        check(self.element("step-up-webotp").is_displayed(), "the page says the browser may fill in the code")
        self.log("cancel: the 401 challenge opened the dialog, code sent to the phone ending "
                 f"{phone[-4:]} (German SMS), WebOTP asked with an AbortController")
        self.screenshot("step-up-code-sent")

        self.enter_wrong_code(code, "step-up-code", "step-up-confirm", "step-up-error")
        check(self.element("step-up").get_attribute("open") is not None, "the dialog stays open")
        check(self.webotp_calls()[calls_before]["aborted"], "typing the code stopped WebOTP (AbortController)")
        self.log("cancel: a wrong code shows the error in the dialog's live region")
        self.screenshot("step-up-wrong-code")

        self.type_into("step-up-code", code)
        self.element("step-up-confirm").click()
        self.wait_text("appointment-status", "Your appointment is cancelled.")
        check(self.element("step-up").get_attribute("open") is None, "the dialog is closed")
        check(self.text("appointment-state") == "Cancelled", "the appointment shows as cancelled")
        state = self.driver.execute_script("return {tokens: window.__portalTest.tokens, presented: window.__portalTest.presented};")
        check(len(state["tokens"]) == 1, f"one step-up token: {len(state['tokens'])}")
        token = state["tokens"][0]
        presented = [(entry["url"], entry["status"]) for entry in state["presented"]]
        check(presented == [("/account/cancel-appointment", 200)], f"the token went once to the action: {presented}")
        self.log("cancel: the right code got a token, the retried action answered 200: cancelled")
        self.screenshot("cancelled")
        return token

    def replay(self, token):
        answer = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/account/cancel-appointment', {method: 'POST', headers: {'X-Step-Up-Token': arguments[0]}})"
            ".then(async (r) => done({status: r.status, challenge: r.headers.get('WWW-Authenticate'), body: await r.json()}))"
            ".catch((e) => done({error: String(e)}));", token)
        check(answer.get("status") == 401, f"a replayed token is refused: {answer}")
        check(answer.get("challenge") == 'OTP-Step-Up action="cancel-appointment"', f"with the challenge: {answer}")
        check(answer["body"].get("step_up") == "required" and answer["body"].get("action") == "cancel-appointment",
              f"and the JSON naming the action: {answer}")
        self.log("replay: the spent token is refused (401, OTP-Step-Up action=\"cancel-appointment\")")

    def replay_through_the_page(self, spent, phone):
        self.open()
        self.driver.execute_script("window.__portalTest.replaceTokenWith = arguments[0];", spent)
        Select(self.element("sms-language")).select_by_value("es")
        self.element("cancel-appointment").click()
        self.wait_text("step-up-sent", f"We sent a code to the phone ending {phone[-4:]}")
        body, code = self.sms.next(phone, "step_up")
        check("cancelar su cita" in body, f"the step-up SMS in Spanish: {body!r}")
        # WebOTP hands the page the code: it fills the field and submits by itself.
        check(self.driver.execute_script("return window.__portalTest.deliver(arguments[0]);", code), "WebOTP was waiting")
        self.wait_text("appointment-error", "The confirmation was not accepted")
        check(self.element("step-up").get_attribute("open") is None, "the dialog is closed")
        check(self.text("appointment-state") == "Booked", "the appointment is still booked")
        state = self.driver.execute_script("return {calls: window.__portalTest.summary(), presented: window.__portalTest.presented,"
                                           " tokens: window.__portalTest.tokens};")
        check(state["calls"][-1]["delivered"], "the code came through WebOTP")
        presented = [(entry["url"], entry["status"], entry["token"] == spent) for entry in state["presented"]]
        check(presented == [("/account/cancel-appointment", 401, True)], f"the page's retry carried the spent token: {presented}")
        self.log("replay through the page: WebOTP filled in the code, the retry with a spent token was refused and the page says so")
        self.screenshot("replayed-token-refused")

    def change_phone(self, old_phone, new_phone):
        self.open()
        Select(self.element("sms-language")).select_by_value("en")
        self.type_into("phone-number", new_phone)
        self.element("phone-send").click()
        self.wait_text("phone-status", f"We sent a code to {new_phone}")
        _, code = self.sms.next(new_phone, "verify_phone")
        self.type_into("phone-code", code)
        self.element("phone-verify").click()
        # The 403 challenge (change-phone): the step-up code goes to the phone on record.
        self.wait_text("step-up-sent", f"We sent a code to your current phone, the one ending {old_phone[-4:]}")
        check("change the phone number of your account" in self.text("step-up-sent"), "the dialog names change-phone")
        body, step_up_code = self.sms.next(old_phone, "step_up")
        check("change the phone number of your account" in body, f"the step-up SMS names change-phone: {body!r}")
        self.screenshot("change-phone-step-up")
        check(self.driver.execute_script("return window.__portalTest.deliver(arguments[0]);", step_up_code), "WebOTP was waiting")
        self.wait_text("phone-status", f"Your phone {new_phone} is verified")
        state = self.driver.execute_script("return {presented: window.__portalTest.presented, tokens: window.__portalTest.tokens};")
        presented = [(entry["url"], entry["status"]) for entry in state["presented"]]
        check(presented == [("/api/otp/verify", 200)], f"the retried verify_phone carried the token: {presented}")
        self.log(f"change phone: verify_phone met the change-phone challenge, the code went to the phone ending {old_phone[-4:]}, "
                 "the retry with the token replaced the phone")
        self.screenshot("phone-changed")

    def console_problems(self):
        # Refused requests (400, 401, 403) are logged by Chromium as network errors: expected here.
        return [entry for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE" and entry.get("source") != "network"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the portal page, e.g. https://localhost:8443/portal/")
    parser.add_argument("--sms-file", required=True, help="otp-fcgi's OTP_SMS_FILE")
    parser.add_argument("--screenshots", required=True, help="folder for one PNG per step")
    parser.add_argument("--work", default=None, help="folder for the browser profile and chromedriver's log")
    parser.add_argument("--tokens-file", default=None, help="write every step-up token seen here (for the log check)")
    parser.add_argument("--user", default="alice:alice-password")
    parser.add_argument("--phone", default="+14155550123")
    parser.add_argument("--new-phone", default="+14155550124")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    args.work = args.work or tempfile.mkdtemp(prefix="portal-test-")

    portal = Portal(args)
    try:
        portal.the_page()
        portal.verify_phone(args.phone)
        token = portal.cancel_appointment(args.phone)
        portal.replay(token)
        portal.replay_through_the_page(token, args.phone)
        portal.change_phone(args.phone, args.new_phone)
        problems = portal.console_problems()
        check(not problems, f"no script errors or Content-Security-Policy violations in the console: {problems}")
        portal.log(f"PASSED: {portal.step} screenshots in {args.screenshots}")
        return 0
    except Exception as error:  # noqa: BLE001 - every failure ends the run with a screenshot
        portal.log(f"FAILED: {error}")
        if not isinstance(error, Failure):
            traceback.print_exc()
        try:
            portal.driver.save_screenshot(os.path.join(args.screenshots, "failure.png"))
            print(portal.driver.execute_script("return document.querySelector('main').innerText;"))
            print(json.dumps(portal.driver.get_log("browser"), indent=1))
        except Exception:  # noqa: BLE001
            pass
        return 1
    finally:
        portal.collect_tokens()
        if args.tokens_file:
            with open(args.tokens_file, "w", encoding="utf-8") as file:
                file.write("".join(f"{token}\n" for token in sorted(portal.tokens)))
        portal.driver.quit()


if __name__ == "__main__":
    sys.exit(main())
