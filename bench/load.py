"""The load cases of `make bench`: wrk with the Lua scripts in bench/wrk (report.lua prints the
figures as one JSON line), the supply of fresh tokens and codes per case, the preflight request
of each case, and the checks that a run measured what it claims."""
import contextlib
import json
import os
import subprocess

import seed
from common import AUTHORIZATION, PHONES, SEND_PURPOSE, USER, VERIFY_PURPOSE, WRK_DIR, BenchError, basic_authorization, log


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

    @contextlib.contextmanager
    def durations(self, warmup, duration):
        """Warm-up and measured seconds of the cases run inside (the workers sweep's shorter points)."""
        saved = self.warmup, self.duration
        self.warmup, self.duration = warmup, duration
        try:
            yield
        finally:
            self.warmup, self.duration = saved

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

    def static(self, name, path, connections, expected_status, warm=True, seconds=None, port=None):
        status, body = self.stack.http("GET", path, port=port)
        if status != expected_status:
            raise BenchError(f"preflight {name}: GET {path} answered {status} {body!r}, expected {expected_status}")
        if warm:
            wrk(self.stack, "static.lua", path, connections, self.warmup, port=port)
        mark = self.stack.log_mark(path.strip("/") if path.startswith("/floor-b") else "otp-fcgi")
        figures = wrk(self.stack, "static.lua", path, connections, seconds or self.duration, port=port)
        return self.record(name, connections, figures, "none", service_errors=self.stack.errors_since(mark))

    def _supplied(self, name, connections, db, script, path, make_supply, preflight, effect_sql, script_args, expect, big):
        """Warm-up on a supply sized from the fastest rate seen so far, then a measured run on a fresh
        supply sized from the warm-up's rate (twice what it needs; once more, larger, if it runs out).
        The small database thus holds little more than what the case uses."""
        warm_file, main_file = self.stack.state / "supply-warm.txt", self.stack.state / "supply-main.txt"
        warm_items = make_supply(int(self.fastest * self.warmup * 1.5) + 1000)
        write_lines(warm_file, warm_items)
        preflight(warm_items[0])
        port = self.stack.port_1m if big else self.stack.port
        warm = wrk(self.stack, script, path, connections, self.warmup, [str(warm_file), "1", "@THREADS@", *script_args], port=port)
        margin = 2.5
        sock = self.stack.socket_1m if big else self.stack.socket
        for attempt in range(2):
            count = int(max(warm["rps"], 100) * self.duration * margin) + 1000
            write_lines(main_file, make_supply(count))
            before = seed.count(db, effect_sql)
            mark = self.stack.log_mark("otp-fcgi-1M" if big else "otp-fcgi")
            batches = self.stack.write_batches(sock)
            measured = wrk(self.stack, script, path, connections, self.duration, [str(main_file), "0", "@THREADS@", *script_args],
                           port=port)
            batching = batching_figures(batches, self.stack.write_batches(sock))
            if not measured["exhausted"] or attempt == 1:
                break
            log(f"  {name} @{connections}: the supply ran out ({measured['rps']:.0f} req/s); again with a larger one")
            margin = max(margin * 2, 3 * measured["rps"] / max(warm["rps"], 1))
        delta = seed.count(db, effect_sql) - before
        rows = {t: seed.count(db, f"SELECT count(*) FROM {t}") for t in ("step_up_tokens", "otp_codes")}
        return self.record(name, connections, measured, expect, db_delta=delta, extra={"supply": count, "rows": rows, **batching},
                           service_errors=self.stack.errors_since(mark))

    def step_up_check(self, name, connections, db, clear=True, big=False):
        """clear: empty the tables first (the small database holds only this case's supplies);
        big: through the second bench server, to the otp-fcgi on the 1M-row database."""
        stack = self.stack
        port = stack.port_1m if big else stack.port
        if clear:
            seed.clear(db)

        def make_supply(count):
            tokens = stack.mint(db).tokens(USER, count)
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

        phone_hashes = {}  # otp_codes.phone_hash of each phone supplied, as bench-mint reported it

        def make_supply(count):
            # step_up codes: each phone the verified phone of its own user, who owns the code and
            # sends its verify (verify.lua: that user's Basic header per request).
            minted = stack.mint(db).codes(VERIFY_PURPOSE, self.next_phone, count)
            self.next_phone += count
            seed.checkpoint(db)
            phone_hashes.update((phone, digest) for phone, _, digest, _ in minted)
            return [f"{phone} {code} {user}" for phone, code, _, user in minted]

        def preflight(line):
            phone, code, user = line.split()
            owner = {"Authorization": basic_authorization(user)}
            if wrong:
                bad = code[:-1] + str((int(code[-1]) + 1) % 10)
                status, body = stack.http("POST", "/api/otp/verify",
                                          json.dumps({"phone_e164": phone, "purpose": VERIFY_PURPOSE, "code": bad}), headers=owner, port=port)
                attempts = seed.count(db, f"SELECT attempts FROM otp_codes WHERE phone_hash = '{phone_hashes[phone]}'")
                if status != 400 or attempts != 1:
                    raise BenchError(f"preflight {name}: a wrong code answered {status} {body!r} with attempts={attempts} (expected 400, 1)")
            else:
                # The owner's verify succeeds, with a token that admits the owner.
                status, body = stack.http("POST", "/api/otp/verify",
                                          json.dumps({"phone_e164": phone, "purpose": VERIFY_PURPOSE, "code": code}), headers=owner, port=port)
                token = json.loads(body).get("step_up_token") if status == 200 else None
                admitted = (stack.http("GET", "/protected", headers={**owner, "X-Step-Up-Token": token}, port=port)[0]
                            if token else None)
                if status != 200 or admitted != 200:
                    raise BenchError(f"preflight {name}: a seeded code answered {status} {body!r} to its owner; its token then "
                                     f"{admitted} (expected 200, 200)")

        effect = ("SELECT count(*) FROM otp_codes WHERE attempts > 0" if wrong
                  else "SELECT count(*) FROM otp_codes WHERE verified_at IS NOT NULL")
        return self._supplied(name, connections, db, "verify.lua", "/api/otp/verify", make_supply, preflight, effect,
                              ["wrong" if wrong else "right", VERIFY_PURPOSE], "all" if wrong else "none", big)

    def send(self, name, connections, db, firewall=False):
        """verify_phone sends as USER, each to a new phone (a valid Dutch mobile), through
        /bench/send to the main otp-fcgi (the firewall's budgets and tripwire off) or, with
        `firewall`, through /bench/send-firewall to the otp-fcgi with the firewall on (monitor mode)."""
        stack = self.stack
        path, log_name, first = (("/bench/send-firewall", "otp-fcgi-firewall", PHONES["send-firewall"]) if firewall
                                 else ("/bench/send", "otp-fcgi", PHONES["send"]))
        seed.clear(db)  # both send cases start on an empty database, with no firewall records
        case_mark = stack.log_mark(log_name)
        status, body = stack.http("POST", path, json.dumps({"phone_e164": f"+{first}", "purpose": SEND_PURPOSE}))
        if status != 200 or f'"+{first}"' not in stack.sms_file.read_text():
            raise BenchError(f"preflight {name}: send answered {status} {body!r}, or no SMS reached the file sink")
        args = [AUTHORIZATION, SEND_PURPOSE]
        warm = wrk(stack, "send.lua", path, connections, self.warmup, [str(first), "1", "@THREADS@", *args])
        lines_before = stack.sms_file.read_text().count("\n")
        mark = stack.log_mark(log_name)
        sock = stack.socket_firewall if firewall else stack.socket
        batches = stack.write_batches(sock)
        measured = wrk(stack, "send.lua", path, connections, self.duration,
                       [str(first), str(warm["next_index"]), "@THREADS@", *args])
        extra = batching_figures(batches, stack.write_batches(sock))
        delivered = stack.sms_file.read_text().count("\n") - lines_before
        if firewall:
            extra["firewall_log"] = stack.firewall_lines_since(case_mark)
        return self.record(name, connections, measured, "none", db_delta=delivered, extra=extra, service_errors=stack.errors_since(mark))


def batching_figures(before, after):
    """Group commit over a measured run, from the responder's counters before and after it: write
    transactions (one fsync each) and the requests' writes per transaction."""
    batches, writes = after[0] - before[0], after[1] - before[1]
    return {"write_batches": int(batches), "writes_per_commit": round(writes / batches, 2) if batches else None}


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
