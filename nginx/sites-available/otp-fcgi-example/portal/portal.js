// The otp-fcgi demo portal: no framework, no build step. It calls the API through the same nginx
// (same origin: the browser sends the site's login with every request) and meets the step-up
// challenge of a protected action:
//
//   1. Call the action. A refusal that says `WWW-Authenticate: OTP-Step-Up action="NAME"` (401 from
//      a protected location, 403 from a verify_phone that would replace the phone on record) with
//      the JSON {"step_up": "required", "action": "NAME"} means: prove it's you, for NAME.
//   2. POST /api/otp/send {"purpose": "step_up", "action": NAME}: the code goes to the account's
//      verified phone; the answer's phone_hint ("…0123") is shown.
//   3. The user types the code, or the browser reads it from the SMS (WebOTP, where offered; the
//      SMS ends with "@host #code" when otp-fcgi runs with OTP_WEBOTP_DOMAIN).
//      POST /api/otp/verify {"purpose": "step_up", "action": NAME, "code": …} answers a step_up_token.
//   4. Call the action again with `X-Step-Up-Token: <token>`. The token is good once, for that
//      action only; the script keeps it in a local variable for that one request and forgets it.
"use strict";

const byId = (id) => document.getElementById(id);
const codeLength = Number(document.body.dataset.codeLength) || 6;

// What each action of the example site confirms, as the dialog says it.
const actionTexts = {
  "cancel-appointment": "cancel your appointment",
  "change-phone": "change the phone number of your account",
  "change-payout": "change your payout account",
};

// ---- HTTP -------------------------------------------------------------------------------------

/** POST `path` (with a JSON `body` unless null) and read the JSON answer, whatever the status. */
async function post(path, body, headers = {}) {
  const init = { method: "POST", headers: { ...headers }, credentials: "same-origin", cache: "no-store" };
  if (body !== null) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { status: 0, headers: new Headers(), json: {} };
  }
  let json = {};
  try {
    json = await response.json();
  } catch (error) {
    json = {};
  }
  return { status: response.status, headers: response.headers, json };
}

/** The step-up an answer asks for, `{action}` (null: a location that names none), or null when it asks for none. */
function stepUpChallenge(answer) {
  if (answer.status !== 401 && answer.status !== 403) return null;
  // RFC 9470 style: WWW-Authenticate: OTP-Step-Up action="cancel-appointment"
  const header = (answer.headers.get("WWW-Authenticate") || "").trim();
  const match = /^OTP-Step-Up(?:\s+action="([a-z0-9][a-z0-9._-]{0,63})")?\s*$/i.exec(header);
  if (!match && answer.json.step_up !== "required") return null; // e.g. the site's own login expired
  return { action: (match && match[1]) || answer.json.action || null };
}

/**
 * Runs `call(token)`: first without a token; when the answer is a step-up challenge, asks the user
 * for a code (the dialog), and calls once more with the token. Returns
 * {answer} — the last answer, {declined: "user" | "no-phone"} — no token, or
 * {answer, refused: true} — the retry was refused too (the token expired or was used meanwhile).
 */
async function withStepUp(call) {
  const first = await call(null);
  const challenge = stepUpChallenge(first);
  if (!challenge) return { answer: first };
  const outcome = await stepUpDialog.ask(challenge.action);
  if (outcome.token === undefined) return { declined: outcome.declined };
  const answer = await call(outcome.token); // the only use of the token
  return stepUpChallenge(answer) ? { answer, refused: true } : { answer };
}

function language() {
  return byId("sms-language").value;
}

function digitsOnly(text) {
  return text.replace(/[\s-]/g, "");
}

function isCode(text) {
  return new RegExp(`^[0-9]{${codeLength}}$`).test(text);
}

/** Why a send did not work, for the user. */
function sendProblem(answer) {
  switch (answer.status) {
    case 429: return "Too many codes were requested. Please wait a minute and try again.";
    case 503: return "We could not send a text message just now. Please try again in a minute.";
    case 422: return answer.json.detail === "This phone number cannot receive SMS"
      ? "This number cannot receive text messages. Please use a mobile number."
      : "Please enter your mobile number in international format, like +14155550123.";
    case 401: return "You are signed out. Reload the page to sign in again.";
    case 0: return "No connection. Check your network and try again.";
    default: return `Something went wrong (HTTP ${answer.status}). Please try again later.`;
  }
}

