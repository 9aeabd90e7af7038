"""Benchmark of analytics.spc.analyse against a naive baseline.

    python bench/spc.py [--series 10000] [--points 104] [--seed 1]
                        [--baseline-series N] [--check 1000] [--retain]

Generates seeded random weekly series (stable, shifted, trending, noisy
counts), runs them all through ``analyse`` and through ``naive_analyse`` -- a
plain reference written the way a newcomer would: loops everywhere, the mean
and limits recomputed from scratch for every point, every rule checked by
scanning every window that contains the point.  It checks that both give the
same point types on a sample of series, then prints series/s for both and the
speed ratio (ours / baseline).

The baseline is slow (about 40 s for the default 10,000 series);
``--baseline-series N`` times it on the first N series only (rates are
series/s, so the ratio stays comparable).  ``--series`` shortens everything.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from analytics.spc import analyse  # noqa: E402

# --------------------------------------------------------------------------- #
# data
# --------------------------------------------------------------------------- #
DIRECTIONS = ("increase", "decrease", "neutral")


def make_series(rng: random.Random, points: int) -> dict:
    kind = rng.random()
    base = rng.uniform(20, 200)
    sd = base * rng.uniform(0.03, 0.15)
    values = [rng.gauss(base, sd) for _ in range(points)]
    if kind < 0.25:  # a shift somewhere
        at = rng.randrange(points)
        jump = rng.choice((-1, 1)) * sd * rng.uniform(1, 3)
        values = [v + (jump if i >= at else 0.0) for i, v in enumerate(values)]
    elif kind < 0.45:  # a trend segment
        at = rng.randrange(points)
        length = rng.randint(5, 12)
        step = rng.choice((-1, 1)) * sd * rng.uniform(0.3, 1.0)
        values = [
            v + step * min(max(i - at, 0), length) for i, v in enumerate(values)
        ]
    elif kind < 0.70:  # counts: whole numbers (ties, equal neighbours)
        values = [float(max(0, round(v / 5))) for v in values]
    if rng.random() < 0.05:  # an outlier
        values[rng.randrange(points)] += sd * rng.uniform(4, 8)
    target = rng.gauss(base, 2 * sd) if rng.random() < 0.5 else None
    return {
        "values": values,
        "improvement": rng.choice(DIRECTIONS),
        "target": target,
    }


# --------------------------------------------------------------------------- #
# the naive baseline (no rebase / fix_after; screening on)
# --------------------------------------------------------------------------- #
def naive_analyse(dates, values, improvement="increase", target=None):
    n = len(values)
    results = []
    for i in range(n):
        # recompute everything for this point
        total = 0.0
        for v in values:
            total += v
        mean = total / n
        ranges = []
        for k in range(1, n):
            ranges.append(abs(values[k] - values[k - 1]))
        amr = sum(ranges) / len(ranges) if ranges else float("nan")
        kept = []
        for r in ranges:
            if r < 3.267 * amr:
                kept.append(r)
        amr = sum(kept) / len(kept) if kept else float("nan")
        upl = mean + 2.66 * amr
        lpl = mean - 2.66 * amr
        near_upl = mean + 2 * (2.66 / 3) * amr
        near_lpl = mean - 2 * (2.66 / 3) * amr

        def side(k):
            if values[k] > mean:
                return 1
            if values[k] < mean:
                return -1
            return 0

        def outside(k):
            return values[k] > upl or values[k] < lpl

        def close(k):
            return (not outside(k)) and (values[k] > near_upl or values[k] < near_lpl)

        def step(k):  # sign of values[k] - values[k - 1]
            if values[k] > values[k - 1]:
                return 1
            if values[k] < values[k - 1]:
                return -1
            return 0

        def in_trend(k):
            for start in range(k - 6, k + 1):
                if start < 0 or start + 6 >= n:
                    continue
                ups = 0
                downs = 0
                for j in range(start + 1, start + 7):
                    if step(j) == 1:
                        ups += 1
                    elif step(j) == -1:
                        downs += 1
                if ups == 6 or downs == 6:
                    return True
            return False

        is_outside = outside(i)
        is_trend = in_trend(i)
        is_two_in_three = False
        if close(i):
            for start in range(i - 2, i + 1):
                if start < 0 or start + 2 >= n:
                    continue
                sides = [side(start), side(start + 1), side(start + 2)]
                n_close = sum(1 for j in range(start, start + 3) if close(j))
                if n_close >= 2 and sides[0] != 0 and sides[0] == sides[1] == sides[2]:
                    is_two_in_three = True
        is_run = False
        for start in range(i - 6, i + 1):
            if start < 0 or start + 6 >= n:
                continue
            s = side(start)
            if s != 0 and all(side(j) == s for j in range(start, start + 7)):
                is_run = True

        if is_outside:
            direction = side(i)
            label = "Above UCL" if direction == 1 else "Below LCL"
        elif is_trend:
            # right-hand step if the next point is also in a trend, else left
            if i + 1 < n and in_trend(i + 1):
                direction = step(i + 1)
            else:
                direction = step(i) if i > 0 else 0
            direction = 1 if direction == 1 else -1
            label = "trend"
        elif is_two_in_three:
            direction = 1 if side(i) > 0 else -1
            label = "two_in_three"
        elif is_run:
            direction = 1 if side(i) > 0 else -1
            label = "run"
        else:
            direction = 0
            label = "common"

        if direction == 0:
            point_type = "common_cause"
        elif improvement == "neutral":
            point_type = (
                "special_cause_neutral_high" if direction > 0 else "special_cause_neutral_low"
            )
        elif (direction > 0) == (improvement == "increase"):
            point_type = "special_cause_improvement"
        else:
            point_type = "special_cause_concern"
        results.append(
            {"date": dates[i], "mean": mean, "lpl": lpl, "upl": upl, "point_type": point_type,
             "label": label}
        )  # fmt: skip

    assurance = None
    if target is not None and improvement != "neutral":
        last = results[-1]
        if target > last["upl"]:
            assurance = "consistent_fail" if improvement == "increase" else "consistent_pass"
        elif target < last["lpl"]:
            assurance = "consistent_pass" if improvement == "increase" else "consistent_fail"
        else:
            assurance = "inconsistent"
    return results, results[-1]["point_type"], assurance


# --------------------------------------------------------------------------- #
# main
# --------------------------------------------------------------------------- #
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=104)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline-series",
        type=int,
        default=None,
        help="series run through the naive baseline (default: all)",
    )
    parser.add_argument(
        "--check", type=int, default=1000, help="series whose point types are compared"
    )
    parser.add_argument(
        "--retain",
        action="store_true",
        help="keep every result alive while timing (adds cyclic-GC work)",
    )
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    dates = [date(2023, 1, 2) + timedelta(weeks=i) for i in range(args.points)]
    data = [make_series(rng, args.points) for _ in range(args.series)]
    n_base = args.series
    if args.baseline_series is not None:
        n_base = min(args.baseline_series, args.series)
    print(
        f"{args.series} series x {args.points} weekly points (seed {args.seed}); "
        f"baseline on {n_base} series; results {'retained' if args.retain else 'streamed'}"
    )

    # the results of the sampled series are kept for the check; the others
    # are dropped as a streaming service would (keeping ~1M point objects
    # alive makes Python's cyclic GC rescan them: see --retain)
    sample = random.Random(args.seed + 1).sample(range(n_base), min(args.check, n_base))
    keep = set(range(args.series)) if args.retain else set(sample)

    ours = {}
    t0 = time.perf_counter()
    for k, s in enumerate(data):
        a = analyse(dates, s["values"], improvement=s["improvement"], target=s["target"])
        if k in keep:
            ours[k] = a
    t_ours = time.perf_counter() - t0

    base = {}
    t0 = time.perf_counter()
    for k, s in enumerate(data[:n_base]):
        b = naive_analyse(dates, s["values"], improvement=s["improvement"], target=s["target"])
        if k in keep:
            base[k] = b
    t_base = time.perf_counter() - t0

    # correctness check on a sample of the series both have analysed
    mismatched = 0
    for k in sample:
        a, (points, variation, assurance) = ours[k], base[k]
        same = (
            [p.point_type for p in a.points] == [p["point_type"] for p in points]
            and a.variation_type == variation
            and a.assurance_type == assurance
        )
        if not same:
            mismatched += 1
            if mismatched <= 3:
                print(f"  MISMATCH in series {k}", file=sys.stderr)
    special = sum(1 for k in sample for p in ours[k].points if p.rules)
    n_points = len(sample) * args.points
    print(
        f"check: point types, variation and assurance identical on "
        f"{len(sample) - mismatched}/{len(sample)} sampled series "
        f"({n_points} points, {special} special cause)"
    )

    rate_ours = args.series / t_ours
    rate_base = n_base / t_base
    print(f"ours:     {t_ours:8.2f} s  {rate_ours:10.0f} series/s")
    print(f"baseline: {t_base:8.2f} s  {rate_base:10.0f} series/s")
    print(f"ratio (ours / baseline): {rate_ours / rate_base:.1f}x")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
