"""The three dashboard queries of the benchmark: as Kalibra API calls, as the same figures in SQL
on the raw contacts (the DuckDB anchor), and the check that both give the same figures.

The SQL follows docs/kpis.md with the default settings (T = 20 s, S = 5 s, service level over
offered, FCR window 7 days):

- answered = handled + transferred; abandoned = abandoned after a wait of at least 5 s;
  short abandon = abandoned after less than 5 s (only counted); offered = answered + abandoned;
- service level = answered within 20 s (inclusive) / offered;
- ASA = waits of answered / answered; AHT = (talk + hold + ACW) of answered / answered;
  abandon rate = abandoned / offered; longest wait over answered and abandoned;
- FCR = answered contacts with a customer that no later contact of the same customer follows
  within 7 × 24 h (inclusive) about the same matter (same reason when both have one; any contact
  when either has none), over answered contacts with a customer. "Later" orders by arrival, then
  by position in the file, which for the generated data is the order of the external ids.
"""

from __future__ import annotations

import math

# Settings of docs/kpis.md, defaults.
T_S = 20
SHORT_S = 5
FCR_DAYS = 7

# DuckDB bucket labels, as Kalibra labels its buckets (docs/kpis.md, "Time buckets").
LABELS = {
    "day": "strftime(arrived, '%Y-%m-%d')",
    "week": "strftime(date_trunc('week', arrived), '%Y-%m-%d')",  # the ISO Monday
    "month": "strftime(arrived, '%Y-%m')",
    "queue": "queue",
    "agent": "agent",
}

# Columns of the CSV (bench/generate.py) with their SQL types, for the anchors' tables.
SQL_COLUMNS = [
    ("external_id", "VARCHAR"), ("queue", "VARCHAR"), ("agent", "VARCHAR"),
    ("customer", "VARCHAR"), ("reason", "VARCHAR"), ("arrived", "TIMESTAMP"),
    ("wait_s", "INTEGER"), ("talk_s", "INTEGER"), ("hold_s", "INTEGER"),
    ("acw_s", "INTEGER"), ("outcome", "VARCHAR"),
]

SQLITE_SCHEMA = (
    "CREATE TABLE contacts (external_id TEXT, queue TEXT, agent TEXT, customer TEXT, "
    "reason TEXT, arrived TEXT, wait_s INTEGER, talk_s INTEGER, hold_s INTEGER, "
    "acw_s INTEGER, outcome TEXT);"
)


def duckdb_load_sql(csv_path: str) -> str:
    cols = ", ".join(f"'{n}': '{t}'" for n, t in SQL_COLUMNS)
    return (f"CREATE TABLE contacts AS SELECT * FROM read_csv('{csv_path}', header = true, "
            f"columns = {{{cols}}})")


# The contacts of the period with the groups of docs/kpis.md.
_BASE = """
WITH c AS (
    SELECT coalesce(queue, '') AS queue, coalesce(agent, '') AS agent, arrived, wait_s,
           coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0) AS handle_s,
           outcome IN ('handled', 'transferred') AS ans,
           outcome = 'abandoned' AND wait_s >= {short} AS ab,
           outcome = 'abandoned' AND wait_s < {short} AS sab,
           outcome = 'transferred' AS xfer
    FROM contacts
    WHERE arrived >= TIMESTAMP '{start}' AND arrived < TIMESTAMP '{end}'
)"""

_SERVICE = """
SELECT {keys},
       count(*) FILTER (ans OR ab) AS offered,
       count(*) FILTER (ans) AS handled,
       count(*) FILTER (ab) AS abandoned,
       count(*) FILTER (sab) AS short_abandoned,
       count(*) FILTER (ans AND wait_s <= {t}) AS within_t,
       count(*) FILTER (ans AND wait_s <= {t}) / nullif(count(*) FILTER (ans OR ab), 0)
           AS service_level{extra}
FROM c
GROUP BY ALL
ORDER BY ALL"""

_SERVICE_EXTRA = """,
       coalesce(sum(wait_s) FILTER (ans), 0) AS wait_sum,
       coalesce(sum(handle_s) FILTER (ans), 0) AS handle_sum,
       count(*) FILTER (xfer) AS transfers,
       max(wait_s) FILTER (ans OR ab) AS longest_wait_s,
       sum(wait_s) FILTER (ans) / nullif(count(*) FILTER (ans), 0) AS asa_s,
       sum(handle_s) FILTER (ans) / nullif(count(*) FILTER (ans), 0) AS aht_s,
       count(*) FILTER (ab) / nullif(count(*) FILTER (ans OR ab), 0) AS abandon_rate"""

# FCR needs every contact of a customer, also outside the period and whatever its outcome.
_FCR = """
WITH k AS (
    SELECT external_id, arrived, outcome,
           nullif(trim(customer), '') AS cust, nullif(trim(reason), '') AS rsn
    FROM contacts
), w AS (
    SELECT arrived, outcome, rsn,
           -- the next contact of the customer
           lead(arrived) OVER (PARTITION BY cust ORDER BY arrived, external_id) AS next_any,
           -- the next one without a reason
           min(CASE WHEN rsn IS NULL THEN arrived END) OVER (
               PARTITION BY cust ORDER BY arrived, external_id
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_unreasoned,
           -- the next one with the same reason
           lead(arrived) OVER (PARTITION BY cust, rsn ORDER BY arrived, external_id) AS next_same
    FROM k
    WHERE cust IS NOT NULL
), f AS (
    SELECT arrived,
           CASE WHEN rsn IS NULL THEN coalesce(next_any <= arrived + INTERVAL {days} DAY, false)
                ELSE coalesce(next_unreasoned <= arrived + INTERVAL {days} DAY, false)
                     OR coalesce(next_same <= arrived + INTERVAL {days} DAY, false)
           END AS repeat
    FROM w
    WHERE outcome IN ('handled', 'transferred')
      AND arrived >= TIMESTAMP '{start}' AND arrived < TIMESTAMP '{end}'
)
SELECT {keys},
       count(*) AS fcr_contacts,
       count(*) FILTER (NOT repeat) AS fcr_resolved,
       count(*) FILTER (NOT repeat) / count(*) AS fcr
FROM f
GROUP BY ALL
ORDER BY ALL"""


