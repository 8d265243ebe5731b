#!/usr/bin/env python3
"""Kalibra benchmark: contact import and dashboard queries, measured against anchors in one run.

    python3 bench/run.py                    # 10 million contacts, SQLite and PostgreSQL
    python3 bench/run.py --rows 200000      # a quick run
    python3 bench/run.py --skip-postgres

Steps (see docs/benchmarks.md):

1. generate N phone contacts of 2025 in Kalibra's generic CSV format (bench/generate.py),
   cached in bench/data/ by N and seed;
2. import the file with the anchors: the sqlite3 shell's `.import` into a plain typed table, and
   DuckDB's `read_csv` into a table, each into a fresh database file;
3. time three dashboard queries in DuckDB on the raw table: the reference figures and times;
4. import it with `kalibra import contacts` into a fresh SQLite file, then time the same queries
   through Kalibra's HTTP API and check that the figures are the same; then the same with a
   fresh PostgreSQL database (wall time, rows/s, peak memory of each import);
5. print a Markdown table and write it to bench/results/latest.md (and the raw numbers to
   bench/results/latest.json).

numpy and duckdb are taken from the running Python when it has them; otherwise they are
installed into bench/.venv (created when missing) and the script runs itself again from there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv"
DATA = BENCH / "data"
RESULTS = BENCH / "results"

PERIOD = ("2025-01-01", "2025-12-31")  # the generated year, both days included
PERIOD_END_EXCLUSIVE = "2026-01-01"
PROGRAM = "BENCH"
ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "benchmark-password-2025"
PG_DATABASE = "kalibra_bench"

# Goals, from docs/benchmarks.md.
GOAL_SQLITE_ROWS_S = 250_000
GOAL_SQLITE_VS_SQLITE3 = 2.0
GOAL_PG_ROWS_S = 150_000
GOAL_PEAK_MB = 200
GOAL_QUERY_P95_MS = 30


class BenchError(Exception):
    """A problem that stops the run, with a message that says what to do."""


def say(msg: str = "") -> None:
    print(msg, flush=True)


# --- Python packages ---------------------------------------------------------------------------

def ensure_packages() -> None:
    """Make numpy and duckdb importable: use them when present, else install them into
    bench/.venv (or, when no venv can be made, the user site) and run this script again."""
    try:
        import duckdb  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("KALIBRA_BENCH_REEXEC"):
        raise BenchError(f"numpy and duckdb are still missing for {sys.executable}; "
                         f"remove {VENV} and run again, or: pip install numpy duckdb")
    python = VENV / "bin" / "python"
    if not python.exists():
        say(f"creating {VENV.relative_to(ROOT)} for numpy and duckdb …")
        if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            say("  no venv (is python3-venv installed?); installing into the user site instead")
            pip = [sys.executable, "-m", "pip", "install", "--user", "numpy", "duckdb"]
            if subprocess.run(pip).returncode != 0:
                raise BenchError("could not install numpy and duckdb: "
                                 "apt-get install python3-venv, or pip install numpy duckdb")
            python = Path(sys.executable)
    if python.parent.parent == VENV:
        has = subprocess.run([str(python), "-c", "import numpy, duckdb"],
                             capture_output=True).returncode == 0
        if not has:
            say("installing numpy and duckdb into bench/.venv …")
            pip = [str(python), "-m", "pip", "install", "--quiet", "numpy", "duckdb"]
            if subprocess.run(pip).returncode != 0:
                raise BenchError("pip could not install numpy and duckdb into bench/.venv")
    env = dict(os.environ, KALIBRA_BENCH_REEXEC="1")
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# --- small helpers -----------------------------------------------------------------------------

def need_tool(path_or_name: str, what: str, hint: str) -> str:
    found = shutil.which(path_or_name)
    if not found:
        raise BenchError(f"{what} not found ({path_or_name}); {hint}")
    return found


def run(cmd, *, input=None, cwd=None, check=True, what=None) -> subprocess.CompletedProcess:
    """Run a command, capturing its output; on failure say which command and what it printed."""
    p = subprocess.run([str(c) for c in cmd], input=input, capture_output=True, text=True,
                       cwd=cwd)
    if check and p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip())[-2000:]
        raise BenchError(f"{what or cmd[0]} failed (exit {p.returncode}):\n"
                         f"  $ {' '.join(map(str, cmd))}\n{tail}")
    return p


def timed(cmd, workdir: Path, label: str, *, input=None):
    """Run `cmd` under GNU time: (seconds of wall time, peak RSS in MB, completed process)."""
    stats, output = workdir / f"{label}.time.txt", workdir / f"{label}.out.txt"
    t0 = time.perf_counter()
    p = run(["/usr/bin/time", "-v", "-o", stats, *cmd], input=input, cwd=workdir, check=False)
    seconds = time.perf_counter() - t0
    output.write_text(p.stdout + p.stderr)
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip())[-1500:]
        raise BenchError(f"{label} failed (exit {p.returncode}); its output is in {output}:\n"
                         f"  $ {' '.join(map(str, cmd))}\n{tail}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats.read_text())
    rss_mb = int(m.group(1)) / 1024 if m else None
    return seconds, rss_mb, p


def percentile(samples, q):
    """Nearest-rank percentile."""
    s = sorted(samples)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def summary_ms(samples):
    return {"median_ms": statistics.median(samples) * 1000,
            "p95_ms": percentile(samples, 0.95) * 1000, "runs": len(samples)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def remove_db(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal"),
              Path(f"{path}.wal")):
        p.unlink(missing_ok=True)


def human(n: float) -> str:
    return f"{n:,.0f}"


# --- anchors -----------------------------------------------------------------------------------

def import_sqlite3(csv: Path, work: Path, rows: int, Q) -> dict:
    """The sqlite3 shell's .import into a plain typed table in a fresh file."""
    sqlite3 = need_tool("/usr/bin/sqlite3", "the sqlite3 shell", "apt-get install sqlite3")
    db = work / "anchor-sqlite3.db"
    remove_db(db)
    script = f"{Q.SQLITE_SCHEMA}\n.mode csv\n.import --skip 1 '{csv}' contacts\n"
    seconds, rss, _ = timed([sqlite3, db], work, "sqlite3-import", input=script)
    count = int(run([sqlite3, db, "SELECT count(*) FROM contacts"]).stdout.strip())
    if count != rows:
        raise BenchError(f"sqlite3 .import stored {count} rows, not {rows}")
    return {"name": "sqlite3 `.import`", "seconds": seconds, "rows": count, "rss_mb": rss}


