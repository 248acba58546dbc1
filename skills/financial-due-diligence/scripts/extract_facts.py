#!/usr/bin/env python3
"""Extract due-diligence facts (entity, figures, risks, red flags) with exact quotes.

Usage: extract_facts.py SOURCES_DIR OUT_DIR

Reads SOURCES_DIR/index.json and each source's text, writes OUT_DIR/facts.json and
OUT_DIR/facts.md. Every quote is a sentence of the source with whitespace collapsed, so it
passes Vibewriter's citation checker (which normalises whitespace only). Standard library only.
"""
import json
import os
import re
import sys
from collections import Counter

RED_FLAGS = [
    ("Going-concern doubt", re.compile(r"going concern|substantial doubt", re.I)),
    ("Material weakness in internal control", re.compile(r"material weakness", re.I)),
    ("Restatement", re.compile(r"restat(e|ement)", re.I)),
    ("Covenant breach or waiver", re.compile(r"covenant|waiver|not in compliance|did not meet", re.I)),
    ("Related-party dealing", re.compile(r"related part|controlled by its (chief|director|officer)|entity controlled by", re.I)),
    ("Qualified or adverse opinion", re.compile(r"qualified opinion|adverse opinion|disclaimer of opinion", re.I)),
    ("Investigation or default", re.compile(r"investigation|subpoena|event of default|defaulted", re.I)),
]
RISKS = [
    ("Customer concentration", re.compile(r"largest customers?|customer concentration|loss of either customer", re.I)),
    ("Supplier dependence", re.compile(r"single supplier|sole supplier|depend(s|ence)? on", re.I)),
    ("Litigation", re.compile(r"lawsuit|litigation|defendant|damages", re.I)),
    ("Policy or regulatory risk", re.compile(r"tax credits?|regulat|tariff", re.I)),
    ("Forward-looking uncertainty", re.compile(r"forward-looking|uncertaint", re.I)),
]
FIGURE_LABELS = [
    ("Revenue", re.compile(r"\brevenue\b", re.I)),
    ("Gross margin", re.compile(r"gross margin", re.I)),
    ("Net result", re.compile(r"net (loss|income|profit)", re.I)),
    ("Cash", re.compile(r"\bcash\b", re.I)),
    ("Debt", re.compile(r"\bdebt\b|borrowings", re.I)),
    ("Backlog", re.compile(r"backlog", re.I)),
    ("Related-party payments", re.compile(r"per year|lease", re.I)),
]
MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?(?:\s*(?:million|billion|thousand|[mbk]n?)\b)?", re.I)
PERCENT = re.compile(r"\d+(?:\.\d+)?\s?%")
RATIO = re.compile(r"\b\d+(?:\.\d+)?x\b")
ENTITY = re.compile(
    r"\b((?:[A-Z][A-Za-z&'-]+\s+){0,4}[A-Z][A-Za-z&'-]+,?\s+(?:Inc\.|Incorporated|Corp\.|Corporation|Ltd\.|Limited|LLC|plc|PLC|S\.A\.|AG|GmbH|N\.V\.))"
)


def blocks(text):
    """Paragraphs and single structural lines (headings, list items), whitespace kept exact."""
    out, current = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            if current:
                out.append(" ".join(current))
                current = []
            continue
        if re.match(r"^(#{1,6}\s|[-*+]\s|\d+\.\s)", stripped):
            if current:
                out.append(" ".join(current))
                current = []
            out.append(stripped)
            continue
        current.append(stripped)
    if current:
        out.append(" ".join(current))
    return out


def sentences(text):
    for block in blocks(text):
        block = re.sub(r"\s+", " ", block).strip()
        block = re.sub(r"^(#{1,6}\s+|[-*+]\s+|\d+\.\s+)", "", block)
        for s in re.split(r'(?<=[.!?])\s+(?=[A-Z"\u201c])', block):
            s = s.strip()
            if len(s.split()) >= 5:  # skip run-in headings such as "Going concern."
                yield s


def main(argv):
    if len(argv) != 3:
        print("usage: extract_facts.py SOURCES_DIR OUT_DIR", file=sys.stderr)
        return 2
    src_dir, out_dir = argv[1], argv[2]
    index_path = os.path.join(src_dir, "index.json")
    if not os.path.isfile(index_path):
        print(f"error: {index_path} is missing: no sources were provided", file=sys.stderr)
        return 2
    with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
    if not index:
        print(f"error: {index_path} lists no sources", file=sys.stderr)
        return 2

    facts, names, seen = [], Counter(), set()
    first_mention = {}
    for src in index:
        path = os.path.join(src_dir, f"{src['id']}.txt")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for sent in sentences(text):
            for m in ENTITY.finditer(sent):
                name = re.sub(r"^(The|To|At|By|From|Of)\s+", "", m.group(1).strip())
                names[name] += 1
                first_mention.setdefault(name, (src["id"], sent))
            if (src["id"], sent) in seen:
                continue
            category, label = None, None
            for lab, rx in RED_FLAGS:
                if rx.search(sent):
                    category, label = "red_flag", lab
                    break
            if category is None:
                for lab, rx in RISKS:
                    if rx.search(sent):
                        category, label = "risk", lab
                        break
            values = MONEY.findall(sent) + PERCENT.findall(sent) + RATIO.findall(sent)
            if category is None and values:
                category = "figure"
                label = next((lab for lab, rx in FIGURE_LABELS if rx.search(sent)), "Figure")
            if category is None:
                continue
            seen.add((src["id"], sent))
            facts.append({
                "id": f"F{len(facts) + 1}",
                "category": category,
                "label": label,
                "values": [re.sub(r"\s+", " ", v) for v in values],
                "source": src["id"],
                "quote": sent,
            })

    entity = None
    if names:
        name, count = names.most_common(1)[0]
        sid, sent = first_mention[name]
        entity = {"name": name, "mentions": count, "source": sid, "quote": sent}

    os.makedirs(out_dir, exist_ok=True)
    result = {"entity": entity, "sources": index, "facts": facts}
    with open(os.path.join(out_dir, "facts.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)

    order = [("red_flag", "Red flags"), ("risk", "Risks"), ("figure", "Figures")]
    lines = ["# Due-diligence facts", ""]
    if entity:
        lines += [f"Entity: {entity['name']} ({entity['mentions']} mentions) "
                  f"[[src:{entity['source']}|\"{entity['quote']}\"]]", ""]
    for cat, title in order:
        items = [x for x in facts if x["category"] == cat]
        lines += [f"## {title} ({len(items)})", ""]
        for x in items:
            vals = f" — {', '.join(x['values'])}" if x["values"] else ""
            lines.append(f"- {x['id']} {x['label']}{vals} [[src:{x['source']}|\"{x['quote']}\"]]")
        lines.append("")
    with open(os.path.join(out_dir, "facts.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))

    counts = Counter(x["category"] for x in facts)
    print(json.dumps({
        "entity": entity["name"] if entity else None,
        "sources": len(index),
        "facts": len(facts),
        "red_flags": counts["red_flag"],
        "risks": counts["risk"],
        "figures": counts["figure"],
        "out": [os.path.join(out_dir, "facts.json"), os.path.join(out_dir, "facts.md")],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
