#!/usr/bin/env python3
"""Check a draft's citations against the sources. Usage: check_report.py REPORT SOURCES_DIR"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from citations import check, uncited_lines  # noqa: E402


def main(argv):
    if len(argv) != 3:
        print("usage: check_report.py REPORT SOURCES_DIR", file=sys.stderr)
        return 2
    report_path, sources_dir = argv[1], argv[2]
    if not os.path.isfile(report_path):
        print(f"error: {report_path} does not exist", file=sys.stderr)
        return 2
    with open(report_path, encoding="utf-8") as f:
        report = f.read()
    citations, problems = check(report, sources_dir)
    uncited = uncited_lines(report)
    ok = not problems and not uncited and len(citations) > 0
    print(json.dumps({"ok": ok, "citations": len(citations), "problems": problems, "uncited": uncited}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
