"""Benchmark: keyword-rule regexes on RE2 cannot stall the callback (issue 9).

    .venv/bin/python bench/regex_rules.py

Needs no database or Redis. Measures, in the same run:
1. `messaging.models.text_matches` (RE2) for the catastrophic rule `^(a+)+$` against
   runs of `a` followed by `!` (no match: the worst case for a backtracking engine),
   30 to 2047 characters (the callback matches at most MATCH_TEXT_LIMIT = 2048);
2. the baseline: Python's backtracking `re` on the same pattern with 16–22 `a`s
   (each extra `a` doubles its time; 30 would take minutes, so it is extrapolated);
3. an ordinary rule (`价格\\d+元`) on both engines, the everyday cost of RE2 vs `re`.
Target: the catastrophic rule answers in well under 50 ms on RE2, for any text length.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxadmin.settings.test")

import django  # noqa: E402

django.setup()

from messaging.models import compile_rule_regex, text_matches  # noqa: E402

CATASTROPHIC = "^(a+)+$"


def best_of(func, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        timings.append(time.perf_counter() - started)
    return min(timings) if runs < 5 else statistics.median(timings)


def main() -> None:
    compile_rule_regex(CATASTROPHIC)
    print("RE2 (text_matches), ^(a+)+$ against 'a' * n + '!':")
    worst_re2 = 0.0
    for n in (30, 500, 2047):
        text = "a" * n + "!"
        seconds = best_of(lambda text=text: text_matches("regex", CATASTROPHIC, text), 1000)
        worst_re2 = max(worst_re2, seconds)
        print(f"  n={n:5d}: {seconds * 1e6:9.1f} µs (median of 1000)")

    print("Python re (backtracking), same pattern, same kind of text:")
    backtracking = re.compile(CATASTROPHIC, re.IGNORECASE)
    last = 0.0
    for n in (16, 18, 20, 22):
        text = "a" * n + "!"
        last = best_of(lambda text=text: backtracking.search(text), 3)
        print(f"  n={n:5d}: {last * 1e3:9.1f} ms (best of 3)")
    extrapolated = last * 2 ** (30 - 22)
    print(f"  n=   30: ≈ {extrapolated:9.1f} s (extrapolated: doubling per extra 'a')")

    ordinary, text = r"价格\d+元", "请问今天的价格30元还有吗" * 20
    compile_rule_regex(ordinary)
    python_ordinary = re.compile(ordinary, re.IGNORECASE)
    re2_time = best_of(lambda: text_matches("regex", ordinary, text), 2000)
    re_time = best_of(lambda: python_ordinary.search(text), 2000)
    print(
        f"Ordinary rule {ordinary!r} on {len(text)} characters: RE2 {re2_time * 1e6:.1f} µs, "
        f"re {re_time * 1e6:.1f} µs: ratio {re2_time / re_time:.2f}×"
    )
    print(
        f"Catastrophic rule: RE2 at most {worst_re2 * 1e3:.3f} ms for any length up to 2047, "
        f"vs re ≈ {extrapolated:.0f} s for 30 'a's: ratio {worst_re2 / extrapolated:.1e}; "
        f"target < 50 ms: {'met' if worst_re2 < 0.05 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
