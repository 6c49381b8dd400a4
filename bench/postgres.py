"""The PostgreSQL store in `make bench` (run.py; `--no-postgres` leaves it out).

In the same run as the SQLite cases: a throwaway PostgreSQL cluster in bench/.state/pg (initdb,
a unix socket only, fsync on and synchronous_commit on, like SQLite's synchronous=FULL; stopped
and removed on exit), a third otp-fcgi with OTP_DB_URL behind a third bench server (the shipped
snippet with its upstream swapped for that otp-fcgi's socket, like the 1M-row server), and
**floor PG** (floor_pg.c): floor B with libpq, one prepared UPDATE per request. The step-up check
and verify (right code) then run at 32 connections exactly as on SQLite (the same Runner, supplies
minted by `otp-fcgi bench-mint` into PostgreSQL, the same checks against the database), each
bracketed by floor PG runs; the table gives req/s, p50/p99 and the ratios to floor PG and to the
SQLite case of the same run.
"""
import atexit
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import load
import seed
from common import WORKERS, BenchError, log
from stack import can_connect_unix, free_port, start, stop, wait_for

PACKAGES = ["postgresql", "libpq-dev"]


class Database:
    """One PostgreSQL database, in the shape load.py's cases use a SQLite path: count, clear, checkpoint."""

    def __init__(self, url, psql):
        self.url = url
        self.psql = psql

    def __str__(self):
        return self.url

    def query(self, sql):
        result = subprocess.run([self.psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c", sql],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise BenchError(f"psql: {result.stderr.strip()}")
        return result.stdout.strip()

    def count(self, sql):
        return int(self.query(sql) or 0)

    def clear(self):
        self.query("DELETE FROM step_up_tokens; DELETE FROM otp_codes")
        self.query("VACUUM ANALYZE step_up_tokens, otp_codes")  # a statement of its own: VACUUM refuses a transaction


class _Seed:
    """load.py's `seed`, answering for PostgreSQL databases too (the SQLite ones go to seed.py)."""

    def __getattr__(self, name):
        return getattr(seed, name)

    @staticmethod
    def count(db, sql):
        return db.count(sql) if isinstance(db, Database) else seed.count(db, sql)

    @staticmethod
    def clear(db):
        return db.clear() if isinstance(db, Database) else seed.clear(db)

    @staticmethod
    def checkpoint(db):
        return None if isinstance(db, Database) else seed.checkpoint(db)


class _StackOnPostgres:
    """The bench stack as load.Runner sees it, with its "1M" server being the PostgreSQL one: the
    cases run with big=True go through that server's port, mint into PostgreSQL and read that
    otp-fcgi's log."""

    def __init__(self, stack, bench):
        self._stack = stack
        self._bench = bench
        self.port_1m = bench.port
        self.socket_1m = bench.socket

    def __getattr__(self, name):
        return getattr(self._stack, name)

    def mint(self, db):
        return seed.Mint(self._stack.binary, self._bench.otp_environment(), self._stack.state / "minted.txt")

    def log_mark(self, name="otp-fcgi"):
        return self._stack.log_mark("otp-fcgi-pg")


class PostgresBench:
    def __init__(self, stack, state):
        self.stack = stack
        self.folder = state / "pg"
        self.port = free_port()
        self.bin = self._bin()
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.url = f"postgresql:///otp_bench?host={self.folder}&user=otp"
        self.db = Database(self.url, str(self.bin / "psql"))
        self.otp = None
        self.floor = None

    @staticmethod
    def _bin():
        versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in re.findall(r"\d+", v)]) \
            if os.path.isdir("/usr/lib/postgresql") else []
        if not versions:
            raise BenchError("PostgreSQL's server is not installed (apt-get install postgresql)")
        return Path("/usr/lib/postgresql") / versions[-1] / "bin"

    def _as_owner(self, command):
        return ["runuser", "-u", self.owner, "--", *command] if self.owner else command

    def _pg_ctl(self, *arguments, check=True):
        return subprocess.run(self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
                                              str(self.folder / "server.log"), *arguments]),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=check,
                              close_fds=True)

    @staticmethod
    def ensure_packages():
        missing = [p for p in PACKAGES if subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout != "install ok installed"]
        if missing:
            log(f"installing {' '.join(missing)}")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            prefix = [] if os.geteuid() == 0 else ["sudo"]
            subprocess.run(prefix + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env,
                           stdout=subprocess.DEVNULL)

    def build_floor(self, state):
        binary = state / "floor-pg"
        include = subprocess.run(["pg_config", "--includedir"], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["gcc", "-O2", "-Wall", f"-I{include}", "-o", str(binary), str(Path(__file__).with_name("floor_pg.c")),
                        "-lfcgi", "-lpq", "-lpthread"], check=True)
        return binary

    def prepare(self, floor_pg_binary):
        """Before nginx starts: the cluster, the database, otp-fcgi on it, floor PG and the nginx server."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        if self.owner:
            owner = pwd.getpwnam(self.owner)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        subprocess.run(self._as_owner([str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-U", "otp", "-A", "trust",
                                       "-E", "UTF8", "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL)
        with open(self.folder / "data/postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = ''\nunix_socket_directories = '{self.folder}'\nmax_connections = 100\n"
                       "shared_buffers = 128MB\n")
        self._pg_ctl("start", "-w")
        atexit.register(self.stop)
        Database(f"postgresql:///postgres?host={self.folder}&user=otp", self.db.psql).query("CREATE DATABASE otp_bench")
        log(f"PostgreSQL {self.bin.parent.name} in {self.folder} (fsync on, synchronous_commit on)")

        self.otp = start([str(self.stack.binary), "serve", "--listen", f"unix:{self.socket}", "--workers", str(WORKERS)],
                         self.stack.state / "otp-fcgi-pg.log", env=self.otp_environment())
        wait_for("otp-fcgi on PostgreSQL", lambda: can_connect_unix(self.socket), process=self.otp)
        floor_socket = self.stack.state / "floor-pg.sock"
        self.floor = start([str(floor_pg_binary), str(floor_socket), self.url, str(WORKERS)], self.stack.state / "floor-pg.log")
        wait_for("floor PG socket", lambda: can_connect_unix(floor_socket), process=self.floor)
        self._nginx_server()

    @property
    def socket(self):
        return self.stack.state / "otp-pg.sock"

    def otp_environment(self):
        environment = self.stack.otp_environment(self.stack.state / "unused.sqlite3")
        del environment["OTP_DB_PATH"]
        environment["OTP_DB_URL"] = self.url
        return environment

    def _nginx_server(self):
        state = self.stack.state
        snippet = (state / "nginx/snippets/otp-fcgi.conf").read_text()
        copy, swapped = re.subn(r"fastcgi_pass\s+otp_fcgi\s*;", f"fastcgi_pass unix:{self.socket};", snippet)
        if swapped == 0:
            raise BenchError("cannot point a copy of snippets/otp-fcgi.conf at the PostgreSQL otp-fcgi")
        (state / "nginx/snippets/otp-fcgi-pg.conf").write_text(copy)
        (state / "nginx/sites-enabled/bench-pg.conf").write_text(f"""
