"""The anchor of `cargo bench --bench agreement`: the Python `krippendorff` package.

Arguments are FILE:LEVEL pairs (a ratings CSV as Kalibra reads it, first row and column labels,
empty = missing). For each, prints the microseconds per `krippendorff.alpha` call (best of seven
batches) and the alpha, separated by a space; "nan nan" where the package would need more than
2 GB (it builds a units × V × V array for V distinct values, so it cannot take continuous ratings
of many units).
"""

import sys
import timeit

import numpy as np
import krippendorff


def load(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            cells = line.rstrip("\n").split(",")[1:]
            rows.append([float(c) if c else np.nan for c in cells])
    return np.array(rows)


def main():
    cache = {}
    for arg in sys.argv[1:]:
        path, level = arg.rsplit(":", 1)
        x = cache.setdefault(path, load(path))
        values = len(np.unique(x[~np.isnan(x)]))
        if x.shape[1] * values * values * 8 > 2e9:
            print("nan nan", flush=True)
            continue
        call = lambda: krippendorff.alpha(reliability_data=x, level_of_measurement=level)
        timer = timeit.Timer(call)
        number, elapsed = timer.autorange()
        number = max(1, int(number * 0.15 / max(elapsed, 1e-9)))
        best = min(timer.repeat(repeat=7, number=number)) / number
        print(f"{best * 1e6:.3f} {float(call())!r}", flush=True)


if __name__ == "__main__":
    main()
