"""The bench's supply of step-up tokens and live codes, minted by otp-fcgi itself
(`otp-fcgi bench-mint`, a hidden subcommand: the product's own generator, hasher, policies and
store, with the pepper and lifetimes of the environment it is given), so that a timed run can
present one fresh token or code per request without minting each through the API. Nothing here
computes a hash of the product's.

Plain SQL on the same file for the rest: emptying the tables between cases, checkpointing the
WAL, counting rows.
"""
import sqlite3
import subprocess

from common import BenchError


class Mint:
    """`otp-fcgi bench-mint` on one database, with the environment of the otp-fcgi that serves it
    (the same OTP_PEPPER, OTP_DB_PATH, TTLs); `out` is a scratch file for its output."""

    def __init__(self, binary, environment, out):
        self.binary = binary
        self.environment = environment
        self.out = out

    def _run(self, *arguments):
        command = [str(self.binary), "bench-mint", *map(str, arguments)]
        result = subprocess.run(command, env=self.environment, capture_output=True, text=True)
        if result.returncode != 0:
            raise BenchError(f"otp-fcgi bench-mint {' '.join(command[2:])}: exit status {result.returncode}: "
                             f"{(result.stderr or result.stdout).strip()}")

    def _lines(self):
        lines = self.out.read_text().splitlines()
        self.out.unlink()
        return lines

    def tokens(self, user, count):
        """`count` live step-up tokens of `user`; returns the raw tokens."""
        self._run("tokens", user, count, self.out)
        return self._lines()

    def codes(self, purpose, first_phone, count):
        """A live code each for phones +first_phone, +first_phone+1, ...; returns [(phone, code, phone_hash, user)],
        phone_hash as otp_codes.phone_hash holds it. step_up: each phone is the verified phone of its
        own user (bench-<digits>), who owns the code; verify_phone: user is None (the code is the phone's)."""
        self._run("codes", purpose, first_phone, count, self.out)
        rows = [line.split() for line in self._lines()]
        return [(row[0], row[1], row[2], row[3] if len(row) > 3 else None) for row in rows]

    def filler(self, count):
        """`count` live tokens (of other users) and `count` live codes: the scale case's bulk."""
        self._run("filler", count)


def connect(path):
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def clear(path):
    """Empties the code, token, user and SMS firewall tables (between cases, so the small database
    stays small and each send case starts with no firewall records)."""
    db = connect(path)
    db.execute("BEGIN IMMEDIATE")
    for table in ("step_up_tokens", "otp_codes", "users", "sms_firewall"):
        db.execute(f"DELETE FROM {table}")
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def checkpoint(path):
    db = connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def count(path, sql):
    db = connect(path)
    value = db.execute(sql).fetchone()[0]
    db.close()
    return value
