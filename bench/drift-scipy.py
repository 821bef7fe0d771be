"""Baseline for the drift benchmark: the same default-preset statistics with NumPy/SciPy.

Reads the columns that bench/drift.ts wrote (raw little-endian float64 for numerical columns,
int32 codes for categorical ones, a manifest.json describing them), then for every column runs
Evidently's DataDriftPreset choice for a reference of more than 1000 rows: the normed
Wasserstein distance for numerical columns with more than 5 distinct values, the Jensen-Shannon
distance (base 2) on value shares otherwise. Prints one JSON object: the compute time (loading
excluded), the library versions and every column's score.

Usage: python drift-scipy.py <dir-with-manifest.json> [rounds]
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.spatial import distance
from scipy.stats import wasserstein_distance


def kind_is_num(c) -> bool:
    return c["kind"] == "num"


def load(folder: Path):
    manifest = json.loads((folder / "manifest.json").read_text())
    cols = []
    for c in manifest["columns"]:
        dtype = np.float64 if c["kind"] == "num" else np.int32
        ref = np.fromfile(folder / c["reference"], dtype=dtype)
        cur = np.fromfile(folder / c["current"], dtype=dtype)
        # Missing values (NaN, or code -1) are dropped, as Evidently does before testing.
        ref = ref[~np.isnan(ref)] if kind_is_num(c) else ref[ref >= 0]
        cur = cur[~np.isnan(cur)] if kind_is_num(c) else cur[cur >= 0]
        cols.append((c["name"], c["kind"], ref, cur))
    return cols


def shares_by_value(ref: np.ndarray, cur: np.ndarray):
    """Shares of every value seen on either side, aligned (Evidently's get_binned_data by value)."""
    keys = np.union1d(ref, cur)
    ru, rn = np.unique(ref, return_counts=True)
    cu, cn = np.unique(cur, return_counts=True)
    r = np.zeros(len(keys))
    c = np.zeros(len(keys))
    r[np.searchsorted(keys, ru)] = rn
    c[np.searchsorted(keys, cu)] = cn
    return r / len(ref), c / len(cur)


def column_score(kind: str, ref: np.ndarray, cur: np.ndarray):
    if kind == "num":
        n_values = len(np.unique(np.concatenate([ref, cur])))
        if n_values > 5:
            norm = max(np.std(ref), 0.001)
            return "wasserstein", float(wasserstein_distance(ref, cur) / norm)
    r, c = shares_by_value(ref, cur)
    return "jensenshannon", float(distance.jensenshannon(r, c, 2))


def main():
    folder = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    cols = load(folder)
    times = []
    scores = {}
    for _ in range(rounds):
        started = time.perf_counter()
        for name, kind, ref, cur in cols:
            scores[name] = column_score(kind, ref, cur)
        times.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "seconds": times,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "python": sys.version.split()[0],
                "columns": {k: {"test": t, "score": s} for k, (t, s) in scores.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
