#!/usr/bin/env python3
"""Service KPIs of the Anonymous Bank call records, computed independently of Kalibra.

Reads the tab-separated file named on the command line and prints one JSON object with the
month's figures, following docs/kpis.md: PHANTOM records are left out; AGENT = answered,
HANG = abandoned; an abandon after less than 5 s of queueing is a short abandon, left out of
offered; service level = answered within 20 s of queueing / (answered + abandoned); ASA = mean
queue time of answered calls; AHT = mean service time of answered calls (the file records no
hold or after-call work).
"""
import csv
import json
import sys

T, SHORT = 20, 5


def main(path):
    handled = abandoned = short = within = 0
    wait_sum = talk_sum = longest = 0
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            outcome, q_time, ser_time = row["outcome"], int(row["q_time"]), int(row["ser_time"])
            if outcome == "PHANTOM":
                continue
            if outcome == "AGENT":
                handled += 1
                wait_sum += q_time
                talk_sum += ser_time
                within += q_time <= T
                longest = max(longest, q_time)
            elif outcome == "HANG":
                if q_time < SHORT:
                    short += 1
                else:
                    abandoned += 1
                    longest = max(longest, q_time)
            else:
                raise SystemExit(f"unknown outcome {outcome!r}")
    offered = handled + abandoned
    print(json.dumps({
        "offered": offered,
        "handled": handled,
        "abandoned": abandoned,
        "short_abandoned": short,
        "service_level": within / offered,
        "asa_s": wait_sum / handled,
        "aht_s": talk_sum / handled,
        "abandon_rate": abandoned / offered,
        "longest_wait_s": longest,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
