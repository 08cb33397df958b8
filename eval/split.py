"""Write a dev/test `split` field into a question file: deterministic, stratified, about 50/50.

    python eval/split.py eval/questions.jsonl eval/clapnq/questions.jsonl

Tune on dev, report test. Within each (answerable, type) group the questions are ordered by a
hash of their id and alternate dev, test, dev, ...; the hash (not file order) keeps the split
free of how the file was written, and rerunning gives the same split. A question that already
has a split keeps it, so new questions never move old ones across the line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path


def assign(rows: list[dict]) -> None:
    """Give every row without a split one, alternating within its stratum."""
    strata: dict[tuple, list[dict]] = {}
    for r in rows:
        strata.setdefault((bool(r["answerable"]), r["type"]), []).append(r)
    for group in strata.values():
        have = Counter(r["split"] for r in group if r.get("split"))
        new = sorted((r for r in group if not r.get("split")),
                     key=lambda r: hashlib.sha256(str(r["id"]).encode()).hexdigest())
        for r in new:
            r["split"] = "dev" if have["dev"] <= have["test"] else "test"
            have[r["split"]] += 1


def main(paths: list[str]) -> None:
    for path in map(Path, paths):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assign(rows)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(path, dict(Counter(r["split"] for r in rows)))


if __name__ == "__main__":
    main(sys.argv[1:])
