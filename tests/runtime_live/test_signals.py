"""Signals pass through tapkit as they would without it: handlers run (and probes inside them fire), the
program's own SIGTRAP reaches its handler, and a group stop lasts until SIGCONT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveEngine
from tests.runtime_live.helpers import counter, record_return
from tests.tooling import REPO


def test_handlers_and_own_sigtrap(signals: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = LiveEngine()
    counts = counter(engine, signals, ["outer", "in_handler"])
    outer = record_return(engine, signals, "outer")
    inner = record_return(engine, signals, "in_handler")
    result = engine.run([str(signals)])
    assert capfd.readouterr().out == "sum 90 usr1 10 trap 2\n"
    assert result.exit_code == 0
    assert counts == {"outer": 10, "in_handler": 10}
    assert outer == [2 * i for i in range(10)] and inner == [int(signal.SIGUSR1) + 1] * 10


def test_group_stop_kept(signals: Path) -> None:
    """The program stops itself; it stays stopped under tapkit until SIGCONT, then finishes."""
    code = ("import sys; from tapkit.runtime.live import LiveEngine; e = LiveEngine(); "
            "e.add_function(sys.argv[1], 'outer', lambda ctx: None); r = e.run([sys.argv[1], 'stop']); "
            "print('exit', r.exit_code, flush=True)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(signals)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "stopping\n"
    time.sleep(0.5)
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(children) == 1
    state = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert state in ("t", "T")  # still stopped
    assert proc.poll() is None
    os.kill(children[0], signal.SIGCONT)
    out, _ = proc.communicate(timeout=30)
    assert out == "sum 90 usr1 10 trap 2\nexit 0\n"
