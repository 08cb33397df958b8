"""Pure functions that turn an Answer into escaped HTML for the chat and its sources panel."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from .citations import MARKER
from .records import Answer, Citation, Passage

# Notes such as "abstained: ..." or "verify: kept=1 ..." are for developers: they go in a
# tooltip. Notes written as sentences ("The question was longer than ...") are for readers.
_DIAGNOSTIC = re.compile(r"^[a-z][\w-]*: ")

# Every fragment here is one line with no blank line: the chat renders messages as Markdown,
# and CommonMark passes a block that starts with <div> through untouched only until the
# first blank line. One line also keeps Markdown from reading `*`, `_` or `#` in corpus text.


def anchor(turn: int, marker: int) -> str:
    """The element id of one cited source in the panel; `turn` keeps ids unique per chat."""
    return f"ca-src-{turn}-{marker}"


def question_html(question: str) -> str:
    """The user's question as literal text."""
    return f'<div class="ca-question">{_lines(question)}</div>'


def answer_html(answer: Answer, turn: int) -> str:
    """The answer with [n] markers as links to the sources panel, then notes and timings."""
    titles = {c.marker: c.title for c in answer.citations}
    parts, pos = [], 0
    for m in MARKER.finditer(answer.text):
        n = int(m.group(1))
        if n not in titles:  # "[7]" quoted from an article is its text, not a link to a source
            continue
        parts.append(_lines(answer.text[pos:m.start()]))
        title = escape(titles.get(n) or "source", quote=True)
        parts.append(f'<sup class="ca-fn"><a href="#{anchor(turn, n)}" title="{title}">'
                     f"[{n}]</a></sup>")
        pos = m.end()
    parts.append(_lines(answer.text[pos:]))
    kind = "ca-answer ca-abstained" if answer.abstained else "ca-answer"
    label = '<div class="ca-label">Not in the corpus</div>' if answer.abstained else ""
    notes = "".join(f'<div class="ca-note">{_lines(n)}</div>' for n in answer.notes
                    if not _DIAGNOSTIC.match(n))
    return f'<div class="{kind}">{label}<div class="ca-text">{"".join(parts)}</div>' \
           f"{notes}{timings_html(answer)}</div>"


def partial_html(text: str) -> str:
    """Text still streaming in: escaped, markers shown but not yet linked."""
    body = MARKER.sub(lambda m: f'<sup class="ca-fn">[{m.group(1)}]</sup>', escape(text))
    return f'<div class="ca-answer ca-streaming"><div class="ca-text">' \
           f'{body.replace(chr(10), "<br>")}<span class="ca-cursor">\u258d</span></div></div>'


def timings_html(answer: Answer) -> str:
    """One small line: generator, total and per-stage times; diagnostics in its tooltip."""
    t = answer.timings
    if not t:
        return ""
    stages = " · ".join(f"{escape(k)} {_secs(v)}" for k, v in t.items() if k != "total")
    total = _secs(t.get("total", sum(t.values())))
    detail = "&#10;".join(escape(n, quote=True).replace("\n", " ") for n in answer.notes
                          if _DIAGNOSTIC.match(n))
    tip = f' title="{detail}"' if detail else ""
    return f'<div class="ca-meta"{tip}>{escape(answer.generator)} · {total} ({stages})</div>'


def error_html(message: str) -> str:
    """A problem shown as a chat message (never a traceback)."""
    return f'<div class="ca-error"><b>Problem:</b> {_lines(message)}</div>'


def notice_html(lines: Iterable[str]) -> str:
    """An informational chat message, one escaped line each (e.g. upload results)."""
    body = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<div class="ca-notice"><ul>{body}</ul></div>'


def sources_placeholder(message: str = "Ask a question: the articles its answer cites "
                                          "appear here, with the quoted words highlighted.") -> str:
    """The panel before any answer, or while one is being prepared."""
    return f'<div class="ca-sources"><div class="ca-panel-title">Sources</div>' \
           f'<div class="ca-empty">{escape(message)}</div></div>'


