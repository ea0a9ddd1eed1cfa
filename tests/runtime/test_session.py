"""Session protocol: handler states, ERROR/WARNING lines, MAXERRORS, exit/abort, try/catch rules.

Handlers here are written the way the compiler is to emit them; each scenario notes the
script it stands for.
"""

from __future__ import annotations

import io

import pytest

from tapkit.runtime import arith
from tapkit.runtime.context import Context
from tapkit.runtime.errors import ActionLimitError, StapError, token_where, uncatchable
from tapkit.runtime.session import PASS5_FAILED, Session, SessionState, control_message


def new_session(**kw: int) -> tuple[Session, io.BytesIO, io.StringIO]:
    out, err = io.BytesIO(), io.StringIO()
    return Session(out, err, **kw), out, err


def test_begin_error_skips_end_runs_error_probe_and_summarizes() -> None:
    # probe begin { x = 1 / 0 } probe end { println("end") } probe error { println("err") }
    s, out, err = new_session()

    def begin(ctx: Context) -> None:
        arith.div(1, 0, "operator '/' at <input>:1:23")

    def end(ctx: Context) -> None:
        s.write("end\n")

    def error(ctx: Context) -> None:
        s.write("err\n")

    s.begin([(begin, "begin")])
    assert s.state == SessionState.ERROR and s.exit_requested
    s.shutdown([(end, "end")], [(error, "error")])
    assert out.getvalue() == b"err\n"
    assert err.getvalue() == ("ERROR: division by 0 near operator '/' at <input>:1:23\n"
                              "WARNING: Number of errors: 1, skipped probes: 0\n")
    assert s.failed and PASS5_FAILED == "Pass 5: run failed.  [man error::pass5]"


def test_error_function_has_no_location() -> None:
    # probe begin { error("boom") }  -- error() clears last_stmt
    s, _, err = new_session()
    s.begin([(lambda ctx: (_ for _ in ()).throw(StapError("boom")), "begin")])
    s.shutdown()
    assert err.getvalue().splitlines() == ["ERROR: boom", "WARNING: Number of errors: 1, skipped probes: 0"]


def test_exit_runs_end_probes_and_stops_later_begins() -> None:
    # probe begin { print("a"); exit(); print("b") } probe begin(1) { print("c") } probe end { println("end") }
    s, out, err = new_session()

    def first(ctx: Context) -> None:
        s.write("a")
        s.exit()
        s.write("b")  # exit() does not leave the handler

    s.begin([(first, "begin"), (lambda ctx: s.write("c"), "begin(1)")])
    assert s.state == SessionState.STOPPING
    ran = s.run_probe(lambda ctx: s.write("tick"), "timer.ms(10)")
    assert not ran  # timers only fire while RUNNING
    s.shutdown([(lambda ctx: s.write("end\n"), "end")])
    assert out.getvalue() == b"abend\n" and err.getvalue() == "" and not s.failed


def test_abort_leaves_the_handler_at_once() -> None:
    s, out, _ = new_session()

    def handler(ctx: Context) -> None:
        s.write("x")
        s.abort()
        s.write("never")

    s.begin([(handler, "begin")])
    s.shutdown([(lambda ctx: s.write("|end"), "end")])
    assert out.getvalue() == b"x|end"


def test_maxerrors() -> None:
    # stap -DMAXERRORS=2: the third error ends the session
    s, _, err = new_session(maxerrors=2)
    s.begin([])
    for _ in range(3):
        assert s.state == SessionState.RUNNING
        s.run_probe(lambda ctx: (_ for _ in ()).throw(StapError("e")), "timer.ms(1)")
    assert s.state == SessionState.ERROR
    assert not s.run_probe(lambda ctx: None, "timer.ms(1)")
    s.shutdown()
    assert err.getvalue().count("ERROR: e\n") == 3
    assert err.getvalue().endswith("WARNING: Number of errors: 3, skipped probes: 0\n")


def test_end_probe_error_stops_later_end_probes() -> None:
    s, out, err = new_session()
    s.begin([])

    def bad(ctx: Context) -> None:
        raise StapError("empty aggregate", "operator '@min' at t.stp:1:30")

    s.shutdown([(bad, "end"), (lambda ctx: s.write("end2"), "end(1)")], [(lambda ctx: s.write("error"), "error")])
    assert out.getvalue() == b"error"
    assert err.getvalue().startswith("ERROR: empty aggregate near operator '@min' at t.stp:1:30\n")


def test_try_catch_rules() -> None:
    # try { x = 1 / 0 } catch (msg) { println(msg) }  -- the message has no location
    s, out, err = new_session()

    def handler(ctx: Context) -> None:
        try:
            arith.div(1, 0, "operator '/' at t.stp:1:15")
        except StapError as e:
            if uncatchable(e):
                raise
            s.write(e.message + "\n")

    s.begin([(handler, "begin")])
    assert out.getvalue() == b"division by 0\n" and err.getvalue() == ""
    assert uncatchable(ActionLimitError("keyword at t.stp:1:1"))
    assert ActionLimitError().text == "MAXACTION exceeded"


def test_output_is_flushed_per_handler_as_bytes() -> None:
    s, out, _ = new_session()
    s.begin([(lambda ctx: s.write("\xe9\x00ok"), "begin")])
    assert out.getvalue() == b"\xe9\x00ok"
    s.write("pending")
    assert out.getvalue() == b"\xe9\x00ok"
    s.shutdown()
    assert out.getvalue() == b"\xe9\x00okpending"


def test_handler_sees_probe_point_and_fresh_action_budget() -> None:
    s, _, _ = new_session(maxaction=5)
    seen: list[tuple[str, int]] = []

    def handler(ctx: Context) -> None:
        seen.append((ctx.probe_point, ctx.actionremaining))
        ctx.actionremaining -= 3

    s.begin([(handler, "begin"), (handler, "begin(5)")])
    assert seen == [("begin", 5), ("begin(5)", 5)]


def test_control_messages_fit_the_transport_buffer() -> None:
    line = control_message("ERROR: ", "x" * 1000)
    assert len(line) == 384 and line.endswith("x\n")
    assert control_message("ERROR: ", "ends\n") == "ERROR: ends\n"
    assert control_message("WARNING: ", "w") == "WARNING: w\n"


def test_too_many_skipped_probes() -> None:
    s, _, err = new_session(maxskipped=1)
    s.begin([])
    s.skip()
    assert s.state == SessionState.RUNNING
    s.skip()
    assert s.state == SessionState.ERROR
    s.shutdown()
    assert err.getvalue() == ("ERROR: Skipped too many probes, check MAXSKIPPED or try again with stap -t for more "
                              "details.\nWARNING: Number of errors: 0, skipped probes: 2\n")


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("operator", "/", "operator '/' at <input>:1:23"),
    ("identifier", "kernel_string", "identifier 'kernel_string' at x.stp:18:10"),
    ("keyword", "next", "keyword at x.stp:2:3"),
    ("string", "a\tb", "string 'a?b' at x.stp:1:1"),
])
def test_token_where(kind: str, text: str, expected: str) -> None:
    file, line, col = expected.rsplit(" at ", 1)[1].rsplit(":", 2)
    assert token_where(kind, text, file, int(line), int(col)) == expected
