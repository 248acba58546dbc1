"""Citation parsing and checking shared by the skill's scripts (mirrors src/agent/citations.ts)."""
import os
import re

CITATION = re.compile(r'\[\[src:([^|\]\s]*)\|"(.*?)"\]\]', re.S)
CITATION_START = re.compile(r"\[\[\s*src\s*:", re.I)
SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")


def normalise(text):
    return re.sub(r"\s+", " ", text).strip()


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def check(report, sources_dir):
    """Return (citations, problems) for the report text against SOURCES_DIR/<id>.txt files."""
    citations, problems, covered = [], [], []
    cache = {}
    for m in CITATION.finditer(report):
        covered.append((m.start(), m.end()))
        sid, quote, line = m.group(1), m.group(2), line_of(report, m.start())
        citations.append({"source": sid, "quote": quote, "line": line})
        path = os.path.join(sources_dir, f"{sid}.txt")
        if not SOURCE_ID.match(sid) or not os.path.isfile(path):
            problems.append({"line": line, "kind": "unknown_source", "message": f"line {line}: source {sid!r} is not a stored source"})
            continue
        if not normalise(quote):
            problems.append({"line": line, "kind": "empty_quote", "message": f"line {line}: empty quote for source {sid}"})
            continue
        if sid not in cache:
            with open(path, encoding="utf-8") as f:
                cache[sid] = normalise(f.read())
        if normalise(quote) not in cache[sid]:
            problems.append({"line": line, "kind": "quote_not_found",
                             "message": f"line {line}: quote {normalise(quote)[:80]!r} does not appear in source {sid}"})
    for m in CITATION_START.finditer(report):
        if not any(a <= m.start() < b for a, b in covered):
            line = line_of(report, m.start())
            problems.append({"line": line, "kind": "malformed", "message": f"line {line}: malformed citation; write [[src:<id>|\"<quote>\"]]"})
    return citations, sorted(problems, key=lambda p: p["line"])


def uncited_lines(report):
    """Non-empty lines that need a citation and have none (headings, italic notes, Sources exempt)."""
    out, in_sources = [], False
    for i, line in enumerate(report.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            in_sources = s.lstrip("#").strip().lower().startswith("sources")
            continue
        if in_sources or (s.startswith("_") and s.endswith("_")) or s in ("---", "***"):
            continue
        if "[[src:" not in s:
            out.append({"line": i, "text": s[:120]})
    return out
