#!/usr/bin/env python3
"""Assemble a cited due-diligence draft from facts.json. Usage: assemble_report.py FACTS_JSON OUT_MD"""
import json
import os
import sys


def cite(source, quote):
    return f'[[src:{source}|"{quote}"]]'


def main(argv):
    if len(argv) != 3:
        print("usage: assemble_report.py FACTS_JSON OUT_MD", file=sys.stderr)
        return 2
    facts_path, out_path = argv[1], argv[2]
    if not os.path.isfile(facts_path):
        print(f"error: {facts_path} does not exist; run the financial-due-diligence skill first", file=sys.stderr)
        return 2
    with open(facts_path, encoding="utf-8") as f:
        data = json.load(f)
    facts, entity, sources = data.get("facts", []), data.get("entity"), data.get("sources", [])
    if not facts:
        print(f"error: {facts_path} holds no facts", file=sys.stderr)
        return 2
    name = entity["name"] if entity else "the company"
    lines = [f"# Due diligence: {name}", "",
             f"_Assembled from {len(sources)} sources; every factual line cites the exact sentence it rests on._", ""]
    if entity:
        lines += ["## Entity", "", f"- The subject of this review is {name.rstrip('.')}. {cite(entity['source'], entity['quote'])}", ""]
    sections = [("figure", "Key figures"), ("risk", "Risks"), ("red_flag", "Red flags")]
    for cat, title in sections:
        items = [x for x in facts if x["category"] == cat]
        if not items:
            continue
        lines += [f"## {title}", ""]
        for x in items:
            vals = f" ({', '.join(x['values'])})" if x.get("values") else ""
            lines.append(f"- **{x['label']}**{vals}: {cite(x['source'], x['quote'])}")
        lines.append("")
    red = [x for x in facts if x["category"] == "red_flag"]
    if red:
        lines += ["## Assessment", "",
                  f"- {len(red)} red flag(s) need attention before any commitment; the most serious: "
                  f"{red[0]['label'].lower()}. {cite(red[0]['source'], red[0]['quote'])}", ""]
    lines += ["## Sources", ""]
    for s in sources:
        title = f" — {s['title']}" if s.get("title") else ""
        lines.append(f"- `{s['id']}` {s['origin']}{title}")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(json.dumps({"out": out_path, "facts": len(facts), "lines": len(lines)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
