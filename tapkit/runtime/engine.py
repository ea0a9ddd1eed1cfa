"""The builtin engine: runs a compiled program's begin/end/error/never/timer probes from an event loop.

The session's life follows a stap module's: begin probes in priority order (STARTING), then the
-c command is started, then timers (and any other event source, such as a replay fixture) fire
while RUNNING, until exit(), too many errors, the -c command's exit, or SIGINT/SIGTERM; then end
probes (STOPPING) or error probes (ERROR), and the summary. `-x PID` only sets target(): the run
is independent of that process's lifespan, as in stap.

A script left with nothing that can fire (only begin/end probes, no -c command) waits for SIGINT
as stap does when tapkit runs on a terminal; otherwise (a pipe, a test) it ends at once, as if
interrupted, and its end probes run.

Event sources plug in as EventSource objects: `start(engine)` after begin probes, `next_due()`
(monotonic ns or None), `fire(engine)`; the timer source is one, replay (tapkit.runtime.replay) is
another. A probe no source serves stops the run before it starts, with ProbeUnservable's reason.
A source with `drives = True` (live process probes, tapkit.runtime.livesource) takes over the loop:
it holds and starts the -c command itself (`hold`, `release`) and `drive(engine, others)` runs
until the session should end, firing the other sources (timers) while it waits.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

from tapkit.runtime.compiler import CompiledProgram, ProbeSite, TargetBinder
from tapkit.runtime.context import Context, kernel_hz
from tapkit.runtime.session import Session, SessionState

BUILTIN_FAMILIES = frozenset({"begin", "end", "error", "never", "timer"})
_HOLD = "import os,sys; g=int(sys.argv[1]); os.read(g,1); os.close(g); os.execvp(sys.argv[2], sys.argv[2:])"


class ProbeUnservable(Exception):
    """A probe point this host (or the chosen engine) cannot fire, with why and what could."""


class EventSource(Protocol):
    def serves(self, site: ProbeSite) -> bool: ...

    def start(self, engine: BuiltinEngine) -> None: ...

    def next_due(self) -> int | None: ...

    def fire(self, engine: BuiltinEngine) -> None: ...


def unservable_reason(site: ProbeSite) -> str:
    """Why the builtin engine cannot fire a probe, and what can."""
    family, point = site.family, site.point
    if family == "dwarf" and (site.module == "kernel" or site.module.startswith("module(")):
        return (f"probe {point}: kernel and module probes need kprobes and a loadable stap module; this host's "
                "kernel offers neither to tapkit. Test it here with --replay FIXTURE.yaml, or run it where stap can: "
                "--engine stap (or build a module with -p4 -r RELEASE -m NAME)")
    if family == "dwarf":
        return (f"probe {point}: tapkit's live engine serves process(\"PATH\") probes only; "
                "use --replay FIXTURE.yaml to replay recorded hits, or --engine stap")
    if family in ("tracepoint", "kprobe", "perf", "procfs", "netfilter", "hwbkpt", "utrace", "mark", "plt"):
        return (f"probe {point}: {family} probes need the kernel's own instrumentation (a stap module); "
                "use --engine stap where it can load, or --replay FIXTURE.yaml to replay recorded hits")
    return f"probe {point}: the builtin engine has no event source for {family} probes"


@dataclass(eq=False)
class TimerSource:
    """hrtimer-like periodic probes on one CPU; a late timer skips the periods it missed (hrtimer_forward)."""

    sites: list[tuple[ProbeSite, int]]  # (site, handler index)
    hz: int = field(default_factory=kernel_hz)
    rng: random.Random = field(default_factory=random.Random)
    heap: list[tuple[int, int, int, int]] = field(default_factory=list)  # (due, seq, site pos, interval)

    def serves(self, site: ProbeSite) -> bool:
        return site.family == "timer"

    def _period(self, site: ProbeSite) -> int:
        assert site.timer is not None
        interval = site.timer.interval_ns(self.hz)
        spread = site.timer.randomize_ns(self.hz)
        if spread:
            interval += self.rng.randint(-spread, spread)
        return max(interval, 1000)

    def start(self, engine: BuiltinEngine) -> None:
        now = time.monotonic_ns()
        for pos, (site, _handler) in enumerate(self.sites):
            period = self._period(site)
            heapq.heappush(self.heap, (now + period, pos, pos, period))

    def next_due(self) -> int | None:
        return self.heap[0][0] if self.heap else None

    def fire(self, engine: BuiltinEngine) -> None:
        now = time.monotonic_ns()
        while self.heap and self.heap[0][0] <= now and not engine.session.exit_requested:
            due, seq, pos, _ = heapq.heappop(self.heap)
            site, handler = self.sites[pos]
            engine.run_site(site, handler)
            period = self._period(site)
            nxt = due + period
            now = time.monotonic_ns()
            if nxt <= now:
                nxt += ((now - nxt) // period + 1) * period
            heapq.heappush(self.heap, (nxt, seq, pos, period))


@dataclass
class RunOptions:
    command: Sequence[str] | None = None  # -c: started after begin probes; the run ends when it exits
    target_pid: int | None = None  # -x
    overrides: Mapping[str, int | str] = field(default_factory=dict)  # -G
    binder: TargetBinder | None = None
    sources: Sequence[EventSource] = ()  # besides timers: replay, …
    env: Mapping[str, str] | None = None
    handle_signals: bool = True


class BuiltinEngine:
    def __init__(self, program: CompiledProgram, session: Session, options: RunOptions | None = None) -> None:
        self.program = program
        self.session = session
        self.options = options or RunOptions()
        self.context: Context = session.context
        self.handlers: list[Callable[[Context], None]] = []
        self.child: subprocess.Popen[bytes] | None = None
        self.interrupted = 0
        self._wake_r = self._wake_w = -1
        self._gate = -1
        self.timers = TimerSource([])

    # ---- checking ----

    def check_servable(self) -> None:
        extra = list(self.options.sources)
        for site in self.program.sites:
            if site.family in BUILTIN_FAMILIES:
                continue
            if any(src.serves(site) for src in extra):
                continue
            raise ProbeUnservable(unservable_reason(site))

    # ---- running ----

    def run_site(self, site: ProbeSite, handler_index: int, required: SessionState = SessionState.RUNNING) -> bool:
        return self.session.run_probe(self.handlers[handler_index], site.point, required, site.name)

    def _ordered(self, family: str) -> list[tuple[Callable[[Context], None], str]]:
        sites = [s for s in self.program.sites if s.family == family]
        sites.sort(key=lambda s: s.priority)  # stable: declaration order within a priority
        return [(self._named(s), s.point) for s in sites]

    def _named(self, site: ProbeSite) -> Callable[[Context], None]:
        handler = self.handlers[site.index]
        if not site.name or site.name == site.point:
            return handler

        def run(ctx: Context) -> None:
            ctx.probe_name = site.name
            handler(ctx)

        return run

    def run(self) -> int:
        """The whole session; returns stap's exit status (1 when the run had errors)."""
        self.check_servable()
        opts = self.options
        if opts.target_pid is not None:
            self.context.target = opts.target_pid
        self.handlers = self.program.instantiate(self.session, opts.binder, opts.overrides)
        self.timers = TimerSource([(s, s.index) for s in self.program.sites if s.family == "timer"])
        sources: list[EventSource] = [self.timers, *opts.sources]
        driver = next((src for src in opts.sources if getattr(src, "drives", False)), None)
        failure: str | None = None
        with self._signals():
            if opts.command is not None:  # held until begin probes are done; target() is its pid
                if driver is not None:
                    driver.hold(opts.command)  # type: ignore[attr-defined]  # the tracer starts it
                else:
                    self._start_command(opts.command)
            self.session.begin(self._ordered("begin"))
            if not self.session.exit_requested:
                self._release_command()
                for src in sources:
                    src.start(self)
                if driver is None:
                    self._loop(sources)
                else:
                    others = [src for src in sources if src is not driver]
                    if not driver.drive(self, others):  # type: ignore[attr-defined]
                        self._loop(others)
                    failure = getattr(driver, "failure", None)
            elif driver is not None:
                driver.release()  # type: ignore[attr-defined]  # the command never starts
            if failure:
                self.session.sync()
                self.session.err.write(f"tapkit run: {failure}\n")
                self.session.err.flush()
            self.session.shutdown(self._ordered("end"), self._ordered("error"))
        self._reap_command()
        return 1 if self.session.failed or failure else 0

    def _loop(self, sources: list[EventSource]) -> None:
        session = self.session
        pidfd = self._child_fd()
        while not session.exit_requested and not self.interrupted:
            if self.child is not None and self.child.poll() is not None:
                session.exit()
                break
            now = time.monotonic_ns()
            due = [d for d in (src.next_due() for src in sources) if d is not None]
            if not due and self.child is None and not self._waits_forever():
                break  # nothing can ever fire: stap would wait for ^C; we end as if interrupted
            for src in sources:
                d = src.next_due()
                if d is not None and d <= now:
                    src.fire(self)
                    if session.exit_requested:
                        return
            session.flush()
            now = time.monotonic_ns()
            upcoming = [d for d in (src.next_due() for src in sources) if d is not None]
            timeout = max(0.0, (min(upcoming) - now) / 1e9) if upcoming else None
            if timeout is None or timeout > 0.05:
                session.sync()
            self._wait(pidfd, timeout)

    def _waits_forever(self) -> bool:
        """A script with only begin/end probes waits for ^C in stap; tapkit does too when attached to a tty."""
        return self.options.handle_signals and os.isatty(0) and self.options.command is None

    # ---- the -c command ----

    def _start_command(self, command: Sequence[str]) -> None:
        """Start the -c command now, held before exec until _release_command (stap's staprun does the same):
        a tiny stub waits for a byte on the gate pipe, then execs the command in its own pid (target())."""
        if not command or (shutil.which(command[0]) is None and not os.path.exists(command[0])):
            raise FileNotFoundError(2, "No such file or directory", command[0] if command else "")
        env = dict(self.options.env) if self.options.env is not None else None
        gate_r, gate_w = os.pipe()
        try:
            self.child = subprocess.Popen([sys.executable, "-S", "-c", _HOLD, str(gate_r), *command], env=env,
                                          pass_fds=(gate_r,))
        finally:
            os.close(gate_r)
        self._gate = gate_w
        self.context.target = self.child.pid

    def _release_command(self) -> None:
        if self._gate >= 0:
            os.write(self._gate, b"g")
            os.close(self._gate)
            self._gate = -1

    def _child_fd(self) -> int | None:
        if self.child is None:
            return None
        try:
            return os.pidfd_open(self.child.pid)
        except (OSError, AttributeError):
            return None

    def _reap_command(self) -> None:
        if self._gate >= 0:  # the session ended in its begin probes: the command never starts
            os.close(self._gate)
            self._gate = -1
            if self.child is not None:
                self.child.kill()
                self.child.wait()
            return
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.wait(timeout=0)

    # ---- waiting and signals ----

    def _wait(self, pidfd: int | None, timeout: float | None) -> None:
        fds = [fd for fd in (self._wake_r, pidfd) if fd is not None and fd >= 0]
        if not fds:
            time.sleep(timeout if timeout is not None else 0.05)
            return
        try:
            ready, _, _ = select.select(fds, [], [], timeout if timeout is not None else None)
        except InterruptedError:
            return
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 64)

    @contextlib.contextmanager
    def _signals(self) -> Any:
        if not self.options.handle_signals or _not_main_thread():
            yield
            return
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._wake_r, self._wake_w = r, w
        old_fd = signal.set_wakeup_fd(w)
        old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def stop(signum: int, frame: FrameType | None) -> None:
            self.interrupted = signum
            self.session.exit()

        try:
            for sig in old:
                signal.signal(sig, stop)
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(old_fd)
            os.close(r)
            os.close(w)
            self._wake_r = self._wake_w = -1


def _not_main_thread() -> bool:
    import threading

    return threading.current_thread() is not threading.main_thread()
