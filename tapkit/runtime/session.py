"""The session: probe entry/exit protocol, output buffer, error accounting, exit().

This mirrors what the translator and runtime wrap around every handler
(common_probe_entryfn_prologue/epilogue in tapsets.cxx, be_derived_probe_group):

- A handler runs only in its session state: begin probes in STARTING, timers and
  other event probes in RUNNING, end probes in STOPPING, error probes in ERROR.
- A handler error prints `ERROR: <msg> near <token>` on stderr, counts, and once the
  count exceeds MAXERRORS (default 0) sets state ERROR and requests exit — so end
  probes do not run and error probes do.
- exit() sets STOPPING (from any state) and requests exit; the handler goes on.
  abort() does the same and leaves the handler at once.
- Output a handler prints is flushed when the handler ends.
- At shutdown: end probes, then error probes, then `WARNING: Number of errors: N,
  skipped probes: M` if either is non-zero.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import BinaryIO, TextIO

from tapkit.runtime.context import MAXACTION_INTERRUPTIBLE, Context
from tapkit.runtime.errors import ActionLimitError, ProbeAbort, StapError

MAXERRORS = 0
MAXSKIPPED = 100
STP_CTL_BUFFER_SIZE = 384  # one ERROR:/WARNING: message, prefix and newline included
FLUSH_INTERVAL = 0.05  # seconds between OS-level flushes of probe output
PASS5_FAILED = "Pass 5: run failed.  [man error::pass5]"
SKIPPED_TOO_MANY = "Skipped too many probes, check MAXSKIPPED or try again with stap -t for more details."

Handler = Callable[[Context], None]


class SessionState(IntEnum):
    STARTING = 0
    RUNNING = 1
    ERROR = 2
    STOPPING = 3
    STOPPED = 4


def control_message(prefix: str, text: str) -> str:
    """_stp_ctl_log_werr: prefix, the text cut to what fits the 384-byte buffer, a newline."""
    line = prefix + text[: STP_CTL_BUFFER_SIZE - len(prefix) - 1]
    return line if line.endswith("\n") else line + "\n"


class Session:
    """One run of a compiled script.

    Compiled code writes output with `session.write(text)` (a list append; texts are
    byte strings in latin-1 form) and may bind it once: `w = session.write`.
    """

    def __init__(self, out: BinaryIO | None = None, err: TextIO | None = None, *, maxerrors: int = MAXERRORS,
                 maxskipped: int = MAXSKIPPED, maxaction: int = MAXACTION_INTERRUPTIBLE,
                 context: Context | None = None) -> None:
        self.out = out if out is not None else sys.stdout.buffer
        self.err = err if err is not None else sys.stderr
        self.maxerrors = maxerrors
        self.maxskipped = maxskipped
        self.maxaction = maxaction
        self.state = SessionState.STARTING
        self.exit_requested = False
        self.error_count = 0
        self.skipped_count = 0
        self.context = context if context is not None else Context()
        self.context.session = self
        self.buffer: list[str] = []
        self.write = self.buffer.append
        self._flushed_at = 0.0
        self.flush_interval = FLUSH_INTERVAL  # live runs use less: output then keeps pace with the traced program's

    # ---- output ----

    def flush(self) -> None:
        """End of a handler (_stp_print_flush). Output reaches the OS stream in order, at least
        every FLUSH_INTERVAL seconds, as stapio drains stap's relay buffers periodically."""
        buf = self.buffer
        if buf and (len(buf) >= 512 or time.monotonic() - self._flushed_at >= self.flush_interval):
            self.sync()

    def sync(self) -> None:
        """Push everything written so far to the OS (before exiting, errors, or warnings)."""
        if self.buffer:
            data = "".join(self.buffer).encode("latin-1")
            self.buffer.clear()
            self.out.write(data)
        self.out.flush()
        self._flushed_at = time.monotonic()

    def warn(self, text: str) -> None:
        """warn() and runtime warnings: `WARNING: text` on stderr."""
        self.sync()
        self.err.write(control_message("WARNING: ", text))
        self.err.flush()

    # ---- errors and exit ----

    def report_error(self, error: StapError) -> None:
        """The probe epilogue's handling of c->last_error."""
        self.sync()
        self.err.write(control_message("ERROR: ", error.text))
        self.err.flush()
        self.error_count += 1
        if self.error_count > self.maxerrors:
            self.state = SessionState.ERROR
            self.exit_requested = True

    def exit(self) -> None:
        """exit(): stop after this handler; end probes will run."""
        self.state = SessionState.STOPPING
        self.exit_requested = True

    def abort(self) -> None:
        """abort(): as exit(), but the handler ends now (raises ProbeAbort)."""
        self.exit()
        raise ProbeAbort

    @property
    def failed(self) -> bool:
        """Whether the run reports failure (stap then prints PASS5_FAILED)."""
        return self.error_count > 0

    # ---- running handlers ----

    def run_probe(self, handler: Handler, probe_point: str, required: SessionState = SessionState.RUNNING,
                  probe_name: str = "") -> bool:
        """Run one handler for one hit if the session is in `required` state; True if it ran."""
        if self.state != required:
            return False
        ctx = self.context
        ctx.probe_point = probe_point
        ctx.probe_name = probe_name
        ctx.actionremaining = self.maxaction
        ctx.nesting = -1
        try:
            handler(ctx)
        except ProbeAbort:
            pass
        except StapError as error:
            self.report_error(error)
        finally:
            self.flush()
        return True

    def skip(self) -> None:
        """A hit that could not run (reentrancy, lock timeout): too many end a running session."""
        self.skipped_count += 1
        if self.skipped_count > self.maxskipped and self.state == SessionState.RUNNING:
            self.state = SessionState.ERROR
            self.exit_requested = True
            self.err.write(control_message("ERROR: ", SKIPPED_TOO_MANY))
            self.err.flush()

    def begin(self, handlers: Iterable[tuple[Handler, str]]) -> None:
        """Run begin probes (already ordered by priority), then enter RUNNING if still STARTING."""
        for handler, point in handlers:
            self.run_probe(handler, point, SessionState.STARTING)
        if self.state == SessionState.STARTING:
            self.state = SessionState.RUNNING

    def shutdown(self, end_handlers: Iterable[tuple[Handler, str]] = (),
                 error_handlers: Iterable[tuple[Handler, str]] = ()) -> None:
        """systemtap_module_exit: end probes if STOPPING, error probes if ERROR, the summary."""
        if self.state == SessionState.RUNNING:
            self.state = SessionState.STOPPING
        for handler, point in end_handlers:
            self.run_probe(handler, point, SessionState.STOPPING)
        for handler, point in error_handlers:
            self.run_probe(handler, point, SessionState.ERROR)
        if self.error_count or self.skipped_count:
            self.warn(f"Number of errors: {self.error_count}, skipped probes: {self.skipped_count}\n")
        self.state = SessionState.STOPPED
        self.sync()


__all__ = ["MAXERRORS", "MAXSKIPPED", "PASS5_FAILED", "ActionLimitError", "Handler", "Session", "SessionState",
           "control_message"]
