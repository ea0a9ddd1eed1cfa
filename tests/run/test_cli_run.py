"""`tapkit run` from the command line: -c, -x, signals, passes, -G/-D/-o, unservable probes, the stap engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tooling import compile_c, fixture_cache, require_tool

ROOT = Path(__file__).resolve().parents[2]
TAPKIT = [sys.executable, "-m", "tapkit.cli", "run"]


def tapkit_run(*args: str, cwd: Path | None = None, timeout: float = 120,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAPKIT, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env, stdin=subprocess.DEVNULL)


def script(tmp_path: Path, text: str, name: str = "s.stp") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_dash_c_runs_the_command_after_begin_and_ends_with_it(tmp_path: Path) -> None:
    s = script(tmp_path, 'probe begin { printf("target set: %d\\n", target() > 0) }\n'
                         'probe end { println("end after the command") }\n')
    marker = tmp_path / "ran"
    started = time.monotonic()
    proc = tapkit_run("-c", f"sh -c 'sleep 0.3; touch {marker}'", str(s))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "target set: 1\nend after the command\n"
    assert marker.exists()
    assert time.monotonic() - started >= 0.3


def test_dash_c_target_is_the_command_pid(tmp_path: Path) -> None:
    s = script(tmp_path, "probe end { printf(\"%d\\n\", target()) }\n")
    proc = tapkit_run("-c", "sh -c 'echo $$ >&2'", str(s))
    assert proc.returncode == 0
    assert proc.stdout.strip() == proc.stderr.strip()


def test_dash_c_missing_command(tmp_path: Path) -> None:
    s = script(tmp_path, "probe begin { println(1) }\n")
    proc = tapkit_run("-c", "/nonexistent/prog", str(s))
    assert proc.returncode == 1
    assert "-c: No such file or directory: /nonexistent/prog" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_the_session_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    s = script(tmp_path, 'probe begin { println("started") }\nprobe timer.s(100) { println("never") }\n'
                         'probe end { println("end probe ran") }\n')
    proc = subprocess.Popen([*TAPKIT, str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert (out, err, proc.returncode) == ("end probe ran\n", "", 0)


def test_exit_status_and_pass5_message_on_errors(tmp_path: Path) -> None:
    s = script(tmp_path, 'probe begin { error("bad") }\n')
    proc = tapkit_run(str(s), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == ("ERROR: bad\nWARNING: Number of errors: 1, skipped probes: 0\n"
                           "Pass 5: run failed.  [man error::pass5]\n")


def test_pass_3_prints_the_compiled_python(tmp_path: Path) -> None:
    s = script(tmp_path, "global n\nprobe begin { n++; println(n); exit() }\n")
    proc = tapkit_run("-p3", str(s))
    assert proc.returncode == 0
    assert "def __program(_session, _targets, _G):" in proc.stdout
    assert "def probe_0(ctx):" in proc.stdout
    compile(proc.stdout, "p3", "exec")


@pytest.mark.parametrize("last", ["1", "2", "4"])
def test_early_passes_print_nothing(tmp_path: Path, last: str) -> None:
    s = script(tmp_path, "probe begin { println(1); exit() }\n")
    proc = tapkit_run(f"-p{last}", str(s))
    assert (proc.stdout, proc.stderr, proc.returncode) == ("", "", 0)


def test_pass_2_failure_is_stap_s_message(tmp_path: Path) -> None:
    s = script(tmp_path, 'probe begin { x = 1 + "a"; println(x) }\n')
    proc = tapkit_run(str(s), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("semantic error: ")
    assert proc.stderr.endswith("Pass 2: analysis failed.  [man error::pass2]\n")


def test_dash_e_dash_g_dash_d_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    proc = tapkit_run("-G", "n=7", "-D", "MAXACTION=5", "-o", str(out),
                      "-e", 'global n = 1\nprobe begin { printf("%d %s\\n", n, @1); for (i = 0; i < 100; i++) ; }',
                      "arg1")
    assert proc.stdout == ""
    assert out.read_text() == "7 arg1\n"
    assert "MAXACTION exceeded" in proc.stderr and proc.returncode == 1


def test_dash_g_unknown_global(tmp_path: Path) -> None:
    s = script(tmp_path, "global n = 1\nprobe begin { println(n); exit() }\n")
    proc = tapkit_run("-G", "m=3", str(s))
    assert proc.returncode == 1
    assert "-G m: no scalar global named 'm' in the script" in proc.stderr


def test_dash_g_needs_a_number_for_a_long(tmp_path: Path) -> None:
    s = script(tmp_path, "global n = 1\nprobe begin { println(n); exit() }\n")
    proc = tapkit_run("-G", "n=abc", str(s))
    assert proc.returncode == 1 and "'n' is a long, and 'abc' is not a number" in proc.stderr


def test_user_space_probe_without_a_process_is_refused_with_reasons(tmp_path: Path) -> None:
    binary = compile_c(ROOT / "tests" / "run" / "replay" / "shapes.c", fixture_cache() / "run" / "shapes", "-O0")
    s = script(tmp_path, f'probe process("{binary}").function("area") {{ println($scale) }}\n')
    proc = tapkit_run("--engine", "builtin", str(s))
    assert proc.returncode == 1
    assert "process probes need a process to trace: give -c CMD" in proc.stderr
    assert "--replay FIXTURE.yaml" in proc.stderr


def test_embedded_c_tapset_function_without_intrinsic_is_named(tmp_path: Path) -> None:
    s = script(tmp_path, "probe begin { print_regs(); exit() }\n")
    proc = tapkit_run(str(s), cwd=tmp_path)
    assert proc.returncode == 1
    assert "tapset function 'print_regs'" in proc.stderr
    assert "needs the registers of an interrupted kernel context" in proc.stderr
    assert "Pass 3: translation failed." in proc.stderr


# ---- the stap engine ----

def test_engine_stap_maps_stap_diagnostics(tmp_path: Path) -> None:
    require_tool("stap")
    script(tmp_path, "probe begin {\n  x = 1 + \"a\"\n  println(x)\n}\n")
    proc = tapkit_run("--engine", "stap", "-p2", "-r", _release(), "s.stp", cwd=tmp_path)
    assert proc.returncode == 1
    assert "semantic error: type mismatch" in proc.stderr
    assert "        source:   x = 1 + \"a\"\n" in proc.stderr  # the source line printed once, by tapkit
    assert proc.stderr.count("source:") == proc.stderr.count("semantic error:")
    assert "Pass 2: analysis failed." in proc.stderr


def test_engine_stap_passes_options_and_args(tmp_path: Path) -> None:
    require_tool("stap")
    s = script(tmp_path, "global g = 1\nprobe begin { printf(\"%d %s\\n\", g, @1) }\n")
    proc = tapkit_run("--engine", "stap", "-p1", "-r", _release(), "-G", "g=2", "-D", "MAXACTION=5", str(s), "x")
    assert proc.returncode == 0, proc.stderr
    assert "probe begin" in proc.stdout  # stap -p1 prints the parsed script


def test_engine_stap_path_from_option_and_environment(tmp_path: Path) -> None:
    s = script(tmp_path, "probe begin { exit() }\n")
    proc = tapkit_run("--engine", "stap", "--stap", "/nonexistent/stap", str(s))
    assert proc.returncode == 2 and "no stap executable (/nonexistent/stap)" in proc.stderr
    env = dict(os.environ, TAPKIT_STAP="/nonexistent/stap2")
    proc = tapkit_run("--engine", "stap", str(s), env=env)
    assert proc.returncode == 2 and "/nonexistent/stap2" in proc.stderr


def test_replay_needs_the_builtin_engine(tmp_path: Path) -> None:
    s = script(tmp_path, "probe begin { exit() }\n")
    fixture = tmp_path / "f.yaml"
    fixture.write_text("hits: []\n")
    proc = tapkit_run("--engine", "stap", "--replay", str(fixture), str(s))
    assert proc.returncode == 2 and "--replay is tapkit's own event source" in proc.stderr


@pytest.mark.slow
def test_cross_build_a_module_through_stap_offline(tmp_path: Path) -> None:
    """`tapkit run -p4 -r RELEASE -m NAME` builds a module for another machine (the seed's
    cross-instrumentation); scripts/stap-offline stands in for a stap that can build here."""
    require_tool("stap")
    require_tool("gcc")
    s = script(tmp_path, 'global n\nprobe timer.s(1) { n++ }\nprobe end { printf("%d ticks\\n", n) }\n')
    proc = tapkit_run("--stap", str(ROOT / "scripts" / "stap-offline"), "-p4", "-m", "tapkit_cross",
                      str(s), cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ko = tmp_path / "tapkit_cross.ko"
    assert ko.is_file()
    info = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True, text=True)
    assert _release() in info.stdout


def _release() -> str:
    from tests.tooling import stap_release

    return stap_release()
