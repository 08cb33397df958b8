"""What this install runs on: CPU features, llama.cpp's build, ONNX Runtime providers, versions.

`assistant doctor` prints it, `assistant bench` heads its report with it and the chat shows a
one-line summary, so a user can report what they run and see a build that does not fit the CPU.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
import sys
from importlib import metadata

PACKAGES = ("corpus-assistant", "torch", "sentence-transformers", "transformers", "faiss-cpu",
            "bm25s", "numpy", "onnxruntime", "llama_cpp_python", "tiktoken", "gradio")
# llama.cpp features whose instructions the kernel must also enable (flag in /proc/cpuinfo).
_NEEDS_FLAG = {"AVX512": "avx512f", "AMX_INT8": "amx_int8", "AMX_TILE": "amx_tile"}


def versions() -> dict[str, str]:
    """Installed versions of the libraries the answers and figures depend on."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu() -> dict:
    """The CPU's model name and the instruction-set flags the kernel enabled."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {"model": name, "cores": os.cpu_count(), "flags": flags}


@functools.lru_cache(maxsize=1)
def llama_features() -> str:
    """llama.cpp's own feature line (llama_print_system_info), or why there is none."""
    # Read in a child: loading the native library in this process is the risk being checked.
    code = ("import sys, llama_cpp; "
            "sys.stdout.write(llama_cpp.llama_print_system_info().decode(errors='replace'))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        if "No module named 'llama_cpp'" in last:
            return "not installed (pip install -e '.[llm]')"
        return f"failed to load ({last[:200]})"
    return " ".join(done.stdout.split())


def enabled_features(line: str) -> set[str]:
    """Feature names a llama.cpp feature line reports as on (`AVX2 = 1`)."""
    return {m.group(1) for m in re.finditer(r"\b([A-Z][A-Z0-9_]*) = 1\b", line)}


def problems(features: str, flags: set[str]) -> list[str]:
    """Instructions llama.cpp was built for that this CPU's kernel does not enable."""
    out = []
    for feature, flag in _NEEDS_FLAG.items():
        if feature in enabled_features(features) and flags and flag not in flags:
            out.append(f"llama.cpp was built with {feature} but this CPU's kernel does not "
                       f"enable it ({flag} is absent from /proc/cpuinfo): the local model will "
                       "crash. Rebuild it portable with: rm -rf .wheels && make install")
    return out


def onnx_providers() -> list[str]:
    try:
        import onnxruntime
    except ImportError:
        return ["not installed"]
    return list(onnxruntime.get_available_providers())


def report() -> dict:
    """Everything doctor knows, as plain data."""
    c, features = cpu(), llama_features()
    shown = sorted(f for f in ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "amx_tile",
                               "amx_int8") if f in c["flags"])
    return {"python": platform.python_version(), "os": f"{platform.system()} {platform.release()}",
            "cpu": c["model"], "cores": c["cores"], "cpu flags": " ".join(shown) or "unknown",
            "llama.cpp": features, "onnxruntime providers": ", ".join(onnx_providers()),
            "versions": versions(), "problems": problems(features, c["flags"])}


def summary() -> str:
    """One line for the chat's footer: the llama.cpp build and the embedding runtime."""
    features = llama_features()
    on = enabled_features(features)
    build = (" ".join(f for f in ("AVX2", "FMA", "F16C", "AVX512", "AMX_INT8") if f in on)
             if on else features)
    v = versions()
    return (f"llama-cpp-python {v['llama_cpp_python']} ({build}) · onnxruntime "
            f"{v['onnxruntime']} ({', '.join(onnx_providers())}) · Python "
            f"{platform.python_version()}")
