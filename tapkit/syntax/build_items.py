"""Grammar actions for top-level items, probe points and statements."""

from __future__ import annotations

from tapkit.diagnostics import Span
from tapkit.syntax import ast as A
from tapkit.syntax.build_base import _PRAGMA_RE, BuilderBase, Child
from tapkit.syntax.tokens import Token
from tapkit.values import fields


class ItemActions(BuilderBase):
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
        sp = self.tspan(t)
        return A.Param(sp, t.text, sp)

    def param_typed(self, s: list[Child]) -> A.Param:
        t = s[0]
        return A.Param(self.span(t, s[2]), t.text, self.tspan(t), s[2].text)

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
        return type(stmt)(self.span(stmt, s[1]), *[getattr(stmt, f) for f in fields(stmt)
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

