"""Bulk embedding on Ray: a pool of actors, each loading the embedder once, behind the Embedder seam.

Only the embedding step moves to Ray. Reading, cleaning and chunking stay in the driver (they
take a few percent of an index build: docs/benchmarks.md, Ingestion), and IndexStore.sync
checkpoints and publishes exactly as without Ray: a crash resumes from the saved parts, and a
failed run never moves CURRENT, so the live index stays on the previous version.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

from .errors import AssistantError, ConfigError, MissingDependency

BATCH = 64  # texts per actor call: ~1 s of work on one core, so scheduling overhead stays small
IN_FLIGHT = 2  # calls queued per actor, so none waits on the driver between two batches
RETRIES = 3  # restarts of a dead actor process, and retries of the calls it held
START_TIMEOUT = 300  # seconds for every actor to load its model (an autoscaler may add nodes)
OBJECT_STORE = 256 * 2**20  # vectors and texts are small; Ray's default takes 30% of RAM


class _Worker:
    """One Ray actor: builds the embedder once, then embeds the batches sent to it."""

    def __init__(self, make, threads: int = 1):
        self.embedder = make()
        # ONNX Runtime sizes its thread pool to every core; N actors on one node would run N pools
        # that spin against each other. One thread per CPU Ray gave the actor.
        if hasattr(self.embedder, "threads"):
            self.embedder.threads = threads
        self.embedder.embed(["warm-up"])  # load now: a missing model fails at start, not mid-run

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def pid(self) -> int:
        return os.getpid()


def check(address: str | None = None) -> None:
    """Fail early, before the corpus is read, when Ray is missing or the address is malformed."""
    if address is not None and address != "auto" and ":" not in address:
        raise ConfigError(f"--ray takes a cluster address (10.0.0.5:6379, ray://head:10001 or auto), "
                          f"not {address!r}. Put the corpus PATH before it: assistant index PATH --ray")
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise MissingDependency("ray[data]", "ray")


def connect(address: str | None = None, cpus: int | None = None) -> float:
    """Start a local Ray cluster (no address) or join one (host:port, ray://..., auto); seconds taken."""
    check(address)
    if address is None:
        # Ray turns 127.0.0.1 into the host's network address (its processes then listen on every
        # interface) unless it believes it runs on a laptop; a one-machine cluster needs nothing
        # beyond loopback. The constant is read at import, so it is set on the module as well.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    from ray._private import ray_constants

    if ray.is_initialized():
        return 0.0
    t0 = time.perf_counter()
    if address is None:
        ray_constants.ENABLE_RAY_CLUSTER = False
        # Ray runs workers at nice 15 below its driver; here they do all the embedding, and on a
        # machine with other work they starved (1.1 vs 11 chunks/s measured), so they run at the
        # driver's priority. A cluster joined by address keeps its own setting.
        ray.init(num_cpus=cpus or os.cpu_count(), include_dashboard=False, object_store_memory=OBJECT_STORE,
                 _node_ip_address="127.0.0.1", _system_config={"worker_niceness": 0},
                 log_to_driver=False, logging_level="warning")
    else:
        try:
            ray.init(address=address, log_to_driver=False, logging_level="warning")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"Could not join the Ray cluster at {address!r} ({exc}). Check the address "
                              "(`ray status` on the head node), or run --ray without one for a local "
                              "cluster.") from None
    return time.perf_counter() - t0


