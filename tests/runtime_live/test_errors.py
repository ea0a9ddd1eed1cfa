"""Clear errors for what the engine cannot do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveEngine, TracerError


def test_command_that_cannot_run(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(TracerError, match="cannot run '/nonexistent/prog'"):
        LiveEngine().run(["/nonexistent/prog"])
    assert "tapkit: cannot run '/nonexistent/prog'" in capfd.readouterr().err


def test_no_such_pid() -> None:
    with pytest.raises(TracerError, match="no process with pid 999999999"):
        LiveEngine().run(pid=999999999)


def test_already_traced(threads: Path) -> None:
    """A process another tracer holds (here: another engine) cannot be attached twice."""
    proc = subprocess.Popen([str(threads), "1", "0", "forever"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    try:
        first = LiveEngine()
        second_error: list[str] = []

        def try_second(ctx: object) -> None:
            try:
                LiveEngine().run(pid=proc.pid)
            except TracerError as exc:
                second_error.append(str(exc))
            first.stop()

        first.on_process_begin(try_second)
        first.run(pid=proc.pid)
        assert second_error == [f"cannot attach to pid {proc.pid}: Operation not permitted (another tracer holds "
                                "it, or ptrace is not permitted)"]
    finally:
        out, _ = proc.communicate("go\n", timeout=30)
        assert proc.returncode == 0 and out == "threads 1 calls 1 bad 0\n"


def test_unknown_function(basic: dict[str, Path]) -> None:
    with pytest.raises(TracerError, match="no function 'nope' in"):
        LiveEngine().add_function(str(basic["O0-pie"]), "nope", lambda ctx: None)


def test_neither_command_nor_pid() -> None:
    with pytest.raises(TracerError, match="either a command or a pid"):
        LiveEngine().run()
