#!/usr/bin/env python3
"""Regenerate test/fixtures/drift/scipy.json, the reference values that
test/unit/drift-stats.test.ts checks the TypeScript drift statistics against.

Every case runs the SciPy / NumPy function (or Evidently's formula on top of
them) on deterministic inputs and records the result. Small inputs are stored
as values; large ones as a generator spec that the test regenerates bit for bit
(a 32-bit LCG producing integers, divided by an integer, so both languages get
the same doubles).

Usage:
    python3 -m venv /tmp/drift-venv && /tmp/drift-venv/bin/pip install scipy numpy
    /tmp/drift-venv/bin/python scripts/drift-fixtures.py
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "drift", "scipy.json")
U24 = 1 << 24


def lcg_values(spec):
    """Integers from a 32-bit LCG mapped to doubles; mirrored in the unit test."""
    state = spec["seed"] & 0xFFFFFFFF
    out = []
    mod = spec.get("mod")
    for _ in range(spec["n"]):
        if spec["kind"] == "uniform":
            state = (1664525 * state + 1013904223) & 0xFFFFFFFF
            k = state >> 8
            if mod:
                k %= mod
        else:  # "sum12": Irwin-Hall approximation of a normal, sd = 2^24
            k = 0
            for _ in range(12):
                state = (1664525 * state + 1013904223) & 0xFFFFFFFF
                k += state >> 8
            k -= 6 * U24
        out.append((k * spec.get("mul", 1) + spec.get("offset", 0)) / spec["div"])
    return np.array(out, dtype=np.float64)


def normal_spec(seed, n, shift=0.0, scale=1.0):
    # value = (k*mul + offset)/div with sd(k) = 2^24: ~ N(shift, scale^2) on a 2^-24 grid
    return {"gen": "lcg", "kind": "sum12", "seed": seed, "n": n, "mul": int(round(scale * 64)),
            "offset": int(round(shift * U24 * 64)), "div": U24 * 64}


def discrete_spec(seed, n, levels, offset=0):
    return {"gen": "lcg", "kind": "uniform", "seed": seed, "n": n, "mod": levels, "offset": offset, "div": 1}


rng = np.random.default_rng(20240611)


def rounded(x, digits=6):
    return [float(v) for v in np.round(np.asarray(x, dtype=np.float64), digits)]


def sample(kind, n, shift=0.0, scale=1.0):
    if kind == "normal":
        return rounded(rng.normal(shift, scale, n))
    if kind == "lognormal":
        return rounded(rng.lognormal(shift, scale, n))
    if kind == "uniform":
        return rounded(rng.uniform(shift, shift + scale, n))
    if kind == "ints":
        return [float(v) for v in rng.integers(0, int(scale), n) + int(shift)]
    if kind == "exp":
        return rounded(rng.exponential(scale, n) + shift)
    raise ValueError(kind)


def materialise(x):
    return lcg_values(x) if isinstance(x, dict) else np.asarray(x, dtype=np.float64)


def num(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


cases = []


def add(fn, name, inputs, expected, **options):
    cases.append({"fn": fn, "name": name, "inputs": inputs, "options": options,
                  "expected": {k: (num(v) if not isinstance(v, list) else [num(t) for t in v])
                               for k, v in expected.items()}})


# --- sample pairs shared by the two-sample tests ----------------------------
PAIRS = [
    ("normal n=20/25 shift 0.5", sample("normal", 20), sample("normal", 25, 0.5)),
    ("normal n=30/30", sample("normal", 30), sample("normal", 30, 0.2)),
    ("normal n=8/7 tiny", sample("normal", 8), sample("normal", 7, 1.0)),
    ("identical samples", [1.5, 2.0, 2.5, 3.0, 7.0], [1.5, 2.0, 2.5, 3.0, 7.0]),
    ("separated n=10/12", sample("uniform", 10, 0, 1), sample("uniform", 12, 5, 1)),
    ("ints with ties n=100/80", sample("ints", 100, 0, 6), sample("ints", 80, 1, 6)),
    ("scaled normal n=200/150", sample("normal", 200), sample("normal", 150, 0, 1.6)),
    ("lognormal n=500/700", sample("lognormal", 500), sample("lognormal", 700, 0.1)),
    ("strong shift n=300/300", sample("normal", 300), sample("normal", 300, 1.0)),
    ("exponential n=1000/900", sample("exp", 1000), sample("exp", 900, 0, 1.1)),
    ("lcg normal n=15000/12000 shift 0.03", normal_spec(1, 15000), normal_spec(2, 12000, 0.03)),
    ("lcg normal n=20000/5 shift 0.8", normal_spec(3, 20000), normal_spec(4, 5, 0.8)),
    ("lcg normal n=12000/300 scale 1.3", normal_spec(5, 12000), normal_spec(6, 300, 0, 1.3)),
    ("lcg discrete n=11000/10500", discrete_spec(7, 11000, 40), discrete_spec(8, 10500, 40, 1)),
    ("lcg normal n=30000/30000 same", normal_spec(9, 30000), normal_spec(10, 30000)),
    ("lcg normal n=9000/7000 shift 0.04 (exact by auto)", normal_spec(11, 9000), normal_spec(12, 7000, 0.04)),
]

with warnings.catch_warnings():
    warnings.simplefilter("ignore")

    # --- Kolmogorov-Smirnov ---------------------------------------------------
    for name, a, b in PAIRS:
        x, y = materialise(a), materialise(b)
        r = stats.ks_2samp(x, y)
        add("ks2samp", name, [a, b], {"statistic": r.statistic, "pValue": r.pvalue})
    for name, a, b in PAIRS[:10]:
        x, y = materialise(a), materialise(b)
        r = stats.ks_2samp(x, y, method="asymp")
        add("ks2samp", name + " (asymp)", [a, b], {"statistic": r.statistic, "pValue": r.pvalue}, method="asymp")
    for name, a, b in PAIRS[10:12]:
        x, y = materialise(a), materialise(b)
        r = stats.ks_2samp(x, y, method="exact")
        add("ks2samp", name + " (exact)", [a, b], {"statistic": r.statistic, "pValue": r.pvalue}, method="exact")

    # --- distances on samples -------------------------------------------------
    for name, a, b in PAIRS:
        x, y = materialise(a), materialise(b)
        add("wassersteinDistance", name, [a, b], {"value": stats.wasserstein_distance(x, y)})
        add("normedWasserstein", name, [a, b],
            {"value": stats.wasserstein_distance(x, y) / max(np.std(x), 0.001)})
        add("energyDistance", name, [a, b], {"value": stats.energy_distance(x, y)})
    add("normedWasserstein", "constant reference (std floor)", [[2.0] * 10, [2.0, 2.5, 3.0]],
        {"value": stats.wasserstein_distance([2.0] * 10, [2.0, 2.5, 3.0]) / 0.001})

    # --- t-test ---------------------------------------------------------------
    for name, a, b in PAIRS:
        x, y = materialise(a), materialise(b)
        if name == "identical samples":
            continue
        for eq in (True, False):
            r = stats.ttest_ind(x, y, equal_var=eq)
            add("tTest", name + (" (pooled)" if eq else " (welch)"), [a, b],
                {"statistic": r.statistic, "pValue": r.pvalue, "df": r.df}, equalVar=eq)

    # --- Mann-Whitney U -------------------------------------------------------
    for name, a, b in PAIRS:
        x, y = materialise(a), materialise(b)
        r = stats.mannwhitneyu(x, y, alternative="two-sided")
        add("mannWhitneyU", name, [a, b], {"statistic": r.statistic, "pValue": r.pvalue})
    mw_small = [("exact n=6/8", sample("normal", 6), sample("normal", 8, 0.7)),
                ("exact n=5/3", sample("normal", 5), sample("normal", 3, 2.0)),
                ("exact forced n=10/12", sample("normal", 10), sample("normal", 12, 0.4))]
    for name, a, b in mw_small:
        method = "exact" if "forced" in name else "auto"
        r = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
        add("mannWhitneyU", name, [a, b], {"statistic": r.statistic, "pValue": r.pvalue}, method=method)
    for alt in ("less", "greater"):
        for name, a, b in (PAIRS[0], PAIRS[5], mw_small[0]):
            r = stats.mannwhitneyu(a, b, alternative=alt)
            add("mannWhitneyU", f"{name} ({alt})", [a, b], {"statistic": r.statistic, "pValue": r.pvalue},
                alternative=alt)
    r = stats.mannwhitneyu(PAIRS[6][1], PAIRS[6][2], use_continuity=False)
    add("mannWhitneyU", PAIRS[6][0] + " (no continuity)", [PAIRS[6][1], PAIRS[6][2]],
        {"statistic": r.statistic, "pValue": r.pvalue}, useContinuity=False)

    # --- Cramer-von Mises -----------------------------------------------------
    cvm_pairs = [p for p in PAIRS if p[0] != "identical samples"] + [
        ("exact n=20/20", sample("normal", 20), sample("normal", 20, 0.6)),
        ("exact n=5/9 ties", sample("ints", 5, 0, 4), sample("ints", 9, 0, 4)),
        ("exact n=12/16", sample("uniform", 12), sample("uniform", 16, 0.2)),
    ]
    for name, a, b in cvm_pairs:
        x, y = materialise(a), materialise(b)
        r = stats.cramervonmises_2samp(x, y)
        add("cramerVonMises2samp", name, [a, b], {"statistic": r.statistic, "pValue": r.pvalue})
    for name, a, b in cvm_pairs[:3]:
        r = stats.cramervonmises_2samp(a, b, method="asymptotic")
        add("cramerVonMises2samp", name + " (asymptotic)", [a, b], {"statistic": r.statistic, "pValue": r.pvalue},
            method="asymptotic")

    # --- Anderson-Darling k-sample -------------------------------------------
    ad_cases = [(n, [a, b]) for n, a, b in PAIRS if n != "identical samples"] + [
        ("three samples", [sample("normal", 40), sample("normal", 50, 0.3), sample("normal", 45, 0.1)]),
        ("four samples with ties", [sample("ints", 30, 0, 5), sample("ints", 25, 0, 5), sample("ints", 35, 0, 6),
                                    sample("ints", 20, 1, 5)]),
        ("near-identical (p capped at 0.25)", [sample("normal", 100), sample("normal", 100)]),
    ]
    for name, samples in ad_cases:
        r = stats.anderson_ksamp([materialise(s) for s in samples], midrank=True)
        add("andersonKSamp", name, samples,
            {"statistic": r.statistic, "pValue": r.pvalue, "criticalValues": list(r.critical_values)})

    # --- chi-square (Evidently: expected = reference share x current total) --
    chi_cases = [
        ("three categories", [50, 30, 20], [45, 35, 20]),
        ("shifted shares", [500, 300, 150, 50], [300, 300, 300, 100]),
        ("different totals", [1000, 2000, 3000, 4000, 5000], [90, 210, 280, 410, 510]),
        ("unseen category in reference", [10, 20, 0], [10, 20, 5]),
        ("identical", [7, 8, 9], [7, 8, 9]),
        ("many categories", [int(v) for v in rng.integers(1, 200, 60)], [int(v) for v in rng.integers(1, 200, 60)]),
        ("tiny p-value", [5000, 5000], [3000, 7000]),
    ]
    for name, ref, cur in chi_cases:
        k_norm = sum(cur) / sum(ref)
        f_exp = [r * k_norm for r in ref]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = stats.chisquare(cur, f_exp)
        add("chiSquareTest", name, [ref, cur], {"statistic": r.statistic, "pValue": r.pvalue, "df": len(ref) - 1})

    # --- two-proportion z-test (Evidently's proportions_diff_z_test) --------
    for name, (h1, n1, h2, n2) in [("balanced", (40, 100, 55, 100)), ("unequal sizes", (120, 1000, 30, 150)),
                                   ("equal shares", (10, 50, 20, 100)), ("large difference", (900, 1000, 100, 1000)),
                                   ("small counts", (1, 7, 5, 9))]:
        p1, p2 = h1 / n1, h2 / n2
        P = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        # Evidently writes 2*(1 - cdf(|z|)); the tail form is the same number without cancellation.
        add("zTwoProportions", name, [h1, n1, h2, n2], {"statistic": z, "pValue": 2 * stats.norm.sf(abs(z))})

    # --- binned distances (Evidently's get_binned_data on numeric columns) ---
    def feel_zeroes(pct):
        pct = pct.copy()
        nz = pct[pct != 0]
        np.place(pct, pct == 0, nz.min() / 10**6 if nz.min() <= 0.0001 else 0.0001)
        return pct

    binned = [p for p in PAIRS if not isinstance(p[1], dict) and p[0] != "identical samples"] + [
        ("sparse bins", sample("normal", 300), sample("normal", 40, 3.0)),
        ("lcg normal n=15000/12000", PAIRS[10][1], PAIRS[10][2]),
    ]
    for name, a, b in binned:
        x, y = materialise(a), materialise(b)
        edges = np.histogram_bin_edges(np.concatenate([x, y]), bins="sturges")
        rc = np.histogram(x, edges)[0]
        cc = np.histogram(y, edges)[0]
        rp, cp = rc / len(x), cc / len(y)
        rpf, cpf = feel_zeroes(rp), feel_zeroes(cp)
        # Evidently's numeric hellinger bins the union of distinct values with Sturges, density=True.
        keys = np.array(sorted(set(x.tolist()) | set(y.tolist())))
        hb = np.histogram_bin_edges(keys, bins="sturges")
        h1 = np.histogram(x, bins=hb, density=True)[0]
        h2 = np.histogram(y, bins=hb, density=True)[0]
        width = (max(hb) - min(hb)) / (len(hb) - 1)
        bc = float(np.clip(sum(math.sqrt(p * q) * width for p, q in zip(h1, h2)), 0, 1))
        add("binned", name, [a, b], {
            "edges": list(edges), "refCounts": list(rc), "curCounts": list(cc),
            "psi": float(np.sum((rpf - cpf) * np.log(rpf / cpf))),
            "kl": stats.entropy(rpf, cpf),
            "js": distance.jensenshannon(rp, cp, base=2),
            "hellingerEdges": list(hb),
            "hellingerRefCounts": list(np.histogram(x, hb)[0]), "hellingerCurCounts": list(np.histogram(y, hb)[0]),
            "hellinger": math.sqrt(1 - bc),
        })
    # categorical shares
    for name, ref, cur in chi_cases[:4] + [("disjoint", [5, 0, 0], [0, 3, 4])]:
        rp, cp = np.array(ref) / sum(ref), np.array(cur) / sum(cur)
        rpf, cpf = feel_zeroes(rp), feel_zeroes(cp)
        add("shares", name, [list(rp), list(cp)], {
            "psi": float(np.sum((rpf - cpf) * np.log(rpf / cpf))),
            "kl": stats.entropy(rpf, cpf),
            "js": distance.jensenshannon(rp, cp, base=2),
            "hellinger": math.sqrt(1 - float(np.clip(sum(math.sqrt(p * q) for p, q in zip(rp, cp)), 0, 1))),
        })

    # --- histogram helpers ----------------------------------------------------
    hist_inputs = [("normal n=200", sample("normal", 200)), ("ints n=100", sample("ints", 100, 0, 6)),
                   ("lognormal n=500", sample("lognormal", 500)), ("constant", [3.0] * 10),
                   ("lcg n=15000", PAIRS[10][1])]
    for name, v in hist_inputs:
        x = materialise(v)
        for bins in (10, "sturges", "auto", "fd", "sqrt", "rice", "scott"):
            e = np.histogram_bin_edges(x, bins=bins)
            add("histogram", f"{name} bins={bins}", [v], {"edges": list(e), "counts": list(np.histogram(x, e)[0])},
                bins=bins)
        e = np.histogram_bin_edges(x, bins="sturges", range=(float(np.quantile(x, 0.1)), float(np.quantile(x, 0.9))))
        add("histogram", f"{name} sturges with range", [v],
            {"edges": list(e), "counts": list(np.histogram(x, e)[0])}, bins="sturges",
            range=[float(e[0]), float(e[-1])])

    # --- special functions ----------------------------------------------------
    specials = []
    for x in [-38, -10, -5, -2.5, -1, 0, 0.5, 1.96, 3, 6, 9, 20]:
        specials.append(["normalSf", [x], special.ndtr(-x)])
    for a, x in [(0.5, 0.1), (0.5, 3), (2, 10), (10, 30), (50, 80), (500, 600), (5e4, 5.1e4), (1e6, 1.002e6)]:
        specials.append(["gammaincQ", [a, x], special.gammaincc(a, x)])
    for t, df in [(0.1, 3), (2, 3), (5, 10), (30, 10), (2, 1e6), (6, 2e6), (40, 100)]:
        specials.append(["studentTSf", [t, df], stats.t.sf(t, df)])
    for x in [0.05, 0.5, 0.82, 1.2, 2, 6]:
        specials.append(["kolmogorovSf", [x], special.kolmogorov(x)])
    for n, x in [(10, 0.2), (50, 0.6), (1000, 0.1), (100000, 0.005), (500000, 0.002), (2000000, 0.001)]:
        specials.append(["smirnovSf", [n, x], special.smirnov(n, x)])
    for n, x in [(3, 0.4), (10, 0.05), (10, 0.3), (50, 0.2), (140, 0.1), (141, 0.05), (500, 0.05), (5000, 0.01),
                 (100000, 0.002), (500000, 0.0008), (500000, 0.002), (500000, 0.004), (9, 0.95)]:
        specials.append(["kolmogornSf", [n, x], stats.kstwo.sf(x, n)])
    for z in [0.01, 1, 30, 300]:
        specials.append(["besselK", [0.25, z], special.kv(0.25, z)])
    for name, args, val in specials:
        add("special", f"{name}{tuple(args)}", args, {"value": val}, function=name)

doc = {
    "generatedBy": "scripts/drift-fixtures.py",
    "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
    "lcg": "state = (1664525*state + 1013904223) mod 2^32; u = state >> 8; uniform: k = u mod `mod`; "
           "sum12: k = sum of 12 u - 6*2^24; value = (k*mul + offset)/div",
    "cases": cases,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
