"""Instructions per request under callgrind, straight on the unix socket (no nginx), and the
per-function profile (see bench/README.md)."""
import concurrent.futures
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import fcgi_client
import seed
from common import PHONES, SEND_PURPOSE, SYNCHRONOUS, USER, VERIFY_PURPOSE, BenchError, log
from stack import can_connect_unix, start, stop, wait_for


# Every endpoint callgrind measures; "send" is the send with the SMS firewall's budgets and
# tripwire off, "send-firewall" the same send with the firewall on (monitor mode), as in the load cases.
ENDPOINTS = ["floor-b", "health", "send", "send-firewall", "verify-wrong", "verify-right", "step-up-check"]
# The number check: the C shim's entry into libphonenumber; its inclusive cost is everything the
# check runs (libphonenumber, its regular expressions, ICU, allocations).
NUMBER_CHECK = "otp_phone_classify"
# Parts of a request, each a set of functions (demangled name with its object file) whose calls
# from outside the set are summed, everything they run included (see Callgrind.split). No part
# calls into another on these paths, so they add up; what is left is "the rest".
PARTS = [
    ("SQLite", re.compile(r"\[[^\]]*/libsqlite3[^/\]]*\]$")),
    ("libfcgi", re.compile(r"\[[^\]]*/libfcgi[^/\]]*\]$")),
    ("number check", re.compile(rf"\b{NUMBER_CHECK}\b")),
    ("hashes", re.compile(r"\bSecretHasher\.(codeHash|phoneHash|tokenHash)\(")),
    ("log lines", re.compile(r"\bKeyValueLogHandler\b")),
]


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
        mint = stack.mint(self.template)
        self.costs = {}
        self.measured = {}
        # step_up codes, each of its own user whose verified phone it went to (bench-mint codes).
        self.supplies = {
            "verify-wrong": mint.codes(VERIFY_PURPOSE, PHONES["cg-wrong"], n2),
            "verify-right": mint.codes(VERIFY_PURPOSE, PHONES["cg-right"], n2),
            "step-up-check": mint.tokens(USER, n2),
        }
        seed.checkpoint(self.template)

    def request_for(self, endpoint, index):
        """(params, body, expected status) of request `index` for an endpoint, as nginx would send it."""
        user = [("REMOTE_USER", USER)]
        if endpoint in ("health",):
            return fcgi_client.nginx_params("GET", "/health", extra=[("OTP_ENDPOINT", "health")]), b"", 200
        if endpoint == "floor-b":
            return fcgi_client.nginx_params("GET", "/floor-b"), b"", 204
        if endpoint == "step-up-check":
            token = self.supplies[endpoint][index]
            # The parameters of the shipped /_otp/step-up-check (empty ones as nginx sends them).
            params = fcgi_client.nginx_params("GET", "/_otp/step-up-check", extra=[
                *user, ("HTTP_X_STEP_UP_TOKEN", token), ("HTTP_X_STEP_UP_SUBJECT", ""), ("OTP_STEP_UP_ACTION", ""),
                ("OTP_ENDPOINT", "step-up-check")])
            return params, b"", 204
        if endpoint in ("send", "send-firewall"):
            phone = PHONES["cg-" + endpoint] + index
            body = json.dumps({"phone_e164": f"+{phone}", "purpose": SEND_PURPOSE}).encode()
            return fcgi_client.nginx_params("POST", "/api/otp/send", body, "application/json", user), body, 200
        phone, code, _, owner = self.supplies[endpoint][index]
        expected = 200
        if endpoint == "verify-wrong":
            code, expected = code[:-1] + str((int(code[-1]) + 1) % 10), 400
        body = json.dumps({"phone_e164": phone, "purpose": VERIFY_PURPOSE, "code": code}).encode()
        return fcgi_client.nginx_params("POST", "/api/otp/verify", body, "application/json",
                                        [("REMOTE_USER", owner), ("HTTP_X_STEP_UP_TOKEN", "")]), body, expected

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
            env = dict(self.stack.otp_environment(db, firewall=endpoint == "send-firewall"), SWIFT_DETERMINISTIC_HASHING="1",
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
                self.measured[endpoint] = round(per_request)
                log(f"  {endpoint}: {per_request:,.0f} instructions/request ({time.time() - started:.0f} s)")
        return figures

    def per_request_costs(self, endpoint, inclusive):
        """{function: instructions per request}, self or inclusive: (annotate at N2 - annotate at N1) / (N2 - N1)."""
        if (endpoint, inclusive) in self.costs:
            return self.costs[(endpoint, inclusive)]

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
        self.costs[(endpoint, inclusive)] = {k: (high.get(k, 0) - low.get(k, 0)) / span for k in set(low) | set(high)}
        return self.costs[(endpoint, inclusive)]

    def number_check(self, endpoint):
        """Instructions per request of the number check (libphonenumber): the inclusive cost of
        NUMBER_CHECK (the shim's entry), and the self cost of everything in the libraries it runs in
        (libphonenumber, the regex engine, ICU, protobuf, abseil), by library."""
        inclusive = self.per_request_costs(endpoint, True)
        entry = [cost for name, cost in inclusive.items() if re.search(rf"\b{NUMBER_CHECK}\b", name)]
        libraries = {}
        for name, cost in self.per_request_costs(endpoint, False).items():
            match = re.search(r"\[[^\]]*/(lib(?:phonenumber|re2|icu\w*|protobuf|absl\w*|boost\w*)[^/\]]*)\]$", name)
            if match:
                library = match.group(1).split(".so")[0]
                libraries[library] = libraries.get(library, 0) + cost
        return {"inclusive": round(max(entry)) if entry else None,
                "libraries_self": {k: round(v) for k, v in sorted(libraries.items(), key=lambda kv: -kv[1]) if round(v)}}

    def split(self, endpoint):
        """{part: instructions per request} for PARTS, and "rest": the calls into each part from
        functions outside it, everything they run included, at N2 less at N1, over N2 − N1."""
        def entries(n):
            text = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=yes", "--tree=calling",
                                   str(self.dir / f"{endpoint}-{n}.out")], capture_output=True, text=True, check=True).stdout
            arcs, caller = [], None
            for line in text.splitlines():
                match = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+([*>])\s+(.+?)(?: \([\d,]+x\))?( \[[^\]]*\])?$", line)
                if not match:
                    continue
                name = match.group(3) + (match.group(4) or "")
                if match.group(2) == "*":
                    caller = name
                elif caller is not None:
                    arcs.append((caller, name, int(match.group(1).replace(",", ""))))
            names = sorted({name for arc in arcs for name in arc[:2]})
            readable = dict(zip(names, demangle(names)))
            sums = dict.fromkeys((part for part, _ in PARTS), 0)
            for caller, callee, cost in arcs:
                if caller.endswith("[???]"):
                    continue  # valgrind's own trampolines (its malloc), called from within the library
                for part, pattern in PARTS:
                    if pattern.search(readable[callee]) and not pattern.search(readable[caller]):
                        sums[part] += cost
            return sums
        low, high = entries(self.n1), entries(self.n2)
        span = self.n2 - self.n1
        split = {part: round((high[part] - low[part]) / span) for part, _ in PARTS}
        total = self.measured.get(endpoint)
        split["rest"] = total - sum(split.values()) if total is not None else None
        return split

    def profile(self, endpoint, inclusive, top):
        """Per-request cost by function, self or inclusive, the `top` most expensive."""
        costs = self.per_request_costs(endpoint, inclusive)
        rows = sorted(((cost, k) for k, cost in costs.items()), reverse=True)[:top]
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
