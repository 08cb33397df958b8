"""Corpora and indexes the benchmarks share within one run, built once in a scratch folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..settings import PROJECT_ROOT, Settings
from .synth import question_variants, scaled_vectors, sentence_pool, write_articles

REAL_CORPUS = PROJECT_ROOT / "corpus"
QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"


def questions(n: int) -> list[str]:
    """n questions: eval/questions.jsonl, then reworded copies of it."""
    qs = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return question_variants(qs, n)


class _SyntheticEmbedder:
    """Filler vectors for filler articles (the latency corpus): the real tokenizer decides chunk
    sizes, but vectors come from a Gaussian fitted to real embeddings instead of the model."""

    def __init__(self, real, base: np.ndarray, seed: int = 1):
        self.real, self.base, self.seed = real, base, seed
        self.name = real.name

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed(self, texts, progress=False):
        self.seed += 1
        return scaled_vectors(self.base, len(self.base) + len(texts), seed=self.seed)[len(self.base):]


class Workspace:
    """A scratch folder; remembers what earlier benchmarks of this run built."""

    def __init__(self, root: Path, log=print):
        self.root, self.log = Path(root), log
        self.root.mkdir(parents=True, exist_ok=True)
        self.ingest_corpus = self.root / "ingest-corpus"
        self.ingest_index = self.root / "ingest-index"
        self._pool: list[str] | None = None

    @property
    def pool(self) -> list[str]:
        if self._pool is None:
            self._pool = sentence_pool(REAL_CORPUS)
        return self._pool

    def real_vectors(self, embedder, at_least: int = 300) -> np.ndarray:
        """Real embeddings of synthetic chunks: the ingestion index's, or a small fresh batch."""
        from ..index import IndexStore
        from ..errors import IndexStoreError

        try:
            vectors = IndexStore(self.ingest_index).load().vectors
            if len(vectors) >= at_least:
                return np.asarray(vectors)
        except IndexStoreError:
            pass
        from ..chunk import Chunker, embed_text
        from ..ingest import read_corpus

        folder = self.root / "base-corpus"
        if not folder.exists():
            write_articles(folder, max(10, at_least // 6), self.pool, seed=7)
        s = Settings.load()
        chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer, fits=embedder.fits)
        chunks = [c for a in read_corpus(folder).articles for c in chunker.chunk(a)]
        self.log(f"workspace: embedding {len(chunks)} chunks for base vectors ...")
        return embedder.embed([embed_text(c) for c in chunks])

    def large_index(self, embedder, target_chunks: int) -> tuple[Path, Path]:
        """(corpus, index) of the real articles + synthetic ones, about target_chunks chunks.

        Articles the ingestion benchmark embedded keep their real vectors (copied index); the
        real corpus is embedded for real; filler articles get Gaussian vectors (see above).
        """
        from ..chunk import Chunker
        from ..index import IndexStore
        from ..ingest import read_corpus

        corpus, index = self.root / f"corpus-{target_chunks}", self.root / f"index-{target_chunks}"
        if (index / "CURRENT").exists():
            return corpus, index
        corpus.mkdir(parents=True, exist_ok=True)
        for f in REAL_CORPUS.iterdir():
            shutil.copy(f, corpus / f.name)
        if self.ingest_index.exists() and (self.ingest_index / "CURRENT").exists():
            for f in self.ingest_corpus.iterdir():
                shutil.copy(f, corpus / f.name)
            shutil.copytree(self.ingest_index, index, ignore=shutil.ignore_patterns(".lock"))
        s = Settings.load(corpus_dir=corpus, index_dir=index)
        chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer, fits=embedder.fits)
        store = IndexStore(index)
        # Real embeddings for the real corpus (and the copied ingestion articles: reused).
        report = store.sync(read_corpus(corpus), embedder, chunker, s.embedding_model,
                            s.chunker_signature(), progress=False)
        filler = _SyntheticEmbedder(embedder, self.real_vectors(embedder))
        start = 10_000_000  # file names apart from the ingestion corpus's
        while report.chunks < target_chunks:
            per_article = max(1.0, report.chunks / max(1, report.articles))
            more = max(1, int((target_chunks - report.chunks) / per_article) + 1)
            write_articles(corpus, more, self.pool, seed=3, start=start)
            start += more
            self.log(f"workspace: {report.chunks} chunks; adding {more} filler articles ...")
            report = store.sync(read_corpus(corpus), filler, chunker, s.embedding_model,
                                s.chunker_signature(), progress=False)
        return corpus, index
