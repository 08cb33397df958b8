"""The local GGUF model in a supervised child process: llama_cpp.server on a loopback port.

A fault in llama.cpp's native code (an instruction the CPU reports but the kernel has not
enabled, an out-of-memory kill) ends the child, never the chat or the caller's process: the
answer in flight gets a GeneratorError and the next question starts a new child.
"""

from __future__ import annotations

import atexit
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import AnswerInterrupted, GeneratorError

ALIAS = "local"  # the model name the child answers to
STARTUP_S = 180.0  # loading a large GGUF from a cold disk can take minutes
_servers: dict[tuple, "LocalServer"] = {}
_registry_lock = threading.Lock()


def shared_server(model: Path, context: int, threads: int) -> "LocalServer":
    """One child per (model, context, threads) in this process, shared by every generator."""
    key = (str(model), context, threads)
    with _registry_lock:
        if key not in _servers:
            _servers[key] = LocalServer(model, context, threads)
        return _servers[key]


@atexit.register
def stop_all() -> None:
    """Stop every child this process started (the pipe watcher covers a hard exit)."""
    for server in list(_servers.values()):
        server.stop()


class LocalServer:
    """Starts, health-checks, restarts and stops one llama_cpp.server child."""

    def __init__(self, model: Path, context: int, threads: int = 0):
        self.model, self.context, self.threads = Path(model), context, threads
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path: Path | None = None
        self.lock = threading.RLock()  # one generation at a time: the model's KV cache is shared
        self._token_counts: dict[str, int] = {}

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ensure(self) -> str:
        """The /v1 base URL of a running child, started (or restarted) if needed."""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            return self.root + "/v1"

    def died(self, wait_s: float = 2.0) -> str | None:
        """How the child ended ('signal 11 (SIGSEGV)', 'exit code 1'), or None if it runs."""
        if self.proc is None:
            return None
        try:
            # A killed child closes its sockets a moment before it can be reaped.
            code = self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return None
        if code < 0:
            try:
                return f"signal {-code} ({signal.Signals(-code).name})"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's own tokenizer, from the child's tokenize endpoint."""
        if text not in self._token_counts:
            self.ensure()
            reply = self._post("/extras/tokenize/count", {"input": text, "model": ALIAS})
            if len(self._token_counts) > 4096:  # passages change with every question
                self._token_counts.clear()
            self._token_counts[text] = int(reply["count"])
        return self._token_counts[text]

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s) and wait for it."""
        with self.lock:
            proc, self.proc = self.proc, None
            self._drop_log()
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    # -- internals ---------------------------------------------------------------------------
    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "assistant.generators.llama_child", "--model",
               str(self.model), "--model_alias", ALIAS, "--host", "127.0.0.1", "--port",
               str(self.port), "--n_ctx", str(self.context), "--seed", "0",
               # Two chat users must queue, not cut each other's answers off mid-stream.
               "--interrupt_requests", "False", "--verbose", "False",
               # The server's default computes logits for every prompt token: slower, unused.
               "--logits_all", "False"]
        if self.threads:
            cmd += ["--n_threads", str(self.threads), "--n_threads_batch", str(self.threads)]
        return cmd

    def _start(self) -> None:
        if self.proc is not None:
            self.proc.wait()  # reap the one that died
        self._drop_log()  # a crashed child's log is kept until the next start
        self.port = _free_port()
        fd, log = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
        self.log_path = Path(log)
        with open(fd, "wb") as out:
            # stdin is a pipe the child watches: when this process ends, however it ends, the
            # pipe closes and the child exits too.
            self.proc = subprocess.Popen(self._command(), stdin=subprocess.PIPE, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise GeneratorError(
                    f"llama.cpp could not load {self.model} ({self._log_tail()}). Check that it "
                    "is a GGUF chat model, or set ASSISTANT_LLM_MODEL_PATH to another one.")
            try:
                with urllib.request.urlopen(self.root + "/v1/models", timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        last = self._log_tail()
        self.stop()
        raise GeneratorError(f"The local model server did not start within {STARTUP_S:g}s "
                             f"({last}). Check the model file and free memory.")

    def _post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.root + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return json.loads(reply.read())
        except OSError as exc:
            ended = self.died()
            if ended:
                raise stopped_error(ended) from None
            raise GeneratorError(f"The local model server failed on {path}: {exc}. "
                                 f"See its log: {self.log_path}.") from None

    def _drop_log(self) -> None:
        if self.log_path:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def _log_tail(self) -> str:
        lines = [ln.strip() for ln in self.log_path.read_text(errors="replace").splitlines()
                 if ln.strip()] if self.log_path else []
        errors = [ln for ln in lines if "rror" in ln or "failed" in ln.lower()]
        return (errors or lines or [f"it exited: {self.died()}"])[-1][:300]


def stopped_error(how: str) -> AnswerInterrupted:
    """The error for an answer cut short because the child died."""
    hint = (" A SIGKILL most often means the machine ran out of memory."
            if "SIGKILL" in how else "")
    return AnswerInterrupted(
        f"The local model stopped ({how}) while answering; it restarts on the next question."
        f"{hint} If it keeps stopping, run `assistant doctor` and reinstall with `make install` "
        "(a portable llama.cpp build), or choose the extractive generator.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
