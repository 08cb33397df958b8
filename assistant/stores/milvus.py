"""The Milvus store: one collection per full build behind an alias, versioned rows for incremental syncs.

Readers never see half an index. Every row carries v_from/v_to and a reader of version n keeps
`v_from <= n < v_to`. A sync writes version n+1 beside n (new rows at n+1, replaced rows get
v_to = n+1) and publishes it by inserting one `live` row: a single-row insert is all or nothing,
so a sync killed before it leaves n answering, and the next sync first undoes the leftovers.
A full rebuild (first build, model or chunker change, --rebuild) fills a new collection and
then switches the alias. docs/scale-out.md has the schema and the reasoning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
import time
import uuid
from pathlib import Path

from .. import checkpoints
from ..chunk import embed_text
from ..errors import IndexStoreError, MissingDependency
from ..index import FORMAT, IndexReport, IndexStore
from ..terms import terms
from .milvus_search import FIELDS, LIVE, MAX, TERMS_MAX, MilvusSnapshot, all_rows, day, live_filter

BATCH = 500  # rows per insert: what the feasibility run used (6.3k rows/s on Lite)
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()
_loaded: set[tuple[str, str]] = set()  # (uri, collection) loaded for search by this process


def open_store(settings) -> "MilvusStore":
    return MilvusStore(settings)


def remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "unix:"))


def connect(uri: str):
    """One client per URI and process (a Lite folder admits one process, and it is this one)."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MissingDependency("pymilvus", "milvus") from None
    with _clients_lock:
        if uri not in _clients:
            # Its query iterator warns on every Lite call that it fell back to client-side timestamps.
            logging.getLogger("pymilvus").setLevel(logging.ERROR)
            try:
                _clients[uri] = MilvusClient(uri=uri, timeout=10)
            except Exception as exc:  # noqa: BLE001 - every cause gets the same advice
                if remote(uri):
                    raise IndexStoreError(
                        f"Cannot reach Milvus at {uri} ({type(exc).__name__}). Start a server with: "
                        "milvus-lite server --data-dir DIR --host 127.0.0.1 --port PORT, or point "
                        "ASSISTANT_MILVUS_URI at a running one.") from None
                raise IndexStoreError(
                    f"Cannot open the Milvus Lite folder {uri} ({type(exc).__name__}); only one process "
                    f"may open it. For several, serve it with: milvus-lite server --data-dir {uri} --host "
                    "127.0.0.1 --port 19530, and set ASSISTANT_MILVUS_URI=http://127.0.0.1:19530.") from None
        return _clients[uri]


