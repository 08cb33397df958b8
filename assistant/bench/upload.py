"""Upload into a large index: bytes written and seconds until the new article answers; memory there."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .common import Section, Target
from .lean import _chunks, cold, synthetic_index
from .workspace import Workspace

# Issue 14's targets at 1M chunks.
WRITE_TARGET_MB, SEARCHABLE_TARGET_S = 50.0, 10.0
PER_ARTICLE = 20  # chunks per synthetic article: RealTime QA averages 23
SHARD = 1_000  # articles per JSONL file of the synthetic corpus
QUESTION, NEEDLE = "Where did Kazakhstan and Iran open a data center?", "Astana"
UPLOAD = ("Kazakhstan and Iran opened a data center in Astana on Monday, the two telecom ministries said.\n\n"
          "The facility will host government services for both countries and is linked by a new fibre route "
          "across the Caspian Sea. Officials said the route cuts latency between the two capitals by half.\n\n")

# Runs in one process, as the chat does: index open and model loaded, then one file is uploaded.
_PROBE = r"""
import json, os, sys, time
from pathlib import Path
from assistant.api import Assistant

index_dir, upload, text, question, needle = Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]

def files():  # (inode, mtime, size): a new or rewritten file is one not there before
    return {(st.st_ino, st.st_mtime_ns, st.st_size) for st in
            (os.stat(os.path.join(d, f)) for d, _, fs in os.walk(index_dir) for f in fs)}

a = Assistant()
# What `assistant index` leaves after syncing this corpus (the bench wrote the index itself).
a.store.remember(a.corpus_key(a.settings.corpus_dir))
a.ask(question)
before = files()
upload.write_text(text)
t0 = time.perf_counter()
report = a.index(progress=False, quick=True)
t1 = time.perf_counter()
answer = a.ask(question)
t2 = time.perf_counter()
written = sum(size for _, _, size in files() - before)
vm = {k: int(v.split()[0]) / 1024 for k, v in (l.split(":", 1) for l in open("/proc/self/status"))
      if k in ("VmHWM", "RssAnon")}
print(json.dumps({"index_s": t1 - t0, "ask_s": t2 - t1, "written_mb": written / 2**20, "delta": report.delta,
                  "embedded": report.embedded, "found": needle in answer.text and any(
                      p.source == upload.name for p in answer.passages),
                  "summary": report.summary(), "peak_mb": vm["VmHWM"], "anon_mb": vm["RssAnon"]}))
"""


def corpus_index(folder: Path, corpus: Path, n: int, pool: list[str], base, log=print) -> None:
    """A synthetic index of n chunks whose articles are also written as JSONL shards in `corpus`."""
    corpus.mkdir(parents=True, exist_ok=True)
    n_articles = (n + PER_ARTICLE - 1) // PER_ARTICLE
    articles = {}
    for j in range(n_articles):
        source = f"part-{j // SHARD:05d}.jsonl:{j % SHARD + 1}"
        # The id read_corpus gives a JSONL line (assistant.ingest._article).
        articles[hashlib.sha256(f"{source}\0{j % SHARD + 1}".encode()).hexdigest()[:16]] = {
            "source": source, "hash": f"{j:016x}", "title": f"Synthetic article {j}",
            "date": f"2025-{1 + j % 12:02d}-{1 + j % 28:02d}"}
    log(f"upload: writing a synthetic index of {n:,} chunks and its corpus ({n_articles:,} articles) ...")
    synthetic_index(folder, n, pool, base, articles=articles, chunks=_shards(corpus, n, pool, articles),
                    corpus=corpus)


def _shards(corpus: Path, n: int, pool: list[str], articles: dict):
    """The synthetic chunks, each article's text also written as one JSONL line of its shard."""
    rng, ids = random.Random(0), list(articles)
    out, texts = None, []
    for i, chunk in enumerate(_chunks(n, pool, rng, articles, per_article=PER_ARTICLE)):
        texts.append(chunk.text)
        j = i // PER_ARTICLE
        if len(texts) == PER_ARTICLE or i == n - 1:
            if j % SHARD == 0:
                out = open(corpus / f"part-{j // SHARD:05d}.jsonl", "w", encoding="utf-8")
            art = articles[ids[j]]
            out.write(json.dumps({"title": art["title"], "date": art["date"], "text": "\n\n".join(texts)}) + "\n")
            texts = []
            if j % SHARD == SHARD - 1 or i == n - 1:
                out.close()
        yield chunk


