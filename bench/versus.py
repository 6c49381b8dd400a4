#!/usr/bin/env python3
"""Two checkouts' step-up check at 1 connection, in turns on this machine: each turn starts one
checkout's own bench stack (its binary, its schema, its nginx files), runs `--pairs` pairs of
(floor B, check) from one_connection.py, stops it, then does the same for the other checkout.

    git worktree add /tmp/v1 be3fb54
    (cd /tmp/v1 && swift build -c release --product otp-fcgi --scratch-path .build-bench --static-swift-stdlib)
    python3 bench/versus.py --baseline /tmp/v1 --turns 6 --pairs 2

Each checkout's binary is its .build-bench/release/otp-fcgi. Prints each pair and the medians.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent


def side(checkout, binary, count):
    """One turn for one checkout, with that checkout's harness (version 1 kept it all in run.py)."""
    bench = checkout / "bench"
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(bench))
    import one_connection
    if (bench / "stack.py").exists():
        from load import Runner
        from stack import Stack, ensure_packages, stop_all
    else:
        from run import Runner, Stack, ensure_packages, stop_all
    ensure_packages()  # nginx, wrk, gcc, the libraries floor B links: what make bench installs
    state = bench / ".state"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    floor_b = state / "floor-b"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(floor_b), str(bench / "floor_b.c"), "-lfcgi", "-lsqlite3", "-lpthread"],
                   check=True)
    try:
        stack = Stack(state, binary, floor_b, state)
        stack.render_nginx()
        db = state / "otp.sqlite3"
        stack.otp = stack.start_otp(db)
        if hasattr(stack, "socket_firewall"):  # make bench keeps this second responder up, idle here
            stack.otp_firewall = stack.start_otp(db, "otp-fcgi-firewall", stack.socket_firewall, firewall=True)
        stack.floor_b = stack.start_floor_b("mutex")
        stack.floor_b_plain = stack.start_floor_b("plain")
        stack.start_nginx()
        runner = Runner(stack, one_connection.WARMUP_S, one_connection.DURATION_S)
        rows = one_connection.pairs(runner, db, count)
    finally:
        stop_all()
    print("VERSUS_JSON " + json.dumps(rows), flush=True)


def turn(checkout, binary, count):
    done = subprocess.run([sys.executable, __file__, "--side", str(checkout), "--binary", str(binary), "--pairs", str(count)],
                          capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("VERSUS_JSON ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"versus: the turn of {checkout} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return json.loads(lines[-1][len("VERSUS_JSON "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="the other checkout (a git worktree)")
    parser.add_argument("--candidate", type=Path, default=HERE.parent, help="default: this checkout")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--pairs", type=int, default=2, help="pairs per turn")
    parser.add_argument("--side", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--binary", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        return side(args.side.resolve(), args.binary, args.pairs)
    if not args.baseline:
        parser.error("--baseline is required")
    checkouts = {"baseline": args.baseline.resolve(), "candidate": args.candidate.resolve()}
    binaries = {name: path / ".build-bench/release/otp-fcgi" for name, path in checkouts.items()}
    for name, binary in binaries.items():
        if not binary.exists():
            sys.exit(f"versus: {binary} does not exist (build the {name} as the docstring shows)")
    rows = {name: [] for name in checkouts}
    for index in range(args.turns):
        for name in checkouts:
            got = turn(checkouts[name], binaries[name], args.pairs)
            rows[name] += got
            for row in got:
                print(f"turn {index + 1} {name:>9}: floor B p50 {row['floor_b_p50_ms']:.3f} ms, check p50 {row['check_p50_ms']:.3f} ms "
                      f"({row['check_rps']:,.0f} req/s), ratio {row['ratio']:.3f}", flush=True)
    for name, got in rows.items():
        ratios = [r["ratio"] for r in got]
        print(f"{name} ({checkouts[name]}): {len(got)} pairs; check p50 median {statistics.median(r['check_p50_ms'] for r in got):.3f} ms, "
              f"floor B p50 median {statistics.median(r['floor_b_p50_ms'] for r in got):.3f} ms, ratio median "
              f"{statistics.median(ratios):.3f} ({min(ratios):.2f}–{max(ratios):.2f}), check {statistics.median(r['check_rps'] for r in got):,.0f} req/s")


if __name__ == "__main__":
    main()
