#!/usr/bin/env python3
"""The bench's bulk minting path: writes step-up tokens and live codes straight into otp-fcgi's
SQLite file with the formulas otp-fcgi uses (Sources/OTPLogic/Rules/SecretHasher.swift), so that a
timed run can present one fresh token or code per request without minting each through the API.

    token:  32 random bytes, base64url without padding; stored as hex(sha256(token))
    code:   stored as code_hash = hex(sha256(code + ":" + pepper))
    phone:  stored as phone_hash = hex(HMAC-SHA256(key=pepper, msg=phone))

The database must already have otp-fcgi's schema (start otp-fcgi on it once). Columns this script
does not know are left to their defaults, except the boot-clock columns (filled like otp-fcgi
fills them, from /proc/sys/kernel/random/boot_id and CLOCK_BOOTTIME), so a schema change that the
seeding misses shows up as a failed preflight request, not as a silently different workload.

Usage as a script (the bench imports it instead):
    seed.py tokens DB USER COUNT OUT        one raw token per line in OUT
    seed.py codes DB PEPPER PURPOSE FIRST_PHONE COUNT OUT   "phone code" per line in OUT
    seed.py filler DB COUNT                 COUNT live random tokens and codes (for the scale case)
"""
import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
import sys
import time

TTL_SECONDS = 3600


def connect(path):
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def columns(db, table):
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def boot_clock():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot_id = f.read().strip()
    except OSError:
        return None, None
    return boot_id, int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000)


def new_token():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def code_hash(code, pepper):
    return hashlib.sha256((code + ":" + pepper).encode()).hexdigest()


def phone_hash(phone, pepper):
    return hmac.new(pepper.encode(), phone.encode(), hashlib.sha256).hexdigest()


def _insert(db, table, rows, names):
    """Inserts rows (dicts) in one transaction, in key order (much faster for a large B-tree)."""
    present = columns(db, table)
    names = [n for n in names if n in present]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany(sql, (tuple(row[n] for n in names) for row in rows))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _token_rows(hashes, user_of, now):
    boot_id, boot_ms = boot_clock()
    for index, digest in enumerate(hashes):
        yield {
            "token_hash": digest, "user_id": user_of(index), "created_at": now, "expires_at": now + TTL_SECONDS,
            "used_at": None, "created_boot_id": boot_id, "created_boot_ms": boot_ms,
        }


TOKEN_COLUMNS = ["token_hash", "user_id", "created_at", "expires_at", "used_at", "created_boot_id", "created_boot_ms"]
CODE_COLUMNS = [
    "phone_hash", "purpose", "code_hash", "issued_at", "expires_at", "attempts", "send_count",
    "send_window_start", "last_sent_at", "verified_at", "pending_code_hash", "pending_since",
    "issued_boot_id", "issued_boot_ms",
]


def _code_row(phone_digest, purpose, digest, now, boot):
    return {
        "phone_hash": phone_digest, "purpose": purpose, "code_hash": digest, "issued_at": now,
        "expires_at": now + TTL_SECONDS, "attempts": 0, "send_count": 1, "send_window_start": now,
        "last_sent_at": now, "verified_at": None, "pending_code_hash": None, "pending_since": None,
        "issued_boot_id": boot[0], "issued_boot_ms": boot[1],
    }


def seed_tokens(path, user, count):
    """Mints `count` step-up tokens of `user`; returns the raw tokens, in random order."""
    tokens = [new_token() for _ in range(count)]
    pairs = sorted((token_hash(t), t) for t in tokens)
    db = connect(path)
    _insert(db, "step_up_tokens", _token_rows([h for h, _ in pairs], lambda _: user, int(time.time())), TOKEN_COLUMNS)
    db.close()
    return tokens


def seed_codes(path, pepper, purpose, first_phone, count):
    """Gives phones +first_phone, +first_phone+1, ... a live code each; returns [(phone, code)]."""
    now = int(time.time())
    boot = boot_clock()
    pairs = [(f"+{first_phone + i}", f"{secrets.randbelow(10**6):06d}") for i in range(count)]
    rows = sorted(
        (_code_row(phone_hash(phone, pepper), purpose, code_hash(code, pepper), now, boot) for phone, code in pairs),
        key=lambda row: row["phone_hash"],
    )
    db = connect(path)
    _insert(db, "otp_codes", rows, CODE_COLUMNS)
    db.close()
    return pairs


def seed_filler(path, count):
    """`count` live random tokens (of other users) and `count` live random codes: the scale case's bulk."""
    now = int(time.time())
    boot = boot_clock()
    db = connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    hashes = sorted(os.urandom(32).hex() for _ in range(count))
    _insert(db, "step_up_tokens", _token_rows(hashes, lambda i: f"user{i % 50000}", now), TOKEN_COLUMNS)
    del hashes
    purposes = ("step_up", "verify_phone")
    digests = sorted(os.urandom(32).hex() for _ in range(count))
    _insert(
        db, "otp_codes",
        (_code_row(d, purposes[i & 1], os.urandom(32).hex(), now, boot) for i, d in enumerate(digests)),
        CODE_COLUMNS,
    )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def clear(path):
    """Empties the code and token tables (between cases, so the small database stays small)."""
    db = connect(path)
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM step_up_tokens")
    db.execute("DELETE FROM otp_codes")
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


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    if len(argv) >= 6 and argv[1] == "tokens":
        write_lines(argv[5], seed_tokens(argv[2], argv[3], int(argv[4])))
    elif len(argv) >= 8 and argv[1] == "codes":
        pairs = seed_codes(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]))
        write_lines(argv[7], (f"{p} {c}" for p, c in pairs))
    elif len(argv) >= 4 and argv[1] == "filler":
        seed_filler(argv[2], int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
