"""tapkit.runtime.compiler: the checked program (pass 2's Analysis) compiled to Python source, run with exec.

Compiling and running
---------------------
    from tapkit.runtime.compiler import compile_program, Limits
    program = compile_program(analysis, Limits.from_defines({"MAXACTION": "100"}))   # CompileError
    program.source                         # the generated Python (`tapkit run -p3` prints it)
    program.sites                          # [ProbeSite]: what each handler is for
    handlers = program.instantiate(session, binder, overrides={"n": 5})   # one list per session

  ProbeSite: index (position in handlers), family ("begin" "end" "error" "never" "timer", or pass 2's
  "dwarf", "tracepoint", ...), point (pp()), name (pn()), priority (begin/end/error(N)), timer
  (TimerSpec: unit, count, randomize -> interval_ns(hz)), probe (the DerivedProbe: probe.context has
  module ('process("/bin/x")', 'module("m")', "kernel"), function (tapkit.debuginfo Function),
  debuginfo, is_return, statement), synthetic (stap's display of written-only globals, an end probe).
  A handler is `handler(ctx)`: run it through Session.run_probe(handler, site.point, state, site.name).
  overrides are -G values (typed: int or str); the engine checks names against program.globals.

Target variables: the binder an event source provides
------------------------------------------------------
  The layout of `$var->a->b`, `@cast(p, "T", "m")->x`, `v->x` (autocast) and `&…` is compile-time
  knowledge (member offsets, sizes, signedness, bitfields from tapkit.debuginfo), so each access is
  a chain of `_deref(ctx.memory, addr + OFFSET, SIZE, SIGNED, USER, W)`. What only the event source
  knows is asked through the binder when the program is instantiated (TargetBinder, targets.py):

    binder.variable(site_index, "adc")  -> VariableAccess: read(ctx) -> int, address(ctx) -> int,
                                          write(ctx, value) (guru `$adc = v`); "return" is $return
    binder.global_address(module, name) -> int   (@var("name", "module"))
    binder.global_resolver(module, name) -> Callable[[ctx], int]   optional; preferred when present (an
                                          address known only per hit: a PIE's globals, shared libraries)
    binder.entry_value(site, evaluate) -> obj with read(ctx)   optional: @entry(expr) in a .return probe;
                                          the binder runs evaluate(ctx) at the call's entry and read() gives
                                          that value at the return (without it, expr is evaluated at return)

  tapkit.runtime.replay implements it over a fixture; a live source can hand out
  tapkit.runtime.live.variables.resolve_variable(...)/resolve_return(...) objects, which have the
  same read/address/write methods (for a .return probe, a `$param` is its value at entry: the
  binder learns every (site, name) before the run starts, so it can save them with on_entry).
  Memory reads take `ctx.memory` (read(addr, size, user) -> bytes, MemoryFault on failure) and,
  for guru writes, write(addr, data[, user]).

Semantics (see statements.py and expressions.py for the details)
---------------------------------------------------------------
  Longs wrap at 64 bits; / and % are C's with "division by 0"; strings keep MAXSTRINGLEN - 1 bytes
  (-D MAXSTRINGLEN for concatenation, literals, sprintf); arrays report "Array overflow" near their
  name; MAXACTION is charged exactly where the translator charges it (tests/run/
  test_actions_vs_stap.py compares with stap -p3); MAXNESTING is stap's default (1 + deepest call
  chain, + 10 with recursion) or -D's; `next`, try/catch, error(), exit(), abort() as in stap.
  Tapset functions with embedded-C bodies run as intrinsics (intrinsics.py); one without an
  intrinsic is a CompileError naming it. stap's display of globals written but never read is an
  end probe per global (display.py). `$$parms`/`$$locals`/`$$vars`/`$$return` and the pretty forms
  `$v$`, `$v$$`, `$p->m$`, `$$parms$` follow stap's expansion (tapkit.runtime.pretty).
"""

from tapkit.runtime.compiler.program import CompiledProgram, GlobalInfo, ProbeSite, TimerSpec, compile_program
from tapkit.runtime.compiler.targets import NoTargets, TargetBinder, VariableAccess
from tapkit.runtime.compiler.unit import CompileError, Limits

__all__ = ["CompileError", "CompiledProgram", "GlobalInfo", "Limits", "NoTargets", "ProbeSite", "TargetBinder",
           "TimerSpec", "VariableAccess", "compile_program"]
