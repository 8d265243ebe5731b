"""Kalibra's agreement statistics against the Python reference packages.

Generates random ratings matrices with fixed seeds (several shapes, 0-30 % missing, integer,
one-decimal and continuous values, and three degenerate cases), runs
`kalibra stats agreement --level L --format json` on each at every level, and compares:

* Krippendorff's alpha with `krippendorff.alpha(reliability_data=..., level_of_measurement=...)`;
* percent agreement with trace(o)/n of the coincidence matrix, computed here from the definition;
* Fleiss' kappa with statsmodels' `fleiss_kappa` on complete matrices (`aggregate_raters`);
* Gwet's AC1 with irrCAC's `CAC(...).gwet()` when irrCAC is installed;
* Cohen's kappa (unweighted, linear, quadratic) with statsmodels' `cohens_kappa` for two raters.

Prints the largest difference per statistic and exits non-zero on any difference above 1e-9, or
where one side is defined and the other not.

    python3 tests/agreement/crosscheck.py target/debug/kalibra
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import krippendorff
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

try:
    import pandas as pd
    from irrCAC.raw import CAC
except ImportError:  # irrCAC is optional
    CAC = None

TOL = 1e-9
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


def matrices():
    """(name, raters x units array with NaN for missing) cases, fixed seeds."""
    cases = []
    shapes = [(2, 30), (3, 12), (4, 50), (5, 100), (8, 40), (12, 25), (2, 200), (6, 7), (7, 2600)]
    kinds = ["int2", "int5", "int0to4", "int7", "dec1", "cont", "neg"]
    seed = 0
    for raters, units in shapes:
        for kind in kinds:
            if kind in ("cont", "neg") and raters * units > 400:
                continue  # the Python package needs units x V^2 memory
            seed += 1
            rng = np.random.default_rng(1000 + seed)
            missing = [0.0, 0.1, 0.2, 0.3][seed % 4]
            if kind == "int2":
                x = rng.integers(1, 3, size=(raters, units)).astype(float)
            elif kind == "int5":
                # Correlated ratings: a true score plus rater noise.
                truth = rng.integers(1, 6, size=units)
                noise = rng.integers(-1, 2, size=(raters, units)) * (rng.random((raters, units)) < 0.3)
                x = np.clip(truth + noise, 1, 5).astype(float)
            elif kind == "int0to4":
                x = rng.integers(0, 5, size=(raters, units)).astype(float)
            elif kind == "int7":
                x = rng.integers(1, 8, size=(raters, units)).astype(float)
            elif kind == "dec1":
                x = np.round(rng.uniform(0, 5, size=(raters, units)), 1)
            elif kind == "cont":
                truth = rng.uniform(0, 100, size=units)
                x = truth + rng.normal(0, 15, size=(raters, units))
                x = np.abs(x)
            else:  # negative and positive continuous values (no ratio level)
                x = rng.normal(0, 3, size=(raters, units))
            x[rng.random((raters, units)) < missing] = np.nan
            cases.append((f"{kind}-{raters}x{units}-miss{int(missing * 100)}", x))
    # Degenerate cases: no variation, nothing pairable, a single pairable unit.
    const = np.full((4, 10), 3.0)
    const[0, 2] = np.nan
    lonely = np.full((3, 6), np.nan)
    for u in range(6):
        lonely[u % 3, u] = float(u + 1)
    single = np.full((3, 8), np.nan)
    single[:, 4] = [1.0, 2.0, 2.0]
    single[0, 0] = 7.0
    cases += [("const-4x10", const), ("lonely-3x6", lonely), ("single-3x8", single)]
    return cases


def write_csv(path, x):
    with open(path, "w") as f:
        f.write("rater," + ",".join(f"u{j}" for j in range(x.shape[1])) + "\n")
        for i, row in enumerate(x):
            cells = ["" if math.isnan(v) else repr(float(v)) for v in row]
            f.write(f"r{i}," + ",".join(cells) + "\n")


def py_alpha(x, level):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
        except ValueError:
            return None
    return None if not np.isfinite(a) else float(a)


def py_percent(x):
    num, n = 0.0, 0
    for u in range(x.shape[1]):
        vals = x[:, u][~np.isnan(x[:, u])]
        m = len(vals)
        if m < 2:
            continue
        _, counts = np.unique(vals, return_counts=True)
        num += float((counts * (counts - 1)).sum()) / (m - 1)
        n += m
    return None if n == 0 else num / n


def py_fleiss(x):
    if np.isnan(x).any():
        return "skip"
    table, _ = aggregate_raters(x.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = fleiss_kappa(table)
    return None if not np.isfinite(k) else float(k)


def py_gwet(x):
    if CAC is None:
        return "skip"
    values = np.unique(x[~np.isnan(x)])
    if len(values) < 2:
        return None
    df = pd.DataFrame(x.T)
    rated = (~np.isnan(x)).sum(axis=0)
    if (rated >= 2).sum() == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CAC(df, categories=list(values), digits=17).gwet()["est"]
    return float(est["coefficient_value"])


def py_cohen(x):
    if x.shape[0] != 2:
        return "skip"
    keep = ~np.isnan(x).any(axis=0)
    a, b = x[0, keep], x[1, keep]
    if len(a) == 0:
        return {w: None for w in ("unweighted", "linear", "quadratic")}
    values = np.unique(np.concatenate([a, b]))
    k = len(values)
    table = np.zeros((k, k))
    for u, v in zip(np.searchsorted(values, a), np.searchsorted(values, b)):
        table[u, v] += 1
    out = {}
    for name, wt in (("unweighted", None), ("linear", "linear"), ("quadratic", "quadratic")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                kappa = float(cohens_kappa(table, wt=wt, return_results=False))
            except (ZeroDivisionError, FloatingPointError, ValueError):
                kappa = float("nan")
        out[name] = kappa if np.isfinite(kappa) else None
    return out


def kalibra(binary, path, level):
    """Kalibra's report, or None with its error message when it refuses the file."""
    p = subprocess.run([binary, "stats", "agreement", "--level", level, "--format", "json", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr
    return json.loads(p.stdout), ""


def main():
    binary = sys.argv[1]
    cases = matrices()
    worst = {}
    failures = []
    compared = {}

    def compare(stat, case, ours, ref):
        if isinstance(ref, str):  # "skip"
            return
        compared[stat] = compared.get(stat, 0) + 1
        if (ours is None) != (ref is None):
            failures.append(f"{case} {stat}: kalibra={ours} python={ref}")
            return
        if ours is None:
            return
        diff = abs(ours - ref)
        if diff > worst.get(stat, (-1.0, ""))[0]:
            worst[stat] = (diff, case)
        if diff > TOL:
            failures.append(f"{case} {stat}: kalibra={ours!r} python={ref!r} diff={diff:.3g}")

    with tempfile.TemporaryDirectory() as tmp:
        for name, x in cases:
            path = os.path.join(tmp, name + ".csv")
            write_csv(path, x)
            has_negative = np.nanmin(x) < 0 if not np.isnan(x).all() else False
            for level in LEVELS:
                out, err = kalibra(binary, path, level)
                case = f"{name}/{level}"
                if level == "ratio" and has_negative:
                    if out is not None or "negative" not in err:
                        failures.append(f"{case}: negative values accepted at the ratio level")
                    continue
                if out is None:
                    failures.append(f"{case}: kalibra refused the file: {err.strip()}")
                    continue
                compare(f"alpha/{level}", case, out["alpha"], py_alpha(x, level))
                if level != "nominal":
                    continue  # the other statistics do not depend on the level
                compare("percent_agreement", name, out["percent_agreement"], py_percent(x))
                compare("fleiss_kappa", name, out["fleiss_kappa"], py_fleiss(x))
                compare("gwet_ac1", name, out["gwet_ac1"], py_gwet(x))
                ref = py_cohen(x)
                if not isinstance(ref, str):
                    for w, v in ref.items():
                        compare(f"cohen/{w}", name, out["cohen_kappa"][w], v)

    print(f"{len(cases)} matrices, tolerance {TOL:g}")
    print(f"{'statistic':<22} {'compared':>8} {'largest |diff|':>15}  case")
    for stat in sorted(compared):
        diff, case = worst.get(stat, (0.0, "-"))
        print(f"{stat:<22} {compared[stat]:>8} {diff:>15.3e}  {case}")
    if CAC is None:
        print("irrCAC not installed: Gwet's AC1 checked against hand-computed values only")
    if failures:
        print(f"\n{len(failures)} MISMATCHES:")
        for f in failures:
            print("  " + f)
        return 1
    print("all match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
