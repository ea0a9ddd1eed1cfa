"""Grammar actions for expressions: operators, target symbols, @-operators, statistics, printing."""

from __future__ import annotations

from typing import Any

from tapkit.syntax import ast as A
from tapkit.syntax.build_base import (
    BuilderBase,
    Child,
    MemberPretty,
    flatten_components,
    literal_int,
    literal_text,
    parse_c_number,
    script_arg,
)
from tapkit.syntax.tokens import Token, string_value


class ExpressionActions(BuilderBase):
    # -- expressions --------------------------------------------------------------
    def assignment(self, s: list[Child]) -> Child:
        if len(s) == 1:
            return s[0]
        return A.Assignment(self.span(s[0], s[2]), s[1].text, s[0], s[2])

    def ternary(self, s: list[Child]) -> Child:
        if len(s) == 1:
            return s[0]
        return A.Ternary(self.span(s[0], s[4]), s[0], s[2], s[4])

    def binary(self, s: list[Child]) -> A.Binary:
        return A.Binary(self.span(s[0], s[2]), s[1].text, s[0], s[2])

    def unary(self, s: list[Child]) -> Child:
        if len(s) == 1:
            return s[0]
        return A.Unary(self.span(s[0], s[1]), s[0].text, s[1])

    def pre_crement(self, s: list[Child]) -> A.Crement:
        return A.Crement(self.span(s[0], s[1]), s[0].text, s[1], True)

    def post_crement(self, s: list[Child]) -> A.Crement:
        return A.Crement(self.span(s[0], s[1]), s[1].text, s[0], False)

    def in_single(self, s: list[Child]) -> A.InArray:
        return A.InArray(self.span(s[0], s[2]), (s[0],), s[2], False)

    def in_bracketed(self, s: list[Child]) -> A.InArray:
        return A.InArray(self.span(s[0], s[4]), tuple(s[1]), s[4], True)

    def bracket_group(self, s: list[Child]) -> Child:
        keys = s[1]
        if len(keys) != 1:
            self.issue("parse.comma-list", "unexpected comma-separated expression list", s[2])
        elif type(keys[0]) is A.Wildcard:
            self.issue("parse.expected-in", "expected 'in'", s[2])
        return keys[0]

    def wildcard(self, s: list[Child]) -> A.Wildcard:
        return A.Wildcard(self.tspan(s[0]))

    def regex(self, s: list[Child]) -> A.RegexMatch:
        pattern = self._string(s[2])
        return A.RegexMatch(self.span(s[0], pattern), s[1].text, s[0], pattern)

    # target symbols and autocasts
    def _with_components(self, node: Any, comps: list[Any], addr: Token | None) -> Child:
        comps = flatten_components(comps)
        all_comps = list(getattr(node, "components", ())) + comps
        for i, c in enumerate(all_comps[:-1]):
            if type(c) is A.TargetPretty:
                self.issue("parse.pretty-suffix", "-> and [ are not accepted for a pretty-printing variable",
                           all_comps[i + 1])
                break
        start: Child = addr if addr is not None else node
        end: Child = comps[-1] if comps else node
        sp = self.span(start, end)
        t = type(node)
        if t is A.TargetVar:
            return A.TargetVar(sp, node.name, node.name_span, tuple(all_comps), addr is not None)
        if t is A.CastOp:
            return A.CastOp(sp, node.operand, node.type_name, node.module, tuple(all_comps), addr is not None)
        if t is A.AtVar:
            return A.AtVar(sp, node.name, node.module, tuple(all_comps), addr is not None)
        return A.Autocast(sp, node, tuple(all_comps), addr is not None)

    def target_symbol(self, s: list[Child]) -> A.TargetVar:
        t = s[0]
        text = t.text
        sp = self.tspan(t)
        base = text.rstrip("$")
        if base and len(base) < len(text):
            # `$var$` / `$var$$`: a pretty-print suffix glued to the name
            return A.TargetVar(sp, base, sp, (A.TargetPretty(sp, text[len(base):]),))
        return A.TargetVar(sp, text, sp)

    def target_components(self, s: list[Child]) -> Child:
        return self._with_components(s[0], s[1], None)

    def autocast(self, s: list[Child]) -> Child:
        return self._with_components(s[0], s[1], None)

    def address_of(self, s: list[Child]) -> Child:
        return self._with_components(s[1], [], s[0])

    def address_of_value(self, s: list[Child]) -> A.Node:
        self._check_double_address(s[1], s[0])
        return A.Autocast(self.span(s[0], s[1]), s[1], (), True)

    def address_of_autocast(self, s: list[Child]) -> A.Node:
        self._check_double_address(s[1], s[0])
        comps = flatten_components(s[2])
        return A.Autocast(self.span(s[0], comps[-1]), s[1], tuple(comps), True)

    def _check_double_address(self, value: A.Node, amp: Token) -> None:
        while type(value) is A.Paren:
            value = value.expr
        if getattr(value, "addressof", False):
            self.issue("parse.address-twice", "cannot take address more than once", amp)

    def member(self, s: list[Child]) -> Child:
        t = s[1]
        text = t.text
        base = text.rstrip("$")
        if len(base) < len(text):
            sp = self.span(s[0], t)
            if not base:
                return A.TargetPretty(sp, text)
            # `->name$`: the member, then its pretty-print; stap makes two components
            return MemberPretty(A.TargetMember(sp, base, self.tspan(t)), A.TargetPretty(sp, text[len(base):]))
        return A.TargetMember(self.span(s[0], t), text, self.tspan(t))

    def target_index(self, s: list[Child]) -> A.TargetIndex:
        return A.TargetIndex(self.span(s[0], s[2]), s[1])

    def pretty(self, s: list[Child]) -> A.TargetPretty:
        return A.TargetPretty(self.tspan(s[0]), s[0].text)

    def cast(self, s: list[Child]) -> A.CastOp:
        type_name = self._string(s[4])
        if type(type_name) is A.StringLiteral and not type_name.value:
            self.issue("parse.empty-string", "expected non-empty string", type_name)
        return A.CastOp(self.span(s[0], s[5]), s[2], literal_text(type_name), None)

    def cast_module(self, s: list[Child]) -> A.CastOp:
        type_name = self._string(s[4])
        if type(type_name) is A.StringLiteral and not type_name.value:
            self.issue("parse.empty-string", "expected non-empty string", type_name)
        return A.CastOp(self.span(s[0], s[7]), s[2], literal_text(type_name), literal_text(self._string(s[6])))

    def atvar(self, s: list[Child]) -> A.AtVar:
        return A.AtVar(self.span(s[0], s[3]), literal_text(self._string(s[2])), None)

    def atvar_module(self, s: list[Child]) -> A.AtVar:
        return A.AtVar(self.span(s[0], s[5]), literal_text(self._string(s[2])), literal_text(self._string(s[4])))

    # plain values
    def embedded_expr(self, s: list[Child]) -> A.EmbeddedExpr:
        t = s[0]
        if not self.privileged:
            self.issue("parse.embedded-unprivileged",
                       "embedded expression code in unprivileged script; need stap -g", t)
        return A.EmbeddedExpr(self.tspan(t), t.text[2:-2])

    def paren(self, s: list[Child]) -> A.Paren:
        return A.Paren(self.span(s[0], s[2]), s[1])

    def string_value(self, s: list[Child]) -> Child:
        return self._string(s[0])

    def _string(self, pieces: list[Token]) -> A.StringLiteral | A.ScriptArg:
        if len(pieces) == 1:
            t = pieces[0]
            if t.type == "STRING":
                return A.StringLiteral(self.tspan(t), string_value(t.text))
            return script_arg(self.tspan(t), t.text)
        value = "".join(string_value(t.text) for t in pieces if t.type == "STRING")
        return A.StringLiteral(self.span(pieces[0], pieces[-1]), value)

    def number_value(self, s: list[Child]) -> A.Node:
        t = s[0]
        if t.type == "ARGNUM":
            return script_arg(self.tspan(t), t.text)
        value = parse_c_number(t.text)
        if value is None:
            self.issue("parse.bad-number", "number invalid or out of range", t)
            value = 0
        return A.NumberLiteral(self.tspan(t), value, t.text)

    def negative_number(self, s: list[Child]) -> A.Node:
        t = s[1]
        sp = self.span(s[0], t)
        if t.type == "ARGNUM":
            return A.Unary(sp, "-", script_arg(self.tspan(t), t.text))
        value = parse_c_number(t.text)
        if value is None or value > 9223372036854775808:
            self.issue("parse.bad-number", "number invalid or out of range", t)
            value = 0
        return A.NumberLiteral(sp, -value, "-" + t.text)

    # symbols
    def var(self, s: list[Child]) -> A.Var:
        t = s[0]
        return A.Var(self.tspan(t), t.text)

    def array_index(self, s: list[Child]) -> A.ArrayIndex:
        base = s[0]
        if type(base) is Token:
            base = A.Var(self.tspan(base), base.text)
        return A.ArrayIndex(self.span(s[0], s[3]), base, tuple(s[2]))

    def call(self, s: list[Child]) -> A.FunctionCall:
        t = s[0]
        return A.FunctionCall(self.span(t, s[3]), t.text, self.tspan(t), tuple(s[2]))

    def call_noargs(self, s: list[Child]) -> A.FunctionCall:
        t = s[0]
        return A.FunctionCall(self.span(t, s[2]), t.text, self.tspan(t), ())

    def _print(self, name: Token, args: list[Any], close: Token, hist: A.HistOp | None) -> A.PrintCall:
        n = name.text
        if hist is None:
            if n in ("printf", "sprintf"):
                if not args or type(args[0]) not in (A.StringLiteral, A.ScriptArg) or \
                        (type(args[0]) is A.ScriptArg and not args[0].quoted):
                    self.issue("parse.expected-format", "expected literal string", name)
            elif n in ("printd", "sprintd", "printdln", "sprintdln"):
                if not args or type(args[0]) not in (A.StringLiteral, A.ScriptArg) or \
                        (type(args[0]) is A.ScriptArg and not args[0].quoted):
                    self.issue("parse.expected-delimiter", "expected literal string", name)
                elif len(args) < 3:
                    self.issue("parse.expected-value", "expected literal string or number", close)
            elif n in ("print", "sprint", "print_char") and not args:
                self.issue("parse.expected-value", "expected literal string or number", close)
        elif n not in ("print", "println", "sprint", "sprintln"):
            self.issue("parse.histogram-base", "base histogram operator where expression expected", name)
        return A.PrintCall(self.span(name, close), n, self.tspan(name), tuple(args), hist)

    def print_noargs(self, s: list[Child]) -> A.PrintCall:
        return self._print(s[0], [], s[2], None)

    def print_call(self, s: list[Child]) -> A.PrintCall:
        return self._print(s[0], s[2], s[3], None)

    def print_hist(self, s: list[Child]) -> A.PrintCall:
        return self._print(s[0], [], s[3], s[2])

    def print_hist_index(self, s: list[Child]) -> A.PrintCall:
        index = A.ArrayIndex(self.span(s[2], s[5]), s[2], (s[4],))
        return self._print(s[0], [index], s[6], None)

    def print_hist_index_args(self, s: list[Child]) -> A.PrintCall:
        index = A.ArrayIndex(self.span(s[2], s[5]), s[2], (s[4],))
        return self._print(s[0], [index, *s[7]], s[8], None)

    def defined_op(self, s: list[Child]) -> A.DefinedOp:
        return A.DefinedOp(self.span(s[0], s[3]), s[2])

    def entry_op(self, s: list[Child]) -> A.EntryOp:
        return A.EntryOp(self.span(s[0], s[3]), s[2])

    def probewrite_op(self, s: list[Child]) -> A.ProbewriteOp:
        t = s[2]
        return A.ProbewriteOp(self.span(s[0], s[3]), t.text, self.tspan(t))

    def const_op(self, s: list[Child]) -> A.ConstOp:
        if not self.privileged:
            self.issue("parse.const-unprivileged", "using @const operator not permitted; need stap -g", s[0])
        text = self._string(s[2])
        if type(text) is A.StringLiteral and not text.value:
            self.issue("parse.empty-string", "expected non-empty string", text)
        return A.ConstOp(self.span(s[0], s[3]), literal_text(text))

    def perf_op(self, s: list[Child]) -> A.PerfOp:
        text = self._string(s[2])
        if type(text) is A.StringLiteral and not text.value:
            self.issue("parse.empty-string", "expected non-empty string", text)
        return A.PerfOp(self.span(s[0], s[3]), literal_text(text))

    def register_op(self, s: list[Child]) -> A.RegisterOp:
        t = s[0]
        user = t.text == "@uregister"
        if not user and not self.privileged:
            self.issue("parse.kregister-unprivileged", "using @kregister operator not permitted; need stap -g", t)
        return A.RegisterOp(self.span(t, s[3]), user, literal_int(s[2]))

    def deref_op(self, s: list[Child]) -> A.DerefOp:
        t = s[0]
        user = t.text == "@uderef"
        if not user and not self.privileged:
            self.issue("parse.kderef-unprivileged", "using @kderef operator not permitted; need stap -g", t)
        return A.DerefOp(self.span(t, s[5]), user, literal_int(s[2]), s[4])

    def stat_op(self, s: list[Child]) -> A.StatOp:
        t = s[0]
        params, close = s[3]
        allowed = 1 if t.text == "@variance" else 0
        if len(params) > allowed:
            n = allowed + 1
            self.issue("parse.stat-params", f"not more than {n} parameter{'s' if n != 1 else ''} allowed",
                       params[allowed])
        return A.StatOp(self.span(t, close), t.text[1:], s[2], tuple(literal_int(p) for p in params))

    def stat_end(self, s: list[Child]) -> tuple[list[A.Node], Token]:
        return [], s[0]

    def stat_param(self, s: list[Child]) -> tuple[list[A.Node], Token]:
        params, close = s[2]
        params.insert(0, s[1])
        return params, close

    def stat_skip(self, s: list[Child]) -> Child:
        return s[1]

    def hist_linear(self, s: list[Child]) -> A.HistOp:
        params = (literal_int(s[4]), literal_int(s[6]), literal_int(s[8]))
        return A.HistOp(self.span(s[0], s[9]), "linear", s[2], params)

    def hist_log(self, s: list[Child]) -> A.HistOp:
        return A.HistOp(self.span(s[0], s[3]), "log", s[2])


