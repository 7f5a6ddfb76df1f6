"""Measure how fast laurel.lib.tabular reads and validates a credits CSV.

    python bench/parse.py --rows 1000000

Writes N rows (500 courses, 200,000 people, ~1 % invalid) to a temporary file, then times:
plain ``csv.reader`` (baseline), read + map headings, and read + map + date + email checks.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from laurel.lib.dates import date_parser  # noqa: E402
from laurel.lib.emails import normalize_email  # noqa: E402
from laurel.lib.tabular import CREDIT_FIELDS, read_table  # noqa: E402


def write_file(path: str, rows: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    courses = [f"NAR-26-{i:05d}" for i in range(500)]
    start = dt.date(2025, 1, 1)
    dates = [(start + dt.timedelta(days=d)).strftime("%m/%d/%Y") for d in range(450)]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["Course ID", "E-mail", "Date Completed", "Full Name", "Hours"])
        for n in range(rows):
            person = rng.randrange(200_000)
            email = f"Person.{person}@Example{person % 97}.org"
            date = rng.choice(dates)
            if n % 100 == 0:  # ~1 % invalid
                email, date = ("not-an-email", "13/45/2026") if n % 200 else (email, "")
            writer.writerow([rng.choice(courses), email, date, f"Person {person}", "1.5"])


def time_baseline(path: str) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    with open(path, newline="", encoding="utf-8") as text:
        for _ in csv.reader(text):
            count += 1
    return count - 1, time.perf_counter() - started


def time_records(path: str, *, validate: bool) -> tuple[int, int, float, float]:
    converters = (
        {"email": normalize_email, "completion_date": date_parser("US")} if validate else None
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    count = invalid = 0
    with open(path, "rb") as source:
        table = read_table(source, max_bytes=2**40, fields=CREDIT_FIELDS)
        with table:
            for row in table.records(converters):
                count += 1
                if row.errors:
                    invalid += 1
    return count, invalid, time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        write_file(path, args.rows)
        size_mb = os.path.getsize(path) / 1e6
        print(f"{args.rows} rows, {size_mb:.1f} MB", file=sys.stderr)
        base_rows, base_s = time_baseline(path)
        parse_rows, _, parse_s, _ = time_records(path, validate=False)
        valid_rows, invalid, valid_s, valid_cpu_s = time_records(path, validate=True)
        assert base_rows == parse_rows == valid_rows == args.rows, (base_rows, parse_rows)
        print(f"baseline csv.reader {base_s:.2f} s", file=sys.stderr)
        print(f"read + map          {parse_s:.2f} s", file=sys.stderr)
        print(f"read + map + check  {valid_s:.2f} s ({invalid} rows with errors)", file=sys.stderr)
    finally:
        os.unlink(path)
    baseline = base_rows / base_s
    result = {
        "rows": args.rows,
        "parse_rows_per_s": round(parse_rows / parse_s),
        "parse_validate_rows_per_s": round(valid_rows / valid_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "baseline_rows_per_s": round(baseline),
        "ratio_vs_baseline": round((valid_rows / valid_s) / baseline, 3),
        "parse_validate_rows_per_cpu_s": round(valid_rows / valid_cpu_s),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the box skews rows/s
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
