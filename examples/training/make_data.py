"""Writes a synthetic binary-classification CSV for train.py (standard library only).

    python make_data.py out.csv [--rows 2000] [--shift 0.0] [--seed 1]

--shift moves the feature distribution (to simulate drift) and weakens the signal.
"""

import argparse
import csv
import math
import random


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--shift", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tenure", "monthly_spend", "support_calls", "label"])
        for _ in range(a.rows):
            tenure = rnd.gauss(24 + 10 * a.shift, 8)
            spend = rnd.gauss(60 - 15 * a.shift, 20)
            calls = max(0.0, rnd.gauss(2 + a.shift, 1.5))
            z = -0.08 * tenure + 0.02 * spend + 0.6 * calls + rnd.gauss(0, 1 + a.shift)
            w.writerow([round(tenure, 3), round(spend, 3), round(calls, 3), int(1 / (1 + math.exp(-z)) > 0.5)])


if __name__ == "__main__":
    main()
