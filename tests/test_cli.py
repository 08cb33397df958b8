"""The `assistant` command: JSON output, filters, help with examples, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

BIN = [sys.executable, "-m", "assistant.cli"]


@pytest.fixture(scope="module")
def env(corpus_copy, tmp_path_factory):
    e = dict(os.environ, ASSISTANT_CORPUS_DIR=str(corpus_copy),
             ASSISTANT_INDEX_DIR=str(tmp_path_factory.mktemp("cli-index")), HF_HUB_OFFLINE="1")
    done = subprocess.run(BIN + ["index"], env=e, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Indexed 5 articles" in done.stdout
    return e


def run(env, *args):
    return subprocess.run(BIN + list(args), env=env, capture_output=True, text=True, timeout=300)


def test_ask_json_has_the_answer_fields(env):
    done = run(env, "ask", "Where was WTDC-25 held?", "--json", "--k", "3")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"text", "citations", "passages", "abstained", "timings", "query"} <= set(data)
    assert "Baku" in data["text"] and len(data["passages"]) <= 3
    c = data["citations"][0]
    assert c["source"] == "004_e48939797a376529.txt" and c["marker"] == 1
    assert {"quote", "start", "end", "title", "date"} <= set(c)


def test_ask_text_lists_sources_and_filters_apply(env):
    done = run(env, "ask", "Where was WTDC-25 held?")
    assert done.returncode == 0 and "[1]" in done.stdout and "004_e48939797a376529.txt" in done.stdout
    filtered = run(env, "ask", "Where was WTDC-25 held?", "--until", "2025-02-01", "--json")
    assert json.loads(filtered.stdout)["abstained"] is True
    only = run(env, "ask", "What did Hashemi discuss?", "--source", "003", "--json")
    assert {p["source"] for p in json.loads(only.stdout)["passages"]} == {"003_f2cf5b43b39640dc.txt"}


@pytest.mark.parametrize("args,needle,code", [
    (["ask", ""], "question is empty", 2),
    (["ask", "x?", "--since", "yesterday"], "YYYY-MM-DD", 2),
    (["ask", "x?", "--generator", "nope"], "valid:", 2),
])
def test_errors_are_one_line_with_the_next_step(env, args, needle, code):
    done = run(env, *args)
    assert done.returncode == code
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0]
    assert "Traceback" not in done.stderr


def test_missing_corpus_is_a_clear_error(env, tmp_path):
    done = run(env, "index", str(tmp_path / "missing"))
    assert done.returncode == 3 and "does not exist" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["index", "ask"])
def test_help_shows_an_example(command):
    done = subprocess.run(BIN + [command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Example" in done.stdout and "assistant " + command in done.stdout
