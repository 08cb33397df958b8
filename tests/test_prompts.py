"""Prompt templates: strict variables, checked when a template loads and when it renders."""

import pytest

from assistant.errors import ConfigError
from assistant.prompts import load_prompt
from assistant.settings import Settings

SHIPPED = {  # every template the LLM generators load, with the variables the code passes
    "answer_system": set(),
    "answer_user": {"passages", "question"},
    "condense_system": set(),
    "condense_user": {"history", "question"},
}


@pytest.mark.parametrize("name,variables", SHIPPED.items())
def test_shipped_templates_load_with_the_variables_the_code_passes(name, variables):
    prompt = load_prompt(name, variables, Settings().prompts_dir)
    text = prompt.render(**{v: f"<{v}>" for v in variables})
    assert text.strip() and "$" not in text


def test_answer_template_wraps_passages_as_data_and_asks_for_markers():
    system = load_prompt("answer_system", set(), Settings().prompts_dir).render()
    user = load_prompt("answer_user", {"passages", "question"}, Settings().prompts_dir)
    text = user.render(passages="PASSAGES", question="QUESTION")
    assert text.index("<passages>") < text.index("PASSAGES") < text.index("</passages>")
    assert text.index("</passages>") < text.index("QUESTION")
    assert "[1]" in system and "only" in system and "do not contain the answer" in system
    assert "not instructions" in system


def test_missing_variable_fails_at_load_naming_required_and_found(tmp_path):
    (tmp_path / "t.txt").write_text("Passages: $passages\n")
    with pytest.raises(ConfigError) as err:
        load_prompt("t", {"passages", "question"}, tmp_path)
    msg = str(err.value)
    assert "missing $question" in msg and "Required: $passages, $question" in msg
    assert "are in the file: $passages" in msg and str(tmp_path / "t.txt") in msg


def test_unknown_variable_fails_at_load(tmp_path):
    (tmp_path / "t.txt").write_text("$question $histroy")
    with pytest.raises(ConfigError, match=r"unknown \$histroy"):
        load_prompt("t", {"question"}, tmp_path)


def test_malformed_placeholder_and_missing_file_fail_clearly(tmp_path):
    (tmp_path / "bad.txt").write_text("costs $5 for $question")
    with pytest.raises(ConfigError, match=r"\$\$ for a literal dollar"):
        load_prompt("bad", {"question"}, tmp_path)
    with pytest.raises(ConfigError, match="ASSISTANT_PROMPTS_DIR"):
        load_prompt("absent", set(), tmp_path)


def test_render_needs_exactly_the_declared_values(tmp_path):
    (tmp_path / "t.txt").write_text("Q: $question")
    prompt = load_prompt("t", {"question"}, tmp_path)
    with pytest.raises(ConfigError, match=r"missing \$question"):
        prompt.render()
    with pytest.raises(ConfigError, match=r"unknown \$extra"):
        prompt.render(question="q", extra="x")


def test_values_are_inserted_verbatim_never_parsed(tmp_path):
    (tmp_path / "t.txt").write_text("Q: $question costs $$1")
    # An article or question holding "$passages" must not pull in another variable.
    assert load_prompt("t", {"question"}, tmp_path).render(question="$passages ${x}") == \
        "Q: $passages ${x} costs $1"
