#!/usr/bin/env python3
"""`make bench`: otp-fcgi behind nginx on loopback, loaded with wrk, against two floors measured in
the same run, plus instructions per request under callgrind, a 1M-row database and peak RSS.

Everything runs in a fresh state folder (bench/.state) and is stopped on exit. Results:
bench/results/latest.md (printed too), latest.json (raw figures), requests.png and sweep.png.
See bench/README.md for what each case measures and how.
"""
import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts  # noqa: E402
import one_connection  # noqa: E402
import postgres  # noqa: E402
import report  # noqa: E402
import seed  # noqa: E402
from callgrind import ENDPOINTS, Callgrind  # noqa: E402
from common import BENCH, MAIN_CONNECTIONS, ROOT, SWEEP, WORKERS, WORKERS_SWEEP, BenchError, log  # noqa: E402
from load import Runner  # noqa: E402
from stack import Stack, ensure_packages, memory, remove_databases, reset_peak, stop_all  # noqa: E402


# The load cases with a × floor B target (issue 15), by key.
RATIO_TARGET_CASES = ("send", "wrong", "right", "check")


def median_round(runs):
    """The round whose × floor B is the median (the lower middle one of an even count), with every
    round's ratio and p99 beside it, so the figures of one row all come from one run."""
    ordered = sorted(runs, key=lambda r: r["rps"] / r["floor_b_adjacent"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        chosen["rounds"] = [{"rps": r["rps"], "x_floor_b": round(r["rps"] / r["floor_b_adjacent"], 3), "p99_ms": r["p99_ms"],
                             "problems": r["problems"]} for r in runs]
        chosen["problems"] = [p for r in runs for p in r["problems"]]
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build-bench/release/otp-fcgi"))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--bracket", type=int, default=4, help="seconds of each floor B run between cases")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the four cases with a × floor B target; each reports its median round")
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--cg-n1", type=int, default=100)
    parser.add_argument("--cg-n2", type=int, default=600)
    parser.add_argument("--skip-callgrind", action="store_true")
    parser.add_argument("--callgrind-only", nargs="*", metavar="ENDPOINT",
                        help="only the instruction counts (of these endpoints, or all), printed; no load, no results written")
    parser.add_argument("--db-dir", help="where the load cases' databases go (default: bench/.state); e.g. a tmpfs "
                        "folder to take the disk's fsync out of the figures (then say so next to them)")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL store (bench/postgres.py)")
    parser.add_argument("--results", default=None, help="where latest.md/json and the charts go (default bench/results; "
                        "with --workers-sweep-only nothing is written unless this is given)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--workers-sweep-only", action="store_true",
                      help="only the workers sweep (otp-fcgi --workers 4/8/16/32 x 1/8/32/128 connections), printed")
    only.add_argument("--skip-workers-sweep", action="store_true")
    parser.add_argument("--workers-sweep-warmup", type=int, default=1, help="warm-up seconds of each workers sweep point")
    parser.add_argument("--workers-sweep-duration", type=int, default=2, help="measured seconds of each workers sweep point")
    parser.add_argument("--one-connection-pairs", type=int, default=3,
                        help="pairs of (floor B, step-up check) at 1 connection on the fresh database, first (one_connection.py)")
    args = parser.parse_args()
    started = time.time()

    def terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)

    try:
        default_results = None if args.workers_sweep_only else BENCH / "results"
        return run(args, Path(args.results) if args.results else default_results, started)
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


