"""Print the harvested corpus's pass rate, by provider: `.venv/bin/python tests/harvest_score.py [-v]`.

The grading is tests/test_harvested.py's (tests/oracle.py reads each raw recording; the router replays
it through a loopback server). With -v, each failing case and what it got wrong.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_harvested


def main() -> int:
    verbose = "-v" in sys.argv
    seen: collections.Counter[str] = collections.Counter()
    ok: collections.Counter[str] = collections.Counter()
    for path in test_harvested.CASES:
        case = test_harvested.load(path)
        try:
            problems = test_harvested.grade_case(case)
        except Exception as exc:  # a bare exception is a failure of the router, counted as one
            problems = [f"bare {type(exc).__name__}: {exc}"[:200]]
        seen[case["provider"]] += 1
        if not problems:
            ok[case["provider"]] += 1
        elif verbose:
            print(f"FAIL {path.parent.name}/{path.name}: {'; '.join(problems)}")
    for p in sorted(seen):
        print(f"{p:14} {ok[p]:4}/{seen[p]:<4}")
    total, good = sum(seen.values()), sum(ok.values())
    print(f"{'all':14} {good:4}/{total:<4} {100.0 * good / max(total, 1):.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
