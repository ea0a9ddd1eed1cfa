"""Expressions of the resolved program as Python expressions, evaluated in stap's order.

Every operand is evaluated left to right, as the translator's temporaries are. Values that can leave
64 bits go through _wrap; division goes through _div/_mod with the operator's token for "division
by 0"; assignments to locals and scalar globals use `:=` (globals are `nonlocal` in the enclosing
handler); array elements go through their container's set/add, which report "Array overflow" near
the array's name as stap's last_stmt does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapkit.diagnostics import Span
from tapkit.runtime.arith import wrap
from tapkit.runtime.compiler.intrinsics import constant_for
from tapkit.runtime.compiler.support import RegexError, compile_regex
from tapkit.runtime.compiler.unit import CompileError, CompileUnit
from tapkit.runtime.printf import MEMORY, MEMORY_HEX, STRING, FormatError, parse_format
from tapkit.runtime.strings import MAXSTRINGLEN, decode_script_string
from tapkit.semantic import ir
from tapkit.semantic.errors import Where
from tapkit.syntax import ast as A

if TYPE_CHECKING:
    from tapkit.runtime.compiler.targets import TargetCompiler

_ARITH = {"+", "-", "*"}
_BITS = {"&", "|", "^"}
_COMPARE = {"<", ">", "<=", ">=", "==", "!="}
_STAT_FUNCS = {"count": "_stat_count", "sum": "_stat_sum", "min": "_stat_min", "max": "_stat_max",
               "avg": "_stat_avg", "variance": "_stat_variance"}


def literal(text: str, span_node: ir.Node) -> str:
    """A string literal's runtime value (its C escapes interpreted)."""
    try:
        return decode_script_string(text)
    except ValueError as exc:
        raise CompileError(f"string literal: {exc}", span_node.span) from None


