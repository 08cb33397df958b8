"""Many threads asking one Assistant while another re-indexes: no crash, one index version per answer."""

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from assistant import Assistant
from tests.conftest import CORPUS


def test_32_threads_ask_while_the_index_is_rebuilt(tmp_path, assistant):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    a.embedder = assistant.embedder  # share the loaded model
    a.index(progress=False)
    versions = {a.snapshot.version: {c.id for c in a.snapshot.chunks}}
    stop = threading.Event()

    def reindex():
        for i in range(3):
            (corpus / f"extra{i}.txt").write_text(f"Iran and Armenia signed fiber deal number {i} in Yerevan.")
            a.index(progress=False)
            versions[a.snapshot.version] = {c.id for c in a.snapshot.chunks}
        stop.set()

    def one(i):
        q = ["Where was WTDC-25 held?", "Who is Oman's ambassador to Iran?",
             "When did Saudi Arabia cut diplomatic ties with Iran?", "Where was the fiber deal signed?"][i % 4]
        ans = a.ask(q)
        return q, ans

    writer = threading.Thread(target=reindex)
    writer.start()
    results, i = [], 0
    with ThreadPoolExecutor(32) as pool:
        # Waves of 32 questions until the writer is done (and one wave after), so answers
        # surely come from before, during and after the re-indexing; bounded either way.
        while (i < 160 or not stop.is_set()) and i < 3200:
            results += list(pool.map(one, range(i, i + 32)))
            i += 32
        results += list(pool.map(one, range(i, i + 32)))
    writer.join()
    assert stop.is_set() and len(versions) == 4
    assert len({ans.index_version for _, ans in results}) > 1, "answers spanned the re-indexing"
    for q, ans in results:
        # Every passage comes from the one snapshot the answer names.
        assert {p.chunk_id for p in ans.passages} <= versions[ans.index_version]
        if q == "Where was WTDC-25 held?":
            assert "Baku" in ans.text
        for c in ans.citations:
            p = ans.passages[c.passage]
            assert p.text[c.start - p.start:c.end - p.start] == c.quote
    final = a.ask("Where was the fiber deal signed?")
    assert "Yerevan" in final.text
