"""The processes of `make bench`: the packages it needs, ports, waiting for sockets, starting and
stopping what it runs (every process it starts is stopped on exit), and the stack itself: nginx
(the shipped files plus the bench servers), otp-fcgi and the two floor B responders."""
import http.client
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import fcgi_client
import seed
from common import AUTHORIZATION, BENCH, FIREWALL_OFF, FIREWALL_ON, ROOT, SYNCHRONOUS, TTL_SECONDS, WORKERS, BenchError, log

PACKAGES = ["wrk", "valgrind", "gnuplot-nox", "gcc", "libc6-dev", "libfcgi-dev", "libsqlite3-dev", "nginx",
            "binutils", "openssl"]

PROCESSES = []  # every process we started, so that any exit stops them


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


class Stack:
    def __init__(self, state, binary, floor_b, db_dir):
        self.state = state
        self.db_dir = db_dir
        self.binary = binary
        self.floor_b_binary = floor_b
        self.port = free_port()
        self.port_1m = free_port()  # a second bench server: the same API in front of the 1M-row database
        self.status_port = free_port()  # the shipped loopback status server (health, metrics)
        self.pepper = os.urandom(32).hex()
        self.socket = state / "otp.sock"
        self.socket_firewall = state / "otp-firewall.sock"  # the send case with the SMS firewall on
        self.socket_1m = state / "otp-1M.sock"  # the otp-fcgi on the 1M-row database
        self.sms_file = state / "sms.jsonl"
        self.otp = None
        self.otp_1m = None
        self.otp_firewall = None
        self.floor_b = None
        self.floor_b_plain = None
        self.nginx = None

    def render_nginx(self):
        subprocess.run([str(ROOT / "scripts/render-nginx.sh"), str(self.state), str(free_port()), str(free_port()),
                        "100000000r/m"], check=True, env={**os.environ, "STATUS_PORT": str(self.status_port)})
        (self.state / "www").mkdir(exist_ok=True)
        (self.state / "www/protected").write_text("ok\n")
        # The shipped snippet once more, for the second bench server, with its upstream swapped for
        # the socket of the otp-fcgi that serves the 1M-row database.
        snippet = (self.state / "nginx/snippets/otp-fcgi.conf").read_text()
        copy, swapped = re.subn(r"fastcgi_pass\s+otp_fcgi\s*;", f"fastcgi_pass unix:{self.socket_1m};", snippet)
        if swapped == 0 or "otp_fcgi;" in copy:
            raise BenchError("cannot point a copy of snippets/otp-fcgi.conf at the 1M-row otp-fcgi: did the upstream name change?")
        (self.state / "nginx/snippets/otp-fcgi-1M.conf").write_text(copy)
        site = (BENCH / "nginx-bench.conf").read_text()
        site = site.replace("@STATE@", str(self.state)).replace("@PORT_1M@", str(self.port_1m)).replace("@PORT@", str(self.port))
        (self.state / "nginx/sites-enabled/bench.conf").write_text(site)

    def otp_environment(self, db, firewall=False):
        """firewall: the SMS firewall on (monitor mode, budgets out of reach); else its budgets and
        tripwire off (common.FIREWALL_OFF, FIREWALL_ON)."""
        return {
            "PATH": "/usr/sbin:/usr/bin:/bin",
            "OTP_PEPPER": self.pepper,
            "OTP_DB_PATH": str(db),
            "OTP_DB_SYNCHRONOUS": SYNCHRONOUS,
            "OTP_SMS_PROVIDER": "file",
            "OTP_SMS_FILE": str(self.sms_file),
            # Minted rows live an hour; the code and token rules check lifetimes against these.
            "OTP_TTL_SECONDS": str(TTL_SECONDS),
            "STEP_UP_TOKEN_TTL_SECONDS": str(TTL_SECONDS),
            **(FIREWALL_ON if firewall else FIREWALL_OFF),
        }

    def write_batches(self, sock):
        """(write batches, batched writes) so far of the otp-fcgi on `sock`: its group-commit counters,
        read from its metrics straight on the socket."""
        status, _, body = fcgi_client.request(str(sock), fcgi_client.nginx_params("GET", "/metrics", extra=[("OTP_ENDPOINT", "metrics")]))
        if status != 200:
            raise BenchError(f"metrics of {sock} answered {status}")
        values = dict(line.rsplit(" ", 1) for line in body.decode().splitlines() if line and not line.startswith("#"))
        return float(values.get("otp_db_write_batches_total", 0)), float(values.get("otp_db_batched_writes_total", 0))

    def mint(self, db):
        """`otp-fcgi bench-mint` (the binary under test) on `db`, in the environment otp-fcgi serves `db` with."""
        return seed.Mint(self.binary, self.otp_environment(db), self.state / "minted.txt")

    def start_otp(self, db, name="otp-fcgi", sock=None, firewall=False, workers=WORKERS):
        sock = sock or self.socket
        process = start([str(self.binary), "serve", "--listen", f"unix:{sock}", "--workers", str(workers)],
                        self.state / f"{name}.log", env=self.otp_environment(db, firewall))
        wait_for(f"{name} socket", lambda: can_connect_unix(sock), process=process)
        return process

    def restart_otp(self, db, workers):
        """The main otp-fcgi stopped and started again on its socket with `--workers workers`
        (nginx keeps no connection to it, so the next request reaches the new process)."""
        stop(self.otp)
        self.otp = self.start_otp(db, workers=workers)

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

    def firewall_lines_since(self, mark):
        """The SMS firewall's log lines since mark, by outcome and reason: {"would_block country_paused": n, ...}."""
        name, offset = mark
        with open(self.state / f"{name}.log", "rb") as f:
            f.seek(offset)
            lines = [l for l in f.read().decode(errors="replace").splitlines() if "event=sms.firewall" in l]
        counts = {}
        for line in lines:
            fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
            key = f"{fields.get('outcome', '?').strip(chr(34))} {fields.get('reason', '').strip(chr(34))}".strip()
            counts[key] = counts.get(key, 0) + 1
        return counts

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
