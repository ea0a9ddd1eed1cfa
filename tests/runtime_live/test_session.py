"""The engine under a runtime Session, as compiled scripts will use it: handlers run with the session's
protocol (output buffering, errors), exit() ends the run, end probes run after."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tapkit.runtime import Context, Session, StapError
from tapkit.runtime.context import pid, tid
from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.variables import resolve_return
from tests.runtime_live.helpers import info


def test_handlers_exit_and_end(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    exe = afsim["O2"]
    di = info(exe)
    writepage = di.function("afs_linux_writepage")
    ret = resolve_return(di, writepage)
    engine = LiveEngine()
    out = io.BytesIO()
    err = io.StringIO()
    session = Session(out, err, context=engine.context)
    failures = []

    def on_return(ctx: Context) -> None:
        assert isinstance(ctx, LiveContext)
        value = ret.read(ctx)
        session.write(f"{ctx.probefunc} {pid(ctx) == engine.context.target} {tid(ctx) > 0} {value}\n")
        if value < 0:
            failures.append(value)
            if len(failures) == 2:
                session.exit()

    def on_put(ctx: Context) -> None:
        raise StapError("read fault [man error::fault] at 0x0", "operator '->' at x.stp:2:30")

    engine.add_function(str(exe), writepage,
                        engine.session_callback(session, on_return, 'process("afsim").function("afs_linux_writepage")'
                                                ".return"), kind="return")
    engine.add_function(str(exe), "afs_PutDCache", engine.session_callback(session, on_put, "put"))
    session.maxerrors = 1000
    session.begin([])
    result = engine.run([str(exe), "20", "4", "0"])
    session.shutdown([(lambda ctx: session.write("end\n"), "end")])
    capfd.readouterr()
    lines = out.getvalue().decode().splitlines()
    assert result.stopped and result.exit_code is None  # tapkit left while afsim still ran
    assert lines[:4] == ["afs_linux_writepage True True 0"] * 3 + ["afs_linux_writepage True True -5"]
    assert lines[-1] == "end" and lines.count("afs_linux_writepage True True -5") == 2
    assert "ERROR: read fault [man error::fault] at 0x0 near operator '->' at x.stp:2:30" in err.getvalue()