// ---- Messages: errors go to aria-live regions, and the input they concern is marked invalid ----

function say(element, text) {
  element.textContent = text;
}

function showError(region, text, input = null) {
  region.textContent = text;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    input.select();
  }
}

function clearError(region, input = null) {
  region.textContent = "";
  if (input) input.removeAttribute("aria-invalid");
}

function busy(button, isBusy) {
  button.disabled = isBusy;
  button.setAttribute("aria-busy", String(isBusy));
}

// ---- WebOTP: the browser offers the code from an SMS that ends with "@this-host #123456" -------

class WebOTP {
  constructor() {
    this.controller = null;
  }

  get available() {
    return "OTPCredential" in window && Boolean(navigator.credentials);
  }

  /** Waits for the SMS in the background; `onCode(code)` when the browser hands it over. */
  start(onCode) {
    this.stop();
    if (!this.available) return false;
    const controller = new AbortController();
    this.controller = controller;
    navigator.credentials.get({ otp: { transport: ["sms"] }, signal: controller.signal })
      .then((credential) => {
        if (!controller.signal.aborted && credential && credential.code) onCode(credential.code);
      })
      .catch(() => {}) // aborted, declined by the user, or no phone paired: the user types the code
      .finally(() => {
        if (this.controller === controller) this.controller = null;
      });
    return true;
  }

  /** Stops waiting: the user typed the code, asked for a new one, or closed the dialog. */
  stop() {
    if (this.controller) {
      this.controller.abort();
      this.controller = null;
    }
  }
}

// ---- The step-up dialog ----------------------------------------------------------------------

class StepUpDialog {
  constructor() {
    this.dialog = byId("step-up");
    this.form = byId("step-up-form");
    this.sent = byId("step-up-sent");
    this.input = byId("step-up-code");
    this.error = byId("step-up-error");
    this.confirm = byId("step-up-confirm");
    this.resend = byId("step-up-resend");
    this.webOTPHint = byId("step-up-webotp");
    this.webOTP = new WebOTP();
    this.pending = null;
    this.action = null;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.verify();
    });
    this.resend.addEventListener("click", () => this.send());
    byId("step-up-dismiss").addEventListener("click", () => this.finish({ declined: "user" }));
    // Escape closes a modal dialog: the same as "Not now".
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.finish({ declined: "user" });
    });
  }

  /** Sends a step-up code for `action` and asks for it: resolves to {token} or {declined}. */
  ask(action) {
    this.action = action;
    return new Promise((resolve) => {
      this.pending = resolve;
      this.input.value = "";
      clearError(this.error, this.input);
      say(this.sent, "Sending a code to your phone…");
      this.send();
    });
  }

  async send() {
    this.webOTP.stop();
    busy(this.resend, true);
    clearError(this.error, this.input);
    const body = { purpose: "step_up", locale: language() };
    if (this.action) body.action = this.action;
    const answer = await post("/api/otp/send", body);
    busy(this.resend, false);
    if (answer.status === 409) {
      // The account has no verified phone: nothing to confirm with.
      this.finish({ declined: "no-phone" });
      return;
    }
    if (!this.dialog.open) this.dialog.showModal();
    if (answer.status !== 200) {
      say(this.sent, "");
      showError(this.error, sendProblem(answer));
      return;
    }
    const hint = String(answer.json.phone_hint || "").replace(/[^0-9]/g, "");
    const what = actionTexts[this.action] || "confirm this action";
    say(this.sent, this.action === "change-phone"
      ? `We sent a code to your current phone, the one ending ${hint}. Enter it to ${what}.`
      : `We sent a code to the phone ending ${hint}. Enter it to ${what}.`);
    this.webOTPHint.hidden = !this.webOTP.start((code) => {
      this.input.value = code;
      this.form.requestSubmit();
    });
    this.input.focus();
  }

  async verify() {
    this.webOTP.stop();
    const code = digitsOnly(this.input.value);
    if (!isCode(code)) {
      showError(this.error, `The code has ${codeLength} digits.`, this.input);
      return;
    }
    busy(this.confirm, true);
    const body = { purpose: "step_up", code };
    if (this.action) body.action = this.action;
    const answer = await post("/api/otp/verify", body);
    busy(this.confirm, false);
    if (answer.status === 200 && answer.json.step_up_token) {
      this.finish({ token: answer.json.step_up_token });
    } else if (answer.status === 400) {
      showError(this.error, "That code didn't work. Check the text message and try again, or send a new code.", this.input);
    } else {
      showError(this.error, `Something went wrong (HTTP ${answer.status}). Please try again.`, this.input);
    }
  }

  finish(outcome) {
    this.webOTP.stop();
    if (this.dialog.open) this.dialog.close();
    this.input.value = "";
    const resolve = this.pending;
    this.pending = null;
    if (resolve) resolve(outcome);
  }
}

