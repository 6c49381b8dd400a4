"""The step-up check at 1 connection against floor B, in interleaved pairs: issue 15's "p50 at 1
connection no worse than today" compared the same way for any version (`versus.py` runs it on two
checkouts in turn). A pair is floor B, then the check, each warmed 2 s and measured 5 s, on a fresh
database: on this machine one fsync's time drifts between runs minutes apart, so a version is
judged by its check's p50 over floor B's p50 in the same pair, never by a p50 from another run.

Only `Runner.static` and `Runner.step_up_check` are used, which version 1's harness (commit
be3fb54) has with the same arguments: versus.py hands this function either version's runner.
"""
import statistics

WARMUP_S = 2
DURATION_S = 5

# Version 1 (be3fb54), measured with versus.py on 2026-12-03 04:00 UTC, 12 pairs in 6 turns taken
# in alternation with the code of c37a4ad: check p50 0.310 ms, floor B's 0.260 ms, median ratio
# 1.21 (1.11–1.27); c37a4ad 0.309 ms, 0.261 ms, 1.19 (0.95–1.24).
VERSION_1_RATIO = 1.21


def pairs(runner, db, count):
    """`count` pairs of (floor B, step-up check) at 1 connection; the runner's durations must be
    WARMUP_S and DURATION_S."""
    rows = []
    for _ in range(count):
        floor_b = runner.static("floor B", "/floor-b", 1, 204)
        check = runner.step_up_check("step-up-check", 1, db)
        rows.append({"floor_b_p50_ms": floor_b["p50_ms"], "floor_b_rps": floor_b["rps"],
                     "check_p50_ms": check["p50_ms"], "check_rps": check["rps"],
                     "ratio": round(check["p50_ms"] / floor_b["p50_ms"], 3)})
    return rows


def summary(rows):
    """Medians over the pairs (the ratio's median is of the per-pair ratios)."""
    def median(key):
        return statistics.median(r[key] for r in rows)
    return {"pairs": rows, "count": len(rows), "check_p50_ms": median("check_p50_ms"), "floor_b_p50_ms": median("floor_b_p50_ms"),
            "check_rps": median("check_rps"), "floor_b_rps": median("floor_b_rps"), "ratio": median("ratio"),
            "ratio_range": [min(r["ratio"] for r in rows), max(r["ratio"] for r in rows)]}