class RayEmbedder:
    """Embeds through actors on a Ray cluster; every other call (fits, dimension) goes to `local`.

    Plain actors rather than ray.data map_batches: IndexStore.sync calls embed() once per
    checkpoint part, and a Dataset per call costs seconds of planning; actors outlive the calls,
    so each loads the model once per run. A dead actor is restarted by Ray and the calls it held
    are retried (the embedding of a batch is idempotent); an error raised by the model is not
    retried, it fails the run, which leaves the live index as it was.
    """

    def __init__(self, local, address: str | None = None, actors: int | None = None,
                 batch: int | None = None, make=None):
        self.local, self.address, self.actors, self.batch = local, address, actors, batch or BATCH
        # What each actor runs: the same model and backend as the driver, so the vectors (and the
        # index's vector space) are the ones a plain `assistant index` writes.
        self.make = make or functools.partial(_same_embedder, local.name, local.batch_size, local.backend)
        self.pool: list = []
        self.started_in = 0.0  # seconds to start or join the cluster and load the actors
        self.embedded, self.busy = 0, 0.0  # chunks embedded and seconds spent, for chunks/s
        self.done = 0  # texts back from the actors in the current embed() call
        self.owns_cluster = False
        self.size = 0  # actors started

    def __getattr__(self, name):  # name, backend, vector_space, fits, dimension, embed_cached...
        if name == "local":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.local, name)

    @property
    def checkpoint_every(self) -> int:
        """Texts per checkpoint part: enough to keep every actor busy (checkpoints.embed reads it)."""
        from .checkpoints import CHECKPOINT

        return max(CHECKPOINT, (len(self.pool) or self.actors or 1) * self.batch * IN_FLIGHT * 2)

    def start(self) -> None:
        """Start or join the cluster and load one embedder per actor (done by the first embed())."""
        import ray

        t0 = time.perf_counter()
        self.local.embed(["warm-up"])  # a first use exports the ONNX graph: once here, not per actor
        self.owns_cluster = not ray.is_initialized() and self.address is None
        connect(self.address)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = self.actors or max(1, cpus)
        if self.address is None and n > cpus:  # a local cluster never grows: they would wait forever
            raise ConfigError(f"--ray-actors {n} is more than the {cpus} CPUs of the local cluster "
                              "(one per actor). Lower it.")
        actor = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(_Worker)
        self.pool = [actor.remote(self.make) for _ in range(n)]
        self.size = n
        ready = [a.pid.remote() for a in self.pool]
        if len(ray.wait(ready, num_returns=n, timeout=START_TIMEOUT)[0]) < n:
            free = ray.available_resources().get("CPU", 0)
            self.close()
            raise ConfigError(f"{n} Ray actors did not start within {START_TIMEOUT} s ({free:g} CPUs free "
                              "on the cluster, one per actor). Lower --ray-actors, or check `ray status`.")
        self._get(ready)  # every model loaded, or the error that stopped one
        self.started_in = time.perf_counter() - t0

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors of `texts` in order, batches spread over the actors as each one frees up."""
        if not texts:
            return self.local.embed([])
        if not self.pool:
            self.start()
        import ray

        t0 = time.perf_counter()
        self.done = 0
        out: np.ndarray | None = None
        todo = iter(range(0, len(texts), self.batch))
        pending: dict = {}  # object ref -> (first row, actor)

        def submit(actor):
            lo = next(todo, None)
            if lo is not None:
                pending[actor.embed.remote(texts[lo:lo + self.batch])] = (lo, actor)

        for actor in self.pool * IN_FLIGHT:
            submit(actor)
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            lo, actor = pending.pop(ref)
            vectors = self._get(ref)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[lo:lo + len(vectors)] = vectors
            self.done += len(vectors)
            submit(actor)
        self.embedded += len(texts)
        self.busy += time.perf_counter() - t0
        return out

    def _get(self, refs):
        import ray

        try:
            return ray.get(refs)
        except ray.exceptions.RayError as exc:
            self.close()  # no actor keeps working for a run that has failed
            cause = str(exc).strip().splitlines()[-1][:300]
            raise AssistantError(
                f"Embedding on Ray failed ({type(exc).__name__}: {cause}). The live index is unchanged, "
                "and the parts embedded so far are saved: run the same command again to resume.") from None

    def summary(self) -> str:
        """One line for the CLI: actors, start-up and throughput."""
        rate = f", {self.embedded / self.busy:.1f} chunks/s" if self.busy else ""
        return (f"Ray: {self.size} actor{'s' * (self.size != 1)}, started in {self.started_in:.1f}s; "
                f"{self.embedded} chunks embedded{rate}.")

    def close(self) -> None:
        """Stop the actors, and the cluster when this embedder started it."""
        if not self.pool and not self.owns_cluster:
            return
        import ray

        for actor in self.pool:
            ray.kill(actor, no_restart=True)
        self.pool = []
        if self.owns_cluster:
            ray.shutdown()
            self.owns_cluster = False


def _same_embedder(model: str, batch_size: int, backend: str):
    from .embed import get_embedder

    return get_embedder(model, batch_size, backend=backend)