class ExprCompiler:
    """Compiles expressions inside one probe handler or function (see statements.BodyCompiler)."""

    def __init__(self, unit: CompileUnit, targets: TargetCompiler) -> None:
        self.unit = unit
        self.targets = targets
        self.locals: dict[int, str] = {}
        self.assigned_globals: set[str] = set()
        self.function: ir.FunctionDef | None = None
        self.pending = 0  # actions recorded at compile time and not yet charged (statements.BodyCompiler)
        self.accounting = True  # False when an entry check covers the whole body

    # ---- names ----

    def local_name(self, v: ir.VarDef) -> str:
        name = self.locals.get(id(v))
        if name is None:
            taken = set(self.locals.values())
            stem = f"l_{v.name}"
            name, n = stem, 1
            while name in taken:
                n += 1
                name = f"{stem}_{n}"
            self.locals[id(v)] = name
        return name

    def var_name(self, v: ir.VarDef) -> str:
        if v.kind == "global":
            return self.unit.global_name(v)
        return self.local_name(v)

    def store_name(self, v: ir.VarDef) -> str:
        """The name an assignment binds (globals become `nonlocal` in this function)."""
        name = self.var_name(v)
        if v.kind == "global":
            self.assigned_globals.add(name)
        return name

    # ---- expressions ----

    def expr(self, e: ir.Expr) -> str:
        method = getattr(self, f"_e_{type(e).__name__}", None)
        if method is None:
            raise CompileError(f"tapkit cannot run this construct ({type(e).__name__})", e.span)
        result: str = method(e)
        return result

    def cond(self, e: ir.Expr) -> str:
        """An expression used as a truth value (the 0/1 wrapper is not needed)."""
        if isinstance(e, ir.Compare) and e.op in _COMPARE:
            return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"
        if isinstance(e, ir.Logical):
            joiner = " and " if e.op == "&&" else " or "
            return f"({self.cond(e.left)}{joiner}{self.cond(e.right)})"
        if isinstance(e, ir.Unary) and e.op == "!":
            return f"(not {self.cond(e.operand)})"
        return self.expr(e)

    def string_value(self, e: ir.Expr) -> str:
        """An expression stored into a string variable (literals longer than MAXSTRINGLEN are cut)."""
        if isinstance(e, ir.String):
            value = literal(e.value, e)
            return repr(value[:self.unit.limits.maxstringlen - 1])
        return self.expr(e)

    def stored(self, e: ir.Expr) -> str:
        return self.string_value(e) if e.type == ir.STRING else self.expr(e)

    def _e_Number(self, e: ir.Number) -> str:
        v = wrap(e.value)
        return f"({v})" if v < 0 else str(v)

    def _e_String(self, e: ir.String) -> str:
        return repr(literal(e.value, e))

    def _e_Sym(self, e: ir.Sym) -> str:
        v = e.referent
        if v is None:
            raise CompileError(f"unresolved symbol '{e.name}'", e.span)
        return self.var_name(v)

    def key(self, indexes: list[ir.Expr | None]) -> str:
        parts = ["None" if i is None else self.stored(i) for i in indexes]
        return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"

    def array_of(self, base: ir.Expr) -> tuple[str, ir.VarDef]:
        if not isinstance(base, ir.Sym) or base.referent is None:
            raise CompileError("array expected", base.span)
        return self.var_name(base.referent), base.referent

    def _e_ArrayIndex(self, e: ir.ArrayIndex) -> str:
        if isinstance(e.base, ir.HistOp):
            stat = self.stat_value(e.base.stat)
            index = self.expr(e.indexes[0]) if e.indexes and e.indexes[0] is not None else "0"
            return f"_hist_bucket({stat}, {index}, {self.hist_near(e.base)})"
        name, _ = self.array_of(e.base)
        return f"{name}.get({self.key(e.indexes)})"

    def _e_Binary(self, e: ir.Binary) -> str:
        code = self.arithmetic(e.op, self.expr(e.left), self.expr(e.right), e)
        if code is None:
            raise CompileError(f"operator {e.op} not supported", e.span)
        return code

    def arithmetic(self, op: str, left: str, right: str, where: ir.Node) -> str | None:
        """A binary operator on two longs with stap's semantics (None for one that is not arithmetic);
        where names the node a division by zero is reported at."""
        if op in _ARITH:
            return f"_wrap({left} {op} {right})"
        if op in _BITS:
            return f"({left} {op} {right})"
        if op == "<<":
            return f"_shl({left}, {right})"
        if op == ">>":
            return f"({left} >> ({right} & 63))"
        if op == ">>>":
            return f"_ushr({left}, {right})"
        if op == "/":
            return f"_div({left}, {right}, {self.unit.near(where)})"
        if op == "%":
            return f"_mod({left}, {right}, {self.unit.near(where)})"
        return None

    def _e_Logical(self, e: ir.Logical) -> str:
        return f"(1 if {self.cond(e)} else 0)"

    def _e_Compare(self, e: ir.Compare) -> str:
        return f"(1 if {self.expr(e.left)} {e.op} {self.expr(e.right)} else 0)"

    def _e_Concat(self, e: ir.Concat) -> str:
        return self.concat(self.expr(e.left), self.expr(e.right))

    def concat(self, left: str, right: str) -> str:
        n = self.unit.limits.maxstringlen
        return f"_concat({left}, {right})" if n == MAXSTRINGLEN else f"_concat_n({left}, {right}, {n})"

    def _e_Unary(self, e: ir.Unary) -> str:
        if e.op == "-":
            if isinstance(e.operand, ir.Number):
                v = wrap(-e.operand.value)
                return f"({v})" if v < 0 else str(v)
            return f"_wrap(-{self.expr(e.operand)})"
        if e.op == "!":
            return f"(0 if {self.cond(e.operand)} else 1)"
        if e.op == "~":
            return f"(~{self.expr(e.operand)})"
        return self.expr(e.operand)

    def _e_Ternary(self, e: ir.Ternary) -> str:
        return f"({self.expr(e.then)} if {self.cond(e.cond)} else {self.expr(e.else_)})"

    def _e_Regex(self, e: ir.Regex) -> str:
        text = literal(e.pattern.value, e.pattern)
        try:
            compile_regex(text)
        except RegexError as exc:
            raise CompileError(f"regex compilation error: {exc}", e.pattern.span) from None
        pattern = self.unit.consts.value("RE", f"_compile_regex({text!r})")
        match = f"_regex_match(ctx, {pattern}, {self.expr(e.left)})"
        return match if e.op == "=~" else f"(1 - {match})"

    def _e_InArray(self, e: ir.InArray) -> str:
        index = e.index
        if isinstance(index.base, ir.HistOp):
            return self._e_ArrayIndex(index)
        name, _ = self.array_of(index.base)
        if any(i is None for i in index.indexes):
            return f"{name}.contains_slice({self.key(index.indexes)}{',' if len(index.indexes) == 1 else ''})"
        return f"(1 if {self.key(index.indexes)} in {name} else 0)"

    # ---- statistics ----

    def stat_value(self, e: ir.Expr) -> str:
        """The Stat (or None) a statistics expression denotes: a scalar or an array element."""
        if isinstance(e, ir.Sym):
            return self._e_Sym(e)
        if isinstance(e, ir.ArrayIndex):
            name, _ = self.array_of(e.base)
            return f"{name}.get({self.key(e.indexes)})"
        raise CompileError("statistics value expected", e.span)

    def _e_StatOp(self, e: ir.StatOp) -> str:
        fn = _STAT_FUNCS.get(e.op)
        if fn is None:
            raise CompileError(f"@{e.op} is not supported", e.span)
        stat = self.stat_value(e.stat)
        if e.op in ("count", "sum"):
            return f"{fn}({stat})"
        return f"{fn}({stat}, {self.unit.near(e)})"

    def _e_HistOp(self, e: ir.HistOp) -> str:
        return f"_hist_text({self.stat_value(e.stat)}, {self.hist_near(e)})"

    def hist_near(self, e: ir.HistOp) -> str:
        """`operator '@hist_linear'` at the operator (stap's token for bucket-index errors)."""
        span = e.span
        return self.unit.token(Where(Span(span.file, span.line, span.column, span.line, span.column + 1),
                                     f"operator '@hist_{e.kind}'"))

    # ---- assignment ----

    def _e_Assign(self, e: ir.Assign) -> str:
        return self.assign(e, want_value=True)

    def assign(self, e: ir.Assign, want_value: bool) -> str:
        left, op = e.left, e.op
        if isinstance(left, ir.Target):
            return self.targets.write(self, left, op, e.right)
        if isinstance(left, ir.ArrayIndex):
            return self.assign_element(e, left, want_value)
        if not isinstance(left, ir.Sym) or left.referent is None:
            raise CompileError("invalid lvalue", left.span)
        v = left.referent
        if op == "<<<":
            stat = self.var_name(v)
            value = self.expr(e.right)
            return f"{stat}.add({value})" if not want_value else f"_stat_push({stat}, {value})"
        name = self.store_name(v)
        if op == "=":
            value = self.stored(e.right)
        elif op == ".=":
            value = self.concat(name, self.expr(e.right))
        else:
            value = self.compound(name, op, e.right)
        return f"({name} := {value})" if want_value else f"{name} = {value}"

    def compound(self, old: str, op: str, right: ir.Expr) -> str:
        code = self.arithmetic(op[:-1], old, self.expr(right), right)
        if code is None:
            raise CompileError(f"assignment operator {op} not supported", right.span)
        return code

    def assign_element(self, e: ir.Assign, left: ir.ArrayIndex, want_value: bool) -> str:
        name, _v = self.array_of(left.base)
        key = self.key(left.indexes)
        where = self.unit.near(left)
        op = e.op
        if op == "<<<":
            return f"{name}.add({key}, {self.expr(e.right)}, {where})"
        if op == "=":
            return f"{name}.set({key}, {self.stored(e.right)}, {where})"
        if op == "+=":
            return f"{name}.add({key}, {self.expr(e.right)}, {where})"
        if op == "-=":
            return f"{name}.add({key}, -{self.expr(e.right)}, {where})"
        if op == ".=":
            return f"_array_concat({name}, {key}, {self.expr(e.right)}, {where}, {self.unit.limits.maxstringlen})"
        opfn = self.unit.consts.value("OP", f"_compound({op!r})")
        return f"_array_update({name}, {key}, {opfn}, {self.expr(e.right)}, {where}, {self.unit.near(e.right)})"

    def _e_Crement(self, e: ir.Crement) -> str:
        return self.crement(e, want_value=True)

    def crement(self, e: ir.Crement, want_value: bool) -> str:
        delta = 1 if e.op == "++" else -1
        operand = e.operand
        if isinstance(operand, ir.ArrayIndex):
            name, _ = self.array_of(operand.base)
            call = f"{name}.add({self.key(operand.indexes)}, {delta}, {self.unit.near(operand)})"
            if e.prefix or not want_value:
                return call
            return f"_wrap({call} - {delta})"
        if isinstance(operand, ir.Target):
            return self.targets.crement(self, operand, e, want_value)
        if not isinstance(operand, ir.Sym) or operand.referent is None:
            raise CompileError("invalid operand of ++/--", operand.span)
        name = self.store_name(operand.referent)
        new = f"_wrap({name} {'+' if delta > 0 else '-'} 1)"
        if not want_value:
            return f"{name} = {new}"
        if e.prefix:
            return f"({name} := {new})"
        return f"_first({name}, ({name} := {new}))"

    # ---- calls ----

    def _e_Call(self, e: ir.Call) -> str:
        args = [self.stored(a) for a in e.args]
        refs = e.referents
        if not refs:
            raise CompileError(f"unresolved function '{e.name}'", e.span)
        if len(refs) == 1 and not refs[0].has_next:
            fd = refs[0]
            intrinsic = self.unit.intrinsic(fd)
            if intrinsic is not None:
                call = intrinsic.render(args, "ctx", self.unit.decl_token(fd))
            else:
                call = f"{self.unit.function_name(fd)}({', '.join(['ctx', *args])})"
            return self.charge_after_call(e, fd, call)
        dispatcher = self.unit.dispatcher(refs, self.unit.near(e))
        return f"{dispatcher}({', '.join(['ctx', *args])})"

    def charge_after_call(self, e: ir.Call, fd: ir.FunctionDef, call: str) -> str:
        """After a call to a function whose statement count N is finite, the translator charges the
        pending actions plus N (the callee checked, but did not charge, its own)."""
        count = self.unit.statement_count(fd)
        if not self.accounting or count < 0:
            return call
        total, self.pending = self.pending + count, 0
        if total <= 0:
            return call
        return f"_charged(ctx, {call}, {total}, {self.unit.near(e)})"

    # ---- printing ----

    def _e_Print(self, e: ir.Print) -> str:
        return self.print_(e, want_value=True)

    def print_(self, e: ir.Print, want_value: bool) -> str:
        text = self.print_text(e)
        if not e.stream:
            return text
        call = f"_write({text})"
        return f"({call}, 0)[1]" if want_value else call

    def print_text(self, e: ir.Print) -> str:
        """The text a print-family call produces (for the stream forms, what is written)."""
        if e.hist is not None:  # an empty aggregate is reported near the print call
            return f"_hist_text({self.stat_value(e.hist.stat)}, {self.unit.near(e)})"
        if e.char:
            return f"chr({self.expr(e.args[0])} & 255)"
        args = [self.expr(a) for a in e.args]
        if e.format is not None:
            src = e.src
            fmt_node = src.args[0] if isinstance(src, A.PrintCall) and src.args else None
            if not isinstance(fmt_node, A.StringLiteral):
                raise CompileError("printf needs a literal format string", e.span)
            return self.formatted(e, fmt_node.value, args)
        types = [a.type for a in e.args]
        if e.stream and not e.newline and e.delimiter is None and len(types) == 1 and types[0] == ir.STRING:
            return args[0]  # print(s): _stp_print, no 8192-byte cut
        delimiter = literal(e.delimiter, e) if e.delimiter is not None else None
        if not args:
            return repr("\n" if e.newline else "")
        fmt = self.unit.consts.value(
            "FMT", f"_compile_format(_print_format_for({types!r}, {delimiter!r}, {e.newline!r}), "
            f"stream={e.stream!r}, where={self.unit.near(e)}{self.maxlen_arg()})")
        return f"{fmt}({', '.join(args)})"

    def maxlen_arg(self) -> str:
        n = self.unit.limits.maxstringlen
        return "" if n == MAXSTRINGLEN else f", maxstringlen={n}"

    def formatted(self, e: ir.Print, source: str, args: list[str]) -> str:
        try:
            comps = parse_format(source, decode_script_string)
        except (FormatError, ValueError) as exc:
            raise CompileError(f"printf format: {exc}", e.span) from None
        literal_only = all(c.kind == "literal" for c in comps)
        if literal_only and not args:
            text = "".join(c.text for c in comps)
            return repr(text) if e.stream else repr(text[:self.unit.limits.maxstringlen - 1])
        if e.stream and len(comps) == 1 and comps[0].kind == STRING and comps[0].flags == 0 \
                and comps[0].width_kind == 0 and comps[0].precision_kind == 0:
            return args[0]  # printf("%s", s) is _stp_print too
        parsed = self.unit.consts.value("PF", f"_parse_format({source!r}, _decode)")
        where = self.unit.near(e)
        if any(c.kind in (MEMORY, MEMORY_HEX) for c in comps):
            return (f"_compile_format({parsed}, stream={e.stream!r}, memory=ctx.memory, where={where}"
                    f"{self.maxlen_arg()})({', '.join(args)})")
        fmt = self.unit.consts.value(
            "FMT", f"_compile_format({parsed}, stream={e.stream!r}, where={where}{self.maxlen_arg()})")
        return f"{fmt}({', '.join(args)})"

    # ---- target side ----

    def _e_Target(self, e: ir.Target) -> str:
        return self.targets.read(self, e)

    def _e_Defined(self, e: ir.Defined) -> str:
        return "0"

    def _e_Entry(self, e: ir.Entry) -> str:
        """@entry(expr): evaluated when the probed call begins; the binder saves it for the return probe
        (a binder without entry_value evaluates it where it stands)."""
        return self.targets.entry(self, e)

    def _e_Deref(self, e: ir.Deref) -> str:
        return self.targets.deref(self, e)

    def _e_EmbeddedExpr(self, e: ir.EmbeddedExpr) -> str:
        template = constant_for(e.code)
        if template is None:
            raise CompileError("embedded C expression: tapkit has no C compiler in the loop (use --engine stap)",
                               e.span)
        return template.format(ctx="ctx", maxstringlen=self.unit.limits.maxstringlen)

    def _e_Perf(self, e: ir.Perf) -> str:
        raise CompileError("@perf counters need the kernel's perf events (use --engine stap)", e.span)

    def _e_Register(self, e: ir.Register) -> str:
        return self.targets.register(self, e)
