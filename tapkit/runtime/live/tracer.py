"""The ptrace tracer under tapkit's live probes: processes, threads, breakpoints, stops, detaching.

One Tracer follows a command it starts (`spawn`, like stap -c) or a process it attaches to
(`attach`, like stap -x), with every thread (PTRACE_O_TRACECLONE), forked child (TRACEFORK,
TRACEVFORK: children are followed, their breakpoints kept and serviced) and exec (TRACEEXEC: the
new image is set up from scratch and probes are re-resolved by the listener). Threads run freely;
a breakpoint hit stops only the thread that hit it (out-of-line execution, see space.py), except
for instructions that must be stepped in place, which stop the other threads while they step.

The tracee is always left running and intact: `run` ends (the target exited, the listener asked
to stop, a SIGINT/SIGTERM arrived, or a callback raised) by stopping every thread, removing every
breakpoint, restoring SDT semaphores and return addresses replaced on stacks, re-delivering
signals that were caught in transit, and detaching. x86_64 Linux only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence

from tapkit.runtime.live import ptrace
from tapkit.runtime.live.inject import run_syscall
from tapkit.runtime.live.procfs import exe_path, thread_ids
from tapkit.runtime.live.space import INT3, REGION, AddressSpace, Breakpoint, ScratchRegion
from tapkit.runtime.live.tasks import Listener, Process, ReturnFrame, Thread, TracerError, thread_group
from tapkit.runtime.live.x86 import emulate_branch
from tapkit.runtime.memory import MemoryFault

OPTIONS = (ptrace.PTRACE_O_TRACECLONE | ptrace.PTRACE_O_TRACEFORK | ptrace.PTRACE_O_TRACEVFORK
           | ptrace.PTRACE_O_TRACEEXEC | ptrace.PTRACE_O_TRACEEXIT)
TRAP_STOP = (signal.SIGTRAP << 8) | 0x7F  # the wait status of a SIGTRAP stop with no ptrace event
EVENTS_WITH_MESSAGE = frozenset({ptrace.PTRACE_EVENT_CLONE, ptrace.PTRACE_EVENT_FORK, ptrace.PTRACE_EVENT_VFORK,
                                 ptrace.PTRACE_EVENT_EXEC})
STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
MMAP, PROT_RX, MAP_PRIVATE_ANON_FIXED_NOREPLACE = 9, 5, 0x22 | 0x100000


Action = Callable[[Thread, Breakpoint], None]
Idle = Callable[[], float | None]

__all__ = ["Listener", "Process", "ReturnFrame", "Thread", "Tracer", "TracerError"]


class Tracer:
    def __init__(self, listener: Listener, *, out_of_line: bool = True) -> None:
        self.listener = listener
        self.out_of_line = out_of_line
        self.processes: dict[int, Process] = {}
        self.threads: dict[int, Thread] = {}
        self.target: Process | None = None
        self.target_status: int | None = None  # the target's wait status once it is gone
        self.queue: deque[tuple[int, int]] = deque()  # statuses taken while holding threads, to process
        self.early: dict[int, int] = {}  # stops of threads whose creation event is not seen yet
        self.messages: dict[int, int] = {}  # PTRACE_GETEVENTMSG of deferred event stops (a later stop resets it)
        self._interrupted = 0  # the signal that asked us to stop
        self.hits = 0

    # ---- starting ----

    def spawn(self, argv: Sequence[str], env: dict[str, str] | None = None, held: int | None = None) -> Process:
        """Start argv stopped, attach, and run it to the point just after its exec. held: a child
        fork_held made (stopped before its exec), so that its pid could be known earlier."""
        pid = held if held is not None else self.fork_held(argv, env)
        _, status = os.waitpid(pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            raise TracerError(f"the command {argv[0]!r} ended before it could be traced")
        ptrace.seize(pid, OPTIONS)
        os.kill(pid, signal.SIGCONT)
        while True:
            _, status = os.waitpid(pid, ptrace.WALL)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                raise TracerError(f"cannot run {argv[0]!r}: it exited before exec (status {status:#x})")
            sig, event = os.WSTOPSIG(status), status >> 16
            if event == ptrace.PTRACE_EVENT_EXEC:
                break
            ptrace.cont(pid, sig if event == 0 and sig not in (signal.SIGSTOP, signal.SIGCONT) else 0)
        proc = self._new_process(pid)
        thread = self._new_thread(proc, pid)
        thread.started = True
        self.target = proc
        self._setup_image(proc, thread)
        self.listener.process_started(proc, thread)
        self._resume(thread)
        return proc

    @staticmethod
    def fork_held(argv: Sequence[str], env: dict[str, str] | None = None) -> int:
        """Fork the child that will exec argv; it stops itself first (spawn then attaches and lets it go)."""
        if not argv:
            raise TracerError("no command to run")
        pid = os.fork()
        if pid == 0:  # the child: wait for the tracer, then become the command
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                for default in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
                    signal.signal(default, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGSTOP)
                if env is None:
                    os.execvp(argv[0], list(argv))
                os.execvpe(argv[0], list(argv), env)
            except BaseException:
                os.write(2, f"tapkit: cannot run {argv[0]!r}\n".encode())
            os._exit(127)
        return pid

    def attach(self, pid: int) -> Process:
        """Attach to every thread of a running process (PTRACE_SEIZE) and stop them while probes go in."""
        if not os.path.exists(f"/proc/{pid}"):
            raise TracerError(f"no process with pid {pid}")
        try:
            proc = self._new_process(pid)
        except ProcessLookupError:  # it ended since the check
            raise TracerError(f"no process with pid {pid}") from None
        except PermissionError as exc:
            raise TracerError(f"cannot attach to pid {pid}: {exc.strerror}") from None
        seen: set[int] = set()
        while True:  # threads can appear while we attach: repeat until the list is stable
            tids = [t for t in thread_ids(pid) if t not in seen]
            if not tids:
                break
            for tid in tids:
                seen.add(tid)
                try:
                    ptrace.seize(tid, OPTIONS)
                except ptrace.PtraceError as exc:
                    if tid == pid:
                        hint = " (another tracer holds it, or ptrace is not permitted)" \
                            if exc.errno == errno.EPERM else ""
                        raise TracerError(f"cannot attach to pid {pid}: {os.strerror(exc.errno or 0)}{hint}") from None
                    continue
                thread = self._new_thread(proc, tid)
                thread.started = True
                self.hold(thread)
        self.target = proc
        first = proc.threads[pid] if pid in proc.threads else next(iter(proc.threads.values()))
        self._setup_image(proc, first)
        self.listener.process_started(proc, first)
        for thread in list(proc.threads.values()):
            self._release(thread)
        return proc

    def _new_process(self, pid: int, space: AddressSpace | None = None) -> Process:
        proc = Process(pid, space if space is not None else AddressSpace(pid))
        self.processes[pid] = proc
        return proc

    def _new_thread(self, proc: Process, tid: int) -> Thread:
        thread = Thread(tid, proc)
        proc.threads[tid] = thread
        self.threads[tid] = thread
        return thread

    def _setup_image(self, proc: Process, thread: Thread) -> None:
        """After exec or attach, with every thread stopped: scratch region, modules, the listener's probes."""
        space = proc.space
        modules = space.scan_modules()
        if not space.regions:  # the trampoline lives there too
            exe = next((m for m in space.modules if m.path == proc.exe), space.modules[0] if space.modules else None)
            if exe is not None:
                self._map_region(thread, exe.start, exe.end, in_place=True)
        linker = next((m for m in space.modules if "_dl_debug_state" in m.image.by_name), None)
        if linker is not None:  # the dynamic linker calls it around every dlopen/dlclose (and at startup)
            self.insert(thread, linker.image.by_name["_dl_debug_state"].address + linker.bias, self._on_dl_state)
        self.listener.image_loaded(proc, thread, modules)

    def _on_dl_state(self, thread: Thread, bp: Breakpoint) -> None:
        added = thread.process.space.scan_modules()
        if added:
            self.listener.image_loaded(thread.process, thread, added)

    # ---- breakpoints ----

    def insert(self, thread: Thread, address: int, action: Action) -> Breakpoint:
        """Add action at address in thread's process; thread must be stopped (it may run an mmap)."""
        space = thread.process.space
        return space.insert(address, action, lambda near: self._allocate_near(thread, near), self.out_of_line)

    def _allocate_near(self, thread: Thread, address: int) -> ScratchRegion | None:
        mod = thread.process.space.module_at(address)
        start, end = (mod.start, mod.end) if mod is not None else (address, address + 1)
        return self._map_region(thread, start, end, in_place=False)

    def _map_region(self, thread: Thread, start: int, end: int, in_place: bool) -> ScratchRegion | None:
        """mmap a scratch region in the tracee near [start, end) by running a syscall in thread."""
        space = thread.process.space
        spot = space.free_spot_near(start, end)
        if spot is None:
            return None
        if in_place:
            ptrace.get_regs(thread.tid, thread.regs)
        at = thread.regs.rip if in_place else space.stub
        if not at:
            return None
        result = run_syscall(thread, MMAP, (spot, REGION, PROT_RX, MAP_PRIVATE_ANON_FIXED_NOREPLACE,
                                            0xFFFFFFFFFFFFFFFF, 0), at, in_place)
        if result != spot:
            return None
        return space.add_region(spot)

    # ---- the event loop ----

    def run(self, should_stop: Callable[[], bool] = lambda: False, idle: Idle | None = None,
            wake_fd: int | None = None) -> int | None:
        """Service events until the target is gone, should_stop() is true, or SIGINT/SIGTERM; then
        detach from everything. Returns the target's wait status (None if it was still running).

        idle: called whenever no tracee event is pending (timer probes run there); it returns the
        seconds until it wants to be called again (None: only when an event comes). wake_fd: the read
        end of the pipe signal.set_wakeup_fd already writes to, if the caller installed one."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        waiter = (_IdleWaiter(idle, lambda: bool(self._interrupted) or should_stop(), wake_fd)
                  if idle is not None else None)
        try:
            threads, processes, target = self.threads, self.processes, self.target
            while target is not None and target.pid in processes:
                if self._interrupted or should_stop():
                    break
                if self.queue:
                    tid, status = self.queue.popleft()
                elif waiter is None:
                    tid, status = os.waitpid(-1, ptrace.WALL)
                else:
                    event = waiter.wait()
                    if event is None:
                        continue
                    tid, status = event
                thread = threads.get(tid)
                try:
                    if status == TRAP_STOP and thread is not None and thread.started:  # the hot path
                        thread.running = False
                        self._on_trap(thread)
                    else:
                        self._dispatch(tid, status)
                except ptrace.PtraceError as exc:
                    if exc.errno != errno.ESRCH or thread is None:
                        raise
                    thread.running, thread.held = True, None  # killed while stopped: its exit status follows
        finally:
            try:
                self.detach_all()
            finally:
                if waiter is not None:
                    waiter.close()
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        return self.target_status

    @property
    def interrupted_by(self) -> int:
        return self._interrupted

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Only a flag and a child that exits at once: waitpid(-1) then returns, and no status is lost.
        self._interrupted = signum
        with contextlib.suppress(OSError):
            os.posix_spawn("/bin/true", ["true"], {})

    def _dispatch(self, tid: int, status: int) -> None:
        thread = self.threads.get(tid)
        if thread is None:
            if os.WIFSTOPPED(status):
                self.early[tid] = status  # a new thread or child whose creation event comes later
            return
        thread.running = False
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            self.gone(thread, status)
            return
        sig, event = os.WSTOPSIG(status), status >> 16
        if not thread.started:
            thread.started = True
            if thread.announce == "thread":
                self.listener.thread_started(thread)
            elif thread.announce == "process":
                self.listener.process_started(thread.process, thread)
            if event == ptrace.PTRACE_EVENT_STOP:
                self._resume(thread)
                return
        if event == 0 and sig == signal.SIGTRAP:
            self._on_trap(thread)
        elif event == ptrace.PTRACE_EVENT_STOP:
            if sig in STOP_SIGNALS:
                ptrace.listen(tid)  # a group stop: stay stopped until SIGCONT, as without tapkit
                thread.running = True
            else:
                self._resume(thread)  # an interrupt we no longer need
        elif event in (ptrace.PTRACE_EVENT_CLONE, ptrace.PTRACE_EVENT_FORK, ptrace.PTRACE_EVENT_VFORK):
            self._on_new_task(thread, event, self.message(thread))
        elif event == ptrace.PTRACE_EVENT_EXEC:
            self._on_exec(thread, self.message(thread))
        elif event == ptrace.PTRACE_EVENT_EXIT:
            thread.exiting = True
            alive = [t for t in thread.process.threads.values() if not t.exiting]
            self.listener.thread_exiting(thread, last=not alive)
            self._resume(thread)
        else:
            thread.pending_signals.append(sig)  # a signal in transit: deliver it
            self._resume(thread)

    def _resume(self, thread: Thread) -> None:
        sig = thread.pending_signals.pop(0) if thread.pending_signals else 0
        thread.held = None
        try:
            ptrace.cont(thread.tid, sig)
        except ptrace.PtraceError as exc:
            if exc.errno != 3:  # ESRCH: it died meanwhile; its exit status will come
                raise
        thread.running = True

    # ---- breakpoint and trampoline hits ----

    def _on_trap(self, thread: Thread) -> None:
        tid = thread.tid
        regs = thread.regs
        ptrace.get_regs(tid, regs)
        space = thread.process.space
        address = regs.rip - 1
        if address == space.trampoline and address >= 0:  # only a return through it gets a thread there
            self._on_return(thread)
            return
        bp = space.breakpoints.get(address)
        # A thread stands just past a breakpoint's first byte only after executing its int3, unless the
        # covered instruction is one byte long: then a SIGTRAP from kill() could meet it there, so ask.
        if bp is not None and (len(bp.original) > 1 or ptrace.siginfo(tid).si_code == ptrace.SI_KERNEL):
            self.hits += 1
            thread.held = ("bp", address)
            regs.rip = address
            for action in list(bp.actions):
                action(thread, bp)  # type: ignore[operator]
            self._continue_past(thread, bp)
            return
        code = ptrace.siginfo(tid).si_code
        if code == ptrace.SI_KERNEL and bp is None:
            with contextlib.suppress(MemoryFault):
                if space.memory.read(address, 1)[0] != INT3:  # a breakpoint removed after this thread hit it
                    regs.rip = address
                    ptrace.set_regs(tid, regs)
                    self._resume(thread)
                    return
        elif code == ptrace.TRAP_TRACE:
            self._resume(thread)  # a step trap nobody waits for
            return
        thread.pending_signals.append(signal.SIGTRAP)  # the program's own SIGTRAP
        self._resume(thread)

    def _continue_past(self, thread: Thread, bp: Breakpoint) -> None:
        """Resume a thread that stopped at bp as if the original instruction were there."""
        regs = thread.regs
        if bp.resume == "xol":
            regs.rip = bp.slot
            ptrace.set_regs(thread.tid, regs)
            if not thread.pending_signals:
                ptrace.cont(thread.tid, 0)
                thread.held = None
                thread.running = True
                return
            self._resume(thread)
            return
        if bp.resume == "branch" and bp.insn is not None:
            outcome = emulate_branch(bp.insn, bp.address, regs.eflags, regs.rcx)
            if outcome.push is not None:
                regs.rsp -= 8
                thread.process.space.memory.write_word(regs.rsp, outcome.push)
            if outcome.rcx is not None:
                regs.rcx = outcome.rcx
            regs.rip = outcome.rip
        else:
            self._step_over(thread, bp)
            return
        ptrace.set_regs(thread.tid, regs)
        self._resume(thread)

    def _step_over(self, thread: Thread, bp: Breakpoint) -> None:
        """Single-step the original instruction in place, with every other thread of the space stopped."""
        space = thread.process.space
        stopped = self._stop_others(thread)
        regs = thread.regs
        regs.rip = bp.address
        ptrace.set_regs(thread.tid, regs)
        space.memory.write(bp.address, bp.original[:1])
        queued = False
        try:
            while True:
                ptrace.singlestep(thread.tid, 0)
                _, status = os.waitpid(thread.tid, ptrace.WALL)
                if os.WIFSTOPPED(status):
                    sig, event = os.WSTOPSIG(status), status >> 16
                    if sig == signal.SIGTRAP and event == 0:
                        break
                    if event == 0:
                        thread.pending_signals.append(sig)  # arrived before the step: deliver after it
                        continue
                    if event == ptrace.PTRACE_EVENT_STOP:
                        continue  # an interrupt left pending by an earlier hold: the step has not run yet
                self.defer(thread, status)  # an event of the stepped instruction (exit, clone...)
                queued = True
                break
        finally:
            if bp.address in space.breakpoints:
                with contextlib.suppress(MemoryFault):
                    space.memory.write(bp.address, bytes([INT3]))
            for other in stopped:
                self._resume(other)
        if not queued:
            thread.held = None
            self._resume(thread)

    def _stop_others(self, thread: Thread) -> list[Thread]:
        """Interrupt every running thread sharing thread's memory; returns the ones now stopped quietly."""
        quiet = []
        for proc in list(self.processes.values()):
            if proc.space is not thread.process.space:
                continue
            for other in list(proc.threads.values()):
                if other is thread or not other.running:
                    continue
                if self.hold(other):
                    quiet.append(other)
        return quiet

    def hold(self, thread: Thread) -> bool:
        """Stop a running thread. True if it stopped just for us; False if it reported something else
        first (queued for the main loop) or is gone."""
        try:
            ptrace.interrupt(thread.tid)
        except ptrace.PtraceError:
            return False
        _, status = os.waitpid(thread.tid, ptrace.WALL)
        thread.running = False
        if os.WIFSTOPPED(status) and status >> 16 == ptrace.PTRACE_EVENT_STOP \
                and os.WSTOPSIG(status) not in STOP_SIGNALS:
            thread.held = ("quiet", 0)
            return True
        thread.held = ("queued", 0)
        self.defer(thread, status)
        return False

    def defer(self, thread: Thread, status: int) -> None:
        """Keep a status for the main loop. An event's message (the new task's id) is read now: running
        the thread before the status is handled (an injected system call) would replace it."""
        if os.WIFSTOPPED(status) and status >> 16 in EVENTS_WITH_MESSAGE:
            self.messages[thread.tid] = ptrace.event_message(thread.tid)
        self.queue.append((thread.tid, status))

    def message(self, thread: Thread) -> int:
        """The event message of the thread's current event stop."""
        saved = self.messages.pop(thread.tid, None)
        return saved if saved is not None else ptrace.event_message(thread.tid)

    def _release(self, thread: Thread) -> None:
        if thread.held == ("quiet", 0):
            self._resume(thread)

    # ---- return probes ----

    def hook_return(self, thread: Thread, function: int,
                    callbacks: Sequence[Callable[[Thread, ReturnFrame], None]]) -> ReturnFrame | None:
        """At a function's entry: route its return through the trampoline. None if it cannot be done."""
        space = thread.process.space
        if not space.trampoline:
            return None
        regs = thread.regs
        sp = regs.rsp
        shadow = thread.shadow
        while shadow and shadow[-1].slot < sp:  # frames left by longjmp or unwinding
            shadow.pop()
        current = space.memory.read_word(sp)
        if current == space.trampoline:  # a tail call from a probed function: share its return
            if not shadow or shadow[-1].slot != sp:
                return None
            real = shadow[-1].return_address
        else:
            real = current
            space.memory.write_word(sp, space.trampoline)
        frame = ReturnFrame(sp, real, function, callbacks, regs.copy())
        shadow.append(frame)
        return frame

    def _on_return(self, thread: Thread) -> None:
        regs = thread.regs
        slot = regs.rsp - 8
        shadow = thread.shadow
        index = next((i for i in range(len(shadow) - 1, -1, -1) if shadow[i].slot == slot), None)
        if index is None:
            raise TracerError(f"thread {thread.tid} returned through tapkit's trampoline from a call it did not "
                              f"record (stack {slot:#x}); its return address is lost")
        while index > 0 and shadow[index - 1].slot == slot:
            index -= 1
        frames = shadow[index:]
        del shadow[index:]
        real = frames[0].return_address
        regs.rip = real
        thread.held = ("tramp", real)
        self.hits += 1
        for frame in reversed([f for f in frames if f.slot == slot]):
            for callback in frame.callbacks:
                callback(thread, frame)
        ptrace.set_regs(thread.tid, regs)
        self._resume(thread)

    # ---- threads, processes, exec ----

    def _on_new_task(self, parent: Thread, event: int, child_id: int) -> None:
        child = self.adopt(parent, event, child_id)
        child.announce = "process" if child.process is not parent.process else "thread"
        early = self.early.pop(child_id, None)
        if early is not None:
            self.queue.append((child_id, early))
        self._resume(parent)

    def adopt(self, parent: Thread, event: int, child_id: int) -> Thread:
        """Record a task the kernel attached for us at a clone, fork or vfork event of parent."""
        proc = parent.process
        if event == ptrace.PTRACE_EVENT_CLONE and thread_group(child_id) in (proc.pid, 0):
            return self._new_thread(proc, child_id)
        # a fork child has a copy of the memory (breakpoints, scratch pages, replaced return addresses);
        # a vfork child shares it until it execs
        space = proc.space if event == ptrace.PTRACE_EVENT_VFORK else proc.space.fork_copy(child_id)
        child_proc = self._new_process(child_id, space)
        child_proc.exe = proc.exe
        child = self._new_thread(child_proc, child_id)
        child.shadow = [ReturnFrame(f.slot, f.return_address, f.function, f.callbacks, f.entry_regs, list(f.data))
                        for f in parent.shadow]
        return child

    def _on_exec(self, thread: Thread, former_tid: int) -> None:
        proc = thread.process
        for other in list(proc.threads.values()):  # exec leaves one thread, with the process's pid
            if other is not thread:
                self.forget(other)
        if thread.tid != proc.pid:
            self.threads.pop(thread.tid, None)
            thread.tid = proc.pid
            self.threads[proc.pid] = thread
            proc.threads = {proc.pid: thread}
        shared = any(p.space is proc.space for p in self.processes.values() if p is not proc)
        if not shared:
            proc.space.close()
        proc.space = AddressSpace(proc.pid)
        proc.exe = exe_path(proc.pid)
        thread.shadow.clear()
        thread.task_cache = None
        self._setup_image(proc, thread)
        self.listener.process_started(proc, thread)
        self._resume(thread)

    def forget(self, thread: Thread) -> None:
        thread.process.threads.pop(thread.tid, None)
        if self.threads.get(thread.tid) is thread:
            del self.threads[thread.tid]

    def gone(self, thread: Thread, status: int) -> None:
        proc = thread.process
        self.forget(thread)
        if thread.tid == proc.pid:
            for other in list(proc.threads.values()):
                self.forget(other)
            del self.processes[proc.pid]
            if not any(p.space is proc.space for p in self.processes.values()):
                proc.space.close()
            if proc is self.target:
                self.target_status = status

    # ---- leaving ----

    def detach_all(self) -> list[str]:
        """Stop every thread, undo every change tapkit made, and detach (see detach.py)."""
        from tapkit.runtime.live.detach import detach_all

        return detach_all(self)


