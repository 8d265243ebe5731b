"""Synthetic phone contacts for the Kalibra benchmark, in the generic CSV format (docs/import.md).

The same number of rows and seed always give the same file, byte for byte. Everything is drawn
with numpy in whole arrays; DuckDB formats the columns and writes the CSV.

One year of inbound phone calls, 2025 (UTC):

- arrivals follow a day-of-week and seasonal pattern (busy Mondays and January bills, quiet
  weekends and holidays) and an intraday profile with a morning and an afternoon peak;
- 8 queues of different size, each with its own contact reasons and talk times;
- about 250 agents, each with a home queue, taking overflow from other queues now and then;
- about rows / 5 customers (2 million for 10 million rows), a few of them calling often; about
  12 % of contacts are a customer coming back after an earlier one (minutes to ten days later,
  mostly about the same matter), so first-contact resolution has repeats to find; about 3 % of
  contacts have no customer reference and 8 % no reason;
- waits are skewed (most answers within 20 s, a long tail) and grow with the load of the hour;
  about 6 % of contacts are abandoned, a quarter of them within 5 s (short abandons);
- talk, hold and after-call work times are log-normal; 4 % of answered calls are transferred.

Rows are written in order of arrival with unique, zero-padded external ids (`C00000001`, …), so
the order of the ids is the order of the file.

Usage: python3 bench/generate.py --rows 200000 [--seed 2025] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Bump when the generated data changes, so cached files of an older generator are not reused.
GENERATOR_VERSION = 1
DEFAULT_SEED = 2025

COLUMNS = [
    "external_id", "queue", "agent", "customer", "reason", "arrived",
    "wait_s", "talk_s", "hold_s", "acw_s", "outcome",
]

# Queue name, share of the volume, median talk time in seconds, contact reasons.
QUEUES = [
    ("billing", 0.22, 210, ["invoice", "meter_reading", "tariff", "refund"]),
    ("technical", 0.20, 360, ["outage", "router", "speed", "installation"]),
    ("payments", 0.12, 180, ["direct_debit", "dunning", "refund"]),
    ("sales", 0.12, 300, ["new_contract", "upgrade", "offer"]),
    ("general", 0.10, 150, ["address", "password", "other"]),
    ("contracts", 0.10, 270, ["cancellation", "renewal", "tariff"]),
    ("moving", 0.08, 240, ["move_in", "move_out", "address"]),
    ("complaints", 0.06, 420, ["complaint", "compensation", "escalation"]),
]
AGENTS = 250
DAY_S = 86_400
QUARTERS = 96  # quarter hours in a day


def cache_path(data_dir: Path, rows: int, seed: int) -> Path:
    """Where the file for `rows` and `seed` is kept."""
    return data_dir / f"contacts-v{GENERATOR_VERSION}-n{rows}-s{seed}.csv"


def _intraday(weekend: bool):
    """Share of a day's calls per quarter hour: open 07:00-21:00 on weekdays with peaks at about
    10:30 and 14:30, 08:00-18:00 at weekends with one peak before noon."""
    import numpy as np

    h = (np.arange(QUARTERS) + 0.5) / 4.0  # middle of each quarter hour, in hours
    if weekend:
        w = np.exp(-0.5 * ((h - 11.5) / 2.2) ** 2) + 0.1
        w[(h < 8) | (h >= 18)] = 0
    else:
        w = (np.exp(-0.5 * ((h - 10.5) / 1.4) ** 2)
             + 0.8 * np.exp(-0.5 * ((h - 14.5) / 1.9) ** 2) + 0.12)
        w[(h < 7) | (h >= 21)] = 0
    return w / w.sum()


def _day_weights(days: int, weekday0: int):
    """Relative volume of each day of the year."""
    import numpy as np

    d = np.arange(days)
    weekday = (weekday0 + d) % 7  # 0 = Monday
    by_weekday = np.array([1.25, 1.10, 1.00, 1.00, 0.95, 0.45, 0.25])[weekday]
    season = 1 + 0.12 * np.cos(2 * np.pi * (d - 20) / days)  # busier winter
    season[:14] *= 1.3  # the annual bills go out in January
    for holiday in (0, 110, 120, 358, 359):  # 1 Jan, Easter Monday (21 Apr), 1 May, 25/26 Dec
        season[holiday] *= 0.15
    w = by_weekday * season
    return w / w.sum()


def _lognormal(rng, median, sigma, size):
    import numpy as np

    return rng.lognormal(np.log(median), sigma, size)


def generate(out: Path, rows: int, seed: int = DEFAULT_SEED, quiet: bool = False) -> Path:
    """Write `rows` contacts to `out` (via a temporary file, renamed at the end)."""
    import numpy as np
    import duckdb

    t0 = time.time()
    rng = np.random.default_rng(seed)
    start = int(np.datetime64("2025-01-01T00:00:00", "s").astype(np.int64))
    days = 365
    end = start + days * DAY_S
    weekday0 = 2  # 1 January 2025 is a Wednesday
    profiles = np.stack([_intraday(False), _intraday(True)])

    def time_of_day(day):
        """A second within `day` (array of day numbers), following its intraday profile."""
        weekend = ((weekday0 + day) % 7) >= 5
        q = np.where(weekend,
                     rng.choice(QUARTERS, day.size, p=profiles[1]),
                     rng.choice(QUARTERS, day.size, p=profiles[0]))
        return q * 900 + rng.integers(0, 900, day.size)

    # --- who calls, when, about what --------------------------------------------------------
    n_follow = int(rows * 0.12)
    n_base = rows - n_follow
    day = rng.choice(days, n_base, p=_day_weights(days, weekday0))
    t_base = start + day * DAY_S + time_of_day(day)

    n_customers = max(100, rows // 5)
    popularity = rng.lognormal(0.0, 1.0, n_customers)
    cust_base = rng.choice(n_customers, n_base, p=popularity / popularity.sum())
    # Customer references are scrambled numbers, not their rank.
    cust_label = rng.permutation(n_customers) + 1_000_000
    anonymous = rng.random(n_base) < 0.03

    q_share = np.array([q[1] for q in QUEUES])
    queue_base = rng.choice(len(QUEUES), n_base, p=q_share / q_share.sum())
    reasons = sorted({r for q in QUEUES for r in q[3]})
    reason_id = {r: i for i, r in enumerate(reasons)}

    def reason_for(queue):
        out = np.empty(queue.size, dtype=np.int16)
        for qi, q in enumerate(QUEUES):
            m = queue == qi
            ids = np.array([reason_id[r] for r in q[3]])
            # The first reason of a queue is the most common one.
            p = np.linspace(2, 1, len(ids))
            out[m] = ids[rng.choice(len(ids), m.sum(), p=p / p.sum())]
        return out

    reason_base = reason_for(queue_base)

    # Follow-ups: a customer coming back after an earlier contact.
    parent = rng.integers(0, n_base, n_follow)
    soon = rng.random(n_follow) < 0.35  # same day, minutes to hours later
    delay_soon = np.minimum(rng.exponential(5400, n_follow), 6 * 3600).astype(np.int64) + 60
    later_days = rng.choice(np.arange(1, 11), n_follow,
                            p=np.array([18, 14, 12, 10, 9, 8, 8, 7, 7, 7]) / 100)
    parent_day = (t_base[parent] - start) // DAY_S
    back = np.where(soon, t_base[parent] + delay_soon,
                    start + (parent_day + later_days) * DAY_S
                    + time_of_day(parent_day + later_days))
    # Past the end of the year: the contact came first and the "parent" is its follow-up.
    before = np.where(soon, t_base[parent] - delay_soon,
                      start + (parent_day - later_days) * DAY_S
                      + time_of_day(parent_day - later_days))
    t_follow = np.clip(np.where(back < end, back, before), start, end - 1)
    same_queue = rng.random(n_follow) < 0.85
    queue_follow = np.where(same_queue, queue_base[parent],
                            rng.choice(len(QUEUES), n_follow, p=q_share / q_share.sum()))
    same_reason = same_queue & (rng.random(n_follow) < 0.8)
    reason_follow = np.where(same_reason, reason_base[parent], reason_for(queue_follow))

    arrived = np.concatenate([t_base, t_follow])
    customer = np.concatenate([cust_base, cust_base[parent]])
    no_customer = np.concatenate([anonymous, anonymous[parent]])
    queue = np.concatenate([queue_base, queue_follow]).astype(np.int16)
    reason = np.concatenate([reason_base, reason_follow]).astype(np.int16)
    del t_base, t_follow, cust_base, queue_base, queue_follow, reason_base, reason_follow

    order = np.argsort(arrived, kind="stable")
    arrived, customer, no_customer = arrived[order], customer[order], no_customer[order]
    queue, reason = queue[order], reason[order]
    del order
    no_reason = rng.random(rows) < 0.08

    # --- what happened ----------------------------------------------------------------------
    # Load of the arrival's quarter hour relative to the mean: waits and abandons grow with it.
    slot = (arrived - start) // 900
    per_slot = np.bincount(slot, minlength=days * QUARTERS)
    load = per_slot[slot] / per_slot[per_slot > 0].mean()
    p_abandon = 0.06 * (0.5 + 0.5 * load) / np.mean(0.5 + 0.5 * load)
    abandoned = rng.random(rows) < np.clip(p_abandon, 0, 0.5)
    short = abandoned & (rng.random(rows) < 0.25)
    answered = ~abandoned
    transferred = answered & (rng.random(rows) < 0.04)

    # Answered: most quickly, some after a while, a few after a long time.
    kind = rng.random(rows)
    factor = load ** 0.4
    wait = np.where(kind < 0.78, rng.exponential(6.0, rows),
                    np.where(kind < 0.96, rng.exponential(30.0, rows),
                             _lognormal(rng, 120, 0.8, rows))) * factor
    # Abandoned: short ones within 5 s, the others after the caller's patience ran out.
    wait = np.where(abandoned, np.where(short, rng.integers(0, 5, rows),
                                        5 + _lognormal(rng, 45, 0.9, rows)), wait)
    wait = np.minimum(wait, 3600).astype(np.int64)

    talk_median = np.array([q[2] for q in QUEUES])[queue]
    talk = np.maximum(5, _lognormal(rng, 1.0, 0.65, rows) * talk_median).astype(np.int64)
    hold = np.where(rng.random(rows) < 0.35, _lognormal(rng, 40, 0.8, rows), 0).astype(np.int64)
    acw = _lognormal(rng, 25, 0.6, rows).astype(np.int64)

    # Agents: each has a home queue (in proportion to the queues' volume); 85 % of a queue's
    # calls go to its own agents, the rest overflow to anyone.
    home = np.repeat(np.arange(len(QUEUES)),
                     np.maximum(1, np.round(q_share / q_share.sum() * AGENTS)).astype(int))[:AGENTS]
    home = np.concatenate([home, np.zeros(AGENTS - home.size, dtype=home.dtype)])
    agent = rng.integers(0, AGENTS, rows)
    for qi in range(len(QUEUES)):
        mine = np.flatnonzero(home == qi)
        m = (queue == qi) & (rng.random(rows) < 0.85)
        agent[m] = mine[rng.integers(0, mine.size, m.sum())]

    outcome = np.where(abandoned, 2, np.where(transferred, 1, 0)).astype(np.int8)
    width = max(8, len(str(rows)))

    # Missing values are -1 and become empty fields.
    cols = {
        "i": np.arange(rows, dtype=np.int64),
        "arrived_us": arrived * 1_000_000,
        "q": queue,
        "ag": np.where(answered, agent, -1).astype(np.int32),
        "cu": np.where(no_customer, -1, cust_label[customer]).astype(np.int32),
        "re": np.where(no_reason, -1, reason).astype(np.int16),
        "w": wait,
        "t": np.where(answered, talk, -1),
        "h": np.where(answered, hold, -1),
        "a": np.where(answered, acw, -1),
        "o": outcome,
    }
    if not quiet:
        print(f"  drew {rows:,} contacts in {time.time() - t0:.1f} s; writing {out}", flush=True)

    def sql_list(names):
        return "[" + ", ".join(f"'{n}'" for n in names) + "]"

    def opt(col, expr):
        return f"CASE WHEN {col} >= 0 THEN {expr} END"

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")
    gen = cols  # noqa: F841 - DuckDB scans this dict of numpy arrays by its name ("gen")
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        COPY (
            SELECT 'C' || lpad((i + 1)::VARCHAR, {width}, '0') AS external_id,
                   {sql_list(q[0] for q in QUEUES)}[q + 1] AS queue,
                   {opt('ag', "'agent' || lpad((ag + 1)::VARCHAR, 3, '0')")} AS agent,
                   {opt('cu', "'K' || cu::VARCHAR")} AS customer,
                   {opt('re', sql_list(reasons) + '[re + 1]')} AS reason,
                   strftime(make_timestamp(arrived_us), '%Y-%m-%d %H:%M:%S') AS arrived,
                   w AS wait_s,
                   {opt('t', 't')} AS talk_s,
                   {opt('h', 'h')} AS hold_s,
                   {opt('a', 'a')} AS acw_s,
                   ['handled', 'transferred', 'abandoned'][o + 1] AS outcome
            FROM gen
        ) TO '{tmp}' (FORMAT csv, HEADER true)
    """)
    con.close()
    os.replace(tmp, out)
    if not quiet:
        size = out.stat().st_size
        print(f"  wrote {size / 1e6:,.0f} MB ({size / rows:.0f} bytes a row) "
              f"in {time.time() - t0:.1f} s", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, help="default: bench/data/contacts-v*-n<rows>-s<seed>.csv")
    args = ap.parse_args()
    if args.rows < 1000:
        ap.error("--rows: at least 1000")
    out = args.out or cache_path(Path(__file__).resolve().parent / "data", args.rows, args.seed)
    try:
        generate(out, args.rows, args.seed)
    except ImportError as e:
        print(f"generate.py needs numpy and duckdb ({e}); run bench/run.py, which installs them "
              "into bench/.venv, or: pip install numpy duckdb", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