server {{
    listen 127.0.0.1:{self.port};
    server_name bench-pg;
    access_log off;
    keepalive_requests 100000000;
    # As on the other bench servers: the principal from a Basic header nobody checks. Never in production.
    set $otp_fcgi_user $remote_user;
    include snippets/otp-fcgi-pg.conf;
    location = /protected {{
        auth_request /_otp/step-up-check;
        auth_request_set $step_up_user $upstream_http_x_step_up_user;
        root {state}/www;
    }}
    location = /floor-pg {{
        fastcgi_pass_request_headers off;
        include otp-fcgi_params;
        fastcgi_pass unix:{state}/floor-pg.sock;
    }}
}}
""")

    def run(self, runner, sqlite_results, connections):
        """The PostgreSQL cases, after the SQLite ones; returns the figures for latest.json."""
        load.seed = _Seed()
        pg_runner = load.Runner(_StackOnPostgres(self.stack, self), runner.warmup, runner.duration)
        pg_runner.fastest = runner.fastest

        def floor(seconds=None, warm=True):
            return pg_runner.static("floor PG", "/floor-pg", connections, 204, warm=warm, seconds=seconds)

        # static() goes to the main bench server's port: floor PG lives on the PostgreSQL server.
        main_port = self.stack.port
        figures = {}
        try:
            self.stack.port = self.port
            floors = [floor()]
            self.stack.port = main_port
            for key, name, run_case in (
                ("check", "step-up-check (PostgreSQL)", lambda: pg_runner.step_up_check("step-up-check (PostgreSQL)", connections, self.db, big=True)),
                ("right", "verify (right code) (PostgreSQL)",
                 lambda: pg_runner.verify("verify (right code) (PostgreSQL)", connections, self.db, False, big=True)),
            ):
                result = run_case()
                self.stack.port = self.port
                floors.append(floor(seconds=4, warm=False))
                self.stack.port = main_port
                adjacent = (floors[-2]["rps"] + floors[-1]["rps"]) / 2
                sqlite = sqlite_results[(key, connections)]
                figures[key] = dict(result, floor_pg_adjacent=adjacent, x_floor_pg=result["rps"] / adjacent,
                                    sqlite_rps=sqlite["rps"], x_sqlite=result["rps"] / sqlite["rps"])
                log(f"  {name}: {result['rps'] / adjacent:.2f}× floor PG, {result['rps'] / sqlite['rps']:.2f}× SQLite")
        finally:
            self.stack.port = main_port
            load.seed = seed
            stop(self.otp)
            stop(self.floor)
            self.stop()
        figures["floor_pg_runs"] = [f["rps"] for f in floors]
        figures["floor_pg"] = floors[0]
        runner.problems += pg_runner.problems
        return figures

    def stop(self):
        if (self.folder / "data/postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "fast", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def markdown(figures, connections):
    """The PostgreSQL table of latest.md."""
    if not figures:
        return ""
    runs = figures["floor_pg_runs"]
    floor = figures["floor_pg"]
    lines = [
        "",
        f"## PostgreSQL store ({connections} connections, same run)",
        "",
        "A throwaway local cluster (unix socket, fsync and synchronous_commit on). Floor PG: libfcgi + libpq, one prepared "
        "UPDATE per request (bench/floor_pg.c); its runs: " + ", ".join(f"{r:,.0f}" for r in runs) + " req/s.",
        "",
        "| case | req/s | p50 ms | p99 ms | × floor PG | × the SQLite store |",
        "|---|---:|---:|---:|---:|---:|",
        f"| floor PG | {sum(runs) / len(runs):,.0f} | {floor['p50_ms']:.2f} | {floor['p99_ms']:.2f} | 1.00 | — |",
    ]
    for key in ("check", "right"):
        f = figures.get(key)
        if f:
            lines.append(f"| {f['case']} | {f['rps']:,.0f} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | {f['x_floor_pg']:.2f} | "
                         f"{f['x_sqlite']:.2f} (SQLite {f['sqlite_rps']:,.0f}) |")
    return "\n".join(lines) + "\n"
