"""Hostile corpora and index faults: reported by name, valid articles kept, previous index survives."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from assistant import Assistant
from tests.conftest import CORPUS

BIN = [sys.executable, "-m", "assistant.cli"]


def _assistant(tmp_path, shared, corpus):
    # Thousands of generated articles: embedding their answer sentences too would only add minutes.
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", sentence_vectors=False)
    a.embedder = shared.embedder
    return a


def test_a_messy_folder_indexes_what_it_can(tmp_path, assistant):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "huge.txt").write_bytes(b"word " * (11 * 1024 * 1024))  # 55 MB
    (corpus / "copy.txt").write_text((CORPUS / "004_e48939797a376529.txt").read_text())
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00bin")
    small = corpus / "small"
    small.mkdir()
    for i in range(5000):
        (small / f"n{i:04d}.txt").write_text(f"Bulletin {i}: the ministry opened regional office {i} in city {i}.")
    a = _assistant(tmp_path, assistant, corpus)
    report = a.index(progress=False)
    assert report.articles == 5 + 1 + 5000
    assert {p.split(":")[0] for p in report.problems} == {"huge.txt", "bad.txt"}
    assert "MB limit" in next(p for p in report.problems if p.startswith("huge.txt"))
    answer = a.ask("Where was WTDC-25 held?")
    assert "Baku" in answer.text
    top = answer.passages[0]
    assert {top.source, *top.also_in} >= {"004_e48939797a376529.txt", "copy.txt"}  # duplicate folded in
    assert "office 4321" in a.ask("Which office did the ministry open in city 4321?").text


def test_missing_chunk_table_is_rebuilt(tmp_path, assistant, corpus_copy):
    a = _assistant(tmp_path, assistant, corpus_copy)
    a.index(progress=False)
    shutil.rmtree(tmp_path / "index" / a.store.current() / "chunks")
    report = a.index(progress=False)
    assert report.rebuilt and "unreadable" in report.rebuilt
    assert "Baku" in a.ask("Where was WTDC-25 held?").text


def _env(corpus, index):
    return dict(os.environ, ASSISTANT_CORPUS_DIR=str(corpus), ASSISTANT_INDEX_DIR=str(index),
                HF_HUB_OFFLINE="1", ASSISTANT_SENTENCE_VECTORS="false")


@pytest.fixture
def big_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for i in range(1500):
        (corpus / f"extra{i:04d}.txt").write_text(
            " ".join(f"Report {i} sentence {j} about fiber, satellites and e-government." for j in range(12)))
    return corpus


def test_two_indexers_take_turns(tmp_path, big_corpus):
    env = _env(big_corpus, tmp_path / "index")
    first = subprocess.Popen(BIN + ["index"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "index" / ".lock").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the first one holds the lock while it embeds
    second = subprocess.run(BIN + ["index"], env=env, capture_output=True, text=True, timeout=900)
    out1, err1 = first.communicate(timeout=900)
    assert first.returncode == 0 and second.returncode == 0, (err1, second.stderr)
    assert "waiting" in second.stderr
    assert "0 chunks embedded" in second.stdout  # it found the first one's work done


def test_kill_9_during_indexing_keeps_the_previous_index(tmp_path, big_corpus):
    index = tmp_path / "index"
    small = tmp_path / "small"
    shutil.copytree(CORPUS, small)
    assert subprocess.run(BIN + ["index"], env=_env(small, index), capture_output=True,
                          timeout=300).returncode == 0
    before = (index / "CURRENT").read_text()
    proc = subprocess.Popen(BIN + ["index"], env=_env(big_corpus, index),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)  # model loaded, embedding 1500 articles
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (index / "CURRENT").read_text() == before
    env = _env(small, index) | {"ASSISTANT_AUTO_INDEX": "false"}
    asked = subprocess.run(BIN + ["ask", "Where was WTDC-25 held?"], env=env, capture_output=True,
                           text=True, timeout=300)
    assert asked.returncode == 0 and "Baku" in asked.stdout
    again = subprocess.run(BIN + ["index"], env=_env(big_corpus, index), capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0 and "Indexed 1505 articles" in again.stdout