class MilvusStore:
    """Chunks in Milvus at settings.milvus_uri; lock, checkpoints and start-up key in index_dir."""

    # Only self.dir and current() are read: the folder store's bookkeeping serves this one too.
    synced_from, _seen, remember, sync = IndexStore.synced_from, IndexStore._seen, IndexStore.remember, IndexStore.sync

    def synced_files(self, key: dict) -> None:
        """None: this store's sync compares the whole corpus, so every file is read."""
        return None

    def __init__(self, settings):
        self.settings = settings
        self.dir = Path(settings.index_dir)
        self.uri = settings.milvus_uri or str(self.dir / "milvus.db")
        self.alias = settings.milvus_collection or "assistant_" + hashlib.sha1(
            str(self.dir.expanduser().resolve()).encode()).hexdigest()[:10]

    def __str__(self) -> str:
        return f"Milvus {self.uri} (collection {self.alias})"

    @property
    def client(self):
        return connect(self.uri)

    def _target(self) -> str | None:
        """The collection the alias names; None before the first build."""
        if self.alias not in self.client.list_aliases().get("aliases", []):
            return None
        name = self.client.describe_alias(self.alias)["collection_name"]
        if (self.uri, name) not in _loaded:  # reopened, a collection is released until loaded
            self.client.load_collection(name)
            _loaded.add((self.uri, name))
        return name

    def _live(self, collection: str) -> tuple[int, dict] | None:
        """(live version, its manifest) of a collection; None when none was published."""
        rows = self.client.query(collection, filter=f'kind == "{LIVE}"', output_fields=["v_from", "meta"],
                                 consistency_level="Strong")
        if not rows:
            return None
        row = max(rows, key=lambda r: r["v_from"])
        return row["v_from"], json.loads(row["meta"])

    def current(self) -> str | None:
        target = self._target()
        live = self._live(target) if target else None
        return f"{target}@{live[0]}" if live else None

    def load(self) -> MilvusSnapshot:
        """The live version; IndexStoreError when there is none."""
        target = self._target()
        live = self._live(target) if target else None
        if not live:
            raise IndexStoreError(f"No index in {self}. Build one with: "
                                  "ASSISTANT_INDEX_BACKEND=milvus assistant index")
        n, manifest = live
        # One read of the article rows serves the manifest and the searcher's vocabulary.
        rows = self._rows(target, f'kind == "article" and {live_filter(n)}', ["article_id", "meta", "body"])
        manifest["articles"] = {r["article_id"]: json.loads(r["meta"]) for r in rows}
        terms = {r["article_id"]: r["body"] for r in rows}
        return MilvusSnapshot(f"{target}@{n}", manifest, self.client, target, n, self.settings, terms)

    def _articles(self, collection: str, n: int) -> dict[str, dict]:
        rows = self._rows(collection, f'kind == "article" and {live_filter(n)}', ["article_id", "meta"])
        return {r["article_id"]: json.loads(r["meta"]) for r in rows}

    def _rows(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        return all_rows(self.client, collection, expr, fields)

    def _sync_locked(self, corpus, embedder, chunker, model, chunker_sig, rebuild, progress):
        t0 = time.perf_counter()
        space = getattr(embedder, "vector_space", "")
        if space:  # as in the folder store: int8 vectors are not searched with fp32 ones
            model = f"{model} [{space}]"
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self._target()
        live = self._live(target) if target else None
        reason, old = ("requested" if rebuild else None), None
        if rebuild:
            shutil.rmtree(self.dir / checkpoints.CACHE, ignore_errors=True)
        elif live:
            reason = MilvusSnapshot.compatible(_Manifest(live[1]), model, chunker_sig)
            old = None if reason else self._articles(target, live[0])
        report = IndexReport(version="", rebuilt=reason, problems=[str(p) for p in corpus.problems])
        old_articles, todo, fresh_articles, kept = old or {}, [], [], 0
        for art in corpus.articles:
            prev = old_articles.get(art.id)
            if prev and prev["hash"] == art.content_hash:
                report.unchanged += 1
                kept += prev["chunks"]
                continue
            report.changed += bool(prev)
            report.added += not prev
            fresh_articles.append(art)
        seen = {a.id for a in corpus.articles}
        gone = [a for a in old_articles if a not in seen]
        report.removed = len(gone)
        report.articles = len(corpus.articles)
        if (old is not None and not fresh_articles and not gone
                and live[1].get("corpus") == str(corpus.root)):
            report.version, report.chunks = f"{target}@{live[0]}", kept
            report.seconds = time.perf_counter() - t0
            return report  # nothing changed: the live version stays, nothing is written
        per_article = {a.id: chunker.chunk(a) for a in fresh_articles}
        todo = [c for a in fresh_articles for c in per_article[a.id]]
        report.chunks = kept + len(todo)
        vectors = None
        if todo:
            vectors, report.embedded = checkpoints.embed([embed_text(c) for c in todo], embedder, model,
                                                         self.dir / checkpoints.CACHE, progress)
        dim = vectors.shape[1] if todo else (live[1]["dimension"] if old is not None else embedder.dimension)
        if old is None:  # full build: a new collection, published by the alias switch below
            collection, n = self._create(dim), 1
        else:
            collection, n = target, live[0] + 1
            self._undo_unpublished(collection, live[0])
        self._insert(collection, [_chunk_row(c, v, n) for c, v in zip(todo, vectors if todo else [])])
        self._insert(collection, [_article_row(a, per_article[a.id], n, dim) for a in fresh_articles])
        if old is not None:
            replaced = [a.id for a in fresh_articles if a.id in old_articles] + gone
            self._retire(collection, replaced, n)
        manifest = {"format": FORMAT, "model": model, "dimension": dim, "chunker": chunker_sig,
                    "corpus": str(corpus.root), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "chunks": report.chunks, "index": {"type": self.settings.milvus_index},
                    # the build readers may still hold; any other is a killed rebuild's leftover
                    "previous": target if old is None else live[1].get("previous")}
        self._insert(collection, [_live_row(manifest, n, dim)])  # the publish: one row, all or nothing
        if old is None:
            if target:
                self.client.alter_alias(collection, self.alias)
            else:
                self.client.create_alias(collection, self.alias)
        self._drop_builds(keep={collection, manifest["previous"]})
        if old is not None:  # rows a reader of n-1 no longer needs; n-1 itself stays for readers still on it
            self.client.delete(collection, filter=f'(kind != "{LIVE}" and v_to < {n}) or '
                                                  f'(kind == "{LIVE}" and v_from < {n - 1})')
        # Sealed segments are searched through their indexes; rows still in the growing segment are
        # scanned (in Lite, by Python: 0.5 s dense and 1.1 s BM25 per query at 2k chunks, unflushed).
        self.client.flush(collection)
        shutil.rmtree(self.dir / checkpoints.CACHE, ignore_errors=True)
        report.version, report.seconds = f"{collection}@{n}", time.perf_counter() - t0
        return report

    def _create(self, dim: int) -> str:
        from .milvus_search import index_params, schema

        name = f"{self.alias}__build_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:6]}"
        self.client.create_collection(name, schema=schema(dim, self.settings),
                                      index_params=index_params(self.client, self.settings),
                                      consistency_level="Strong")
        return name

    def _drop_builds(self, keep: set) -> None:
        """Drop this alias's builds but the live one and the one before (readers may still hold it)."""
        mine = re.compile(rf"{re.escape(self.alias)}__build_\d{{14}}_[0-9a-f]{{6}}")
        for name in self.client.list_collections():
            if mine.fullmatch(name) and name not in keep:
                self.client.drop_collection(name)

    def _insert(self, collection: str, rows: list[dict]) -> None:
        for i in range(0, len(rows), BATCH):
            self.client.insert(collection, rows[i:i + BATCH])

    def _retire(self, collection: str, article_ids: list[str], n: int) -> None:
        """End the live rows of replaced or removed articles at version n (they stay for readers of n-1)."""
        if not article_ids:
            return
        expr = f"article_id in {json.dumps(article_ids)} and {live_filter(n - 1)}"
        self._set_v_to(collection, self._rows(collection, expr, FIELDS), n)

    def _undo_unpublished(self, collection: str, live: int) -> None:
        """Remove what a sync killed before publishing left: rows of version live+1 and its marks."""
        self.client.delete(collection, filter=f"v_from > {live}")
        marked = self._rows(collection, f"v_to > {live} and v_to < {MAX}", FIELDS)
        self._set_v_to(collection, marked, MAX)

    def _set_v_to(self, collection: str, rows: list[dict], v_to: int) -> None:
        for i in range(0, len(rows), BATCH):
            self.client.upsert(collection, [{**r, "v_to": v_to} for r in rows[i:i + BATCH]])


class _Manifest:
    """A manifest alone, for MilvusSnapshot.compatible before a snapshot exists."""

    def __init__(self, manifest: dict):
        self.manifest = manifest


def _chunk_row(c, vector, n: int) -> dict:
    meta = {"id": c.id, "title": c.title, "date": c.date, "url": c.url, "heading": c.heading,
            "start": c.start, "end": c.end, "sentences": [list(s) for s in c.sentences]}
    return {"pk": f"{n}:{c.id}", "kind": "chunk", "article_id": c.article_id, "source": c.source,
            "date": day(c.date), "v_from": n, "v_to": MAX, "vector": [float(x) for x in vector],
            "text": embed_text(c), "body": c.text, "meta": json.dumps(meta, ensure_ascii=False)}


def _article_row(a, chunks: list, n: int, dim: int) -> dict:
    meta = {"id": a.id, "source": a.source, "hash": a.content_hash, "title": a.title, "date": a.date,
            "url": a.url, "chunks": len(chunks)}
    # The article's stemmed terms, so a version opens by reading its article rows, not every
    # chunk's text (unknown-name refusals need the vocabulary). Too long for the field: left
    # empty, and that article's chunks are read instead.
    words = " ".join(sorted(set().union(*(terms(embed_text(c)) for c in chunks))))
    return {"pk": f"a{n}:{a.id}", "kind": "article", "article_id": a.id, "source": a.source,
            "date": day(a.date), "v_from": n, "v_to": MAX, "vector": _unit(dim), "text": "",
            "body": words if len(words.encode()) <= TERMS_MAX else "", "meta": json.dumps(meta, ensure_ascii=False)}


def _live_row(manifest: dict, n: int, dim: int) -> dict:
    return {"pk": f"{LIVE}:{n}", "kind": LIVE, "article_id": "", "source": "", "date": 0, "v_from": n,
            "v_to": MAX, "vector": _unit(dim), "text": "", "body": "", "meta": json.dumps(manifest)}


def _unit(dim: int) -> list[float]:
    """The vector of a bookkeeping row (COSINE needs a non-zero one; searches filter them out)."""
    return [1.0] + [0.0] * (dim - 1)