DUCKDB_LOAD = """
import sys, time, duckdb
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[3])
import queries
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
t0 = time.perf_counter()
con.execute(queries.duckdb_load_sql(sys.argv[1]))
seconds = time.perf_counter() - t0
print(con.execute("SELECT count(*) FROM contacts").fetchone()[0], seconds)
"""


def import_duckdb(csv: Path, work: Path, rows: int) -> dict:
    """DuckDB's read_csv into a table in a fresh database file, in its own process so that its
    peak memory can be measured (the Python interpreter is part of it, about 40 MB)."""
    db = work / "anchor.duckdb"
    remove_db(db)
    _, rss, p = timed([sys.executable, "-c", DUCKDB_LOAD, csv, db, BENCH], work, "duckdb-import")
    count, seconds = p.stdout.split()
    if int(count) != rows:
        raise BenchError(f"DuckDB loaded {count} rows, not {rows}")
    return {"name": "DuckDB `read_csv`", "seconds": float(seconds), "rows": int(count),
            "rss_mb": rss}


class DuckAnchor:
    """DuckDB on the raw table loaded by the import anchor: the reference figures and times."""

    def __init__(self, work: Path):
        self.db = work / "anchor.duckdb"
        if not self.db.exists():
            raise BenchError(f"{self.db} is missing: run once without --queries-only, with --keep")
        self.con = None
        self.open()
        self.results = {}

    def open(self):
        import duckdb

        if self.con is None:
            self.con = duckdb.connect(str(self.db), read_only=True)
            self.con.execute("SET enable_progress_bar = false")

    def result(self, q):
        """(column names, rows) of a query, computed once (opening the database again when it
        was closed)."""
        if q.name not in self.results:
            self.open()
            cur = self.con.execute(q.sql(PERIOD[0], PERIOD_END_EXCLUSIVE))
            rows = cur.fetchall()
            self.results[q.name] = ([d[0] for d in cur.description], rows)
        return self.results[q.name]

    def time(self, Q, warmups: int, runs: int) -> dict:
        """Time the queries; keep each one's last result as the reference."""
        out = {}
        for q in Q.QUERIES:
            sql = q.sql(PERIOD[0], PERIOD_END_EXCLUSIVE)
            samples = []
            for i in range(warmups + runs):
                t0 = time.perf_counter()
                cur = self.con.execute(sql)
                rows = cur.fetchall()
                elapsed = time.perf_counter() - t0
                if i >= warmups:
                    samples.append(elapsed)
            self.results[q.name] = ([d[0] for d in cur.description], rows)
            out[q.name] = {**summary_ms(samples), "groups": len(rows)}
            say(f"  DuckDB {q.title}: {len(rows)} groups, median "
                f"{out[q.name]['median_ms']:.1f} ms, p95 {out[q.name]['p95_ms']:.1f} ms")
        return out

    def close(self):
        """Close the database (a second call does nothing); the figures read stay."""
        if self.con is not None:
            self.con.close()
            self.con = None