def sources_html(answer: Answer, turn: int) -> str:
    """Cited articles with their quotes highlighted, then uncited passages folded away."""
    by_marker: dict[int, list[Citation]] = {}
    for c in answer.citations:
        by_marker.setdefault(c.marker, []).append(c)
    head = (f'<div class="ca-panel-title">Sources</div><div class="ca-sources-head">for '
            f'\u201c{escape(answer.question)}\u201d</div>')
    if answer.abstained:
        cards = ['<div class="ca-none">No passage supports an answer, so nothing is cited. '
                 "The closest passages found are listed below.</div>"]
    elif not by_marker:
        cards = ['<div class="ca-none">This answer cites no source.</div>']
    else:
        cards = [_card(answer, n, cites, turn) for n, cites in sorted(by_marker.items())]
    cited = {c.passage for c in answer.citations}
    rest = [(i, p) for i, p in enumerate(answer.passages) if i not in cited]
    folded = ""
    if rest:
        items = "".join(_uncited(p) for _, p in rest)
        label = "Closest passages" if answer.abstained else "Retrieved but not cited"
        folded = (f'<details class="ca-uncited"><summary>{label} ({len(rest)})</summary>'
                  f"{items}</details>")
    return f'<div class="ca-sources">{head}{"".join(cards)}{folded}</div>'


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escape `text` and wrap each (start, end) span in <mark>; overlapping spans merge."""
    merged: list[list[int]] = []
    for s, e in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out += [escape(text[pos:s]), "<mark>", escape(text[s:e]), "</mark>"]
        pos = e
    out.append(escape(text[pos:]))
    return "".join(out)


def quote_span(passage: Passage, citation: Citation) -> tuple[int, int] | None:
    """Where the citation's quote lies inside the passage text, or None if it is not there."""
    s, e = citation.start - passage.start, citation.end - passage.start
    # Offsets point into the article; trust them only when they land on the quoted words.
    if 0 <= s < e <= len(passage.text) and passage.text[s:e] == citation.quote:
        return s, e
    found = passage.text.find(citation.quote) if citation.quote else -1
    return (found, found + len(citation.quote)) if found >= 0 else None


def _card(answer: Answer, n: int, cites: list[Citation], turn: int) -> str:
    first = cites[0]
    passage = answer.passages[first.passage] if 0 <= first.passage < len(answer.passages) else None
    spans = [quote_span(passage, c) for c in cites if passage] if passage else []
    if passage and all(spans):
        body = f'<div class="ca-passage">{highlight(passage.text, spans)}</div>'
    else:  # the quote is not inside a passage we hold: show the quote alone, still marked
        body = "".join(f'<div class="ca-passage"><mark>{escape(c.quote)}</mark></div>'
                       for c in cites)
    heading = passage.heading if passage and passage.heading != first.title else None
    also = passage.also_in if passage else []
    extra = "".join([
        f'<div class="ca-heading">Section: {escape(heading)}</div>' if heading else "",
        f'<div class="ca-also">Also in: {escape(", ".join(also))}</div>' if also else "",
    ])
    url = first.url or (passage.url if passage else None)
    span = ", ".join(f"{c.start}\u2013{c.end}" for c in sorted(cites, key=lambda c: c.start))
    return (f'<details class="ca-source" id="{anchor(turn, n)}" open>'
            f'<summary><span class="ca-n">[{n}]</span> <span class="ca-title">{escape(first.title)}'
            f"</span></summary>{_meta(first.date, first.source, url, f'chars {span}')}"
            f"{extra}{body}</details>")


def _uncited(p: Passage) -> str:
    score = f"score {p.score:.3f}"
    return (f'<div class="ca-passage-card"><div class="ca-title">{escape(p.title)}</div>'
            f'{_meta(p.date, p.source, p.url, score)}<div class="ca-passage">{escape(p.text)}'
            f"</div></div>")


def _meta(date: str | None, source: str, url: str | None, tail: str) -> str:
    link = ""
    # Only web links become clickable; a javascript: or data: URL from an article stays text.
    if url and url.lower().startswith(("https://", "http://")):
        link = (f' · <a href="{escape(url, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer nofollow">original</a>')
    return (f'<div class="ca-meta">{escape(date or "undated")} · <code>{escape(source)}</code>'
            f" · {escape(tail)}{link}</div>")


