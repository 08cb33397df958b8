"""`assistant index --ray`: embedding on a real local Ray cluster gives the same index, survives a
killed actor, and a failed run leaves the live version answering."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from assistant import Assistant
from assistant.chunk import embed_text
from assistant.errors import AssistantError, ConfigError, MissingDependency
from tests.conftest import CORPUS
from tests.test_answers import SEEDS


@pytest.fixture(scope="module")
def ray_cluster():
    """A local cluster whose processes bind and connect on 127.0.0.1 only (ray_ingest.connect)."""
    ray = pytest.importorskip("ray")
    from assistant.ray_ingest import connect

    saved = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    # 4 logical CPUs on 2 cores: the shared pool's 2 actors hold 2, a test's own actors take the rest.
    connect(cpus=4)
    # Fault-injecting embedders below live in this module, which Ray's workers cannot import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()
    if saved is None:
        os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)


@pytest.fixture
def fresh(tmp_path, assistant):
    """An Assistant over a private corpus copy, sharing the session's loaded model."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    a = Assistant(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    a.embedder = assistant.embedder
    return a


@pytest.fixture(scope="module")
def pool(ray_cluster, assistant):
    """Two actors running the session's model, started once (each loads it: seconds on 2 cores)."""
    from assistant.ray_ingest import RayEmbedder

    embedder = RayEmbedder(assistant.embedder, actors=2, batch=2)
    embedder.start()
    yield embedder
    embedder.close()


@pytest.mark.slow
def test_ray_index_equals_the_plain_index(pool, fresh, assistant, ray_cluster):
    fresh.embedder = pool
    report = fresh.index(progress=False)
    assert report.embedded == report.chunks == len(assistant.snapshot.chunks)
    pids = {ray_cluster.get(a.pid.remote()) for a in pool.pool}
    assert len(pids) == 2 and os.getpid() not in pids  # two actor processes did the embedding
    plain, ours = assistant.snapshot, fresh.snapshot
    assert [c.id for c in ours.chunks] == [c.id for c in plain.chunks]
    np.testing.assert_allclose(np.asarray(ours.vectors), np.asarray(plain.vectors), atol=1e-5)
    for question, source, _ in SEEDS:
        top = fresh.retrieve(question, k=5)[0]
        assert source in [top.source, *top.also_in], question
        assert top.chunk_id == assistant.retrieve(question, k=5)[0].chunk_id


@pytest.mark.slow
def test_a_killed_actor_is_restarted_and_its_batches_retried(pool, assistant, ray_cluster):
    plain = assistant.snapshot
    texts = [embed_text(c) for c in plain.chunks] * 2
    victim = pool.pool[0]
    pid = ray_cluster.get(victim.pid.remote())
    killed_at = []
    pool.done = 0  # what the last test left

    def kill():  # as soon as the first batch is back: both actors still hold queued ones
        while pool.done == 0:
            time.sleep(0.01)
        killed_at.append(pool.done)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    vectors = pool.embed(texts)
    killer.join(timeout=5)
    assert killed_at and killed_at[0] < len(texts), "the kill must land while the run is going on"
    assert ray_cluster.get(victim.pid.remote()) != pid  # Ray restarted it
    np.testing.assert_allclose(vectors, np.tile(np.asarray(plain.vectors), (2, 1)), atol=1e-5)


class _FailsAfterWarmUp:
    """An embedder whose worker loads fine, then raises on every batch (a bad disk, a bug)."""

    name, backend, vector_space = "broken", "onnx", ""

    def embed(self, texts, progress=False):
        if texts == ["warm-up"]:
            return np.zeros((1, 384), dtype=np.float32)
        raise RuntimeError("simulated failure inside the worker")


@pytest.mark.slow
def test_a_failed_ray_run_leaves_the_previous_version_live(ray_cluster, fresh):
    fresh.index(progress=False)
    before = fresh.store.current()
    (fresh.settings.corpus_dir / "new.txt").write_text("Kazakhstan and Iran opened a data center in Astana.")
    local = fresh.embedder
    from assistant.ray_ingest import RayEmbedder

    fresh.embedder = RayEmbedder(local, actors=2, make=_FailsAfterWarmUp)
    with pytest.raises(AssistantError, match="live index is unchanged"):
        fresh.index(progress=False)
    assert fresh.embedder.pool == []  # its actors were stopped
    assert fresh.store.current() == before
    reloaded = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.settings.index_dir,
                         auto_index=False)
    reloaded.embedder = local
    assert "Baku" in reloaded.ask("Where was WTDC-25 held?").text
    assert "new.txt" not in {c.source for c in reloaded.snapshot.chunks}


@pytest.mark.slow
def test_the_cli_embeds_on_a_local_cluster_and_starts_none_when_nothing_changed(tmp_path):
    pytest.importorskip("ray")
    shutil.copytree(CORPUS, tmp_path / "corpus")
    cmd = [sys.executable, "-m", "assistant.cli", "index", str(tmp_path / "corpus"),
           "--index-dir", str(tmp_path / "index"), "--ray", "--ray-actors", "1"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "30 chunks embedded" in first.stdout and "Ray: 1 actor, started in" in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "0 chunks embedded" in again.stdout and "Ray:" not in again.stdout + again.stderr


def test_a_path_given_as_the_address_says_where_the_path_goes():
    from assistant.ray_ingest import check

    with pytest.raises(ConfigError, match="assistant index PATH --ray"):
        check("corpus/")


def test_without_ray_the_error_names_the_extra(monkeypatch):
    import importlib.util

    from assistant import ray_ingest

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(MissingDependency, match=r"pip install -e '\.\[ray\]'"):
        ray_ingest.check(None)
