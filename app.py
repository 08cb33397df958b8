"""The chat: `python app.py [--host 127.0.0.1] [--port 7860]`, a thin Gradio face over Assistant."""

import argparse
import html
import logging
import os
import sys
import threading
from collections import OrderedDict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine

import gradio as gr  # noqa: E402

from assistant import doctor, render, uploads  # noqa: E402
from assistant import http as http_api  # noqa: E402
from assistant.api import Assistant  # noqa: E402
from assistant.errors import AssistantError, ConfigError  # noqa: E402
from assistant.generators import GENERATORS  # noqa: E402
from assistant.records import Answer  # noqa: E402
from assistant.settings import PROJECT_ROOT  # noqa: E402

log = logging.getLogger("assistant.app")
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"
# Questions the default corpus answers; shown only when that corpus is loaded.
EXAMPLES = [
    "Where was WTDC-25 held?",
    "Who is the Saudi ambassador to Iran?",
    "Which transit corridor did Hashemi call very important for the region?",
    "Why did Saudi Arabia cut diplomatic ties with Iran in 2016?",
    "Who won the 2030 World Cup?",
]
LABELS = {"extractive": "extractive (no model)", "llamacpp": "llamacpp (local model)",
          "openai": "openai (HTTP server)"}



class ChatService:
    """What every browser session shares: the Assistant, and variants for other LLM endpoints."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self._variants: OrderedDict[tuple, Assistant] = OrderedDict()
        self._lock = threading.Lock()

    def pick(self, generator: str, url: str, model: str) -> Assistant:
        """The Assistant for this request: the shared one unless the chat names another endpoint."""
        s = self.assistant.settings
        url = (url or "").strip() or s.openai_base_url
        model = (model or "").strip() or s.openai_model
        if generator != "openai" or (url, model) == (s.openai_base_url, s.openai_model):
            return self.assistant
        key = (url, model)
        with self._lock:
            # Variants share the model and the live index; kept so each endpoint's client is reused.
            if key not in self._variants:
                self._variants[key] = self.assistant.variant(openai_base_url=url, openai_model=model)
                while len(self._variants) > 4:
                    self._variants.popitem(last=False)
            self._variants.move_to_end(key)
            return self._variants[key]

    def add_files(self, paths: list[str]) -> tuple[list[str], list[str]]:
        """Save uploads into the corpus and index them; (lines to show, problems to show)."""
        s = self.assistant.settings
        added = uploads.add_files([(p, Path(p).name) for p in paths], s.corpus_dir, s.max_file_mb,
                                  lambda: self.assistant.index(progress=False, quick=True))
        done = [saved.describe() for saved in added.saved]
        problems = [str(exc) for exc in added.refused]
        problems += [f"{saved.name}: skipped {p}" for saved in added.saved for p in saved.problems]
        if added.report:
            n = added.report.embedded
            done.append(f"Index updated in {added.report.seconds:.1f} s ({n} passage"
                        f"{'s' if n != 1 else ''} embedded). Ask about the new articles now.")
        return done, problems

    def sources(self) -> list[tuple[str, str]]:
        """(label, value) choices for the source filter: one per corpus file."""
        files: dict[str, list[str]] = {}
        for a in self._articles():
            src = a["source"]
            name = src.rsplit(":", 1)[0] if src.rsplit(":", 1)[-1].isdigit() else src
            files.setdefault(name, []).append(a.get("title") or name)
        return [(f"{n} \u2014 {_short(t[0]) if len(t) == 1 else f'{len(t)} articles'}", n)
                for n, t in sorted(files.items())]

    def status(self) -> str:
        """One Markdown line about the index."""
        articles = self._articles()
        dates = sorted(a["date"] for a in articles if a.get("date"))
        span = f" · dated {dates[0]} \u2013 {dates[-1]}" if dates else ""
        return f"**{len(articles)} articles**, {self.assistant.snapshot.counts()[1]} passages indexed{span}."

    def _articles(self) -> list[dict]:
        # The index's article table (any store): no Chunk built (80k at news scale).
        return self.assistant.snapshot.article_rows()

    def examples(self) -> list[str]:
        default = {p.name for p in DEFAULT_CORPUS.glob("*")} if DEFAULT_CORPUS.is_dir() else set()
        return EXAMPLES if default & {a["source"] for a in self._articles()} else []


def build(service: ChatService) -> gr.Blocks:
    """The Blocks app: settings sidebar, chat on the left, sources on the right, and the ask API."""
    s = service.assistant.settings
    names = list(GENERATORS)
    # Uploads are copied into the corpus at once; Gradio's own copies (refused ones too) are
    # swept hourly so a long-running server does not fill its temp folder.
    with gr.Blocks(title="Corpus Assistant", fill_width=True, delete_cache=(3600, 3600)) as demo:
        answers = gr.State({})  # chat message index -> Answer, for this browser session
        with gr.Sidebar(open=True, width=320):
            gr.Markdown("### Settings")
            generator = gr.Dropdown([(LABELS.get(n, n), n) for n in names], value=s.generator,
                                    label="Answer generator", elem_id="ca-generator")
            with gr.Group(visible=s.generator == "openai") as openai_box:
                url = gr.Textbox(s.openai_base_url, label="OpenAI-compatible URL",
                                 elem_id="ca-openai-url")
                model = gr.Textbox(s.openai_model, label="Model", elem_id="ca-openai-model")
            k = gr.Slider(1, 20, value=s.k, step=1, label="Passages to retrieve (top-k)")
            gr.Markdown("### Filters")
            since = gr.DateTime(include_time=False, type="string", label="From date",
                                elem_id="ca-since")
            until = gr.DateTime(include_time=False, type="string", label="Until date",
                                elem_id="ca-until")
            sources = gr.Dropdown(service.sources(), multiselect=True, label="Only these files",
                                  elem_id="ca-sources-filter")
            gr.Markdown("<small>Dates are publication dates; undated articles are left out "
                        "once a date is set.</small>")
            # Blank means today, read at each question (a server left running stays current).
            as_of = gr.DateTime(include_time=False, type="string", label="Asked on (blank: today)",
                                elem_id="ca-as-of")
            gr.Markdown("<small>Articles published later are not used; \u201cthis week\u201d or "
                        "\u201crecently\u201d count back from this day. Undated articles stay "
                        "searchable.</small>")
            gr.Markdown("### Add articles")
            upload = gr.File(file_count="multiple", label="Upload articles", height=120,
                             elem_id="ca-upload")
            gr.Markdown(f"<small>{' '.join(sorted(uploads.SUPPORTED))} · UTF-8 text, or PDF "
                        f"with a text layer · up to {s.max_file_mb:g} MB each (PDF "
                        f"{uploads.upload_limit_mb('.pdf', s.max_file_mb):g} MB). Saved into the "
                        "corpus folder and indexed at once.</small>")
            status = gr.Markdown(service.status(), elem_id="ca-status")
            # What this server runs on, for bug reports (the full list: `assistant doctor`).
            gr.Markdown(f"<small>{html.escape(doctor.summary())}</small>", elem_id="ca-runtime")
        gr.Markdown("## Corpus Assistant\nAnswers come only from the indexed news articles; "
                    "every sentence cites its source. Click a [n] to see the quoted words.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = gr.Chatbot(height="62vh", elem_id="ca-chat", show_label=False,
                                  feedback_options=None, buttons=["copy"],
                                  group_consecutive_messages=False,
                                  placeholder="Ask a question about the news corpus.")
                box = gr.Textbox(placeholder="Ask a question, e.g. Where was WTDC-25 held?",
                                 show_label=False, submit_btn="Ask", elem_id="ca-question")
                if service.examples():
                    ex = gr.Examples([[q] for q in service.examples()], inputs=[box],
                                     label="Example questions")
            with gr.Column(scale=2, min_width=320):
                panel = gr.HTML(render.sources_placeholder(), elem_id="ca-panel", container=True)

        def respond(question, history, held, gen, url_, model_, k_, since_, until_, only, as_of_):
            """Stream one answer into the chat, then show its sources."""
            if not (question or "").strip():
                yield history, question, held, gr.skip()
                return
            history = list(history) + [{"role": "user", "content": render.question_html(question)},
                                       {"role": "assistant", "content": render.partial_html("")}]
            turn = len(history) - 1
            yield history, "", held, render.sources_placeholder("Searching the corpus\u2026")
            try:
                filters = _filters(since_, until_, only)
                text, answer = "", None
                stream = service.pick(gen, url_, model_).ask_stream(
                    question, history=_plain_history(held), generator=gen, k=int(k_),
                    # Blank is today, counted as an undated question is: nothing is published
                    # later, time words count back from today, and no date note on every answer.
                    filters=filters, as_of=(as_of_ or "")[:10] or None)
                for item in stream:
                    if isinstance(item, Answer):
                        answer = item
                        continue
                    text += item
                    history[-1]["content"] = render.partial_html(text)
                    yield history, "", held, gr.skip()
                held = {**held, turn: answer}
                history[-1]["content"] = render.answer_html(answer, turn)
                yield history, "", held, render.sources_html(answer, turn)
            except Exception as exc:  # noqa: BLE001 - the chat shows every failure as a message
                history[-1]["content"] = render.error_html(_message(exc))
                yield history, "", held, render.sources_placeholder(
                    "No sources: this question could not be answered (see the chat).")

        def show_sources(held, evt: gr.SelectData):
            """Clicking an earlier answer brings its sources back into the panel."""
            answer = held.get(evt.index if isinstance(evt.index, int) else -1)
            return render.sources_html(answer, evt.index) if answer else gr.skip()

        def add(files, history):
            """Validate, save and index uploaded files; report the outcome in the chat."""
            if not files:
                return gr.skip(), None, gr.skip(), gr.skip()
            try:
                done, problems = service.add_files([str(f) for f in files])
            except Exception as exc:  # noqa: BLE001 - shown in the chat, never as a traceback
                done, problems = [], [_message(exc)]
            names = ", ".join(Path(str(f)).name for f in files)
            reply = (render.notice_html(done) if done else "") + \
                "".join(render.error_html(p) for p in problems)
            history = list(history) + [
                {"role": "user", "content": render.question_html(f"Upload: {names}")},
                {"role": "assistant", "content": reply}]
            return (history, None, gr.Dropdown(choices=service.sources()),
                    service.status())

        ask_inputs = [box, chat, answers, generator, url, model, k, since, until, sources, as_of]
        ask_outputs = [chat, box, answers, panel]
        box.submit(respond, ask_inputs, ask_outputs, api_visibility="private",
                   concurrency_id="ask")
        if service.examples():
            ex.load_input_event.then(respond, ask_inputs, ask_outputs, api_visibility="private",
                                     concurrency_id="ask")
        chat.select(show_sources, [answers], [panel], api_visibility="private", queue=False)
        chat.clear(lambda: ({}, render.sources_placeholder()), None, [answers, panel],
                   api_visibility="private", queue=False)
        generator.change(lambda g: gr.Group(visible=g == "openai"), [generator], [openai_box],
                         api_visibility="private", queue=False)
        # One indexer at a time: uploads queue behind each other, never beside each other.
        upload.upload(add, [upload, chat], [chat, upload, sources, status],
                      api_visibility="private", concurrency_limit=1, concurrency_id="index")

        # No `from __future__ import annotations` in this file: gr.api reads these hints at
        # run time to describe the endpoint to gradio_client.
        def ask(question: str, generator: str = s.generator, k: int = s.k, since: str = "",
                until: str = "", sources: list[str] | None = None,
                history: list[dict] | None = None, as_of: str = "") -> dict:
            """Answer from the corpus; the same JSON as `assistant ask --json`."""
            try:
                answer = service.assistant.ask(
                    question, history=history, generator=generator or None, k=k or None,
                    filters=_filters(since, until, sources), as_of=as_of or None)
            except Exception as exc:  # noqa: BLE001 - a message for the caller, never a traceback
                raise gr.Error(_message(exc), print_exception=False) from None
            return answer.to_dict()

        def ask_stream(question: str, generator: str = s.generator, k: int = s.k,
                       since: str = "", until: str = "", sources: list[str] | None = None,
                       history: list[dict] | None = None, as_of: str = "") -> dict:
            """Like ask, streamed: {"text": so far} as it is written, then {"text", "answer"}."""
            try:
                text = ""
                for item in service.assistant.ask_stream(
                        question, history=history, generator=generator or None, k=k or None,
                        filters=_filters(since, until, sources), as_of=as_of or None):
                    if isinstance(item, Answer):
                        yield {"text": item.text, "answer": item.to_dict()}
                    else:
                        text += item
                        yield {"text": text}
            except Exception as exc:  # noqa: BLE001 - a message for the caller, never a traceback
                raise gr.Error(_message(exc), print_exception=False) from None

        gr.api(ask, api_name="ask", concurrency_id="ask")
        gr.api(ask_stream, api_name="ask_stream", concurrency_id="ask")
    return demo


def _filters(since, until, sources) -> dict:
    """The filters ask() takes, from the form's or an API call's values (blank: none)."""
    return {"since": since or None, "until": until or None, "sources": sources or None}


def _plain_history(held: dict) -> list[dict]:
    """Earlier turns as plain text, the form ask() reads for follow-up questions."""
    out = []
    for _, answer in sorted(held.items()):
        out += [{"role": "user", "content": answer.question},
                {"role": "assistant", "content": answer.text}]
    return out


def _message(exc: Exception) -> str:
    if isinstance(exc, AssistantError):
        return str(exc)
    log.exception("unexpected error in the chat")  # the traceback goes to the server log only
    return (f"Something went wrong ({type(exc).__name__}: {exc}). The details are in the "
            "server log; try again, or start a new chat.")


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "\u2026"


def auth_from_env() -> tuple[str, str] | None:
    """(user, password) from ASSISTANT_AUTH_USER / ASSISTANT_AUTH_PASSWORD, or None."""
    user = os.environ.get("ASSISTANT_AUTH_USER", "")
    password = os.environ.get("ASSISTANT_AUTH_PASSWORD", "")
    if bool(user) != bool(password):
        raise ConfigError("Set both ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD, or neither.")
    return (user, password) if user else None


def theme() -> gr.Theme:
    # System fonts: the default theme would make the browser fetch Google Fonts.
    return gr.themes.Soft(primary_hue="indigo", font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "monospace"])


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, concurrency: int = 2,
           auth=None, block: bool = True, max_file_mb: float = 64.0, queue_size: int = 64,
           assistant: Assistant | None = None):
    """Queue and serve the app, with the HTTP API at /v1 when given the `assistant`; returns
    (app, local_url) when `block` is False."""
    # Up to `concurrency` answers run at once (more only fights over the CPU); the rest wait
    # in line and see their position. Beyond `queue_size` waiting requests, new ones are
    # turned away at once (HTTP 503, "Queue is full") instead of waiting without end.
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    # Gradio hands app_kwargs to its FastAPI app; routes given there match before its own.
    routes = [http_api.mount(assistant, host=host, auth=auth, concurrency=concurrency,
                             queue_size=queue_size)] if assistant else []
    app, url, _ = demo.launch(
        app_kwargs={"routes": routes},
        server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block,
        auth_message="Corpus Assistant: sign in" if auth else None, quiet=not block,
        # Gradio's own hard cap sits above ours, so a merely too-large article still gets our
        # message in the chat and only absurd uploads are cut off at the door.
        max_file_size=f"{int(max_file_mb * 2) + 1}mb", footer_links=["api"],
        theme=theme(), css=render.CSS, js=render.SCRIPT)
    return app, url


def open_assistant(corpus: str | None = None, index_dir: str | None = None) -> Assistant:
    """An Assistant whose index is built (first start) or synced (later starts), with progress."""
    paths = {"corpus_dir": corpus, "index_dir": index_dir}
    assistant = Assistant(**{k: v for k, v in paths.items() if v})
    s = assistant.settings
    print(f"Indexing {s.corpus_dir} into {s.index_dir}: only new or changed articles are "
          "embedded, so later starts reuse the index...", file=sys.stderr, flush=True)
    report = assistant.index(progress=True)
    for problem in report.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)
    print(report.summary(), file=sys.stderr, flush=True)
    return assistant


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the news corpus in a browser.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="Interface to bind (default 127.0.0.1; 0.0.0.0 exposes it).")
    parser.add_argument("--port", type=int, default=7860, help="Port (default 7860).")
    parser.add_argument("--corpus",
                        help="Corpus folder (default: ASSISTANT_CORPUS_DIR or corpus/).")
    parser.add_argument("--index-dir",
                        help="Index folder (default: ASSISTANT_INDEX_DIR or embeddings/).")
    parser.add_argument("--concurrency", type=int, default=2, help="Answers computed at once.")
    parser.add_argument("--queue-size", type=int, default=64,
                        help="Requests that may wait for a turn; more are told the server is "
                             "busy (default 64).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        auth = auth_from_env()
        assistant = open_assistant(args.corpus, args.index_dir)
        if args.host not in ("127.0.0.1", "localhost", "::1") and not auth:
            print(f"warning: serving on {args.host} without a password; set "
                  "ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD.", file=sys.stderr)
        demo = build(ChatService(assistant))
        launch(demo, args.host, args.port, args.concurrency, auth,
               max_file_mb=assistant.settings.max_file_mb, queue_size=args.queue_size,
               assistant=assistant)
    except AssistantError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # most often: the port is taken
        print(f"Error: {exc} With app.py, pass --port.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