# --- Kalibra -----------------------------------------------------------------------------------

class Kalibra:
    """The kalibra binary against one database."""

    def __init__(self, binary: Path, url: str, work: Path, label: str):
        self.binary, self.url, self.work, self.label = binary, url, work, label

    def cmd(self, *args):
        return [self.binary, "--database-url", self.url, *args]

    def run(self, *args, input=None, check=True):
        return run(self.cmd(*args), input=input, cwd=self.work, check=check,
                   what=f"kalibra {' '.join(args[:2])} ({self.label})")

    def setup(self) -> None:
        """Migrate a fresh database and create the program (UTC, so days match the anchors)."""
        self.run("migrate")
        self.run("program", "create", "--code", PROGRAM, "--name", "Benchmark",
                 "--timezone", "UTC")

    def import_contacts(self, csv: Path, rows: int, name: str) -> dict:
        seconds, rss, p = timed(
            self.cmd("import", "contacts", "--program", PROGRAM, "--json",
                     "--rejects", self.work / f"{self.label}-rejects.csv", csv),
            self.work, f"kalibra-{self.label}-import")
        summary = parse_json_object(p.stdout)
        if summary is None:
            raise BenchError(f"kalibra import ({self.label}) printed no JSON summary; see "
                             f"{self.work / f'kalibra-{self.label}-import.out.txt'}")
        if summary.get("accepted") != rows or summary.get("rejected"):
            raise BenchError(f"kalibra import ({self.label}) did not accept every row: "
                             f"{json.dumps(summary)[:1500]}")
        return {"name": name, "seconds": seconds, "rows": summary["accepted"], "rss_mb": rss}

    def token(self) -> str:
        """An API token of an administrator (created on the first call for this database)."""
        p = self.run("user", "create", "--email", ADMIN_EMAIL, "--name", "Benchmark",
                     "--role", "admin", input=ADMIN_PASSWORD + "\n", check=False)
        if p.returncode != 0 and not re.search(r"exist|conflict|duplicate|already|taken",
                                               p.stdout + p.stderr, re.I):
            raise BenchError(f"kalibra user create ({self.label}) failed:\n{p.stderr.strip()}")
        p = self.run("token", "create", "--email", ADMIN_EMAIL, "--expires-days", "1",
                     "--name", "benchmark")
        m = re.search(r"\bkal_[A-Za-z0-9_\-]+", p.stdout)
        if not m:
            raise BenchError(f"kalibra token create ({self.label}) printed no token")
        return m.group(0)


