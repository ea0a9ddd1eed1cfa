"""Type inference visits of the operands checked against something declared elsewhere: a call's
arguments against the function's parameters, a print's against its format's conversions, and target
expressions against debuginfo (autocasts resolve here, once their operand's C type is known).

infer.TypeResolver adds the statement and plain expression visits and the passes.
"""

from __future__ import annotations

from tapkit.semantic import ir
from tapkit.semantic.errors import SemanticError
from tapkit.semantic.typebook import TypeBookkeeping

LONG, STRING, STATS, UNKNOWN = ir.LONG, ir.STRING, ir.STATS, ir.UNKNOWN


class OperandVisits(TypeBookkeeping):
    def call(self, e: ir.Call) -> None:
        if not e.referents:
            raise SemanticError("sem.internal", f"internal error: unresolved function call to '{e.name}'",
                                self.where(e))
        original = self.t
        for fd in e.referents:
            self.t = original
            self.resolve_2types(e, fd, original, accept_unknown=True)
            if e.type == STATS:
                self.invalid(self.where(e), e.type)
            if fd.type == e.type:
                self.details(fd, e)
            if len(e.args) != len(fd.params):
                self.unresolved(self.where(e))
                continue
            for i, (arg, p) in enumerate(zip(e.args, fd.params, strict=True)):
                ft = p.type
                self.t = ft
                self.expr(arg)
                at = arg.type
                if at in (STRING, LONG) and ft == UNKNOWN:
                    p.type = ft = at
                    self.resolved(self.where(arg), p, i)
                if at == STATS:
                    self.invalid(self.where(arg), at)
                if ft == STATS:
                    self.invalid(self.decl_where(p), ft)
                if at != UNKNOWN and ft != UNKNOWN and ft != at:
                    self.mismatch_decl(self.where(arg), at, p, i)
                if at == UNKNOWN:
                    self.unresolved(self.where(arg))

    def print_(self, e: ir.Print) -> None:
        unresolved_args = 0
        if e.hist is not None:
            self.expr(e.hist)
        elif e.format is not None:
            expected = sum(1 + c.dynamic_width + c.dynamic_precision for c in e.format)
            if expected != len(e.args):
                raise SemanticError("sem.printf-args", "Wrong number of args to formatted print operator",
                                    self.where(e))
            argno = 0
            for c in e.format:
                if c.dynamic_width:
                    self.check_arg(LONG, e.args[argno])
                    argno += 1
                if c.dynamic_precision:
                    self.check_arg(LONG, e.args[argno])
                    argno += 1
                self.check_arg(c.wants, e.args[argno])
                argno += 1
        else:
            for a in e.args:
                self.t = UNKNOWN
                self.expr(a)
                if a.type == UNKNOWN:
                    self.unresolved(self.where(a))
                    unresolved_args += 1
        if unresolved_args == 0:
            if e.type == UNKNOWN:
                e.type = LONG if e.stream else STRING
                self.resolved(None)
        else:
            e.type = UNKNOWN
            self.unresolved(self.where(e))

    def target(self, e: ir.Target, t: str) -> None:
        from tapkit.semantic.targets import resolve_autocast

        if self.initial and not e.resolved:
            # stap 4.8 expands autocasts only in the final pass: here they stay unknown, and are
            # reported as such if this early pass ends up printing its mismatches
            if e.kind == "autocast":
                if self.assert_resolvability:  # before the operand's own errors, as stap prints them
                    self.report_target(e, "unknown type in dereference")
                if e.operand is not None:
                    self.t = LONG
                    self.expr(e.operand)
                self.still += 1
            return
        for c in e.components:
            if c.expr is not None:
                self.t = LONG
                self.expr(c.expr)
        reported = False
        if e.kind == "autocast" and not e.resolved and e.operand is not None:
            if self.assert_resolvability and (e.operand.details is None or e.error is not None):
                self.report_target(e, "unknown type in dereference")  # stap reports before the operand's errors
                reported = True
            self.t = LONG
            self.expr(e.operand)
            if e.operand.details is not None and e.error is None:
                resolve_autocast(self.s, e)
                if e.resolved:
                    self.newly += 1
        elif e.kind == "cast" and e.operand is not None:
            if e.resolved and isinstance(e.operand, ir.String):
                # the argument of the function stap generates, `pointer:long`: a declaration mismatch
                self.mismatch_decl(self.where(e.operand), STRING, ir.VarDef("pointer", "param", e.src, "", LONG), 0)
            else:
                self.t = LONG
                self.expr(e.operand)
        if e.resolved:
            # stap has replaced a resolved target by a call to a generated function of that type
            decl = self.s.target_decl(e)
            self.resolve_2types(e, decl, t, accept_unknown=True)
            return
        if self.initial:
            return
        if e.kind == "autocast":
            if self.assert_resolvability and not reported:
                self.report_target(e, "unknown type in dereference")
            self.still += 1
            return
        if e.kind == "atvar":
            self.report_target(e, "unresolved @var() expression")
            return
        if e.kind == "cast":
            self.report_target(e, f"type definition '{e.type_name}' not found in '{e.module}'")
            return
        if not self.assert_resolvability:
            self.still += 1
            return
        self.report_target(e, "unresolved target-symbol expression")

    def report_target(self, e: ir.Target, default: str) -> None:
        if e.error is not None:
            self.s.errors.error(e.error)
        else:
            self.s.errors.error(SemanticError("sem.unresolved-target", default, self.where(e)))
