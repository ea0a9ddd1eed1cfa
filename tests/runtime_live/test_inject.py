"""System calls run inside a tracee thread stopped in the middle of its own system call (a clone event
stop): the thread's call still returns its own result, and the event's message is kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapkit.runtime.live import ptrace
from tapkit.runtime.live.inject import run_syscall
from tapkit.runtime.live.space import LoadedModule
from tapkit.runtime.live.tracer import Process, Thread, Tracer

SYS_GETPID = 39


class _Quiet:
    def image_loaded(self, process: Process, thread: Thread, modules: list[LoadedModule]) -> None:
        pass

    def process_started(self, process: Process, thread: Thread) -> None:
        pass

    def thread_started(self, thread: Thread) -> None:
        pass

    def thread_exiting(self, thread: Thread, last: bool) -> None:
        pass


def test_injection_at_a_clone_event_stop(threads: Path, capfd: pytest.CaptureFixture[str]) -> None:
    tracer = Tracer(_Quiet())
    proc = tracer.spawn([str(threads), "2", "5"])
    while True:  # run until the main thread stops at its first clone (pthread_create)
        tid, status = os.waitpid(-1, ptrace.WALL)
        if tid == proc.pid and os.WIFSTOPPED(status) and status >> 16 == ptrace.PTRACE_EVENT_CLONE:
            break
        tracer._dispatch(tid, status)
    main = proc.threads[proc.pid]
    main.running = False
    tracer.defer(main, status)  # as a hold() would: the status is handled after the injection
    child = ptrace.event_message(main.tid)
    assert run_syscall(main, SYS_GETPID, (0, 0, 0, 0, 0, 0), proc.space.stub, in_place=False) == proc.pid
    assert ptrace.event_message(main.tid) != child  # the injection's own stops replaced the kernel's copy
    assert tracer.messages[main.tid] == child  # which defer() kept
    tracer.run()
    assert tracer.target_status is not None and os.WIFEXITED(tracer.target_status)
    assert os.WEXITSTATUS(tracer.target_status) == 0
    # pthread_create saw its clone return the thread's id: both threads ran, main printed the total
    assert capfd.readouterr().out == "threads 2 calls 10 bad 0\n"
