"""The bookkeeping of type inference: reporting as stap 4.8 does, and unifying a use with its declaration.

Mismatches have a complexity (the two sides of an operator 1, expected-vs-found 2, against a
declaration 3). While inferring nothing is printed; when inference converges with mismatches, one
more pass prints those of the most complex kind met, and "unresolved type" only when no mismatch
was. A declaration remembers where its type was first inferred, for "type was first inferred here".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapkit.semantic import ir
from tapkit.semantic.errors import SemanticError, Where

if TYPE_CHECKING:
    from tapkit.semantic.session import DerivedProbe, Session

LONG, STRING, STATS, UNKNOWN = ir.LONG, ir.STRING, ir.STATS, ir.UNKNOWN
Decl = ir.VarDef | ir.FunctionDef


class TypeBookkeeping:
    """State and reporting shared by the visits (infer.TypeResolver)."""

    def expr(self, e: ir.Expr) -> None:
        raise NotImplementedError

    def __init__(self, s: Session, initial: bool = False) -> None:
        self.s = s
        self.initial = initial  # stap's initial_typeresolution_info: skips target expressions
        self.newly = 0
        self.still = 0
        self.assert_resolvability = False
        self.current_function: ir.FunctionDef | None = None
        self.current_probe: DerivedProbe | None = None
        self.t = UNKNOWN
        self.complexity = 0
        self.resolved_at: dict[tuple[int, int], Where] = {}

    # ------------------------------------------------------------ reporting
    def where(self, node: ir.Node) -> Where:
        return self.s.locator.of(node)

    def decl_where(self, d: Decl) -> Where:
        if isinstance(d, ir.FunctionDef):
            return Where(d.decl.name_span, f"identifier '{d.name}'")
        span = getattr(d.src, "name_span", None) or d.src.span
        return Where(span, f"identifier '{d.name}'")

    def resolved(self, where: Where | None, decl: Decl | None = None, index: int = -1) -> None:
        """where is kept only for a declaration (for "first inferred here"): callers without one pass None, as
        computing the place of every resolved expression cost the editor's runs ~10% of their time."""
        self.newly += 1
        if decl is not None and where is not None:
            self.resolved_at[(id(decl), index)] = where

    def unresolved(self, where: Where) -> None:
        self.still += 1
        if self.assert_resolvability and self.complexity <= 0:
            self.s.errors.error(SemanticError("sem.unresolved-type", "unresolved type ", where))

    def invalid(self, where: Where, t: str) -> None:
        self.still += 1
        if self.assert_resolvability:
            operator = (where.saw or "").startswith("operator")
            msg = "invalid operator" if operator else f"invalid type {t}"
            self.s.errors.error(SemanticError("sem.invalid-type", msg, where,
                                              site="invalid-operator" if operator else "invalid-type"))

    # Mismatches have a complexity (sides of an operator 1, expected-vs-found 2, against a declaration
    # 3). While inferring, none is printed; when inference converges with mismatches, one more pass
    # prints those of the most complex kind the last iteration met (stap 4.8's typeresolution_info).
    def _report(self, level: int) -> bool:
        self.still += 1
        if self.assert_resolvability and self.complexity <= level:
            return True
        self.complexity = max(self.complexity, level)
        return False

    def mismatch_sides(self, e: ir.Binary | ir.Assign) -> None:
        if self._report(1):
            self.s.errors.error(SemanticError(
                "sem.type-mismatch",
                f"type mismatch: left and right sides don't agree ({e.left.type} vs {e.right.type})",
                self.where(e), site="mismatch-sides"))

    def mismatch(self, where: Where, t1: str, t2: str) -> None:
        if self._report(2):
            msg = f"type mismatch: expected {t1}" + (f" but found {t2}" if t2 != UNKNOWN else "")
            self.s.errors.error(SemanticError("sem.type-mismatch", msg, where, site="mismatch"))

    def mismatch_decl(self, where: Where, t: str, decl: Decl, index: int = -1) -> None:
        if not self._report(3):
            return
        if self.current_function is not None and index == -1 and isinstance(decl, ir.VarDef):
            for i, p in enumerate(self.current_function.params):
                if p is decl:
                    index = i
        original = self.resolved_at.get((id(decl), index))
        decl_type = decl.index_types[index] if index >= 0 and isinstance(decl, ir.VarDef) and decl.kind == "global" \
            else decl.type
        if original is None:
            self.s.errors.error(SemanticError("sem.type-mismatch",
                                              f"type mismatch: expected {t} but found {decl_type}", where,
                                              site="mismatch-decl"))
            return
        prefix = f"index {index} " if index >= 0 else ""
        chain_text = "type" + (f" of index {index}" if index >= 0 else "") + f" was first inferred here ({decl_type})"
        self.s.errors.error(SemanticError("sem.type-mismatch", f"{prefix}type mismatch ({t})", where,
                                          SemanticError("sem.type-mismatch", chain_text, original,
                                                        site="first-inferred"), site="mismatch-decl-chained"))

    # ------------------------------------------------------------ referrer/referent unification
    def resolve_2types(self, e: ir.Expr, decl: Decl, t: str, accept_unknown: bool = False) -> None:
        """One step of unification (stap 4.8 propagates one way per visit; the fixed point does the rest)."""
        re_t, te = e.type, decl.type
        if t != UNKNOWN and re_t == t and re_t == te:
            return
        if t == UNKNOWN and re_t != UNKNOWN and re_t == te:
            return
        if re_t != UNKNOWN and te != UNKNOWN and re_t != te:
            self.mismatch_decl(self.where(e), re_t, decl)
        elif (re_t != UNKNOWN and t != UNKNOWN and re_t != t) or (te != UNKNOWN and t != UNKNOWN and te != t):
            self.mismatch_decl(self.where(e), t, decl)
        elif re_t == UNKNOWN and t != UNKNOWN:
            e.type = t
            self.resolved(None)
        elif re_t == UNKNOWN and te != UNKNOWN:
            e.type = te
            self.resolved(None)
        elif re_t != UNKNOWN and te == UNKNOWN:
            decl.type = re_t
            self.resolved(self.where(e), decl)
        elif not accept_unknown:
            self.unresolved(self.where(e))

    def set_type(self, e: ir.Expr, t: str) -> None:
        if e.type == UNKNOWN:
            e.type = t
            self.resolved(None)

    def check_arg(self, wanted: str, arg: ir.Expr) -> None:
        self.t = wanted
        self.expr(arg)
        if arg.type == UNKNOWN:
            arg.type = wanted
            self.resolved(None)
        elif arg.type != wanted:
            self.mismatch(self.where(arg), wanted, arg.type)

    def details(self, src: ir.Expr | Decl, dst: ir.Expr | Decl) -> None:
        if src.details is not None and dst.details is None:
            dst.details = src.details
            self.newly += 1

    # ------------------------------------------------------------ statements