def run(args, results_dir, started):
    ensure_packages()
    binary = Path(args.binary)
    if not binary.exists():
        raise BenchError(f"{binary} does not exist: build it first (make bench does)")
    state = BENCH / ".state"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    if results_dir:
        results_dir.mkdir(parents=True, exist_ok=True)
    floor_b = state / "floor-b"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(floor_b), str(BENCH / "floor_b.c"), "-lfcgi", "-lsqlite3", "-lpthread"], check=True)

    db_dir = Path(args.db_dir) if args.db_dir else state
    db_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(state, binary, floor_b, db_dir)
    if args.callgrind_only is not None:
        endpoints = args.callgrind_only or ENDPOINTS
        unknown = [e for e in endpoints if e not in ENDPOINTS]
        if unknown:
            raise BenchError(f"--callgrind-only: unknown endpoint(s) {', '.join(unknown)}; known: {', '.join(ENDPOINTS)}")
        log(f"callgrind only: {', '.join(endpoints)}")
        cg = Callgrind(stack, args.cg_n1, args.cg_n2)
        figures = cg.measure(endpoints)
        for endpoint in endpoints:
            if endpoint != "floor-b":
                for row in cg.profile(endpoint, inclusive=False, top=12):
                    print(f"  {endpoint:>14} {row['instructions']:>8,}  {row['function']}")
        for endpoint in endpoints:
            if endpoint.startswith("send"):
                check = cg.number_check(endpoint)
                print(f"  {endpoint}: number check {report.fmt(check['inclusive'])} instructions/request "
                      f"(self, by library: {check['libraries_self']})")
        for line in report.firewall_lines({"instructions": figures, "number_check": {
                e: cg.number_check(e) for e in endpoints if e.startswith("send")}}):
            print(f"  {line}")
        for line in report.split_lines({"instructions": figures, "instructions_split": {e: cg.split(e) for e in endpoints}}):
            print(f"  {line}")
        return 0  # the figures are printed; main's value is the exit status
    stack.render_nginx()
    pg = None if args.no_postgres or args.workers_sweep_only else postgres.PostgresBench(stack, state)
    if pg:
        pg.ensure_packages()
        pg.prepare(pg.build_floor(state))
    small_db = db_dir / "otp.sqlite3"
    stack.otp = stack.start_otp(small_db)
    # The send case once more, to a second otp-fcgi on the same database with the SMS firewall on.
    stack.otp_firewall = stack.start_otp(small_db, "otp-fcgi-firewall", stack.socket_firewall, firewall=True)
    stack.floor_b = stack.start_floor_b("mutex")
    stack.floor_b_plain = stack.start_floor_b("plain")
    stack.start_nginx()
    status, body = stack.http("GET", "/health", port=stack.status_port)
    if status != 200:
        raise BenchError(f"health through nginx answered {status} {body!r}")

    data = {"meta": report.machine_meta(args), "main": [], "sweep": [], "scale": [], "memory": {}, "instructions": {}}
    # Resident before any load: the binary, its libraries, each worker's objects and connection.
    data["memory"]["otp_fcgi_start"] = memory(stack.otp.pid)
    runner = Runner(stack, args.warmup, args.duration)
    if args.workers_sweep_only:
        data["workers_sweep"] = workers_sweep(args, stack, runner, small_db)
        return finish(data, runner, results_dir, started, report.sweep_only_markdown, "")
    if args.one_connection_pairs > 0:
        # First, on the fresh database: the procedure versus.py measured version 1 by.
        log(f"step-up check at 1 connection: {args.one_connection_pairs} pairs with floor B")
        with runner.durations(one_connection.WARMUP_S, one_connection.DURATION_S):
            data["one_connection"] = one_connection.summary(one_connection.pairs(runner, small_db, args.one_connection_pairs))
    c = MAIN_CONNECTIONS
    log(f"load cases at {c} connections")
    results = {}
    # Floor A brackets the load cases (before and after); floor B runs before and after each case
    # (B case B case ... B), and each case's ratio is to the mean of the two floor B runs around it:
    # this disk's fsync time (the floor's bottleneck) drifts within minutes.
    floor_a_start = runner.static("floor A", "/floor-a", c, 204)
    floor_bs = [runner.static("floor B", "/floor-b", c, 204)]
    cases = [
        ("health", lambda: runner.static("health", "/health", c, 200, port=stack.status_port)),
        ("send", lambda: runner.send("send (file sink)", c, small_db)),
        ("send firewall", lambda: runner.send("send (file sink, firewall on)", c, small_db, firewall=True)),
        ("wrong", lambda: runner.verify("verify (wrong code)", c, small_db, True)),
        ("right", lambda: runner.verify("verify (right code)", c, small_db, False)),
        ("check", lambda: runner.step_up_check("step-up-check", c, small_db)),
        ("floor B plain", lambda: runner.static("floor B, no writer mutex", "/floor-b-plain", c, 204)),
    ]
    # The cases with a × floor B target run in `--rounds` rounds, each case bracketed by floor B
    # every time: on this shared machine a case's ratio moved by up to a fifth between runs minutes
    # apart, so a verdict from a single round is a coin toss when the figure is near its target. Each reports its median round.
    rounds = {}
    for round_index in range(max(1, args.rounds)):
        for key, run_case in cases:
            if round_index > 0 and key not in RATIO_TARGET_CASES:
                continue
            result = run_case()
            floor_bs.append(runner.static("floor B (again)", "/floor-b", c, 204, warm=False, seconds=args.bracket))
            result["floor_b_adjacent"] = (floor_bs[-2]["rps"] + floor_bs[-1]["rps"]) / 2
            rounds.setdefault(key, []).append(result)
    for key, runs in rounds.items():
        results[(key, c)] = median_round(runs)
    floor_a_end = runner.static("floor A (again)", "/floor-a", c, 204, warm=False)
    all_b = [f["rps"] for f in floor_bs]
    results[("floor B", c)] = dict(floor_bs[0], case="floor B", rps=round(sum(all_b) / len(all_b), 1), runs_rps=all_b,
                                   floor_b_adjacent=sum(all_b) / len(all_b))
    results[("floor A", c)] = dict(floor_a_start, case="floor A", rps=round((floor_a_start["rps"] + floor_a_end["rps"]) / 2, 1),
                                   runs_rps=[floor_a_start["rps"], floor_a_end["rps"]])
    data["floor_runs"] = {"floor A": results[("floor A", c)]["runs_rps"], "floor B": all_b}
    data["floor_b_p99_ms"] = [f["p99_ms"] for f in floor_bs]
    data["main"] = [results[k] for k in [("floor A", c), ("floor B", c), ("floor B plain", c), ("health", c), ("send", c),
                                         ("send firewall", c), ("wrong", c), ("right", c), ("check", c)]]
    if pg:
        log(f"PostgreSQL store at {c} connections")
        data["postgres"] = pg.run(runner, results, c)

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
            "floor_b_plain": results[("floor B plain", n)]["rps"], "floor_b_p50_ms": results[("floor B", n)]["p50_ms"],
            "floor_b_p99_ms": results[("floor B", n)]["p99_ms"],
            "floor_b_plain_p99_ms": results[("floor B plain", n)]["p99_ms"],
            "check": results[("check", n)]["rps"], "check_p50_ms": results[("check", n)]["p50_ms"],
            "check_p99_ms": results[("check", n)]["p99_ms"], "check_x_floor_b": results[("check", n)]["rps"] / results[("check", n)]["floor_b_adjacent"],
            "check_writes_per_commit": results[("check", n)].get("writes_per_commit")})

    if not args.skip_scale:
        # A second otp-fcgi on a second database, behind a second bench server, both up at once:
        # small and 1M-row runs of a case then follow each other (check small, check 1M, verify 1M,
        # verify small), and a ratio compares runs seconds apart.
        log(f"scale: a second database with {args.scale_rows:,} live rows per table")
        big_db = db_dir / "otp-1M.sqlite3"
        t = time.time()
        stack.mint(big_db).filler(args.scale_rows)
        seed.checkpoint(big_db)
        log(f"  seeded in {time.time() - t:.0f} s")
        stack.otp_1m = stack.start_otp(big_db, "otp-fcgi-1M", stack.socket_1m)
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
    if not args.skip_workers_sweep:
        data["workers_sweep"] = workers_sweep(args, stack, runner, small_db)
    data["load_cases"] = runner.results
    stop_all()
    remove_databases(db_dir)

    if not args.skip_callgrind:
        log(f"callgrind: instructions per request, ({args.cg_n2} − {args.cg_n1}) requests, straight on the socket")
        cg = Callgrind(stack, args.cg_n1, args.cg_n2)
        data["instructions"] = cg.measure(ENDPOINTS)
        data["profiles"] = {e: {"self": cg.profile(e, False, 20), "inclusive": cg.profile(e, True, 40)} for e in ENDPOINTS}
        data["number_check"] = {e: cg.number_check(e) for e in ("send", "send-firewall")}
        data["instructions_split"] = {e: cg.split(e) for e in ENDPOINTS}

    if data.get("profiles"):
        (results_dir / "profile.md").write_text(report.profiles_markdown(data))
    charts.gnuplot(data, state, results_dir)
    return finish(data, runner, results_dir, started, lambda d: report.markdown(d) + postgres.markdown(d.get("postgres"), MAIN_CONNECTIONS),
                  "profile.md, requests.png, sweep.png")


