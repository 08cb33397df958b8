"""Entry point of the local model's child process: llama_cpp.server, tied to its parent.

Run as `python -m assistant.generators.llama_child <llama_cpp.server arguments>`.
"""

import os
import sys
import threading


def _exit_with_parent() -> None:
    # The parent holds the write end of our stdin; read() returns only when that end closes,
    # which happens whenever the parent ends, by exit, crash or SIGKILL.
    sys.stdin.buffer.read()
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    from llama_cpp.server.__main__ import main

    main()
