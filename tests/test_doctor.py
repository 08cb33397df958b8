"""`assistant doctor`: the install's llama.cpp is the portable build, and a build that does not
fit the CPU is named with the fix."""

import json

from click.testing import CliRunner

from assistant import doctor
from assistant.cli import main

NATIVE_SPR = ("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 1 | "
              "AMX_INT8 = 1 | LLAMAFILE = 1 |")


def test_the_installed_llama_cpp_is_the_portable_build():
    line = doctor.llama_features()
    on = doctor.enabled_features(line)
    assert {"AVX2", "FMA", "F16C"} <= on, line
    # What `make install` promises: nothing a CPU may report but its kernel not enable.
    assert not on & {"AVX512", "AMX_INT8", "AMX_TILE"}, line


def test_doctor_prints_what_a_bug_report_needs():
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert "AVX2 = 1" in info["llama.cpp"] and "CPUExecutionProvider" in info["onnxruntime providers"]
    assert info["versions"]["llama_cpp_python"] == "0.3.36" and info["problems"] == []
    assert "AVX2" in doctor.summary() and "CPUExecutionProvider" in doctor.summary()


def test_a_build_the_kernel_cannot_run_is_named_with_the_fix():
    # The Sapphire Rapids VM of issue 11: AMX reported by the CPU, not enabled by the kernel.
    flags = {"avx2", "fma", "f16c", "avx512f"}
    found = doctor.problems(NATIVE_SPR, flags)
    assert len(found) == 1 and "AMX_INT8" in found[0] and "make install" in found[0]
    assert doctor.problems(NATIVE_SPR, flags | {"amx_int8"}) == []
    assert doctor.problems(NATIVE_SPR, set()) == []  # no /proc/cpuinfo: nothing to compare