const stepUpDialog = new StepUpDialog();

// ---- Your mobile phone: verify_phone (replacing a verified phone meets the change-phone step-up) --

function setUpPhone() {
  const form = byId("phone-form");
  const phone = byId("phone-number");
  const codeForm = byId("phone-code-form");
  const code = byId("phone-code");
  const status = byId("phone-status");
  const error = byId("phone-error");
  const webOTP = new WebOTP();
  let number = "";

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error, phone);
    number = phone.value.replace(/[\s()-]/g, "");
    if (!/^\+[1-9][0-9]{6,14}$/.test(number)) {
      showError(error, "Please enter your mobile number in international format, like +14155550123.", phone);
      return;
    }
    busy(byId("phone-send"), true);
    const answer = await post("/api/otp/send", { phone_e164: number, purpose: "verify_phone", locale: language() });
    busy(byId("phone-send"), false);
    if (answer.status !== 200) {
      showError(error, sendProblem(answer), phone);
      return;
    }
    codeForm.hidden = false;
    code.value = "";
    say(status, `We sent a code to ${number}. Enter it below.`);
    webOTP.start((received) => {
      code.value = received;
      codeForm.requestSubmit();
    });
    code.focus();
  });

  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    webOTP.stop();
    clearError(error, code);
    const entered = digitsOnly(code.value);
    if (!isCode(entered)) {
      showError(error, `The code has ${codeLength} digits.`, code);
      return;
    }
    busy(byId("phone-verify"), true);
    const result = await withStepUp((token) =>
      post("/api/otp/verify", { phone_e164: number, purpose: "verify_phone", code: entered },
        token ? { "X-Step-Up-Token": token } : {}));
    busy(byId("phone-verify"), false);
    if (result.declined) {
      say(status, "Your phone number is unchanged.");
    } else if (result.refused) {
      showError(error, "The confirmation was not accepted: it may have expired. Please try again.", code);
    } else if (result.answer.status === 200) {
      codeForm.hidden = true;
      say(status, `Your phone ${number} is verified. Codes for important changes go there.`);
    } else if (result.answer.status === 400) {
      showError(error, "That code didn't work. Check the text message and try again, or send a new code.", code);
    } else {
      showError(error, `Something went wrong (HTTP ${result.answer.status}). Please try again later.`, code);
    }
  });
}

// ---- A protected action: cancel the appointment --------------------------------------------------

function setUpAppointment() {
  const button = byId("cancel-appointment");
  const status = byId("appointment-status");
  const error = byId("appointment-error");

  button.addEventListener("click", async () => {
    clearError(error);
    say(status, "");
    busy(button, true);
    const result = await withStepUp((token) =>
      post("/account/cancel-appointment", null, token ? { "X-Step-Up-Token": token } : {}));
    busy(button, false);
    if (result.declined === "no-phone") {
      showError(error, "To cancel online, first verify your mobile phone above.");
      byId("phone-number").focus();
    } else if (result.declined) {
      say(status, "Your appointment is unchanged.");
      button.focus();
    } else if (result.refused) {
      showError(error, "The confirmation was not accepted: it may have expired or been used already. Please try again.");
      button.focus();
    } else if (result.answer.status === 200 && result.answer.json.status === "cancelled") {
      byId("appointment-details").classList.add("cancelled");
      byId("appointment-state").textContent = "Cancelled";
      button.hidden = true;
      say(status, "Your appointment is cancelled.");
    } else if (result.answer.status === 401) {
      showError(error, "You are signed out. Reload the page to sign in again.");
    } else {
      showError(error, `Something went wrong (HTTP ${result.answer.status}). Please try again later.`);
    }
  });
}

function setUpLanguage() {
  const select = byId("sms-language");
  const preferred = (navigator.language || "en").slice(0, 2).toLowerCase();
  if ([...select.options].some((option) => option.value === preferred)) select.value = preferred;
}

setUpLanguage();
setUpPhone();
setUpAppointment();