def workers_sweep(args, stack, runner, db):
    """otp-fcgi restarted with each --workers value of WORKERS_SWEEP, the step-up check and the
    wrong-code verify at each connection count of SWEEP. Connections outside, workers inside: each
    connection count's points run between two floor B runs at that count (--bracket seconds), and
    each point's × floor B divides by their mean. Leaves the main otp-fcgi at --workers WORKERS."""
    log(f"workers sweep: --workers {WORKERS_SWEEP} × {SWEEP} connections, {args.workers_sweep_warmup} s warm-up and "
        f"{args.workers_sweep_duration} s measured per point")
    sweep = {"workers": WORKERS_SWEEP, "connections": SWEEP, "warmup_s": args.workers_sweep_warmup,
             "duration_s": args.workers_sweep_duration, "bracket_s": args.bracket, "floor_b": [], "points": []}
    with runner.durations(args.workers_sweep_warmup, args.workers_sweep_duration):
        for n in SWEEP:
            # Warm floor B once (with --workers-sweep-only nothing ran before it).
            before = runner.static("floor B", "/floor-b", n, 204, warm=(n == SWEEP[0]), seconds=args.bracket)
            points = []
            for workers in WORKERS_SWEEP:
                stack.restart_otp(db, workers)
                for case, figures in (
                        ("step-up-check", runner.step_up_check(f"step-up-check, --workers {workers}", n, db)),
                        ("verify (wrong code)", runner.verify(f"verify (wrong code), --workers {workers}", n, db, True))):
                    points.append({"case": case, "workers": workers, "connections": n, "rps": figures["rps"],
                                   "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"],
                                   "writes_per_commit": figures.get("writes_per_commit")})
            after = runner.static("floor B (again)", "/floor-b", n, 204, warm=False, seconds=args.bracket)
            floor_b = (before["rps"] + after["rps"]) / 2
            for point in points:
                point["x_floor_b"] = point["rps"] / floor_b
            sweep["points"] += points
            sweep["floor_b"].append({"connections": n, "rps": floor_b, "runs_rps": [before["rps"], after["rps"]],
                                     "p99_ms": (before["p99_ms"] + after["p99_ms"]) / 2})
    stack.restart_otp(db, WORKERS)
    sweep["best"] = report.best_workers(sweep)
    return sweep


def finish(data, runner, results_dir, started, markdown, also_written):
    """The report printed, and written with the raw figures to results_dir (if any; also_written
    names what else the run put there); the exit status."""
    data["problems"] = runner.problems
    data["meta"]["wall_seconds"] = round(time.time() - started)
    text = markdown(data)
    print()
    print(text)
    if results_dir:
        (results_dir / "latest.md").write_text(text)
        (results_dir / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
        log(f"written: {results_dir / 'latest.md'}, latest.json{', ' + also_written if also_written else ''} "
            f"({data['meta']['wall_seconds']} s)")
    if runner.problems:
        print("bench: some cases did not run as intended (see Notes): their figures are not valid", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
