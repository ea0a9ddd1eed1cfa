"""Grammar actions: each alternative of grammar.lark (by its `->` name) becomes AST nodes as LALR reduces.

Checks that stap makes inside its parser but that a context-free grammar cannot say
(number ranges, duplicate names, `?` respecified, print argument rules, privilege) are
made here and reported as Issues with stap's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tapkit.diagnostics import Span
from tapkit.syntax import ast as A
from tapkit.syntax.issues import Issue
from tapkit.syntax.tokens import Token, string_value

Child = Any  # a Token, a Node, a list, or None: whatever the reduced symbols carried

_PRAGMA_RE = re.compile(r"/\*\s*([a-z][a-z0-9_-]*)\s*\*/")
_ULLONG_MAX = 18446744073709551615


def parse_c_number(text: str) -> int | None:
    """strtoull(text, &end, 0) accepting the whole text; None if invalid or out of range."""
    t = text
    try:
        if len(t) > 1 and t[0] == "0" and t[1] in "xX":
            value = int(t[2:], 16) if len(t) > 2 else None
        elif t[0] == "0":
            value = int(t, 8)
        else:
            value = int(t, 10) if t.isdigit() else None
    except ValueError:
        return None
    if value is None or value > _ULLONG_MAX:
        return None
    return value


class Builder:
    """Holds one file's build state: its name, privilege, issues found, and declared globals."""

    def __init__(self, file: str, privileged: bool) -> None:
        self.file = file
        self.privileged = privileged
        self.issues: list[Issue] = []
        self.globals: dict[str, bool] = {}  # name -> private
        self.items: list[A.Node] = []  # every completed top-level item, in order
        self.in_function = False  # set by the parser at each top-level item, as stap's parse context

    # -- helpers ------------------------------------------------------------
    def span(self, a: Child, b: Child) -> Span:
        if type(a) is Token:
            line, col = a.line, a.column
        else:
            s = a.span
            line, col = s.line, s.column
        if type(b) is Token:
            return Span(self.file, line, col, b.end_line, b.end_column)
        e = b.span
        return Span(self.file, line, col, e.end_line, e.end_column)

    def tspan(self, t: Token) -> Span:
        return Span(self.file, t.line, t.column, t.end_line, t.end_column)

    def issue(self, code: str, message: str, where: Token | A.Node | Span) -> None:
        if isinstance(where, Token):
            self.issues.append(Issue(code, message, where))
        elif isinstance(where, Span):
            self.issues.append(Issue(code, message, None, where))
        else:
            self.issues.append(Issue(code, message, None, where.span))

    # -- generic list shapes --------------------------------------------------
    def list_empty(self, s: list[Child]) -> list[Child]:
        return []

    def list_one(self, s: list[Child]) -> list[Child]:
        return [s[0]]

    def list_more(self, s: list[Child]) -> list[Child]:
        lst: list[Child] = s[0]
        lst.append(s[1])
        return lst

    def list_more_sep(self, s: list[Child]) -> list[Child]:
        lst: list[Child] = s[0]
        lst.append(s[2])
        return lst

    def list_prepend(self, s: list[Child]) -> list[Child]:
        rest: list[Child] = s[2]
        rest.insert(0, s[0])
        return rest

    def nothing(self, s: list[Child]) -> None:
        return None

    def second(self, s: list[Child]) -> Child:
        return s[1]

    # -- top level ------------------------------------------------------------
    def _item(self, node: A.Node) -> A.Node:
        self.items.append(node)
        return node

    def top_embedded(self, s: list[Child]) -> A.Node:
        return self._item(self._embedded(s[0]))

    def _embedded(self, t: Token) -> A.EmbeddedCode:
        if not self.privileged:
            self.issue("parse.embedded-unprivileged", "embedded code in unprivileged script; need stap -g", t)
        code = t.text[2:-2]
        return A.EmbeddedCode(self.tspan(t), code, tuple(_PRAGMA_RE.findall(code)))

    def probe_decl(self, s: list[Child]) -> A.Node:
        return self._item(A.ProbeDecl(self.span(s[0], s[2]), tuple(s[1]), s[2]))

    def _alias(self, s: list[Child], body2: A.Block | None) -> A.Node:
        names, epilogue = s[1]
        if epilogue and body2 is not None:
            self.issue("parse.alias-epilogue-two-bodies",
                       "Combined prologue and epilogue cannot be defined with '+='", s[4])
        for pp in names:
            if pp.optional or pp.sufficient:
                self.issue("parse.alias-optional", "probe point alias name cannot be optional nor sufficient",
                           pp)
        end = body2 if body2 is not None else s[3]
        return self._item(A.AliasDecl(self.span(s[0], end), tuple(names), epilogue, tuple(s[2]), s[3], body2))

    def alias_decl(self, s: list[Child]) -> A.Node:
        return self._alias(s, None)

    def alias_decl_two_bodies(self, s: list[Child]) -> A.Node:
        return self._alias(s, s[5])

    def alias_names_one(self, s: list[Child]) -> tuple[list[A.ProbePoint], bool]:
        return [s[0]], s[1].text == "+="

    def alias_names_more(self, s: list[Child]) -> tuple[list[A.ProbePoint], bool]:
        names, epilogue = s[0]
        names.append(s[1])
        return names, epilogue or s[2].text == "+="

    def probe_point(self, s: list[Child]) -> A.ProbePoint:
        comps, flag, cond = s
        end = cond if cond is not None else flag if flag is not None else comps[-1]
        optional = flag is not None
        sufficient = flag is not None and flag.text == "!"
        condition = cond.expr if cond is not None else None
        # Flags and conditions inside a brace group apply to its alternatives; stap allows them
        # only when the group is the last component, and never twice.
        for i, c in enumerate(comps):
            if type(c) is A.ComponentGroup:
                for alt in c.alternatives:
                    if i != len(comps) - 1 and (alt.optional or alt.condition is not None):
                        self.issue("parse.pp-flag-not-suffix",
                                   "'?', '!' or condition must only be specified in suffix", alt)
                    if i == len(comps) - 1 and alt.optional and optional:
                        self.issue("parse.pp-flag-twice", "'?' or '!' respecified", flag)
                    if i == len(comps) - 1 and alt.condition is not None and condition is not None:
                        self.issue("parse.pp-condition-twice", "condition respecified", cond)
        return A.ProbePoint(self.span(comps[0], end), tuple(comps), optional, sufficient, condition)

    def pp_condition(self, s: list[Child]) -> A.Paren:
        # carried as a Paren so probe_point knows where the condition ends
        return A.Paren(self.span(s[0], s[3]), s[2])

    def _component_name(self, pieces: list[Child]) -> tuple[str, Span]:
        if len(pieces) == 1:
            t = pieces[0]
            return t.text, self.tspan(t)
        return "".join(p.text for p in pieces), self.span(pieces[0], pieces[-1])

    def component(self, s: list[Child]) -> A.Component:
        name, sp = self._component_name(s[0])
        return A.Component(sp, name, sp)

    def component_arg(self, s: list[Child]) -> A.Component:
        name, sp = self._component_name(s[0])
        return A.Component(Span(self.file, sp.line, sp.column, s[3].end_line, s[3].end_column), name, sp, s[2])

    def component_group(self, s: list[Child]) -> A.ComponentGroup:
        return A.ComponentGroup(self.span(s[0], s[2]), tuple(s[1]))

    # -- functions and globals ------------------------------------------------
    def function_decl(self, s: list[Child]) -> A.Node:
        return self._item(self._function(s[0], s[1], False))

    def private_function(self, s: list[Child]) -> A.Node:
        return self._item(self._function(s[0], s[2], True))

    def _function(self, kw: Token, rest: list[Child], private: bool) -> A.FunctionDecl:
        name_tok, rtype, _lpar, params, _rpar, prio, body = rest
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                self.issue("parse.duplicate-param", "duplicate parameter names", p)
            seen.add(p.name)
        priority: int | None = None
        if prio is not None:
            if type(prio) is not A.NumberLiteral:
                self.issue("parse.priority-not-number", "expected literal number", prio)
            else:
                priority = prio.value
                if priority < 1:
                    self.issue("parse.priority-range", "specified priority must be > 0", prio)
        return A.FunctionDecl(self.span(kw, body), name_tok.text, self.tspan(name_tok),
                              rtype.text if rtype is not None else None, tuple(params), body, priority, private)

    def function_rest(self, s: list[Child]) -> list[Child]:
        return s

    def embedded_body(self, s: list[Child]) -> A.EmbeddedCode:
        return self._embedded(s[0])

    def param(self, s: list[Child]) -> A.Param:
        t = s[0]
        return A.Param(self.tspan(t), t.text)

    def param_typed(self, s: list[Child]) -> A.Param:
        t = s[0]
        return A.Param(self.span(t, s[2]), t.text, s[2].text)

    def global_decl(self, s: list[Child]) -> A.Node:
        return self._global(s[0], s[1], False)

    def private_global(self, s: list[Child]) -> A.Node:
        return self._global(s[0], s[2], True)

    def private_global_short(self, s: list[Child]) -> A.Node:
        return self._global(s[0], s[1], True)

    def _global(self, kw: Token, entries: list[tuple[Token, A.GlobalVar]], private: bool) -> A.Node:
        for tok, var in entries:
            prev = self.globals.get(var.name)
            if prev is not None:
                if prev == private:
                    self.issue("parse.duplicate-global", "duplicate global name", tok)
                else:
                    self.issue("parse.global-private-conflict",
                               "global versus private variable declaration conflict", tok)
            else:
                self.globals[var.name] = private
        vars_ = tuple(v for _, v in entries)
        return self._item(A.GlobalDecl(self.span(kw, vars_[-1]), vars_, private))

    def global_entry(self, s: list[Child]) -> tuple[Token, A.GlobalVar]:
        name, wrap, size, init = s
        end: Child = init if init is not None else size if size is not None else wrap if wrap is not None else name
        size_value: int | None = None
        if size is not None:
            size_value = size.value
            if size_value <= 0 or size_value > 2147483647:
                self.issue("parse.array-size", "array size out of range", size)
        if init is not None and size is not None:
            self.issue("parse.init-nonscalar", "only scalar globals can be initialized", init)
        sp = self.span(name, end)
        return name, A.GlobalVar(sp, name.text, self.tspan(name), wrap is not None, size_value, init)

    # -- statements -------------------------------------------------------------
    def block(self, s: list[Child]) -> A.Block:
        return A.Block(self.span(s[0], s[2]), tuple(s[1]))

    def null_statement(self, s: list[Child]) -> A.NullStatement:
        return A.NullStatement(self.tspan(s[0]))

    def with_semicolon(self, s: list[Child]) -> Child:
        stmt = s[0]
        # the statement's span takes in its ';' so an editor sees the whole line
        return type(stmt)(self.span(stmt, s[1]), *[getattr(stmt, f) for f in stmt.__dataclass_fields__
                                                   if f != "span"])

    def expr_statement(self, s: list[Child]) -> A.ExprStatement:
        e = s[0]
        return A.ExprStatement(e.span, e)

    def return_statement(self, s: list[Child]) -> A.ReturnStatement:
        self._check_return(s[0])
        return A.ReturnStatement(self.span(s[0], s[1]), s[1])

    def return_bare(self, s: list[Child]) -> A.ReturnStatement:
        self._check_return(s[0])
        return A.ReturnStatement(self.tspan(s[0]), None)

    def _check_return(self, tok: Token) -> None:
        if not self.in_function:
            self.issue("parse.return-outside-function", "found 'return' not in function context", tok)

    def delete_statement(self, s: list[Child]) -> A.DeleteStatement:
        return A.DeleteStatement(self.span(s[0], s[1]), s[1])

    def next_statement(self, s: list[Child]) -> A.NextStatement:
        return A.NextStatement(self.tspan(s[0]))

    def break_statement(self, s: list[Child]) -> A.BreakStatement:
        return A.BreakStatement(self.tspan(s[0]))

    def continue_statement(self, s: list[Child]) -> A.ContinueStatement:
        return A.ContinueStatement(self.tspan(s[0]))

    def try_statement(self, s: list[Child]) -> A.TryStatement:
        return A.TryStatement(self.span(s[0], s[3]), s[1], None, s[3])

    def try_catch_var(self, s: list[Child]) -> A.TryStatement:
        t = s[4]
        return A.TryStatement(self.span(s[0], s[6]), s[1], A.Var(self.tspan(t), t.text), s[6])

    def if_statement(self, s: list[Child]) -> A.IfStatement:
        return A.IfStatement(self.span(s[0], s[4]), s[2], s[4])

    def if_else_statement(self, s: list[Child]) -> A.IfStatement:
        return A.IfStatement(self.span(s[0], s[6]), s[2], s[4], s[6])

    def while_statement(self, s: list[Child]) -> A.WhileLoop:
        return A.WhileLoop(self.span(s[0], s[4]), s[2], s[4])

    def for_statement(self, s: list[Child]) -> A.ForLoop:
        return A.ForLoop(self.span(s[0], s[8]), s[2], s[4], s[6], s[8])

    def foreach_statement(self, s: list[Child]) -> A.ForeachLoop:
        value, keys, bracketed, var_sort = s[2]
        order = s[6]
        direction, column = 0, 0
        for col, sign in var_sort:
            if direction:
                self.issue("parse.multiple-sort", "multiple sort directives", sign)
            direction, column = (1 if sign.text == "+" else -1), col
        aggregate = None
        if order is not None:
            agg, sign = order
            if direction:
                self.issue("parse.multiple-sort", "multiple sort directives", sign)
            direction, column = (1 if sign.text == "+" else -1), 0
            aggregate = agg.text[1:] if agg is not None else None
        slice_ = tuple(s[5]) if s[5] is not None else None
        return A.ForeachLoop(self.span(s[0], s[9]), value, tuple(keys), bracketed, s[4], slice_, direction, column,
                             aggregate, s[7], s[9])

    def foreach_keys_only(self, s: list[Child]) -> tuple[Child, ...]:
        keys, bracketed, sorts = s[0]
        return None, keys, bracketed, sorts

    def foreach_value_keys(self, s: list[Child]) -> tuple[Child, ...]:
        (value, vsign) = s[0]
        keys, bracketed, sorts = s[2]
        all_sorts = ([(0, vsign)] if vsign is not None else []) + sorts
        return value, keys, bracketed, all_sorts

    def keys_single(self, s: list[Child]) -> tuple[Child, ...]:
        var, sign = s[0]
        return [var], False, ([(1, sign)] if sign is not None else [])

    def keys_bracketed(self, s: list[Child]) -> tuple[Child, ...]:
        keys = [v for v, _ in s[1]]
        sorts = [(i + 1, sign) for i, (_, sign) in enumerate(s[1]) if sign is not None]
        return keys, True, sorts

    def sorted_ident(self, s: list[Child]) -> tuple[A.Var, Token | None]:
        t = s[0]
        return A.Var(self.tspan(t), t.text), None

    def sorted_ident_signed(self, s: list[Child]) -> tuple[A.Var, Token | None]:
        t = s[0]
        return A.Var(self.tspan(t), t.text), s[1]

    def foreach_order(self, s: list[Child]) -> tuple[Token | None, Token]:
        return None, s[0]

    def foreach_order_aggregate(self, s: list[Child]) -> tuple[Token | None, Token]:
        return s[0], s[1]

    def indexable_name(self, s: list[Child]) -> A.Var:
        t = s[0]
        return A.Var(self.tspan(t), t.text)

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
            return _MemberPretty(A.TargetMember(sp, base, self.tspan(t)), A.TargetPretty(sp, text[len(base):]))
        return A.TargetMember(self.span(s[0], t), text, self.tspan(t))

    def target_index(self, s: list[Child]) -> A.TargetIndex:
        return A.TargetIndex(self.span(s[0], s[2]), s[1])

    def pretty(self, s: list[Child]) -> A.TargetPretty:
        return A.TargetPretty(self.tspan(s[0]), s[0].text)

    def cast(self, s: list[Child]) -> A.CastOp:
        type_name = self._string(s[4])
        if type(type_name) is A.StringLiteral and not type_name.value:
            self.issue("parse.empty-string", "expected non-empty string", type_name)
        return A.CastOp(self.span(s[0], s[5]), s[2], _text(type_name), None)

    def cast_module(self, s: list[Child]) -> A.CastOp:
        type_name = self._string(s[4])
        if type(type_name) is A.StringLiteral and not type_name.value:
            self.issue("parse.empty-string", "expected non-empty string", type_name)
        return A.CastOp(self.span(s[0], s[7]), s[2], _text(type_name), _text(self._string(s[6])))

    def atvar(self, s: list[Child]) -> A.AtVar:
        return A.AtVar(self.span(s[0], s[3]), _text(self._string(s[2])), None)

    def atvar_module(self, s: list[Child]) -> A.AtVar:
        return A.AtVar(self.span(s[0], s[5]), _text(self._string(s[2])), _text(self._string(s[4])))

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
            return _script_arg(self.tspan(t), t.text)
        value = "".join(string_value(t.text) for t in pieces if t.type == "STRING")
        return A.StringLiteral(self.span(pieces[0], pieces[-1]), value)

    def number_value(self, s: list[Child]) -> A.Node:
        t = s[0]
        if t.type == "ARGNUM":
            return _script_arg(self.tspan(t), t.text)
        value = parse_c_number(t.text)
        if value is None:
            self.issue("parse.bad-number", "number invalid or out of range", t)
            value = 0
        return A.NumberLiteral(self.tspan(t), value, t.text)

    def negative_number(self, s: list[Child]) -> A.Node:
        t = s[1]
        sp = self.span(s[0], t)
        if t.type == "ARGNUM":
            return A.Unary(sp, "-", _script_arg(self.tspan(t), t.text))
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
        return A.ConstOp(self.span(s[0], s[3]), _text(text))

    def perf_op(self, s: list[Child]) -> A.PerfOp:
        text = self._string(s[2])
        if type(text) is A.StringLiteral and not text.value:
            self.issue("parse.empty-string", "expected non-empty string", text)
        return A.PerfOp(self.span(s[0], s[3]), _text(text))

    def register_op(self, s: list[Child]) -> A.RegisterOp:
        t = s[0]
        user = t.text == "@uregister"
        if not user and not self.privileged:
            self.issue("parse.kregister-unprivileged", "using @kregister operator not permitted; need stap -g", t)
        return A.RegisterOp(self.span(t, s[3]), user, _int(s[2]))

    def deref_op(self, s: list[Child]) -> A.DerefOp:
        t = s[0]
        user = t.text == "@uderef"
        if not user and not self.privileged:
            self.issue("parse.kderef-unprivileged", "using @kderef operator not permitted; need stap -g", t)
        return A.DerefOp(self.span(t, s[5]), user, _int(s[2]), s[4])

    def stat_op(self, s: list[Child]) -> A.StatOp:
        t = s[0]
        params, close = s[3]
        allowed = 1 if t.text == "@variance" else 0
        if len(params) > allowed:
            n = allowed + 1
            self.issue("parse.stat-params", f"not more than {n} parameter{'s' if n != 1 else ''} allowed",
                       params[allowed])
        return A.StatOp(self.span(t, close), t.text[1:], s[2], tuple(_int(p) for p in params))

    def stat_end(self, s: list[Child]) -> tuple[list[A.Node], Token]:
        return [], s[0]

    def stat_param(self, s: list[Child]) -> tuple[list[A.Node], Token]:
        params, close = s[2]
        params.insert(0, s[1])
        return params, close

    def stat_skip(self, s: list[Child]) -> Child:
        return s[1]

    def hist_linear(self, s: list[Child]) -> A.HistOp:
        return A.HistOp(self.span(s[0], s[9]), "linear", s[2], (_int(s[4]), _int(s[6]), _int(s[8])))

    def hist_log(self, s: list[Child]) -> A.HistOp:
        return A.HistOp(self.span(s[0], s[3]), "log", s[2])


