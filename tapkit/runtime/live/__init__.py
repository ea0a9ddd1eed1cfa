"""tapkit.runtime.live: live user-space probes on running processes, the event source under `tapkit run`'s
process probes. Linux on x86_64 only (ptrace register layout, int3 breakpoints, the System V ABI).

Running probes
--------------
    from tapkit.runtime import Session
    from tapkit.runtime.live import LiveEngine

    engine = LiveEngine()                          # out_of_line=False: step in place (slower; for tests)
    session = Session(context=engine.context)      # the session's Context IS the engine's LiveContext
    engine.add_function(path, fn, engine.session_callback(session, probe_3, 'process("…").function("f")'))
    engine.add_function(path, fn, cb, kind="return", on_entry=save)   # .return; save(ctx) -> ctx.entry
    engine.add_address(path, address, cb, function=fn, entry_values=True)   # .statement / inline sites
    engine.add_mark(path, "provider", "name", cb)  # SDT markers (.mark); None matches any name
    engine.on_process_begin(cb, process=exe) / on_process_end / on_thread_begin / on_thread_end
    engine.hold(["./prog", "arg"])                 # optional: fork it now, stopped before exec (target() set)
    session.begin(begin_probes)
    result = engine.run(["./prog", "arg"])         # stap -c;  engine.run(pid=1234) is stap -x
    session.shutdown(end_probes, error_probes)     # (release_held() instead of run if the session ended early)

  `tapkit run` drives this through tapkit.runtime.livesource (sites, binder, timers); run(idle=f,
  wake_fd=r) calls f() whenever no hit is pending (timer probes) and f returns the seconds until it
  wants to run again; SIGCHLD, which every tracee stop sends, wakes the wait through the wakeup fd.

  path     the ELF file the probe is in (executable or shared library; realpath is taken). Addresses
           are link-time, as tapkit.debuginfo and the ELF file give them; the engine adds each
           process's load bias (PIE, shared objects) itself.
  fn       a tapkit.debuginfo Function (its entry_address is used: the function's own first
           instruction, not the end of its prologue) or a name from the ELF symbol table.
  process  only in processes running this executable (process("EXE").library("LIB") probes pass
           path=LIB, process=EXE); pid= limits to one process (process(PID) probes).
  cb       callback(ctx: LiveContext) -> None, on the tracer's thread, while the probed thread is
           stopped. session_callback(session, handler, pp, pn="") wraps a compiled handler in
           Session.run_probe and stops the run when the session wants to exit (exit(), MAXERRORS).
  run      blocks until the target exits, engine.stop(), should_stop() is true, SIGINT or SIGTERM,
           or a callback raises (re-raised after detaching). RunResult(status, exit_code, signal,
           interrupted_by, stopped, hits). Probes are inserted in every process that maps `path`:
           at exec, at attach, and at each dlopen (a breakpoint on the dynamic linker's
           _dl_debug_state rescans /proc/PID/maps). Forked children are followed (they keep their
           copy of the breakpoints; process.begin fires for them), exec re-resolves probes for the new
           image, new threads are probed from their first instruction. When run ends, every
           breakpoint, SDT semaphore and replaced return address is restored and every thread
           detached: the tracee goes on running, intact. A -c command still running is left running
           (as stap leaves it).

What a callback sees (LiveContext, a tapkit.runtime Context)
-----------------------------------------------------------
  ctx.task (pid, tid, ppid, uid..., execname), ctx.memory (ProcessMemory: read(addr, size, user) /
  write(addr, data), so user_string & co and @cast reads work), ctx.target (the -c/-x pid),
  ctx.probefunc, ctx.regs (ptrace Registers: rax, rdi, rsp, rip...; writable: the thread resumes
  with them), ctx.pc (= uaddr()), ctx.module (LoadedModule: path, bias), ctx.live_probe,
  ctx.thread / ctx.process / ctx.space.
  Return probes: ctx.pc is the return address, ctx.return_frame (the probed call), ctx.entry (what
  on_entry returned at that call's entry), ctx.entry_regs (registers at entry).
  ctx.print_ubacktrace() / sprint_ubacktrace() / ubacktrace() -> str, ctx.ubacktrace_pcs(),
  ctx.usymname(a) / usymdata(a) / umodname(a): stap's formats (symbols.py), CFI unwinding.
  ctx.mark_argument(n): an SDT marker's $argN.

Target variables (variables.py) -- resolve at compile time, read at each hit
---------------------------------------------------------------------------
  var = resolve_variable(info, fn, "name", pc)   # pc: link-time probe address (fn.entry_address...)
        raises TargetVariableError with stap's words ("not accessible at this address (pc: 0x…)
        [man error::dwarf]", "unable to find local 'x' …"); inline sites: variables=site.variables.
  var.read(ctx) -> int (C type's sign/size; pointers as addresses; structs/arrays: their address)
  var.address(ctx) (&$var), var.read_bytes(ctx), var.write(ctx, value) (guru: $var = v),
  var.type / var.info (for -> chains: info.walk(var.type, "->a->b"), then deref(ctx.memory, ...)).
  ret = resolve_return(info, fn); ret.read(ctx) / ret.write(ctx, v)   ($return; guru $return = v)
  At a function's entry, parameters gcc -O0 keeps in frame slots (not yet written there) are read
  where the calling convention passes them (registers, then the stack). DW_OP_entry_value needs
  entry registers: entry probes have them, return probes keep them, address probes get them with
  entry_values=True; otherwise reading fails with "DW_OP_entry_value unable to resolve value".
  $param in a .return probe means @entry($param) in stap: read it in on_entry, use ctx.entry.

Source lines
------------
  lines.statement_addresses(path, "file.c", line, within=fn.ranges or ((fn.low_pc, fn.high_pc),))
  -> link-time addresses for .statement("func@file.c:line") (one per run of the line's rows, as
  stap places them); give them to add_address. Interim: it reads the DWARF line program with
  pyelftools, since tapkit.debuginfo does not index line tables yet.

Not here (yet)
--------------
  Floating-point and
  struct $return values, C++ exceptions unwinding through a frame whose return is probed (the
  unwinder meets tapkit's trampoline), and programs that install their own int3 where a probe is
  are refused or unsupported. If tapkit itself is killed with SIGKILL, breakpoints stay behind.
  Only processes tapkit starts (-c) or attaches to (-x) are traced, where stap's uprobes see every
  process running the file. A struct parameter passed in SSE registers (one with floats) cannot be
  read at the function's entry (an error says so).

Cost per hit on the project host (bench/probes.py, docs/benchmarks.md): ~18 us for an entry probe,
~45 us for entry+return, against ~10 / ~12-16 us for kernel uprobes with BPF (bpftrace); stopping the
thread, two context switches and 3 ptrace requests (~2 us each here) are the floor of this design.

Modules: engine (LiveEngine, LiveContext), tracer (+ tasks, detach, inject: the ptrace event loop),
space (breakpoints, out-of-line copies, scratch pages, modules), x86 (instruction decoding), cfi and
symbols (unwinding, stap's symbol formats), dwarfexpr and variables (locations, values), sdt,
elfimage (segments, symbols, notes), lines, procfs, ptrace.
"""

from tapkit.runtime.live.engine import LiveContext, LiveEngine, LiveProbe, RunResult
from tapkit.runtime.live.procfs import ProcessMemory
from tapkit.runtime.live.tracer import TracerError
from tapkit.runtime.live.variables import (
    ReturnValue,
    TargetVariable,
    TargetVariableError,
    resolve_return,
    resolve_variable,
)

__all__ = [
    "LiveContext",
    "LiveEngine",
    "LiveProbe",
    "ProcessMemory",
    "ReturnValue",
    "RunResult",
    "TargetVariable",
    "TargetVariableError",
    "TracerError",
    "resolve_return",
    "resolve_variable",
]
