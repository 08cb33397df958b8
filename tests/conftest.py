"""Shared fixtures: no network beyond loopback, and a real index of the default corpus."""

import ipaddress
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# A private cache (the ONNX export lands there), so no run depends on, or changes, the user's.
_CACHE = tempfile.mkdtemp(prefix="corpus-assistant-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
_real_connect = socket.socket.connect
_real_create = socket.create_connection


class NetworkBlocked(RuntimeError):
    pass


def _loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _loopback(address):
        raise NetworkBlocked(f"test tried to reach {address!r}; the assistant must work offline")
    return _real_connect(self, address)


def _guarded_create(address, *args, **kwargs):
    if not _loopback(address):
        raise NetworkBlocked(f"test tried to reach {address!r}; the assistant must work offline")
    return _real_create(address, *args, **kwargs)


# Installed at import, before any fixture loads a model: the whole run fails on a
# connection to anything but loopback (servers under test live on 127.0.0.1).
socket.socket.connect = _guarded_connect
socket.create_connection = _guarded_create


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory) -> Path:
    """A private copy of the default corpus that a test may not modify."""
    dest = tmp_path_factory.mktemp("corpus")
    for f in CORPUS.iterdir():
        shutil.copy(f, dest / f.name)
    return dest


@pytest.fixture(scope="session")
def assistant(corpus_copy, tmp_path_factory):
    """One real Assistant (bundled model, FAISS, tiktoken) over the default corpus."""
    from assistant import Assistant

    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path_factory.mktemp("index"))
    a.index(progress=False)
    return a


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)