class _MemberPretty:
    """`->name$` reduces to two components; target_components flattens it."""

    __slots__ = ("member", "pretty")

    def __init__(self, member: A.TargetMember, pretty: A.TargetPretty) -> None:
        self.member = member
        self.pretty = pretty


def _script_arg(sp: Span, text: str) -> A.ScriptArg:
    return A.ScriptArg(sp, text, None if text[1] == "#" else int(text[1:]), text[0] == "@")


def _text(node: A.Node) -> str:
    return node.value if type(node) is A.StringLiteral else getattr(node, "text", "")


def _int(node: A.Node) -> int:
    return node.value if type(node) is A.NumberLiteral else 0


def flatten_components(comps: list[Any]) -> list[Any]:
    out: list[Any] = []
    for c in comps:
        if type(c) is _MemberPretty:
            out.append(c.member)
            out.append(c.pretty)
        else:
            out.append(c)
    return out


def rule_actions(builder: Builder, rules: list[Any]) -> dict[Any, Callable[[list[Child]], Child]]:
    """Map every grammar rule to its action; a one-symbol rule with no action passes its child up."""
    actions: dict[Any, Callable[[list[Child]], Child]] = {}
    for rule in rules:
        name = str(rule.alias or rule.origin.name)
        fn = getattr(builder, name, None)
        if fn is None:
            if len(rule.expansion) != 1:
                raise TypeError(f"grammar rule {name!r} has no action in builder.py")
            fn = _first
        actions[rule] = fn
    return actions


def _first(s: list[Child]) -> Child:
    return s[0]
