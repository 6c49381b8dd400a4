#!/usr/bin/env python3
"""`make bench`: otp-fcgi behind nginx on loopback, loaded with wrk, against two floors measured in
the same run, plus instructions per request under callgrind, a 1M-row database and peak RSS.

Everything runs in a fresh state folder (bench/.state) and is stopped on exit. Results:
bench/results/latest.md (printed too), latest.json (raw figures), requests.png and sweep.png.
See bench/README.md for what each case measures and how.
"""
import argparse
import base64
import concurrent.futures
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import fcgi_client  # noqa: E402
import seed  # noqa: E402

WRK_DIR = BENCH / "wrk"
RESULTS = BENCH / "results"
USER = "bench"
AUTHORIZATION = "Basic " + base64.b64encode(f"{USER}:x".encode()).decode()
PURPOSE = "step_up"
WORKERS = 8
SYNCHRONOUS = "full"  # otp-fcgi's default (OTP_DB_SYNCHRONOUS); floor B uses the same
MAIN_CONNECTIONS = 32
SWEEP = [1, 8, 32, 128]
# Phone ranges (E.164 without '+'), disjoint per use.
PHONES = {"send": 31_000_000_000, "verify": 32_000_000_000, "cg-send": 35_000_000_000, "cg-wrong": 36_000_000_000,
          "cg-right": 37_000_000_000}
PACKAGES = ["wrk", "valgrind", "gnuplot-nox", "gcc", "libc6-dev", "libfcgi-dev", "libsqlite3-dev", "nginx",
            "binutils", "openssl"]

PROCESSES = []  # every process we started, so that any exit stops them


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Setup


def ensure_packages():
    missing = [p for p in PACKAGES if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout != "install ok installed"]
    if not missing:
        return
    log(f"installing {' '.join(missing)}")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(prefix + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, timeout=30, process=None):
    deadline = time.time() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise BenchError(f"{what}: the process exited with status {process.returncode}")
        if time.time() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.02)


def can_connect_unix(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(path))
        return True
    except OSError:
        return False


def can_connect_tcp(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start(args, log_path, env=None):
    handle = open(log_path, "ab")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=handle, env=env, start_new_session=True)
    handle.close()
    PROCESSES.append(process)
    return process


def stop(process, timeout=60):
    """SIGTERM, wait, then SIGKILL; only our own process, by its pid."""
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except ProcessLookupError:
        pass


def stop_all():
    for process in reversed(PROCESSES):
        stop(process, timeout=20)


def remove_databases(folder):
    """The bench's own database files (the 1M-row one is 600 MB), nothing else."""
    for name in ("otp", "otp-1M", "floor-b", "floor-b-plain"):
        for suffix in ("", "-wal", "-shm"):
            Path(folder, f"{name}.sqlite3{suffix}").unlink(missing_ok=True)


def memory(pid):
    """VmHWM (peak) and VmRSS of a process, in MiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:", "RssAnon:", "RssFile:")):
            name, value = line.split(":")
            figures[name] = int(value.split()[0]) / 1024
    return figures


def reset_peak(pid):
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# ---------------------------------------------------------------------------------------------
# The stack: nginx (shipped files + one bench server), otp-fcgi, floor B


class Stack:
    def __init__(self, state, binary, floor_b, db_dir):
        self.state = state
        self.db_dir = db_dir
        self.binary = binary
        self.floor_b_binary = floor_b
        self.port = free_port()
        self.port_1m = free_port()  # a second bench server: the same API in front of the 1M-row database
        self.pepper = os.urandom(32).hex()
        self.socket = state / "otp.sock"
        self.sms_file = state / "sms.jsonl"
        self.otp = None
        self.otp_1m = None
        self.floor_b = None
        self.floor_b_plain = None
        self.nginx = None

    def render_nginx(self):
        subprocess.run([str(ROOT / "scripts/render-nginx.sh"), str(self.state), str(free_port()), str(free_port()),
                        "100000000r/m"], check=True)
        (self.state / "www").mkdir(exist_ok=True)
        (self.state / "www/protected").write_text("ok\n")
        # The shipped snippet once more, for the second bench server, with its upstream swapped for
        # the socket of the otp-fcgi that serves the 1M-row database.
        snippet = (self.state / "nginx/snippets/otp-fcgi.conf").read_text()
        copy, swapped = re.subn(r"fastcgi_pass\s+otp_fcgi\s*;", f"fastcgi_pass unix:{self.state}/otp-1M.sock;", snippet)
        if swapped == 0 or "otp_fcgi;" in copy:
            raise BenchError("cannot point a copy of snippets/otp-fcgi.conf at the 1M-row otp-fcgi: did the upstream name change?")
        (self.state / "nginx/snippets/otp-fcgi-1M.conf").write_text(copy)
        site = (BENCH / "nginx-bench.conf").read_text()
        site = site.replace("@STATE@", str(self.state)).replace("@PORT_1M@", str(self.port_1m)).replace("@PORT@", str(self.port))
        (self.state / "nginx/sites-enabled/bench.conf").write_text(site)

    def otp_environment(self, db):
        return {
            "PATH": "/usr/sbin:/usr/bin:/bin",
            "OTP_PEPPER": self.pepper,
            "OTP_DB_PATH": str(db),
            "OTP_DB_SYNCHRONOUS": SYNCHRONOUS,
            "OTP_SMS_PROVIDER": "file",
            "OTP_SMS_FILE": str(self.sms_file),
            # Seeded rows live an hour; the code and token rules check lifetimes against these.
            "OTP_TTL_SECONDS": str(seed.TTL_SECONDS),
            "STEP_UP_TOKEN_TTL_SECONDS": str(seed.TTL_SECONDS),
        }

    def start_otp(self, db, name="otp-fcgi", sock=None):
        sock = sock or self.socket
        process = start([str(self.binary), "serve", "--listen", f"unix:{sock}", "--workers", str(WORKERS)],
                        self.state / f"{name}.log", env=self.otp_environment(db))
        wait_for(f"{name} socket", lambda: can_connect_unix(sock), process=process)
        return process

    def create_schema(self, db):
        """otp-fcgi creates its own schema at start: start it on `db` once and stop it."""
        sock = self.state / "schema.sock"
        process = start([str(self.binary), "serve", "--listen", f"unix:{sock}", "--workers", "1"],
                        self.state / "otp-fcgi.log", env=self.otp_environment(db))
        wait_for("otp-fcgi (schema)", lambda: can_connect_unix(sock), process=process)
        stop(process)

    def start_floor_b(self, variant):
        """variant "mutex" (floor B) or "plain" (its threads contend through SQLite's busy handler)."""
        name = "floor-b" if variant == "mutex" else "floor-b-plain"
        sock = self.state / f"{name}.sock"
        process = start([str(self.floor_b_binary), str(sock), str(self.db_dir / f"{name}.sqlite3"), str(WORKERS), SYNCHRONOUS, variant],
                        self.state / f"{name}.log")
        wait_for(f"{name} socket", lambda: can_connect_unix(sock), process=process)
        return process

    def start_nginx(self):
        conf = self.state / "nginx"
        self.nginx = start(["/usr/sbin/nginx", "-p", str(conf), "-c", str(conf / "nginx.conf"),
                            "-e", str(self.state / "nginx-error.log")], self.state / "nginx-stderr.log")
        wait_for("nginx", lambda: can_connect_tcp(self.port), process=self.nginx)

    def log_mark(self, name="otp-fcgi"):
        log_file = self.state / f"{name}.log"
        return name, (log_file.stat().st_size if log_file.exists() else 0)

    def errors_since(self, mark):
        """(number of error-level lines the responder logged since mark, the first of them)."""
        name, offset = mark
        with open(self.state / f"{name}.log", "rb") as f:
            f.seek(offset)
            lines = [l for l in f.read().decode(errors="replace").splitlines() if "level=error" in l or "level=critical" in l]
        return len(lines), (shorten_log_line(lines[0]) if lines else None)

    def http(self, method, path, body=None, headers=None, port=None):
        connection = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=30)
        all_headers = {"Authorization": AUTHORIZATION}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        payload = response.read().decode(errors="replace")
        connection.close()
        return response.status, payload