class Query:
    """One dashboard query: its API parameters, its SQL and the figures compared."""

    def __init__(self, name, title, by, sql_template, fields):
        self.name, self.title, self.by = name, title, by
        self.dims = by.split(",")
        self.sql_template = sql_template
        self.fields = fields

    def params(self, start: str, end: str) -> str:
        return f"from={start}&to={end}&by={self.by}"

    def sql(self, start: str, end_exclusive: str) -> str:
        keys = ", ".join(f"{LABELS[d]} AS {d}" for d in self.dims)
        return self.sql_template.format(keys=keys, start=start, end=end_exclusive, t=T_S,
                                        short=SHORT_S, days=FCR_DAYS, extra=_SERVICE_EXTRA)


def single(q: Query, dim: str) -> Query:
    """The same figures grouped by one of the query's dimensions alone."""
    return Query(f"{q.name}-{dim}", f"{q.title} (by {dim} alone)", dim, q.sql_template, q.fields)


QUERIES = [
    Query("sl_day_queue", "service level by day × queue", "day,queue",
          _BASE + _SERVICE.replace("{extra}", ""),
          ["offered", "handled", "abandoned", "short_abandoned", "service_level"]),
    Query("kpis_agent_week", "KPIs by agent × week", "agent,week",
          _BASE + _SERVICE,
          ["offered", "handled", "abandoned", "short_abandoned", "service_level", "asa_s",
           "aht_s", "abandon_rate", "transfers", "longest_wait_s"]),
    Query("fcr_month", "FCR by month", "month", _FCR, ["fcr"]),
]


# --- comparing Kalibra's answer with DuckDB's ------------------------------------------------

def _ratio(a, b):
    return a / b if b else None


def duckdb_groups(q: Query, names, rows):
    """{key tuple: {field: value}} from a DuckDB result, and the totals line derived from the
    groups' counts and sums the way Kalibra adds up its totals."""
    groups = {}
    for r in rows:
        d = dict(zip(names, r))
        groups[tuple(str(d[k]) for k in q.dims)] = d
    ds = list(groups.values())
    total = {}

    def s(f):
        return sum(d[f] or 0 for d in ds)

    if q.name == "fcr_month":
        total["fcr"] = _ratio(s("fcr_resolved"), s("fcr_contacts"))
    else:
        for f in ("offered", "handled", "abandoned", "short_abandoned"):
            total[f] = s(f)
        total["service_level"] = _ratio(s("within_t"), s("offered"))
        if "wait_sum" in names:
            total["asa_s"] = _ratio(s("wait_sum"), s("handled"))
            total["aht_s"] = _ratio(s("handle_sum"), s("handled"))
            total["abandon_rate"] = _ratio(s("abandoned"), s("offered"))
            total["transfers"] = s("transfers")
            total["longest_wait_s"] = max((d["longest_wait_s"] or 0 for d in ds), default=0)
    return groups, total


def kalibra_key(row: dict, dims, known: set):
    """The group of a Kalibra result line as a tuple in the order of `dims`: the API gives the
    first dimension's label as `group` and the second's as `subgroup`."""
    key = (str(row["group"]),)
    if len(dims) > 1:
        key += ("" if row.get("subgroup") is None else str(row["subgroup"]),)
    return key


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def compare(q: Query, names, duck_rows, kalibra_json, max_report=5):
    """Differences between DuckDB's figures and Kalibra's answer, as readable lines (empty when
    every group and the totals agree)."""
    groups, total = duckdb_groups(q, names, duck_rows)
    known = set(groups)
    diffs = []
    rows = kalibra_json.get("rows", [])
    seen = set()
    for r in rows:
        key = kalibra_key(r, q.dims, known)
        d = groups.get(key)
        if d is None:
            # A group without contacts that count may be left out by either side.
            if all(not r.get(f) for f in ("offered", "handled", "short_abandoned")):
                continue
            diffs.append(f"group {key} only in Kalibra")
            continue
        seen.add(key)
        for f in q.fields:
            if not _same(d.get(f), r.get(f)):
                diffs.append(f"group {key}: {f} DuckDB {d.get(f)!r}, Kalibra {r.get(f)!r}")
    for key in known - seen:
        diffs.append(f"group {key} only in DuckDB")
    kt = kalibra_json.get("total", {})
    for f, v in total.items():
        if not _same(v, kt.get(f)):
            diffs.append(f"total: {f} DuckDB {v!r}, Kalibra {kt.get(f)!r}")
    if len(diffs) > max_report:
        diffs = diffs[:max_report] + [f"… and {len(diffs) - max_report} more differences"]
    return diffs, len(known), len(rows)