def parse_json_object(text: str):
    """The JSON object in a command's output (log lines may come before it)."""
    start = text.find("\n{")
    start = 0 if text.startswith("{") else (start + 1 if start >= 0 else -1)
    if start < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except json.JSONDecodeError:
        return None


class Server:
    """`kalibra serve` on a free local port, for the duration of a `with` block."""

    def __init__(self, k: Kalibra):
        self.k, self.port = k, free_port()
        self.log = k.work / f"kalibra-{k.label}-serve.log"
        self.proc = None
        self.peak_rss_mb = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(c) for c in self.k.cmd("serve", "--bind", f"127.0.0.1:{self.port}")],
            cwd=self.k.work, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 600  # a first start may build rollups
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"kalibra serve ({self.k.label}) stopped "
                                 f"(exit {self.proc.returncode}); see {self.log}")
            try:
                status, _ = self.get("/readyz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"kalibra serve ({self.k.label}) not ready after 10 minutes; "
                         f"see {self.log}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            try:
                status = Path(f"/proc/{self.proc.pid}/status").read_text()
                m = re.search(r"VmHWM:\s+(\d+) kB", status)
                self.peak_rss_mb = int(m.group(1)) / 1024 if m else None
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def get(self, path, token=None, conn=None):
        own = conn is None
        conn = conn or self.connect()
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            if own:
                conn.close()


def program_id(server: Server, token: str) -> int:
    status, body = server.get("/api/v1/programs", token)
    if status != 200:
        raise BenchError(f"GET /api/v1/programs answered {status}: {body[:300]!r}")
    data = json.loads(body)
    items = data if isinstance(data, list) else next(
        (v for v in data.values() if isinstance(v, list)), [])
    for p in items:
        if p.get("code") == PROGRAM:
            return p["id"]
    raise BenchError(f"program {PROGRAM} not found through the API")


def kalibra_queries(k: Kalibra, Q, duck: DuckAnchor, warmups: int, runs: int,
                    budget: float) -> dict:
    """Time the three queries through the HTTP API and compare the figures with DuckDB's.

    A query stops being timed after `budget` seconds once it has at least 5 timed calls. A query
    the API refuses is reported as such; its figures are then still checked grouped by
    each of its dimensions alone (when the API answers those)."""
    token = k.token()
    out = {}
    with Server(k) as server:
        pid = program_id(server, token)
        conn = server.connect()

        def call(q):
            return server.get(f"/api/v1/programs/{pid}/kpis?{q.params(*PERIOD)}", token, conn)

        for q in Q.QUERIES:
            samples, status, body = [], None, b""
            started, done_warming = time.perf_counter(), 0
            while len(samples) < runs:
                t0 = time.perf_counter()
                status, body = call(q)
                elapsed = time.perf_counter() - t0
                if status != 200:
                    break
                over = t0 + elapsed - started > budget
                if done_warming < warmups and not (over and done_warming >= 1):
                    done_warming += 1
                    continue
                samples.append(elapsed)
                # A slow query stops early, after at least 5 timed calls; the table shows how many.
                if over and len(samples) >= min(5, runs):
                    break
            if status != 200:
                try:
                    message = json.loads(body).get("message", "")
                except (ValueError, AttributeError):
                    message = body[:200].decode(errors="replace")
                r = out[q.name] = {"error": f"HTTP {status}", "message": message,
                                   "checks": [], "diffs": []}
                say(f"  Kalibra {k.label} {q.title}: refused, HTTP {status}: {message}")
                if len(q.dims) > 1:
                    for d in q.dims:
                        sq = Q.single(q, d)
                        st, b = call(sq)
                        if st != 200:
                            r["checks"].append(f"by {d}: HTTP {st}")
                            continue
                        names, rows = duck.result(sq)
                        diffs, _, _ = Q.compare(sq, names, rows, json.loads(b))
                        r["checks"].append(f"by {d}: " + (
                            "match" if not diffs else f"{len(diffs)} differences"))
                        r["diffs"] += [f"by {d}: {x}" for x in diffs]
                    say(f"    figures checked by each dimension alone: {', '.join(r['checks'])}")
                    for line in r["diffs"]:
                        say(f"    {line}")
                continue
            names, rows = duck.result(q)
            diffs, n_duck, n_kal = Q.compare(q, names, rows, json.loads(body))
            out[q.name] = {**summary_ms(samples), "groups": n_kal, "diffs": diffs}
            verdict = "figures match" if not diffs else "figures differ"
            say(f"  Kalibra {k.label} {q.title}: {n_kal} groups (DuckDB {n_duck}), median "
                f"{out[q.name]['median_ms']:.1f} ms, p95 {out[q.name]['p95_ms']:.1f} ms; {verdict}")
            for line in diffs:
                say(f"    {line}")
        conn.close()
    out["server_peak_rss_mb"] = server.peak_rss_mb
    return out


# --- PostgreSQL --------------------------------------------------------------------------------

def pg_admin(pg_url: str, sql: str) -> None:
    psql = need_tool("psql", "psql", "apt-get install postgresql-client, or use --skip-postgres")
    run([psql, f"{pg_url}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        what=f"psql ({sql})")


def pg_exists(pg_url: str) -> bool:
    psql = need_tool("psql", "psql", "apt-get install postgresql-client, or use --skip-postgres")
    p = run([psql, f"{pg_url}/postgres", "-Atc",
             f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"], what="psql")
    return p.stdout.strip() == "1"


# --- report ------------------------------------------------------------------------------------

def fmt_ms(r, runs=None):
    if not r or "error" in r:
        return "refused" if r else "–"
    few = f" ({r['runs']} calls)" if runs and r["runs"] < runs else ""
    return f"{r['median_ms']:.1f} / {r['p95_ms']:.1f}{few}"


def report(meta: dict, imports: list, queries: dict, Q) -> str:
    lines = [f"# Kalibra benchmark: {meta['rows']:,} contacts",
             "",
             f"{meta['date']} · {meta['machine']} · Kalibra {meta['kalibra']} · "
             f"DuckDB {meta['duckdb']} · sqlite3 {meta['sqlite3']}"
             + (f" · {meta['postgres']}" if meta.get("postgres") else ""),
             "",
             f"Data: `{meta['csv']}` ({meta['csv_mb']:,.0f} MB, seed {meta['seed']}).",
             ""]
    if imports:
        base = {i["key"]: i for i in imports}
        lines += ["## Import", "",
                  "| importer | seconds | rows/s | peak RSS | time ÷ sqlite3 `.import` "
                  "| time ÷ DuckDB |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for i in imports:
            def ratio(key):
                b = base.get(key)
                return f"{i['seconds'] / b['seconds']:.2f}×" if b else "–"
            rss = f"{i['rss_mb']:,.0f} MB" if i.get("rss_mb") else "–"
            lines.append(f"| {i['name']} | {i['seconds']:.1f} | {human(i['rows'] / i['seconds'])} "
                         f"| {rss} | {ratio('sqlite3')} | {ratio('duckdb')} |")
        lines.append("")
    if queries:
        duck = queries.get("duckdb", {})
        cols = [("Kalibra SQLite", queries.get("sqlite")), ("Kalibra PostgreSQL",
                                                            queries.get("postgres"))]
        cols = [(n, r) for n, r in cols if r is not None]
        lines += ["## Dashboard queries (median / p95 ms)", "",
                  f"Period {PERIOD[0]} to {PERIOD[1]}; Kalibra through "
                  f"`GET /api/v1/programs/{{id}}/kpis` ({meta['http_runs']} timed calls after "
                  f"{meta['http_warmups']} warm-ups), DuckDB on the raw table "
                  f"({meta['duckdb_runs']} timed runs after {meta['duckdb_warmups']} warm-up).",
                  "",
                  "| query | `by` | " + " | ".join(n for n, _ in cols)
                  + " | DuckDB | " + " | ".join(f"{n.split()[-1]} ÷ DuckDB (median)"
                                                for n, _ in cols) + " | figures |",
                  "| --- | --- |" + " ---: |" * (2 * len(cols) + 1) + " --- |"]
        notes = []
        for q in Q.QUERIES:
            d = duck.get(q.name)
            row = [q.title, f"`{q.by}`"]
            row += [fmt_ms(r.get(q.name), meta["http_runs"]) for _, r in cols] + [fmt_ms(d)]
            for _, r in cols:
                x = r.get(q.name)
                row.append(f"{x['median_ms'] / d['median_ms']:.2f}×"
                           if x and "error" not in x and d else "–")
            verdicts, short = [], len(cols) > 1
            for n, r in cols:
                x = r.get(q.name) or {}
                who = f"{n.split()[-1]}: " if short else ""
                if "error" in x:
                    checked = f"; {', '.join(x['checks'])}" if x.get("checks") else ""
                    verdicts.append(f"{who}refused ({x['error']}){checked}")
                    notes.append(f"- `by={q.by}` on {n}: {x['error']}: {x['message']}")
                elif x:
                    verdicts.append(who + ("match" if not x["diffs"]
                                           else f"**{len(x['diffs'])} differences**"))
            row.append("; ".join(verdicts))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        if notes:
            lines += ["Refused by the API (figures then checked grouped by each dimension "
                      "alone):", "", *notes, ""]
        for n, r in cols:
            if r.get("server_peak_rss_mb"):
                lines.append(f"{n} server peak RSS after the queries: "
                             f"{r['server_peak_rss_mb']:,.0f} MB.  ")
        lines.append("")
    lines += goals(imports, queries, Q)
    return "\n".join(lines) + "\n"


def goals(imports, queries, Q):
    """The goals of docs/benchmarks.md, each met or missed."""
    by = {i["key"]: i for i in imports}
    out = []

    def goal(text, ok):
        out.append(f"- {'met' if ok else '**missed**'}: {text}")

    if "kalibra-sqlite" in by:
        s = by["kalibra-sqlite"]
        rate = s["rows"] / s["seconds"]
        goal(f"SQLite import ≥ {human(GOAL_SQLITE_ROWS_S)} rows/s ({human(rate)})",
             rate >= GOAL_SQLITE_ROWS_S)
        if "sqlite3" in by:
            r = s["seconds"] / by["sqlite3"]["seconds"]
            goal(f"SQLite import within {GOAL_SQLITE_VS_SQLITE3:.0f}× of sqlite3 `.import` "
                 f"({r:.2f}×)", r <= GOAL_SQLITE_VS_SQLITE3)
    if "kalibra-postgres" in by:
        p = by["kalibra-postgres"]
        rate = p["rows"] / p["seconds"]
        goal(f"PostgreSQL import ≥ {human(GOAL_PG_ROWS_S)} rows/s ({human(rate)})",
             rate >= GOAL_PG_ROWS_S)
    for key in ("kalibra-sqlite", "kalibra-postgres"):
        if key in by and by[key].get("rss_mb"):
            goal(f"{by[key]['name']} peak memory < {GOAL_PEAK_MB} MB "
                 f"({by[key]['rss_mb']:,.0f} MB)", by[key]["rss_mb"] < GOAL_PEAK_MB)
    s = queries.get("sqlite") or {}
    for q in Q.QUERIES:
        x = s.get(q.name)
        if x is None:
            continue
        if "error" in x:
            goal(f"{q.title} on SQLite: {x['error']}", False)
            continue
        goal(f"{q.title} on SQLite < {GOAL_QUERY_P95_MS} ms p95 ({x['p95_ms']:.1f} ms)",
             x["p95_ms"] < GOAL_QUERY_P95_MS)
    diffs = [(k, q.title) for k in ("sqlite", "postgres") for q in Q.QUERIES
             if (queries.get(k) or {}).get(q.name, {}).get("diffs")]
    compared = [1 for k in ("sqlite", "postgres") for q in Q.QUERIES
                if "groups" in (queries.get(k) or {}).get(q.name, {})
                or (queries.get(k) or {}).get(q.name, {}).get("checks")]
    if compared:
        goal("same figures as DuckDB" + (": differences in " + ", ".join(
            f"{t} ({k})" for k, t in diffs) if diffs else ""), not diffs)
    return (["## Goals", ""] + out + [""]) if out else []


def versions(binary: Path, Q) -> dict:
    import duckdb

    def first_line(cmd):
        try:
            return run(cmd, check=False).stdout.strip().splitlines()[0]
        except (IndexError, OSError):
            return "?"

    kal = first_line([binary, "--version"])
    try:
        git = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
        dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "migrations",
                     "Cargo.toml"], check=False).stdout.strip()
        git += " with uncommitted changes" if git and dirty else ""
    except OSError:
        git = ""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} "
                   f"{platform.release()}",
        "kalibra": (kal.split()[-1] if kal != "?" else "?") + (f" ({git})" if git else ""),
        "duckdb": duckdb.__version__,
        "sqlite3": first_line(["/usr/bin/sqlite3", "--version"]).split()[0]
        if Path("/usr/bin/sqlite3").exists() else "?",
    }


# --- main --------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(
        description="Measure Kalibra's contact import and dashboard queries against sqlite3 "
                    "and DuckDB on the same generated data (see docs/benchmarks.md).")
    ap.add_argument("--rows", type=int, default=10_000_000, help="contacts (default 10000000)")
    ap.add_argument("--seed", type=int, default=2025, help="seed of the generated data")
    ap.add_argument("--binary", default="target/release/kalibra",
                    help="the kalibra binary (default target/release/kalibra)")
    ap.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432",
                    help="PostgreSQL server, without a database name; the run creates and drops "
                         f"the database {PG_DATABASE}")
    ap.add_argument("--queries-only", action="store_true",
                    help="skip generation and imports; query the databases of an earlier run "
                         "with --keep and the same --rows and --seed")
    ap.add_argument("--keep", action="store_true",
                    help="keep the databases (bench/data/work-*/ and the PostgreSQL database)")
    ap.add_argument("--http-warmups", type=int, default=3)
    ap.add_argument("--http-runs", type=int, default=30)
    ap.add_argument("--query-budget", type=float, default=300, metavar="SECONDS",
                    help="stop timing a slow API query after this long, once it has 5 timed "
                         "calls (default 300)")
    ap.add_argument("--duckdb-warmups", type=int, default=1)
    ap.add_argument("--duckdb-runs", type=int, default=5)
    args = ap.parse_args()
    if args.rows < 1000:
        ap.error("--rows: at least 1000")

    ensure_packages()
    sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
    sys.path.insert(0, str(BENCH))
    import generate
    import queries as Q

    # Tools, checked before anything takes time.
    binary = Path(args.binary)
    if not binary.is_absolute():
        binary = binary if binary.exists() else ROOT / binary
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise BenchError(f"no kalibra binary at {binary}: build it with `cargo build --release` "
                         "or name it with --binary PATH")
    binary = binary.resolve()
    need_tool("/usr/bin/time", "GNU time", "apt-get install time")
    need_tool("/usr/bin/sqlite3", "the sqlite3 shell", "apt-get install sqlite3")
    pg = not args.skip_postgres
    pg_url = args.pg_url.rstrip("/")
    if pg:
        need_tool("psql", "psql", "apt-get install postgresql-client, or use --skip-postgres")
        if run(["psql", f"{pg_url}/postgres", "-Atc", "SELECT 1"], check=False).returncode:
            raise BenchError(f"PostgreSQL does not answer at {pg_url}; start it, give "
                             "--pg-url, or use --skip-postgres")

    csv = generate.cache_path(DATA, args.rows, args.seed)
    work = DATA / f"work-n{args.rows}-s{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    sqlite_db = work / "kalibra.db"
    pg_db_url = f"{pg_url}/{PG_DATABASE}"
    meta = versions(binary, Q)
    if pg:
        meta["postgres"] = run(["psql", f"{pg_url}/postgres", "-Atc", "SHOW server_version"]
                               ).stdout.strip().split()[0]
        meta["postgres"] = f"PostgreSQL {meta['postgres']}"
    meta.update(rows=args.rows, seed=args.seed, http_runs=args.http_runs,
                http_warmups=args.http_warmups, duckdb_runs=args.duckdb_runs,
                duckdb_warmups=args.duckdb_warmups)

    if args.queries_only:
        if not csv.exists() or not sqlite_db.exists():
            raise BenchError(f"nothing to query in {work}: run first with --keep "
                             f"(and the same --rows {args.rows} --seed {args.seed})")
        if pg and not pg_exists(pg_url):
            raise BenchError(f"no PostgreSQL database {PG_DATABASE}: run first with --keep, "
                             "or use --skip-postgres")
    elif not csv.exists():
        say(f"generating {args.rows:,} contacts (seed {args.seed}) …")
        generate.generate(csv, args.rows, args.seed)
    else:
        say(f"using {csv.relative_to(ROOT)}")
    meta["csv"] = str(csv.relative_to(ROOT))
    meta["csv_mb"] = csv.stat().st_size / 1e6

    imports = []
    results = {}
    cleanup_pg = False
    duck = None
    # Each database's queries run right after its own import, before the next import's: the
    # PostgreSQL server goes on vacuuming and writing out the 10 million rows for minutes after
    # its import, and would share the two cores with the SQLite server's answers.
    try:
        if not args.queries_only:
            say("importing with sqlite3 .import …")
            imports.append({**import_sqlite3(csv, work, args.rows, Q), "key": "sqlite3"})
            say(f"  {imports[-1]['seconds']:.1f} s")
            (work / "anchor-sqlite3.db").unlink(missing_ok=True)  # only its time is needed
            say("importing with DuckDB read_csv …")
            imports.append({**import_duckdb(csv, work, args.rows), "key": "duckdb"})
            say(f"  {imports[-1]['seconds']:.1f} s")

        say("dashboard queries on DuckDB …")
        duck = DuckAnchor(work)
        results["duckdb"] = duck.time(Q, args.duckdb_warmups, args.duckdb_runs)
        # Its figures are kept; the database is closed before Kalibra's imports and queries.
        duck.close()

        sqlite_k = Kalibra(binary, f"sqlite:{sqlite_db}", work, "sqlite")
        if not args.queries_only:
            say("importing with Kalibra on SQLite …")
            remove_db(sqlite_db)
            sqlite_k.setup()
            imports.append({**sqlite_k.import_contacts(csv, args.rows, "Kalibra on SQLite"),
                            "key": "kalibra-sqlite"})
            say(f"  {imports[-1]['seconds']:.1f} s")
        say("dashboard queries on Kalibra with SQLite …")
        results["sqlite"] = kalibra_queries(sqlite_k, Q, duck, args.http_warmups,
                                            args.http_runs, args.query_budget)
        if pg:
            pg_k = Kalibra(binary, pg_db_url, work, "postgres")
            if not args.queries_only:
                say("importing with Kalibra on PostgreSQL …")
                pg_admin(pg_url, f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
                pg_admin(pg_url, f"CREATE DATABASE {PG_DATABASE}")
                cleanup_pg = not args.keep
                pg_k.setup()
                imports.append({**pg_k.import_contacts(csv, args.rows, "Kalibra on PostgreSQL"),
                                "key": "kalibra-postgres"})
                say(f"  {imports[-1]['seconds']:.1f} s")
            say("dashboard queries on Kalibra with PostgreSQL …")
            results["postgres"] = kalibra_queries(pg_k, Q, duck, args.http_warmups,
                                                  args.http_runs, args.query_budget)
    finally:
        if duck is not None:
            duck.close()
        if not args.keep and not args.queries_only:
            for f in ("kalibra.db", "anchor.duckdb", "anchor-sqlite3.db"):
                remove_db(work / f)
            if cleanup_pg:
                pg_admin(pg_url, f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")

    text = report(meta, imports, results, Q)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    raw = {"meta": meta, "imports": imports,
           "queries": {k: {q: {f: v for f, v in r.items() if f not in ("rows", "names")}
                           if isinstance(r, dict) else r for q, r in res.items()}
                       for k, res in results.items()}}
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
    say("")
    say(text)
    say(f"written to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