def shorten_log_line(line):
    """msg and the start of error of a key=value log line, for the notes."""
    fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
    error = fields.get("error", "").strip('"').split("\\n")[0]
    return f"{fields.get('msg', '?')} {error[:70]}".strip()


# ---------------------------------------------------------------------------------------------
# wrk


def wrk(stack, script, path, connections, seconds, script_args=(), port=None):
    threads = min(2, connections)
    arguments = [a.replace("@THREADS@", str(threads)) for a in script_args]
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", str(WRK_DIR / script), f"http://127.0.0.1:{port or stack.port}{path}"]
    if arguments:
        command += ["--", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120,
                            env=dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR)))
    line = next((l for l in result.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    figures = json.loads(line[len("BENCH_JSON "):])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


class Runner:
    """Runs the load cases; each is a warm-up, then the measured run, checked against the database."""

    def __init__(self, stack, warmup, duration):
        self.stack = stack
        self.warmup = warmup
        self.duration = duration
        self.results = []
        self.problems = []
        self.fastest = 500.0  # the highest rate seen so far (health is an upper bound for any write)
        self.next_phone = PHONES["verify"]

    def record(self, name, connections, figures, expect_status_errors, db_delta=None, extra=None, service_errors=None):
        """Checks that the run measured what it claims (else it is listed as a problem and make bench
        exits non-zero); answers the service itself logged as errors (503, database busy) are
        figures, not problems."""
        problems, findings = [], []
        errors = figures["errors"]
        logged, sample = service_errors or (0, None)
        if errors["connect"] or errors["read"] or errors["write"] or errors["timeout"]:
            problems.append(f"socket errors {errors}")
        if expect_status_errors == "none" and errors["status"]:
            if errors["status"] <= logged:
                findings.append(f"{errors['status']} of {figures['requests']:,} answers were errors the service logged "
                                f"({logged} error lines; first: {sample})")
            else:
                problems.append(f"{errors['status']} answers were 4xx/5xx (the service logged {logged} errors)")
        if expect_status_errors == "all":
            if errors["status"] != figures["requests"]:
                problems.append(f"only {errors['status']} of {figures['requests']} answers were the expected 4xx")
            if logged:
                findings.append(f"up to {logged} of the {figures['requests']:,} answers were errors the service logged "
                                f"(first: {sample})")
        if figures.get("exhausted"):
            problems.append(f"the supply ran out ({figures['exhausted']} requests had no fresh token/code)")
        succeeded = figures["requests"] - (errors["status"] if expect_status_errors == "none" else min(logged, figures["requests"]))
        if db_delta is not None and db_delta < succeeded:
            problems.append(f"the database shows {db_delta} effects for {succeeded} successful requests")
        entry = {
            "case": name, "connections": connections, "rps": round(figures["rps"], 1),
            "p50_ms": figures["p50_us"] / 1000, "p90_ms": figures["p90_us"] / 1000, "p99_ms": figures["p99_us"] / 1000,
            "mean_ms": round(figures["mean_us"] / 1000, 3), "max_ms": figures["max_us"] / 1000,
            "requests": figures["requests"], "seconds": round(figures["duration_us"] / 1e6, 3),
            "errors": errors, "db_effects": db_delta, "problems": problems, "findings": findings,
            "service_error_lines": logged,
        }
        entry.update(extra or {})
        self.results.append(entry)
        if not name.startswith("floor A"):  # nginx alone is no bound for a responder
            self.fastest = max(self.fastest, entry["rps"])
        state = "ok" if not problems else "PROBLEM: " + "; ".join(problems)
        if findings:
            state += "; " + "; ".join(findings)
        log(f"  {name} @{connections}: {entry['rps']:.0f} req/s, p50 {entry['p50_ms']:.2f} ms, "
            f"p99 {entry['p99_ms']:.2f} ms ({state})")
        if problems:
            self.problems.append(f"{name} @{connections}: {'; '.join(problems)}")
        return entry

    def static(self, name, path, connections, expected_status, warm=True, seconds=None):
        status, body = self.stack.http("GET", path)
        if status != expected_status:
            raise BenchError(f"preflight {name}: GET {path} answered {status} {body!r}, expected {expected_status}")
        if warm:
            wrk(self.stack, "static.lua", path, connections, self.warmup)
        mark = self.stack.log_mark(path.strip("/") if path.startswith("/floor-b") else "otp-fcgi")
        figures = wrk(self.stack, "static.lua", path, connections, seconds or self.duration)
        return self.record(name, connections, figures, "none", service_errors=self.stack.errors_since(mark))

    def _supplied(self, name, connections, db, script, path, make_supply, preflight, effect_sql, script_args, expect, big):
        """Warm-up on a supply sized from the fastest rate seen so far, then a measured run on a fresh
        supply sized from the warm-up's rate (twice what it needs; once more, larger, if it runs out).
        The small database thus holds little more than what the case uses."""
        warm_file, main_file = self.stack.state / "supply-warm.txt", self.stack.state / "supply-main.txt"
        warm_items = make_supply(int(self.fastest * self.warmup * 1.5) + 1000)
        seed.write_lines(warm_file, warm_items)
        preflight(warm_items[0])
        port = self.stack.port_1m if big else self.stack.port
        warm = wrk(self.stack, script, path, connections, self.warmup, [str(warm_file), "1", "@THREADS@", *script_args], port=port)
        margin = 2.5
        for attempt in range(2):
            count = int(max(warm["rps"], 100) * self.duration * margin) + 1000
            seed.write_lines(main_file, make_supply(count))
            before = seed.count(db, effect_sql)
            mark = self.stack.log_mark("otp-fcgi-1M" if big else "otp-fcgi")
            measured = wrk(self.stack, script, path, connections, self.duration, [str(main_file), "0", "@THREADS@", *script_args],
                           port=port)
            if not measured["exhausted"] or attempt == 1:
                break
            log(f"  {name} @{connections}: the supply ran out ({measured['rps']:.0f} req/s); again with a larger one")
            margin = max(margin * 2, 3 * measured["rps"] / max(warm["rps"], 1))
        delta = seed.count(db, effect_sql) - before
        rows = {t: seed.count(db, f"SELECT count(*) FROM {t}") for t in ("step_up_tokens", "otp_codes")}
        return self.record(name, connections, measured, expect, db_delta=delta, extra={"supply": count, "rows": rows},
                           service_errors=self.stack.errors_since(mark))

    def step_up_check(self, name, connections, db, clear=True, big=False):
        """clear: empty the tables first (the small database holds only this case's supplies);
        big: through the second bench server, to the otp-fcgi on the 1M-row database."""
        stack = self.stack
        port = stack.port_1m if big else stack.port
        if clear:
            seed.clear(db)

        def make_supply(count):
            tokens = seed.seed_tokens(db, USER, count)
            seed.checkpoint(db)
            return tokens

        def preflight(token):
            # The token admits once through the real auth_request path, then is refused.
            status, body = stack.http("GET", "/protected", headers={"X-Step-Up-Token": token}, port=port)
            again, _ = stack.http("GET", "/protected", headers={"X-Step-Up-Token": token}, port=port)
            if status != 200 or again != 401:
                raise BenchError(f"preflight {name}: a seeded token answered {status} {body!r}, then {again} (expected 200, then 401)")

        return self._supplied(name, connections, db, "check.lua", "/protected", make_supply, preflight,
                              "SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL", [AUTHORIZATION], "none", big)

    def verify(self, name, connections, db, wrong, clear=True, big=False):
        stack = self.stack
        port = stack.port_1m if big else stack.port
        if clear:
            seed.clear(db)

        def make_supply(count):
            pairs = seed.seed_codes(db, stack.pepper, PURPOSE, self.next_phone, count)
            self.next_phone += count
            seed.checkpoint(db)
            return [f"{p} {c}" for p, c in pairs]

        def preflight(line):
            phone, code = line.split()
            if wrong:
                bad = code[:-1] + str((int(code[-1]) + 1) % 10)
                status, body = stack.http("POST", "/api/otp/verify", json.dumps({"phone_e164": phone, "purpose": PURPOSE, "code": bad}),
                                          port=port)
                attempts = seed.count(db, f"SELECT attempts FROM otp_codes WHERE phone_hash = '{seed.phone_hash(phone, stack.pepper)}'")
                if status != 400 or attempts != 1:
                    raise BenchError(f"preflight {name}: a wrong code answered {status} {body!r} with attempts={attempts} (expected 400, 1)")
            else:
                status, body = stack.http("POST", "/api/otp/verify", json.dumps({"phone_e164": phone, "purpose": PURPOSE, "code": code}),
                                          port=port)
                token = json.loads(body).get("step_up_token") if status == 200 else None
                admitted = stack.http("GET", "/protected", headers={"X-Step-Up-Token": token}, port=port)[0] if token else None
                if status != 200 or admitted != 200:
                    raise BenchError(f"preflight {name}: a seeded code answered {status} {body!r}; its token then {admitted} (expected 200, 200)")

        effect = ("SELECT count(*) FROM otp_codes WHERE attempts > 0" if wrong
                  else "SELECT count(*) FROM otp_codes WHERE verified_at IS NOT NULL")
        return self._supplied(name, connections, db, "verify.lua", "/api/otp/verify", make_supply, preflight, effect,
                              [AUTHORIZATION, "wrong" if wrong else "right", PURPOSE], "all" if wrong else "none", big)

    def send(self, name, connections):
        stack = self.stack
        first = PHONES["send"]
        status, body = stack.http("POST", "/bench/send", json.dumps({"phone_e164": f"+{first}", "purpose": PURPOSE}))
        if status != 200 or f'"+{first}"' not in stack.sms_file.read_text():
            raise BenchError(f"preflight {name}: send answered {status} {body!r}, or no SMS reached the file sink")
        args = [AUTHORIZATION, PURPOSE]
        warm = wrk(stack, "send.lua", "/bench/send", connections, self.warmup, [str(first), "1", "@THREADS@", *args])
        lines_before = stack.sms_file.read_text().count("\n")
        mark = stack.log_mark()
        measured = wrk(stack, "send.lua", "/bench/send", connections, self.duration,
                       [str(first), str(warm["next_index"]), "@THREADS@", *args])
        delivered = stack.sms_file.read_text().count("\n") - lines_before
        return self.record(name, connections, measured, "none", db_delta=delivered, service_errors=stack.errors_since(mark))


# ---------------------------------------------------------------------------------------------
# callgrind: instructions per request, straight on the socket


def callgrind_totals(path):
    for line in Path(path).read_text().splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise BenchError(f"no totals in {path}")


class Callgrind:
    def __init__(self, stack, n1, n2):
        self.stack = stack
        self.n1, self.n2 = n1, n2
        self.dir = stack.state / "callgrind"
        self.dir.mkdir(exist_ok=True)
        # valgrind 3.19 cannot read the DWARF 5 of Swift's toolchain: profile a copy without it
        # (the symbol table stays, so functions keep their names).
        self.otp_binary = self.dir / "otp-fcgi"
        subprocess.run(["objcopy", "--strip-debug", str(stack.binary), str(self.otp_binary)], check=True)
        self.template = self.dir / "template.sqlite3"
        stack.create_schema(self.template)
        self.supplies = {
            "verify-wrong": seed.seed_codes(self.template, stack.pepper, PURPOSE, PHONES["cg-wrong"], n2),
            "verify-right": seed.seed_codes(self.template, stack.pepper, PURPOSE, PHONES["cg-right"], n2),
            "step-up-check": seed.seed_tokens(self.template, USER, n2),
        }
        seed.checkpoint(self.template)

    def request_for(self, endpoint, index):
        """(params, body, expected status) of request `index` for an endpoint, as nginx would send it."""
        user = [("REMOTE_USER", USER)]
        if endpoint in ("health",):
            return fcgi_client.nginx_params("GET", "/api/otp/health", extra=[("OTP_ENDPOINT", "health")]), b"", 200
        if endpoint == "floor-b":
            return fcgi_client.nginx_params("GET", "/floor-b"), b"", 204
        if endpoint == "step-up-check":
            token = self.supplies[endpoint][index]
            params = fcgi_client.nginx_params("GET", "/_otp/step-up-check", extra=[
                *user, ("HTTP_X_STEP_UP_TOKEN", token), ("OTP_ENDPOINT", "step-up-check")])
            return params, b"", 204
        if endpoint == "send":
            body = json.dumps({"phone_e164": f"+{PHONES['cg-send'] + index}", "purpose": PURPOSE}).encode()
            return fcgi_client.nginx_params("POST", "/api/otp/send", body, "application/json", user), body, 200
        phone, code = self.supplies[endpoint][index]
        expected = 200
        if endpoint == "verify-wrong":
            code, expected = code[:-1] + str((int(code[-1]) + 1) % 10), 400
        body = json.dumps({"phone_e164": phone, "purpose": PURPOSE, "code": code}).encode()
        return fcgi_client.nginx_params("POST", "/api/otp/verify", body, "application/json", user), body, expected

    def run_one(self, endpoint, n):
        name = f"{endpoint}-{n}"
        sock = self.dir / f"{name}.sock"
        db = self.dir / f"{name}.sqlite3"
        out = self.dir / f"{name}.out"
        for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), out):
            leftover.unlink(missing_ok=True)
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        if endpoint == "floor-b":
            command = [*valgrind, str(self.stack.floor_b_binary), str(sock), str(db), "1", SYNCHRONOUS, "mutex"]
            env = None
        else:
            shutil.copyfile(self.template, db)
            command = [*valgrind, str(self.otp_binary), "serve", "--listen", f"unix:{sock}", "--workers", "1"]
            env = dict(self.stack.otp_environment(db), SWIFT_DETERMINISTIC_HASHING="1",
                       OTP_SMS_FILE=str(self.dir / f"{name}-sms.jsonl"))
        process = start(command, self.dir / f"{name}.log", env=env)
        try:
            wait_for(f"{name} under valgrind", lambda: can_connect_unix(sock), timeout=180, process=process)
            for index in range(n):
                params, body, expected = self.request_for(endpoint, index)
                status, _, payload = fcgi_client.request(str(sock), params, body, timeout=120)
                if status != expected:
                    raise BenchError(f"callgrind {name}: request {index} answered {status} {payload!r}, expected {expected}")
        finally:
            stop(process, timeout=180)
        if process.returncode != 0:
            raise BenchError(f"callgrind {name}: exit status {process.returncode} (see {self.dir / (name + '.log')})")
        return callgrind_totals(out)

    def measure(self, endpoints):
        figures = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for endpoint in endpoints:
                started = time.time()
                t1, t2 = pool.submit(self.run_one, endpoint, self.n1), pool.submit(self.run_one, endpoint, self.n2)
                total1, total2 = t1.result(), t2.result()
                per_request = (total2 - total1) / (self.n2 - self.n1)
                figures[endpoint] = {"n1": self.n1, "n2": self.n2, "total_n1": total1, "total_n2": total2,
                                     "per_request": round(per_request)}
                log(f"  {endpoint}: {per_request:,.0f} instructions/request ({time.time() - started:.0f} s)")
        return figures

    def profile(self, endpoint, inclusive, top):
        """Per-request cost by function, self or inclusive: (annotate at N2 - annotate at N1) / (N2 - N1)."""
        def functions(n):
            text = subprocess.run(["callgrind_annotate", "--threshold=100", f"--inclusive={'yes' if inclusive else 'no'}",
                                   str(self.dir / f"{endpoint}-{n}.out")], capture_output=True, text=True, check=True).stdout
            costs = {}
            for line in text.splitlines():
                match = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+)$", line)
                if match and "PROGRAM TOTALS" not in match.group(2):
                    costs[match.group(2)] = costs.get(match.group(2), 0) + int(match.group(1).replace(",", ""))
            return costs
        low, high = functions(self.n1), functions(self.n2)
        span = self.n2 - self.n1
        rows = sorted(((high.get(k, 0) - low.get(k, 0)) / span, k) for k in set(low) | set(high))
        rows = [r for r in reversed(rows)][:top]
        names = demangle([name for _, name in rows])
        return [{"instructions": round(cost), "function": shorten(name)} for (cost, _), name in zip(rows, names)]


