"""What every part of `make bench` shares: where things are, the fixed settings of a run, the log
line and the error that fails a run."""
import base64
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_DIR = BENCH / "wrk"
USER = "bench"


def basic_authorization(user):
    """The Basic header nginx fills $remote_user from (no auth_basic checks it: see nginx-bench.conf)."""
    return "Basic " + base64.b64encode(f"{user}:x".encode()).decode()


AUTHORIZATION = basic_authorization(USER)
# The verify cases verify step_up codes, each minted (bench-mint codes step_up) for a phone that is
# the verified phone of its own user, who owns the code and sends the request. The send cases send
# verify_phone codes (as USER): a step_up send goes only to the user's verified phone, and a fresh
# phone per request is what keeps every send out of the per-phone cooldown.
VERIFY_PURPOSE = "step_up"
SEND_PURPOSE = "verify_phone"
WORKERS = 16
SYNCHRONOUS = "full"  # otp-fcgi's default (OTP_DB_SYNCHRONOUS); floor B uses the same
# OTP_TTL_SECONDS and STEP_UP_TOKEN_TTL_SECONDS of every otp-fcgi the bench runs or mints with:
# minted rows outlive the run.
TTL_SECONDS = 3600
MAIN_CONNECTIONS = 32
SWEEP = [1, 8, 32, 128]
# The workers sweep: otp-fcgi restarted with each of these `--workers` values, measured at each
# connection count of SWEEP. libfcgi serves one connection per worker thread, so at most this many
# requests can wait on one group commit.
WORKERS_SWEEP = [4, 8, 16, 32]
WORKERS_SWEEP_P99_MS = 10  # the best workers value is the fastest whose p99 stays within this
# Phone ranges (E.164 without '+'), disjoint per use: Dutch mobiles (+316 and 8 digits; +3161… to
# +3165… are valid mobile numbers for libphonenumber), since every send passes the SMS firewall's
# number check (valid, of an allowed type).
PHONES = {"send": 31_610_000_000, "send-firewall": 31_620_000_000, "verify": 31_630_000_000,
          "cg-send": 31_640_000_000, "cg-send-firewall": 31_641_000_000, "cg-wrong": 31_642_000_000,
          "cg-right": 31_643_000_000}
# The SMS firewall (SPEC "SMS firewall"). Its budgets (10 sends per user and 20 per address an hour,
# 1,000 in total) and its tripwire (a country whose last 50 sends are under 20 % verified is
# paused; no bench code sent is ever verified) would stop the load: every otp-fcgi of the bench
# runs with them off. The number check (libphonenumber) cannot be switched off and runs anyway.
FIREWALL_OFF = {"OTP_SMS_PER_USER_PER_HOUR": "off", "OTP_SMS_PER_ADDRESS_PER_HOUR": "off",
                "OTP_SMS_GLOBAL_PER_HOUR": "off", "OTP_SMS_TRIPWIRE_SENDS": "off"}
# The send case once more with the firewall on, in monitor mode (every budget and the tripwire
# counted, recorded and evaluated; nothing blocked), every budget active but out of reach. No bench
# code is ever verified, so a tripwire asking for any verified share would pause the country after
# 50 sends and every later send would log what it would block: the tripwire records its 50 sends
# and asks for 0 % (the cost of a normal send, not of a country under attack).
FIREWALL_ON = {"OTP_SMS_FIREWALL_MODE": "monitor", "OTP_SMS_PER_USER_PER_HOUR": "100000000",
               "OTP_SMS_PER_ADDRESS_PER_HOUR": "100000000", "OTP_SMS_PER_COUNTRY_PER_HOUR": "100000000",
               "OTP_SMS_GLOBAL_PER_HOUR": "100000000", "OTP_SMS_TRIPWIRE_SENDS": "50", "OTP_SMS_TRIPWIRE_MIN_VERIFIED": "0"}

def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchError(Exception):
    pass