def _lines(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _secs(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


# The styles for the classes above. Gradio adds them to the whole page, so every selector
# carries the ca- prefix; colors come from Gradio's theme variables, so dark mode follows.
CSS = """
.ca-answer, .ca-question { line-height: 1.55; }
.ca-fn a, .ca-fn { text-decoration: none; font-weight: 600; font-size: .78em; }
.ca-fn a { padding: 0 .2em; border-radius: 4px; background: var(--color-accent-soft);
  color: var(--color-accent); cursor: pointer; }
.ca-meta { font-size: .8em; color: var(--body-text-color-subdued); margin-top: .35em; }
.ca-note { font-size: .85em; font-style: italic; margin-top: .35em; }
.ca-label { font-size: .75em; font-weight: 700; text-transform: uppercase; letter-spacing: .04em;
  color: #b45309; margin-bottom: .2em; }
.ca-abstained { border-left: 3px solid #d97706; padding-left: .6em; }
.ca-error { border-left: 3px solid var(--error-border-color, #dc2626); padding-left: .6em;
  color: var(--error-text-color, #b91c1c); }
.ca-notice ul { margin: 0; padding-left: 1.1em; }
.ca-cursor { animation: ca-blink 1s steps(1) infinite; opacity: .6; }
@keyframes ca-blink { 50% { opacity: 0; } }
#ca-panel .ca-sources { max-height: 70vh; overflow-y: auto; padding: .25em .5em .5em 0; }
.ca-empty { color: var(--body-text-color-subdued); padding: 1em .5em; }
.ca-panel-title { font-size: 1.1em; font-weight: 700; }
.ca-sources-head { color: var(--body-text-color-subdued); margin: 0 0 .6em; }
.ca-none { color: var(--body-text-color-subdued); margin-bottom: .6em; }
.ca-source, .ca-uncited, .ca-passage-card { border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: .5em .75em; margin-bottom: .6em;
  background: var(--block-background-fill); }
.ca-source summary, .ca-uncited summary { cursor: pointer; font-weight: 600; }
.ca-n { color: var(--color-accent); }
.ca-passage { white-space: pre-wrap; font-size: .9em; margin-top: .4em; line-height: 1.5; }
.ca-passage mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.ca-heading, .ca-also { font-size: .8em; color: var(--body-text-color-subdued); }
.ca-passage-card { margin: .5em 0 0; }
.ca-flash { animation: ca-flash 1.6s ease-out; }
@keyframes ca-flash { 0% { box-shadow: 0 0 0 3px var(--color-accent); } 100% { box-shadow: none; } }
"""

# Chat messages are HTML, which Gradio would copy and announce to screen readers verbatim;
# these handlers copy and announce the text instead. Footnote links open and flash their
# source card; if the panel shows another answer, the chat's select event swaps it in, so
# the handler waits briefly for the card to appear.
SCRIPT = """() => {
  const parts = '.ca-label, .ca-text, .ca-note, .ca-notice li, .ca-error, .ca-question';
  const text = (el) => [...el.querySelectorAll(parts)].map((n) => n.innerText.trim())
    .join('\\n') || el.innerText.trim();
  document.addEventListener('click', (event) => {
    const t = event.target;
    const copy = t.closest && t.closest('#ca-chat button[aria-label="Copy message"]');
    if (copy) {
      let row = copy.closest('.message-buttons');
      while (row && !row.classList.contains('message-row')) row = row.previousElementSibling;
      const content = row && row.querySelector('.message-content');
      if (content && navigator.clipboard) {
        event.stopPropagation();
        navigator.clipboard.writeText(text(content));
      }
      return;
    }
    const link = t.closest && t.closest('a[href^="#ca-src-"]');
    if (!link) return;
    event.preventDefault();
    const id = link.getAttribute('href').slice(1);
    let tries = 0;
    const show = () => {
      const card = document.getElementById(id);
      if (!card) { if (tries++ < 40) setTimeout(show, 100); return; }
      card.open = true;
      card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
      card.classList.remove('ca-flash'); void card.offsetWidth; card.classList.add('ca-flash');
    };
    show();
  }, true);
  new MutationObserver(() => {
    document.querySelectorAll('#ca-chat [aria-label*="message: <"]').forEach((el) => {
      const content = el.querySelector('.message-content');
      if (content) el.setAttribute('aria-label',
        el.getAttribute('aria-label').split(':')[0] + ': ' + text(content));
    });
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['aria-label']});
}"""