def demangle(names):
    tool = shutil.which("swift-demangle")
    if not tool:
        return names
    result = subprocess.run([tool, "--simplified", "--compact"], input="\n".join(names), capture_output=True, text=True)
    lines = result.stdout.splitlines()
    return lines if result.returncode == 0 and len(lines) == len(names) else names


def shorten(name):
    name = re.sub(r"\s*\[(/[^\]]*/)?([^/\]]+)\]$", r" [\2]", name)  # object file: base name only
    name = re.sub(r"^(\./)?[^ :\[]*/", "", name)  # source path prefix
    return name if len(name) <= 150 else name[:147] + "..."


# ---------------------------------------------------------------------------------------------
# Report


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=0, suffix=""):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{suffix}"


def x_floor_b(row):
    return ratio(row["rps"], row.get("floor_b_adjacent"))


def targets_table(data):
    main = {r["case"]: r for r in data["main"]}
    ins = data["instructions"]
    fb_ins = ins.get("floor-b", {}).get("per_request")

    def ins_ratio(key):
        return ratio(ins.get(key, {}).get("per_request"), fb_ins)

    rows = [
        ("step-up-check ≥ 0.9 × floor B req/s", x_floor_b(main["step-up-check"]), 0.9, ">="),
        ("verify (right code) ≥ 0.8 × floor B req/s", x_floor_b(main["verify (right code)"]), 0.8, ">="),
        ("verify (wrong code) ≥ 0.8 × floor B req/s", x_floor_b(main["verify (wrong code)"]), 0.8, ">="),
        ("send (file sink) ≥ 0.7 × floor B req/s", x_floor_b(main["send (file sink)"]), 0.7, ">="),
        ("step-up-check instructions ≤ 1.5 × floor B", ins_ratio("step-up-check"), 1.5, "<="),
        ("verify (right code) instructions ≤ 2 × floor B", ins_ratio("verify-right"), 2.0, "<="),
        ("verify (wrong code) instructions ≤ 2 × floor B", ins_ratio("verify-wrong"), 2.0, "<="),
        ("send instructions ≤ 2 × floor B", ins_ratio("send"), 2.0, "<="),
    ]
    for r in data["main"]:
        if not r["case"].startswith("floor"):
            rows.append((f"p99 at {MAIN_CONNECTIONS} connections ≤ 10 ms: {r['case']}", r["p99_ms"], 10, "<=ms"))
    for row in data.get("scale", []):
        rows.append((f"{row['case']} with 1M rows ≥ 0.8 × small database", row["ratio"], 0.8, ">="))
    if data.get("memory", {}).get("otp_fcgi_128"):
        rows.append(("otp-fcgi peak RSS ≤ 30 MB at 128 connections", data["memory"]["otp_fcgi_128"]["VmHWM"], 30, "<=MB"))
    lines = ["| target | where we stand | |", "|---|---:|---|"]
    for label, value, limit, op in rows:
        if value is None:
            lines.append(f"| {label} | not measured | |")
            continue
        met = value >= limit if op == ">=" else value <= limit
        shown = f"{value:.1f} ms" if op == "<=ms" else f"{value:.1f} MB" if op == "<=MB" else f"{value:.2f} ×"
        lines.append(f"| {label} | {shown} | {'met' if met else '**not met**'} |")
    return lines


