"""Delta segments: a change writes its own chunks and deleted rows; the rest is shared, never lost."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, index, ingest, segments
from assistant.bench import synth
from assistant.retrieve import HybridRetriever
from tests.test_bench import CORPUS, _HashEmbedder, _sync
from tests.test_index import CountingEmbedder

ASTANA = "Kazakhstan and Iran opened a data center in Astana on Monday.\n"


def _written(version: Path) -> int:
    """Bytes a version wrote itself (files not hard-linked from the previous version)."""
    return sum(p.stat().st_size for p in version.rglob("*") if p.is_file() and p.stat().st_nlink == 1)


def _live(store) -> Path:
    return store.dir / store.current()


@pytest.fixture
def synthetic(tmp_path):
    corpus = tmp_path / "corpus"
    synth.write_articles(corpus, 40, synth.sentence_pool(CORPUS))
    return corpus


@pytest.mark.parametrize("threshold", [50, 10**6])  # HNSW base, flat base
def test_an_added_article_writes_only_its_own_rows_and_is_found(tmp_path, synthetic, threshold):
    store, first = _sync(tmp_path, synthetic, threshold)
    base = _live(store)
    (synthetic / "zz_new.txt").write_text(ASTANA)
    _, added = _sync(tmp_path, synthetic, threshold)
    assert added.delta and not added.rebuilt and added.embedded == 1
    assert "Only the changes were written" in added.summary()
    live = _live(store)
    # Everything of the base is a hard link to the previous version; only the delta and manifest are new.
    shared = "index.faiss" if threshold == 50 else "vectors.npy"  # an HNSW file holds the vectors
    assert (live / shared).stat().st_ino == (base / shared).stat().st_ino
    assert _written(live) < 0.2 * sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
    snap = store.load()
    assert len(snap.segments) == 2 and len(snap.chunks) == first.chunks + 1 and snap.live_chunks() == first.chunks + 1
    # The article table is linked too; the manifest holds only its difference.
    assert (live / "articles.json").stat().st_ino == (base / "articles.json").stat().st_ino
    diff = json.loads((live / "manifest.json").read_text())["articles_diff"]
    assert [d["source"] for d in diff.values()] == ["zz_new.txt"] and len(snap.manifest["articles"]) == 41
    hits = HybridRetriever(snap, _HashEmbedder()).search("data center in Astana", 3)
    assert hits[0].source == "zz_new.txt"
    assert snap.chunks[first.chunks].source == "zz_new.txt"  # rows keep their numbers; the delta follows


def test_changed_and_removed_articles_are_masked_and_never_returned(tmp_path, synthetic):
    store, first = _sync(tmp_path, synthetic, 10**6)
    victim, edited = sorted(synthetic.glob("*.txt"))[:2]
    gone_text = victim.read_text().split(".")[0]
    victim.unlink()
    edited.write_text(ASTANA)
    _, report = _sync(tmp_path, synthetic, 10**6)
    assert report.delta and (report.removed, report.changed, report.embedded) == (1, 1, 1)
    snap = store.load()
    dead = np.load(_live(store) / "deleted.npy")
    assert len(dead) and not snap.chunks.live[dead].any()
    sources = {r["source"] for r in snap.article_rows()}
    assert victim.name not in sources and edited.name in sources and snap.counts() == (39, report.chunks)
    assert {a["source"] for a in snap.manifest["articles"].values()} == sources
    retriever = HybridRetriever(snap, _HashEmbedder())
    found = retriever.search(gone_text, 10)
    assert found and all(p.source != victim.name for p in found)
    assert all("Astana" in p.text for p in retriever.search("Astana", 10) if p.source == edited.name)
    # A store reopened from disk in another process sees the same mask.
    assert store.load().live_chunks() == report.chunks


def test_many_deltas_merge_and_a_large_share_compacts_into_a_base_that_ranks_like_a_fresh_build(
        tmp_path, synthetic, monkeypatch):
    monkeypatch.setattr(segments, "MAX_DELTAS", 2)
    store, _ = _sync(tmp_path, synthetic, 10**6)
    (synthetic / "a_gone.txt").write_text("A short note about Tashkent broadband.\n")
    _sync(tmp_path, synthetic, 10**6)
    (synthetic / "a_gone.txt").unlink()  # a deleted row inside a delta: merging drops it
    counts = []
    for i in range(3):
        (synthetic / f"zz_{i}.txt").write_text(f"Delegation {i} signed a spectrum accord in Tashkent.\n")
        report = _sync(tmp_path, synthetic, 10**6)[1]
        manifest = json.loads((_live(store) / "manifest.json").read_text())
        counts.append((report.delta, len(manifest["segments"])))
    # The third delta merges the other two (live rows only) into one; the base is never rewritten.
    assert counts == [(True, 2), (True, 1), (True, 2)]
    snap = store.load()
    assert snap.live_chunks() == report.chunks and "a_gone.txt" not in {r["source"] for r in snap.article_rows()}
    top = HybridRetriever(snap, _HashEmbedder()).search("Delegation 1 spectrum accord", 3)
    assert top[0].source == "zz_1.txt"
    # Past the share deltas may hold, the next sync writes one base again.
    monkeypatch.setattr(segments, "DELTA_SHARE", 0.0)
    (synthetic / "zz_3.txt").write_text("Delegation 3 signed a spectrum accord in Bishkek.\n")
    assert not _sync(tmp_path, synthetic, 10**6)[1].delta
    manifest = json.loads((_live(store) / "manifest.json").read_text())
    assert not manifest.get("segments") and not (_live(store) / "deleted.npy").exists()
    fresh_store, _ = _sync(tmp_path / "fresh", synthetic, 10**6)
    for q in ("spectrum accord in Tashkent", "Delegation 1", "broadband ministers"):
        a = [p.chunk_id for p in HybridRetriever(store.load(), _HashEmbedder()).search(q, 5)]
        b = [p.chunk_id for p in HybridRetriever(fresh_store.load(), _HashEmbedder()).search(q, 5)]
        assert a == b


def test_delta_bm25_scores_like_one_index_over_every_chunk(tmp_path):
    """The delta's term scores use the IDF over all segments, so they rank against the base's."""
    import bm25s

    docs = [["iran", "port"], ["iran", "broadband"], ["oman", "visa"], ["kenya", "spectrum"]] * 5
    base = bm25s.BM25()
    base.index(docs[:-2], show_progress=False)
    delta = segments.delta_bm25(docs[-2:], [base])
    alone = bm25s.BM25()
    alone.index(docs[-2:], show_progress=False)
    whole = bm25s.BM25()
    whole.index(docs, show_progress=False)
    for term in ("oman", "visa", "kenya"):
        # Same IDF; length normalisation differs only by the delta's mean length (equal here).
        want = whole.get_scores([term])[-2:]
        assert np.allclose(delta.get_scores([term]), want, rtol=1e-4), term
        assert not np.allclose(alone.get_scores([term]), want, rtol=0.05), term


def test_a_crash_while_writing_a_delta_keeps_the_previous_version(tmp_path, synthetic, monkeypatch):
    store, _ = _sync(tmp_path, synthetic, 10**6)
    before = store.current()
    (synthetic / "zz_new.txt").write_text(ASTANA)

    def torn(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(segments, "write_chunks", torn)
        with pytest.raises(OSError):
            _sync(tmp_path, synthetic, 10**6)
    assert store.current() == before and store.load().live_chunks() == len(store.load().chunks)
    _, report = _sync(tmp_path, synthetic, 10**6)  # the next run writes the delta, embedding it once more
    assert report.delta and store.current() != before and not list(store.dir.glob(".tmp-*"))


def test_a_quick_sync_reads_only_the_changed_files(tmp_path, assistant, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    a.embedder = CountingEmbedder(assistant.embedder)
    a.index(progress=False)
    read = []
    real = ingest._read_into
    monkeypatch.setattr(ingest, "_read_into", lambda c, f, source, mb: (read.append(source), real(c, f, source, mb)))
    (corpus / "zz_upload.txt").write_text(ASTANA)
    report = a.index(progress=False, quick=True)  # what an upload does
    assert read == ["zz_upload.txt"] and report.delta and (report.added, report.unchanged) == (1, 5)
    assert "Astana" in a.ask("Where did Kazakhstan and Iran open a data center?").text
    # A removed file is noticed from the listing alone; its passages are gone.
    read.clear()
    (corpus / "zz_upload.txt").unlink()
    report = a.index(progress=False, quick=True)
    assert read == [] and report.removed == 1 and report.articles == 5
    answer = a.ask("Where did Kazakhstan and Iran open a data center?")
    assert "Astana" not in answer.text and all(p.source != "zz_upload.txt" for p in answer.passages)
    # A full `assistant index` still reads every file, and finds nothing else to do.
    report = a.index(progress=False)
    assert len(read) == 5 and report.embedded == 0


def test_a_quick_sync_of_an_edited_jsonl_reembeds_only_its_changed_line(tmp_path, assistant):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [{"title": f"Story {i}", "text": f"Minister {i} opened a new fibre route in city {i}. " * 3}
             for i in range(12)]
    (corpus / "feed.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    a.embedder = CountingEmbedder(assistant.embedder)
    first = a.index(progress=False)
    lines[3]["text"] = "Minister 3 opened a satellite ground station in Almaty instead. " * 3
    (corpus / "feed.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = a.index(progress=False, quick=True)
    assert (report.changed, report.unchanged, report.articles) == (1, 11, 12)
    assert report.embedded == 1 and report.chunks == first.chunks
    assert "Almaty" in a.ask("Where did Minister 3 open a satellite ground station?").text


def test_ingest_file_of_names_the_file_of_each_source():
    assert ingest.file_of("news/feed.jsonl:17") == "news/feed.jsonl"
    assert ingest.file_of("news/a:1.txt") == "news/a:1.txt"
    assert ingest.file_of("story.md") == "story.md"


def test_a_damaged_deletion_mask_says_rebuild(tmp_path, synthetic):
    store, _ = _sync(tmp_path, synthetic, 10**6)
    (synthetic / "zz_new.txt").write_text(ASTANA)
    _sync(tmp_path, synthetic, 10**6)
    np.save(_live(store) / "deleted.npy", np.array([10**7], dtype=np.int64))
    with pytest.raises(index.IndexStoreError, match="assistant index --rebuild"):
        store.load()


def test_compacting_deltas_of_added_articles_extends_the_graph_instead_of_rebuilding_it(
        tmp_path, synthetic, monkeypatch):
    store, _ = _sync(tmp_path, synthetic, 50)  # HNSW
    (synthetic / "zz_new.txt").write_text(ASTANA)
    assert _sync(tmp_path, synthetic, 50)[1].delta
    monkeypatch.setattr(segments, "DELTA_SHARE", 0.0)
    monkeypatch.setattr(index.ann, "build", lambda *a, **k: pytest.fail("the HNSW graph was rebuilt"))
    (synthetic / "zz_more.txt").write_text("Oman and Kenya agreed on a submarine cable landing in Mombasa.\n")
    report = _sync(tmp_path, synthetic, 50)[1]
    snap = store.load()
    assert report.appended and not report.delta and len(snap.segments) == 1
    assert snap.faiss_index.ntotal == len(snap.chunks) == report.chunks
    hits = HybridRetriever(snap, _HashEmbedder()).search("data center in Astana", 3)
    assert hits[0].source == "zz_new.txt"


def test_an_article_changed_in_a_delta_keeps_only_its_new_rows_in_later_syncs(tmp_path, synthetic, monkeypatch):
    store, first = _sync(tmp_path, synthetic, 10**6)
    edited = sorted(synthetic.glob("*.txt"))[0]
    edited.write_text(ASTANA)
    _sync(tmp_path, synthetic, 10**6)
    (synthetic / "zz_new.txt").write_text("Oman and Kenya agreed on a submarine cable landing in Mombasa.\n")
    report = _sync(tmp_path, synthetic, 10**6)[1]
    assert report.delta and report.unchanged == 40 and store.load().live_chunks() == report.chunks
    # Compacting then writes each live row once: the edited article's old rows stay gone.
    monkeypatch.setattr(segments, "DELTA_SHARE", 0.0)
    (synthetic / "zz_last.txt").write_text("Uzbekistan opened a satellite ground station in Tashkent.\n")
    report = _sync(tmp_path, synthetic, 10**6)[1]
    snap = store.load()
    assert not report.delta and len(snap.chunks) == report.chunks
    assert [c.text for c in snap.chunks if c.source == edited.name] == [ASTANA.strip()]


def test_the_upload_bench_corpus_matches_its_index(tmp_path):
    """The 1M-chunk bench's articles are its JSONL files' lines: a quick sync keeps them unread."""
    from assistant.bench import upload

    pool = synth.sentence_pool(CORPUS)
    base = np.random.default_rng(0).standard_normal((50, 384)).astype(np.float32)
    corpus = tmp_path / "corpus"
    upload.corpus_index(tmp_path / "index", corpus, 3 * upload.PER_ARTICLE - 5, pool,
                        base / np.linalg.norm(base, axis=1, keepdims=True), log=lambda *a: None)
    manifest = index.IndexStore(tmp_path / "index").load().manifest
    read = ingest.read_corpus(corpus)
    assert set(manifest["articles"]) == {a.id for a in read.articles}
    assert {ingest.file_of(a["source"]) for a in manifest["articles"].values()} == set(ingest.listing(corpus))


def test_an_hnsw_version_stores_its_vectors_once_in_the_graph(tmp_path, synthetic):
    store, _ = _sync(tmp_path, synthetic, 50)
    snap = store.load()
    assert snap.index_info["type"] == "hnsw" and not (snap.path / "vectors.npy").exists()
    from assistant.chunk import embed_text

    want = _HashEmbedder().embed([embed_text(c) for c in snap.chunks])
    assert np.allclose(snap.vectors, want, atol=1e-6) and not snap.vectors.flags.writeable
    (snap.path / "index.faiss").write_bytes(b"")  # the only copy gone: damage, said plainly
    with pytest.raises(index.IndexStoreError, match="assistant index --rebuild"):
        store.load()


def test_a_version_whose_manifest_holds_the_article_table_gets_a_delta_too(tmp_path, synthetic):
    """Format 2 kept every article in manifest.json: the first delta writes the table beside it once."""
    store, _ = _sync(tmp_path, synthetic, 10**6)
    live = _live(store)
    manifest = json.loads((live / "manifest.json").read_text())
    manifest |= {"format": 2, "articles": json.loads((live / "articles.json").read_text())}
    (live / "manifest.json").write_text(json.dumps(manifest))
    (live / "articles.json").unlink()
    assert len(store.load().manifest["articles"]) == 40
    (synthetic / "zz_new.txt").write_text(ASTANA)
    report = _sync(tmp_path, synthetic, 10**6)[1]
    assert report.delta and (_live(store) / "articles.json").exists()
    assert len(store.load().manifest["articles"]) == 41
