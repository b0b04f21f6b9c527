#!/usr/bin/env python3
"""Compares p11test's JSON log (-o) with a reference: every test's result and data rows, in
order (the run's time is left out). Prints one summary line; on a difference, a diff of the
two, and exits 1. With --write, makes the reference from the log instead."""
import difflib
import json
import sys


def results(path):
    with open(path, encoding="utf-8") as f:
        log = json.load(f)
    return [{k: r[k] for k in ("test_id", "result", "data") if k in r} for r in log["results"]]


def main(argv):
    write = "--write" in argv
    args = [a for a in argv if a != "--write"]
    if len(args) != 2:
        print("usage: p11test_json.py [--write] LOG.json REFERENCE.json", file=sys.stderr)
        return 2
    got = results(args[0])
    if write:
        with open(args[1], "w", encoding="utf-8") as f:
            json.dump(got, f, indent=1)
            f.write("\n")
        return 0
    with open(args[1], encoding="utf-8") as f:
        want = json.load(f)
    if got != want:
        a = json.dumps(want, indent=1).splitlines()
        b = json.dumps(got, indent=1).splitlines()
        print("\n".join(difflib.unified_diff(a, b, "reference", "this run", lineterm="")))
        return 1
    counts = {}
    for r in got:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    yes = sum(row.count("YES") for r in got for row in r.get("data", [])[1:])
    print("the JSON equals the reference: %d tests (%s), %d YES cells in the mechanism tables"
          % (len(got), ", ".join("%s %d" % kv for kv in sorted(counts.items())), yes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
