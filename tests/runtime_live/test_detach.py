"""The tracee is left running and intact whenever tapkit leaves: the session stops, SIGINT, SIGTERM, or a
probe callback raises; attached (-x) to a multi-threaded process with return probes in flight, or after
starting it (-c). "Intact" means it finishes with its normal output and exit code: a breakpoint or a
replaced return address left behind would kill it with SIGTRAP or send it astray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tooling import REPO

RUNNER = [sys.executable, "-m", "tests.runtime_live.runner"]


def _start_tracee(threads: Path, count: int = 4) -> subprocess.Popen[str]:
    proc = subprocess.Popen([str(threads), str(count), "0", "forever"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _finish_tracee(proc: subprocess.Popen[str], count: int = 4) -> None:
    out, _ = proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0, f"tracee died: status {proc.returncode}"
    assert out == f"threads {count} calls 1 bad 0\n"


def _runner(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*RUNNER, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_attached(runner: subprocess.Popen[str]) -> None:
    assert runner.stdout is not None
    line = runner.stdout.readline()
    assert line == "attached\n", (line, runner.stderr.read() if runner.stderr else "")


def _probes(threads: Path) -> list[str]:
    # entries of work(), and the returns of snooze(): threads sleep inside it, so detaching must put
    # the real return addresses back on their stacks
    return ["--probe", f"{threads}:work", "--probe", f"{threads}:snooze:return"]


@pytest.mark.parametrize("out_of_line", ["yes", "no"])
def test_attach_then_session_stops(threads: Path, out_of_line: str) -> None:
    tracee = _start_tracee(threads)
    try:
        runner = _runner("-x", str(tracee.pid), *_probes(threads), "--stop-after", "400",
                         "--out-of-line", out_of_line)
        _wait_attached(runner)
        out, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, err
        assert out.startswith("hits 400 status None interrupted 0"), out
    finally:
        _finish_tracee(tracee)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_attach_then_signal(threads: Path, signum: int) -> None:
    tracee = _start_tracee(threads)
    try:
        runner = _runner("-x", str(tracee.pid), *_probes(threads))
        _wait_attached(runner)
        time.sleep(0.3)  # let hits happen, return probes be in flight
        runner.send_signal(signum)
        out, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, err
        assert f"interrupted {int(signum)}" in out
        assert int(out.split()[1]) > 0
    finally:
        _finish_tracee(tracee)


def test_attach_then_callback_raises(threads: Path) -> None:
    tracee = _start_tracee(threads)
    try:
        runner = _runner("-x", str(tracee.pid), *_probes(threads), "--raise-after", "50")
        _wait_attached(runner)
        _, err = runner.communicate(timeout=60)
        assert runner.returncode != 0
        assert "Boom: callback failed after 50 hits" in err
    finally:
        _finish_tracee(tracee)


def test_started_command_left_running_after_signal(threads: Path) -> None:
    """-c: tapkit stops early (SIGINT); the command keeps running and later finishes normally."""
    read_fd, write_fd = os.pipe()
    runner = subprocess.Popen([*RUNNER, *_probes(threads), "-c", str(threads), "2", "0", "forever"], cwd=REPO,
                              stdin=read_fd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(read_fd)
    assert runner.stdout is not None
    assert runner.stdout.readline() == "attached\n"
    assert runner.stdout.readline() == "ready\n"  # the command shares tapkit's stdout
    time.sleep(0.3)
    runner.send_signal(signal.SIGINT)
    line = runner.stdout.readline()
    assert line.startswith("hits ") and "interrupted 2" in line, line
    assert runner.wait(timeout=30) == 0
    os.write(write_fd, b"go\n")  # the command is still running: let it finish
    os.close(write_fd)
    rest = runner.stdout.read()  # EOF once the command (the last writer) exits
    assert rest == "threads 2 calls 1 bad 0\n"


def test_callback_exception_in_process(threads: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The same through the API: the exception reaches the caller, the command completes."""
    from tapkit.runtime.live import LiveEngine

    engine = LiveEngine()
    calls = 0

    def hit(ctx: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 100:
            raise ValueError("probe bug")

    engine.add_function(str(threads), "work", hit)
    engine.add_function(str(threads), "checksum", lambda ctx: None, kind="return")
    with pytest.raises(ValueError, match="probe bug"):
        engine.run([str(threads), "3", "2000"])
    # the command was detached, not killed: it finishes on its own
    deadline = time.time() + 30
    target = engine.context.target
    while time.time() < deadline:
        pid, status = os.waitpid(target, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the command did not finish")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert capfd.readouterr().out == "threads 3 calls 6000 bad 0\n"


def test_attach_to_thread_churn(threads: Path) -> None:
    """Threads are born and die all the time: attaching, following and leaving still work."""
    tracee = subprocess.Popen([str(threads), "4", "0", "churn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert tracee.stdout is not None and tracee.stdout.readline() == "ready\n"
    try:
        runner = _runner("-x", str(tracee.pid), "--probe", f"{threads}:work", "--probe",
                         f"{threads}:work:return", "--stop-after", "3000")
        _wait_attached(runner)
        out, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
        assert out.startswith("hits 3000 "), out
    finally:
        out, _ = tracee.communicate("go\n", timeout=30)
        assert tracee.returncode == 0 and out == "churn ran bad 0\n"