def run(ws: Workspace, n: int, repeats: int = 3, log=print) -> Section:
    """Build an index of n synthetic chunks, then measure a cold ask and one upload into it."""
    from ..embed import get_embedder
    from ..settings import Settings
    from .lean import _env, disk_mb

    s = Section("upload", f"Upload into a large index ({n:,} chunks)")
    s.columns = ["chunks", "on disk MB", "cold ask s", "cold ask: peak RSS MB (anonymous)", "upload: chunks",
                 "indexed s", "written MB", "answered s", "chat process: peak RSS MB (anonymous)"]
    settings = Settings.load()
    base = ws.real_vectors(get_embedder(settings.embedding_model, settings.embedding_batch_size), at_least=1000)
    folder, corpus = ws.root / f"upload-{n}", ws.root / f"upload-{n}-corpus"
    for p in (folder, corpus):
        shutil.rmtree(p, ignore_errors=True)
    t0 = time.perf_counter()
    corpus_index(folder, corpus, n, ws.pool, base, log)
    s.figures["write_s"] = time.perf_counter() - t0
    live = folder / (folder / "CURRENT").read_text().strip()
    log(f"upload: cold ask x{repeats} over {n:,} chunks ...")
    c = cold(folder, corpus, None, repeats)
    log("upload: one article uploaded into the open index ...")
    env = _env(folder, corpus, None) | {"ASSISTANT_SENTENCE_VECTORS": "false"}
    # A news article of about RealTime QA's mean length: the lead, then real corpus sentences.
    text = UPLOAD + " ".join(random.Random(1).sample(ws.pool, 40))
    done = subprocess.run([sys.executable, "-c", _PROBE, str(folder), str(corpus / "zz-upload.txt"), text,
                           QUESTION, NEEDLE], env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the upload probe failed: {done.stderr.strip()[-600:]}")
    u = json.loads(done.stdout.strip().splitlines()[-1])
    if not (u["delta"] and u["found"]):
        raise RuntimeError(f"the upload was not written as a delta or not found: {u}")
    s.rows.append([n, round(disk_mb(live)), round(c["wall_s"], 2), f"{c['peak_mb']:.0f} ({c['anon_mb']:.0f})",
                   u["embedded"], round(u["index_s"], 2), round(u["written_mb"], 3), round(u["ask_s"], 2),
                   f"{u['peak_mb']:.0f} ({u['anon_mb']:.0f})"])
    s.figures |= {"cold_s": c["wall_s"], "cold_peak_mb": c["peak_mb"], "upload_s": u["index_s"],
                  "written_mb": u["written_mb"], "chat_peak_mb": u["peak_mb"]}
    s.targets += [Target(f"upload of one article into {n:,} chunks: bytes written", u["written_mb"],
                         WRITE_TARGET_MB, "MB"),
                  Target(f"upload of one article into {n:,} chunks: searchable after", u["index_s"] + u["ask_s"],
                         SEARCHABLE_TARGET_S, "s")]
    s.notes += [
        f"The corpus is {n // PER_ARTICLE:,} synthetic articles of {PER_ARTICLE} chunks (real corpus sentences, "
        f"scaled vectors, no model run) in JSONL files of {SHARD:,}; the index is written as `assistant index` "
        f"leaves it, with the corpus listing it was synced from. Built in {s.figures['write_s']:.0f} s.",
        "Upload: one process opens the index and answers once (as the chat has), then a new file appears "
        "in the corpus and `Assistant.index(quick=True)` runs, as the chat and HTTP uploads do; written MB "
        "counts the files that are new or rewritten in the index folder, the previous version's hard links "
        f"excluded. {u['summary']}",
        "Peak RSS counts the pages of the memory-mapped index files a search touched (page cache: shared "
        "between processes and given back under memory pressure); anonymous is the process's own memory.",
        "Answer sentence vectors are off in this part (ASSISTANT_SENTENCE_VECTORS=false): filling them for "
        "a million synthetic chunks would take hours; with them on an upload also embeds its own sentences.",
    ]
    return s
