"""Retrieval-only scoring of a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import ConfigError
from . import metrics as m
from .runner import EvalResult


def beir_files(folder: str | Path) -> tuple[Path, Path, Path]:
    """The three files of a BEIR folder; ConfigError naming what is missing."""
    folder = Path(folder).expanduser()
    files = (folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv")
    missing = [str(f.relative_to(folder)) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"{folder} is not a BEIR folder: {', '.join(missing)} missing. "
                          "It needs corpus.jsonl, queries.jsonl and qrels/test.tsv.")
    return files


def doc_ids(corpus: Path) -> dict[str, str]:
    """Article source ("corpus.jsonl:<line>", as the ingester names JSONL records) -> BEIR _id."""
    out = {}
    # Same decoding and line numbering as assistant.ingest, so the sources line up.
    for lineno, line in enumerate(corpus.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip():
            try:
                out[f"{corpus.name}:{lineno}"] = str(json.loads(line)["_id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # the ingester reports the bad line; it holds no article
    return out


def read_queries(path: Path) -> dict[str, str]:
    """query _id -> text."""
    out = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            out[str(record["_id"])] = str(record["text"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ConfigError(f"{path}:{lineno}: expected {{\"_id\": ..., \"text\": ...}}.") from None
    return out


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """query _id -> {doc _id: grade}; the header row and grade-0 rows are skipped."""
    out: dict[str, dict[str, float]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        cols = line.split("\t")
        if not line.strip() or (lineno == 1 and cols[0] == "query-id"):
            continue
        try:
            query, doc, grade = cols[0], cols[1], float(cols[2])
        except (IndexError, ValueError):
            raise ConfigError(f"{path}:{lineno}: expected query-id<TAB>corpus-id<TAB>score.") from None
        if grade > 0:
            out.setdefault(query, {})[doc] = grade
    return out


def run_beir(assistant, folder: str | Path, k: int | None = None, limit: int | None = None,
             progress: bool | None = None) -> EvalResult:
    """Index the BEIR corpus into the assistant's index dir and score retrieval for each judged query."""
    from tqdm import tqdm

    corpus, queries_file, qrels_file = beir_files(folder)
    k = k or assistant.settings.k
    report = assistant.index(path=corpus, progress=bool(progress))
    ids = doc_ids(corpus)
    queries, qrels = read_queries(queries_file), read_qrels(qrels_file)
    judged = [q for q in queries if q in qrels][:limit] if limit else [q for q in queries if q in qrels]
    if not judged:
        raise ConfigError(f"No query in {queries_file} has a relevant document in {qrels_file}; "
                          "check that their ids match.")
    t0 = time.perf_counter()
    rows, timings, failures = [], [], []
    for qid in tqdm(judged, desc="beir", unit="q", disable=None if progress is None else not progress):
        t = time.perf_counter()
        passages = assistant.retrieve(queries[qid], k)
        timings.append({"retrieve": time.perf_counter() - t})
        ranked = [{ids.get(s, s) for s in sources} for sources in m.ranking(passages)]
        gold = qrels[qid]
        row = {"hit@k": m.hit_at_k(ranked, gold, k), "recall@k": m.recall_at_k(ranked, gold, k),
               "mrr": m.reciprocal_rank(ranked, gold, k), "ndcg@k": m.ndcg_at_k(ranked, gold, k)}
        rows.append(row)
        if not row["hit@k"]:
            failures.append({"id": qid, "type": "beir", "kind": "no relevant document retrieved",
                             "question": queries[qid], "expected": sorted(gold),
                             "answer": ", ".join(sorted(set().union(*ranked))) if ranked else "",
                             "gold": sorted(gold), "retrieved": [sorted(s) for s in ranked]})
    metrics = {name: m.mean(r[name] for r in rows) for name in ("hit@k", "recall@k", "mrr", "ndcg@k")}
    metrics["queries"] = len(rows)
    meta = {"mode": "beir", "questions": len(rows), "k": k, "generator": "retrieval only",
            "corpus": str(Path(folder).expanduser()), "index_dir": str(assistant.settings.index_dir),
            "embedding_model": assistant.settings.embedding_model, "documents": report.articles,
            "skipped_documents": len(report.problems), "seconds": round(time.perf_counter() - t0, 1),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    return EvalResult(meta=meta, metrics=metrics, latency=m.latency(timings), by_type={},
                      by_source={}, citation_errors={}, verify={}, failures=failures, results=[])
