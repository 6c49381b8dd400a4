"""What every part of `make bench` shares: where things are, the fixed settings of a run, the log
line and the error that fails a run."""
import base64
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_DIR = BENCH / "wrk"
USER = "bench"
AUTHORIZATION = "Basic " + base64.b64encode(f"{USER}:x".encode()).decode()
PURPOSE = "step_up"
WORKERS = 8
SYNCHRONOUS = "full"  # otp-fcgi's default (OTP_DB_SYNCHRONOUS); floor B uses the same
# OTP_TTL_SECONDS and STEP_UP_TOKEN_TTL_SECONDS of every otp-fcgi the bench runs or mints with:
# minted rows outlive the run.
TTL_SECONDS = 3600
MAIN_CONNECTIONS = 32
SWEEP = [1, 8, 32, 128]
# Phone ranges (E.164 without '+'), disjoint per use.
PHONES = {"send": 31_000_000_000, "verify": 32_000_000_000, "cg-send": 35_000_000_000, "cg-wrong": 36_000_000_000,
          "cg-right": 37_000_000_000}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchError(Exception):
    pass