def markdown(data):
    meta = data["meta"]
    main = data["main"]
    floor_a = next(r for r in main if r["case"] == "floor A")["rps"]
    ins = data["instructions"]
    fb_ins = ins.get("floor-b", {}).get("per_request")
    keys = {"floor B": "floor-b", "health": "health", "send (file sink)": "send", "verify (wrong code)": "verify-wrong",
            "verify (right code)": "verify-right", "step-up-check": "step-up-check"}
    out = [
        f"Run {meta['date']}, commit `{meta['commit']}`, {meta['wall_seconds']} s; {meta['cpus']} CPUs ({meta['cpu']}) shared by "
        f"nginx, wrk and the responders. wrk: 2 threads (1 at 1 connection), {meta['warmup_s']} s warm-up, {meta['duration_s']} s "
        f"measured ({meta['bracket_s']} s for the floor B runs between cases). otp-fcgi `--workers {WORKERS}`, log level info; floor B {WORKERS} threads with a writer mutex; "
        f"SQLite WAL, synchronous={SYNCHRONOUS.upper()} in both, databases in {meta['db_dir']}. nginx: the shipped files plus a plain-HTTP bench server on "
        f"127.0.0.1 (bench/nginx-bench.conf).",
        "",
        f"| case ({MAIN_CONNECTIONS} connections) | req/s | p50 ms | p99 ms | × floor A | × floor B | instructions/request | × floor B instructions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in main:
        per = ins.get(keys.get(r["case"], ""), {}).get("per_request")
        flag = " ⚠" if r["problems"] else ""
        out.append(f"| {r['case']}{flag} | {fmt(r['rps'])} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | "
                   f"{fmt(ratio(r['rps'], floor_a), 3)} | {fmt(x_floor_b(r), 2)} | {fmt(per)} | {fmt(ratio(per, fb_ins), 2)} |")
    out += ["", "Step-up check (through `auth_request`), connection sweep; floors measured next to it at the same connection count:", "",
            "| connections | floor A req/s | floor B req/s (p99 ms) | floor B, no writer mutex req/s (p99 ms) | step-up-check req/s | p50 ms | p99 ms | × floor A | × floor B |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in data["sweep"]:
        out.append(f"| {s['connections']} | {fmt(s['floor_a'])} | {fmt(s['floor_b'])} ({fmt(s['floor_b_p99_ms'], 1)}) | "
                   f"{fmt(s['floor_b_plain'])} ({fmt(s['floor_b_plain_p99_ms'], 1)}) | {fmt(s['check'])} | {fmt(s['check_p50_ms'], 2)} | "
                   f"{fmt(s['check_p99_ms'], 2)} | {fmt(ratio(s['check'], s['floor_a']), 3)} | {fmt(s['check_x_floor_b'], 2)} |")
    if data.get("scale"):
        out += ["", f"Scale: a second otp-fcgi on a second database with {data['scale_rows']:,} live rows in `otp_codes` and "
                f"{data['scale_rows']:,} in `step_up_tokens` (plus the case's supply), {MAIN_CONNECTIONS} connections, run right "
                f"next to the same case on the small database (check small, check 1M, verify 1M, verify small):", "",
                "| case | small database req/s | 1M rows req/s | ratio | p99 ms small | p99 ms 1M |",
                "|---|---:|---:|---:|---:|---:|"]
        for s in data["scale"]:
            out.append(f"| {s['case']} | {fmt(s['small_rps'])} | {fmt(s['big_rps'])} | {fmt(s['ratio'], 2)} | "
                       f"{fmt(s['small_p99_ms'], 2)} | {fmt(s['big_p99_ms'], 2)} |")
    m = data.get("memory", {})
    if m:
        out += ["", "Memory: peak RSS (VmHWM, reset just before the case; RssAnon/RssFile at the end of it), MB = MiB:", ""]
        for key, label in (("otp_fcgi_128", "otp-fcgi, step-up-check at 128 connections"),
                           ("floor_b_128", "floor B, 128 connections"),
                           ("otp_fcgi_1M", "otp-fcgi, 1M-row database (check and verify)")):
            if m.get(key):
                v = m[key]
                out.append(f"- {label}: **{v['VmHWM']:.1f} MB** (anonymous {v.get('RssAnon', 0):.1f}, file-backed {v.get('RssFile', 0):.1f})")
    if ins:
        out += ["", f"Instructions per request: callgrind (valgrind {meta['valgrind'].replace('valgrind-', '')}), one worker, driven "
                f"straight on the unix socket by a FastCGI client (no nginx), (total at {meta['cg_n2']} requests − total at "
                f"{meta['cg_n1']}) ÷ {meta['cg_n2'] - meta['cg_n1']}; per-function split in bench/results/profile.md."]
    out += ["", "Targets (reported, never enforced):", "", *targets_table(data)]
    notes = []
    for key, runs in data.get("floor_runs", {}).items():
        how = ("each case's × floor B divides by the floor B runs just before and after it" if key == "floor B"
               else "before and after the cases")
        notes.append(f"{key} at {MAIN_CONNECTIONS} connections ran {len(runs)} times: {', '.join(fmt(x) for x in runs)} req/s "
                     f"(the table shows the mean; {how}).")
    runs = data.get("floor_runs", {}).get("floor B", [])
    if runs and max(runs) > 1.5 * min(runs):
        notes.append(f"**Noisy run**: floor B's throughput varied {max(runs) / min(runs):.1f}× between its runs. Anything that commits "
                     f"with synchronous=FULL is bound by fsync, and this disk's fsync time drifts: treat the req/s ratios and the "
                     f"scale ratio as rough; the instruction counts are unaffected.")
    for r in data.get("load_cases", []):
        for finding in r.get("findings", []):
            notes.append(f"{r['case']} @{r['connections']}: {finding}")
    notes += [f"**Not a valid measurement** — {p}" for p in data.get("problems", [])]
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def profiles_markdown(data):
    out = ["# Per-request profile (callgrind)", "",
           f"For each endpoint: instructions per request by function, in the function itself (self) and with "
           f"everything it calls (inclusive), as "
           f"(callgrind_annotate at {data['meta']['cg_n2']} requests − at {data['meta']['cg_n1']}) / "
           f"{data['meta']['cg_n2'] - data['meta']['cg_n1']}; one worker, straight on the socket. Run {data['meta']['date']}, "
           f"commit `{data['meta']['commit']}`.", ""]
    for endpoint, both in data.get("profiles", {}).items():
        total = data["instructions"].get(endpoint, {}).get("per_request")
        out += [f"## {endpoint} ({fmt(total)} instructions/request)", ""]
        for kind in ("self", "inclusive"):
            out += [f"{kind}:", "", "| instructions | function |", "|---:|---|"]
            out += [f"| {r['instructions']:,} | `{r['function']}` |" for r in both[kind]]
            out.append("")
    return "\n".join(out)


def gnuplot(data, directory):
    main = data["main"]
    bars = directory / "requests.dat"
    bars.write_text("".join(f"\"{r['case']}\" {r['rps']:.1f}\n" for r in main))
    sweep = directory / "sweep.dat"
    sweep.write_text("".join(
        f"{s['connections']} {s['floor_a']:.1f} {s['floor_b']:.1f} {s['check']:.1f} {s['floor_b_plain']:.1f} "
        f"{s['floor_b_p99_ms']:.3f} {s['floor_b_plain_p99_ms']:.3f} {s['check_p99_ms']:.3f}\n" for s in data["sweep"]))
    title = f"otp-fcgi bench, {data['meta']['date']}, {data['meta']['commit']}"
    script = f"""
set terminal pngcairo noenhanced size 1000,560 font "sans,10"
set output "{RESULTS / 'requests.png'}"
set title "Requests/s at {MAIN_CONNECTIONS} connections ({title})"
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set ylabel "requests/s (log scale)"
set logscale y
set yrange [10:*]
set xtics rotate by -25
unset key
plot "{bars}" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \\
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8
set terminal pngcairo noenhanced size 1200,560 font "sans,10"
set output "{RESULTS / 'sweep.png'}"
set multiplot layout 1,2 title "Step-up check (auth_request) vs floors, by wrk connections ({title})"
set title "requests/s"
set logscale xy
set xrange [0.8:160]
set yrange [*:*]
set xtics (1, 8, 32, 128) norotate
set grid xtics ytics
unset xlabel
set ylabel "requests/s (log scale)"
set key outside below center horizontal
plot "{sweep}" using 1:2 with linespoints lw 2 pt 7 title "floor A", \\
     "" using 1:3 with linespoints lw 2 pt 5 title "floor B", \\
     "" using 1:5 with linespoints lw 2 pt 4 dt 2 title "floor B, no mutex", \\
     "" using 1:4 with linespoints lw 2 pt 9 title "step-up-check"
set title "p99 latency"
set ylabel "p99 ms (log scale)"
set key outside below center horizontal
plot "{sweep}" using 1:6 with linespoints lw 2 pt 5 lc 2 title "floor B", \\
     "" using 1:7 with linespoints lw 2 pt 4 dt 2 lc 3 title "floor B, no mutex", \\
     "" using 1:8 with linespoints lw 2 pt 9 lc 4 title "step-up-check"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def machine_meta(args):
    def output(command):
        try:
            r = subprocess.run(command, capture_output=True, text=True)
            return (r.stdout + r.stderr).strip()
        except OSError:
            return ""
    commit = output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = output(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    import sqlite3
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+dirty" if dirty else ""),
        "cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "nginx": output(["/usr/sbin/nginx", "-v"]).replace("nginx version: ", ""),
        "wrk": output(["wrk", "-v"]).splitlines()[0] if output(["wrk", "-v"]) else "?",
        "sqlite": sqlite3.sqlite_version,
        "valgrind": output(["valgrind", "--version"]),
        "workers": WORKERS, "synchronous": SYNCHRONOUS, "wrk_threads": 2,
        "warmup_s": args.warmup, "duration_s": args.duration, "bracket_s": args.bracket, "cg_n1": args.cg_n1, "cg_n2": args.cg_n2,
        "nginx_bench_server": "plain HTTP on 127.0.0.1, access_log off; principal from an unchecked Basic header",
        "db_dir": args.db_dir or "bench/.state (disk)",
    }


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build-bench/release/otp-fcgi"))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--bracket", type=int, default=4, help="seconds of each floor B run between cases")
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--cg-n1", type=int, default=100)
    parser.add_argument("--cg-n2", type=int, default=600)
    parser.add_argument("--skip-callgrind", action="store_true")
    parser.add_argument("--callgrind-only", nargs="*", metavar="ENDPOINT",
                        help="only the instruction counts (of these endpoints, or all), printed; no load, no results written")
    parser.add_argument("--db-dir", help="where the load cases' databases go (default: bench/.state); e.g. a tmpfs "
                        "folder to take the disk's fsync out of the figures (then say so next to them)")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--results", default=None, help="where latest.md/json and the charts go (default bench/results)")
    args = parser.parse_args()
    global RESULTS
    if args.results:
        RESULTS = Path(args.results)
    started = time.time()

    def terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)

    try:
        return run(args, started)
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"\nbench FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench interrupted; stopping what it started", file=sys.stderr)
        return 130
    finally:
        stop_all()
        if args.db_dir:
            remove_databases(Path(args.db_dir))


def run(args, started):
    ensure_packages()
    binary = Path(args.binary)
    if not binary.exists():
        raise BenchError(f"{binary} does not exist: build it first (make bench does)")
    state = BENCH / ".state"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    floor_b = state / "floor-b"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(floor_b), str(BENCH / "floor_b.c"), "-lfcgi", "-lsqlite3", "-lpthread"], check=True)

    db_dir = Path(args.db_dir) if args.db_dir else state
    db_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(state, binary, floor_b, db_dir)
    if args.callgrind_only is not None:
        endpoints = args.callgrind_only or ["floor-b", "health", "send", "verify-wrong", "verify-right", "step-up-check"]
        log(f"callgrind only: {', '.join(endpoints)}")
        cg = Callgrind(stack, args.cg_n1, args.cg_n2)
        figures = cg.measure(endpoints)
        for endpoint in endpoints:
            if endpoint != "floor-b":
                for row in cg.profile(endpoint, inclusive=False, top=12):
                    print(f"  {endpoint:>14} {row['instructions']:>8,}  {row['function']}")
        return figures
    stack.render_nginx()
    small_db = db_dir / "otp.sqlite3"
    stack.otp = stack.start_otp(small_db)
    stack.floor_b = stack.start_floor_b("mutex")
    stack.floor_b_plain = stack.start_floor_b("plain")
    stack.start_nginx()
    status, body = stack.http("GET", "/api/otp/health")
    if status != 200:
        raise BenchError(f"health through nginx answered {status} {body!r}")

    data = {"meta": machine_meta(args), "main": [], "sweep": [], "scale": [], "memory": {}, "instructions": {}}
    runner = Runner(stack, args.warmup, args.duration)
    c = MAIN_CONNECTIONS
    log(f"load cases at {c} connections")
    results = {}
    # Floor A brackets the load cases (before and after); floor B runs before and after each case
    # (B case B case ... B), and each case's ratio is to the mean of the two floor B runs around it:
    # this disk's fsync time (the floor's bottleneck) drifts within minutes.
    floor_a_start = runner.static("floor A", "/floor-a", c, 204)
    floor_bs = [runner.static("floor B", "/floor-b", c, 204)]
    cases = [
        ("health", lambda: runner.static("health", "/api/otp/health", c, 200)),
        ("send", lambda: runner.send("send (file sink)", c)),
        ("wrong", lambda: runner.verify("verify (wrong code)", c, small_db, True)),
        ("right", lambda: runner.verify("verify (right code)", c, small_db, False)),
        ("check", lambda: runner.step_up_check("step-up-check", c, small_db)),
        ("floor B plain", lambda: runner.static("floor B, no writer mutex", "/floor-b-plain", c, 204)),
    ]
    for key, run_case in cases:
        results[(key, c)] = run_case()
        floor_bs.append(runner.static("floor B (again)", "/floor-b", c, 204, warm=False, seconds=args.bracket))
        results[(key, c)]["floor_b_adjacent"] = (floor_bs[-2]["rps"] + floor_bs[-1]["rps"]) / 2
    floor_a_end = runner.static("floor A (again)", "/floor-a", c, 204, warm=False)
    all_b = [f["rps"] for f in floor_bs]
    results[("floor B", c)] = dict(floor_bs[0], case="floor B", rps=round(sum(all_b) / len(all_b), 1), runs_rps=all_b,
                                   floor_b_adjacent=sum(all_b) / len(all_b))
    results[("floor A", c)] = dict(floor_a_start, case="floor A", rps=round((floor_a_start["rps"] + floor_a_end["rps"]) / 2, 1),
                                   runs_rps=[floor_a_start["rps"], floor_a_end["rps"]])
    data["floor_runs"] = {"floor A": results[("floor A", c)]["runs_rps"], "floor B": all_b}
    data["main"] = [results[k] for k in [("floor A", c), ("floor B", c), ("floor B plain", c), ("health", c), ("send", c),
                                         ("wrong", c), ("right", c), ("check", c)]]

    log("step-up check sweep")
    for n in SWEEP:
        if n != c:
            if n == 128:
                reset_peak(stack.floor_b.pid)
            results[("floor A", n)] = runner.static("floor A", "/floor-a", n, 204, warm=False)
            results[("floor B plain", n)] = runner.static("floor B, no writer mutex", "/floor-b-plain", n, 204)
            results[("floor B", n)] = runner.static("floor B", "/floor-b", n, 204)
            if n == 128:
                data["memory"]["floor_b_128"] = memory(stack.floor_b.pid)
                reset_peak(stack.otp.pid)
            results[("check", n)] = runner.step_up_check("step-up-check", n, small_db)
            if n == 128:
                data["memory"]["otp_fcgi_128"] = memory(stack.otp.pid)
            after = runner.static("floor B (again)", "/floor-b", n, 204, warm=False, seconds=args.bracket)
            results[("check", n)]["floor_b_adjacent"] = (results[("floor B", n)]["rps"] + after["rps"]) / 2
        data["sweep"].append({
            "connections": n, "floor_a": results[("floor A", n)]["rps"], "floor_b": results[("floor B", n)]["rps"],
            "floor_b_plain": results[("floor B plain", n)]["rps"], "floor_b_p99_ms": results[("floor B", n)]["p99_ms"],
            "floor_b_plain_p99_ms": results[("floor B plain", n)]["p99_ms"],
            "check": results[("check", n)]["rps"], "check_p50_ms": results[("check", n)]["p50_ms"],
            "check_p99_ms": results[("check", n)]["p99_ms"], "check_x_floor_b": results[("check", n)]["rps"] / results[("check", n)]["floor_b_adjacent"]})

    if not args.skip_scale:
        # A second otp-fcgi on a second database, behind a second bench server, both up at once:
        # small and 1M-row runs of a case then follow each other (check small, check 1M, verify 1M,
        # verify small), and a ratio compares runs seconds apart.
        log(f"scale: a second database with {args.scale_rows:,} live rows per table")
        big_db = db_dir / "otp-1M.sqlite3"
        stack.create_schema(big_db)
        t = time.time()
        seed.seed_filler(big_db, args.scale_rows)
        log(f"  seeded in {time.time() - t:.0f} s")
        stack.otp_1m = stack.start_otp(big_db, "otp-fcgi-1M", state / "otp-1M.sock")
        reset_peak(stack.otp_1m.pid)
        small_check = runner.step_up_check("step-up-check (small database)", c, small_db)
        big_check = runner.step_up_check("step-up-check (1M rows)", c, big_db, clear=False, big=True)
        big_right = runner.verify("verify (right code) (1M rows)", c, big_db, False, clear=False, big=True)
        small_right = runner.verify("verify (right code) (small database)", c, small_db, False)
        data["memory"]["otp_fcgi_1M"] = memory(stack.otp_1m.pid)
        data["scale_rows"] = args.scale_rows
        for label, small, big in (("step-up-check", small_check, big_check), ("verify (right code)", small_right, big_right)):
            data["scale"].append({
                "case": label, "small_rps": small["rps"], "big_rps": big["rps"], "ratio": big["rps"] / small["rps"],
                "small_p99_ms": small["p99_ms"], "big_p99_ms": big["p99_ms"], "big_rows": big["rows"], "small_rows": small["rows"]})
    data["load_cases"] = runner.results
    stop_all()
    remove_databases(db_dir)

    if not args.skip_callgrind:
        log(f"callgrind: instructions per request, ({args.cg_n2} − {args.cg_n1}) requests, straight on the socket")
        cg = Callgrind(stack, args.cg_n1, args.cg_n2)
        endpoints = ["floor-b", "health", "send", "verify-wrong", "verify-right", "step-up-check"]
        data["instructions"] = cg.measure(endpoints)
        data["profiles"] = {e: {"self": cg.profile(e, False, 20), "inclusive": cg.profile(e, True, 40)} for e in endpoints}

    data["problems"] = runner.problems
    data["meta"]["wall_seconds"] = round(time.time() - started)
    text = markdown(data)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    if data.get("profiles"):
        (RESULTS / "profile.md").write_text(profiles_markdown(data))
    gnuplot(data, state)
    print()
    print(text)
    log(f"written: {RESULTS / 'latest.md'}, latest.json, profile.md, requests.png, sweep.png "
        f"({data['meta']['wall_seconds']} s)")
    if runner.problems:
        print("bench: some cases did not run as intended (see Notes): their figures are not valid", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