class _IdleWaiter:
    """waitpid for tracee events that lets `idle` run while none is pending: SIGCHLD (sent to the tracer
    at every tracee stop) wakes a select through Python's wakeup fd, which also carries SIGINT/SIGTERM."""

    def __init__(self, idle: Idle, stopping: Callable[[], bool], wake_fd: int | None) -> None:
        self.idle, self.stopping = idle, stopping
        self.own_pipe = False
        self.old_handler = signal.signal(signal.SIGCHLD, _no_op)
        self.read_fd: int | None = wake_fd
        self.write_fd = -1
        if wake_fd is None:
            try:
                r, w = os.pipe()
                os.set_blocking(r, False)
                os.set_blocking(w, False)
                signal.set_wakeup_fd(w)
            except ValueError:  # not the main thread: poll
                os.close(r)
                os.close(w)
            else:
                self.read_fd, self.write_fd, self.own_pipe = r, w, True

    def wait(self) -> tuple[int, int] | None:
        """The next event, or None when idle ran (or a stop is wanted) and nothing came."""
        deadline = 0
        while True:  # a hit usually follows within microseconds: poll briefly before the slower select path
            tid, status = os.waitpid(-1, ptrace.WALL | os.WNOHANG)
            if tid:
                return tid, status
            now = _monotonic_ns()
            if not deadline:
                deadline = now + SPIN_NS
            elif now >= deadline:
                break
        timeout = self.idle()
        if self.stopping():
            return None
        self._drain()  # SIGCHLDs of stops already taken; one arriving from here on wakes the select
        tid, status = os.waitpid(-1, ptrace.WALL | os.WNOHANG)
        if tid:
            return tid, status
        if self.read_fd is None:  # no pipe to wait on: poll
            import time

            time.sleep(min(timeout, 0.001) if timeout is not None else 0.001)
            return None
        import select

        with contextlib.suppress(InterruptedError):
            select.select([self.read_fd], [], [], timeout)
        return None

    def _drain(self) -> None:
        if self.read_fd is not None:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while os.read(self.read_fd, 512):
                    pass

    def close(self) -> None:
        signal.signal(signal.SIGCHLD, self.old_handler)
        if self.own_pipe:
            signal.set_wakeup_fd(-1)
            assert self.read_fd is not None
            os.close(self.read_fd)
            os.close(self.write_fd)


SPIN_NS = 50_000  # how long the idle waiter polls for the next stop before it waits in select
_monotonic_ns = __import__("time").monotonic_ns


def _no_op(signum: int, frame: object) -> None:
    pass
