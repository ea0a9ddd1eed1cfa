"""Pass 1 entry point: text -> tokens -> preprocessor -> LALR parse with grammar actions -> File.

The LALR driver is ours (lark computes the table): it feeds the preprocessed tokens,
adds the two context facts the grammar needs (GLUE, RETURN_BARE), and on a syntax
error does what stap does — report, skip to the next `probe`/`global`/`function`/
`private`/`%{`, and go on — while keeping whatever pieces of the broken item were
complete, so an editor has a partial tree to work with.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from typing import Any

from tapkit.diagnostics import Diagnostic, Severity, Span
from tapkit.syntax import ast as A
from tapkit.syntax.builder import Builder, Child
from tapkit.syntax.grammar import Tables, tables
from tapkit.syntax.issues import ErrorToken, Issue, to_diagnostic
from tapkit.syntax.preprocessor import MacroDecl, PreprocessResult, preprocess
from tapkit.syntax.tokens import KEYWORDS, RawComment, Token, lex, paste_script_args
from tapkit.target import Target
from tapkit.values import Value, field, replace

_TOP_LEVEL = frozenset({"PROBE", "GLOBAL", "PRIVATE", "FUNCTION", "EMBEDDED"})
_PIECES = frozenset({"IDENT", "PRINTFN", "TVAR", "DOLLARS", "STAR", "RETURN_BARE", *KEYWORDS.values()})
_STATEMENT_STARTS = frozenset({"FOREACH", "WHILE", "TRY", "DELETE", "NEXT", "BREAK"})
_IDENTIFIERS = frozenset({"IDENT", "PRINTFN", "TVAR", "DOLLARS"})


class LibraryMacros:
    """The `@define`s of the tapset library's .stpm files, visible to every file stap parses."""

    def __init__(self, macros: Mapping[str, MacroDecl] | None = None,
                 diagnostics: tuple[Diagnostic, ...] = (), fingerprint: str = "") -> None:
        self.macros: dict[str, MacroDecl] = dict(macros or {})
        self.diagnostics = diagnostics
        self.fingerprint = fingerprint

    def __contains__(self, name: str) -> bool:
        return name in self.macros

    def definition(self, name: str) -> A.MacroDef | None:
        decl = self.macros.get(name)
        return _macro_def(decl) if decl is not None else None


class ParseResult(Value):
    """A parsed file: the tree, every diagnostic, and (when freshly parsed) the preprocessed tokens."""

    file: A.File
    diagnostics: tuple[Diagnostic, ...]
    tokens: tuple[Token, ...] = field(default=(), compare=False)
    macros: tuple[MacroDecl, ...] = field(default=(), compare=False)  # what a .stpm file defines

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def ast(self) -> A.File:
        return self.file


def parse(text: str, filename: str = "<input>", target: Target | None = None,
          macros: LibraryMacros | None = None, tolerant: bool = True, library: bool = False,
          privileged: bool | None = None, args: Sequence[str] | None = None) -> ParseResult:
    """Parse one file as stap's pass 1 does.

    library: parse as a tapset file (privileged, may be empty) rather than a user script.
    privileged: allow embedded C, @const, @kregister (default: library or target.guru_mode).
    tolerant: never raise; with tolerant=False a ParseFailed carrying the result is raised
    when there are errors.
    args: the script's command-line arguments, pasted in as stap does; None (an editor, a
    library) keeps `$1 @1 $# @#` as ScriptArg nodes.
    """
    target = target or Target()
    priv = privileged if privileged is not None else (library or target.guru_mode)
    gc_enabled = gc.isenabled()
    gc.disable()  # many small acyclic objects: the cyclic GC only slows building them
    try:
        result = _parse(text, filename, target, macros or LibraryMacros(), library, priv, args)
    finally:
        if gc_enabled:
            gc.enable()
    if not tolerant and not result.ok:
        raise ParseFailed(result)
    return result


def parse_library_macros(text: str, filename: str, target: Target,
                         known: Mapping[str, MacroDecl]) -> tuple[dict[str, MacroDecl], list[Diagnostic]]:
    """A .stpm file: only `@define`s may remain after preprocessing (stap's parse_library_macros)."""
    lexed = lex(text, filename)
    eof = _eof(text, filename)
    pp = preprocess(lexed.tokens, target, dict(known), eof, in_library_file=True)
    issues = [t.issue for t in pp.tokens if type(t) is ErrorToken]
    if not issues:
        first = next((t for t in pp.tokens if type(t) is not ErrorToken), None)
        if first is not None:
            issues.append(Issue("macro.unexpected-token",
                                f"unexpected token in library macro file '{filename}'", first))
    if not issues:
        for decl in pp.definitions:
            if decl.name in known:
                issues.append(Issue("macro.duplicate-library",
                                    f"duplicate definition of library macro '@{decl.name}'", decl.name_token))
                break
    eof_span = Span(filename, eof[1], eof[2], eof[1], eof[2])
    diags = [to_diagnostic(i, eof_span) for i in issues]
    if diags:
        return {}, diags
    return {d.name: d for d in pp.definitions}, []


class ParseFailed(Exception):
    def __init__(self, result: ParseResult) -> None:
        first = next(d for d in result.diagnostics if d.is_error)
        super().__init__(f"{first.span}: {first.message}")
        self.result = result


# ---------------------------------------------------------------- the driver

def _eof(text: str, filename: str) -> tuple[str, int, int, int]:
    line = text.count("\n") + 1
    col = len(text) - (text.rfind("\n") + 1) + 1
    return filename, line, col, len(text)


def _parse(text: str, filename: str, target: Target, macros: LibraryMacros, library: bool,
           privileged: bool, args: Sequence[str] | None) -> ParseResult:
    lexed = lex(text, filename)
    if args is not None:
        paste_script_args(lexed, args)
    eof = _eof(text, filename)
    pp = preprocess(lexed.tokens, target, macros.macros, eof, in_library_file=False)
    builder = Builder(filename, privileged)
    driver = _Driver(tables(), builder, pp.tokens, lexed.junk, eof)
    driver.run()
    issues = driver.issues + builder.issues
    eof_span = Span(filename, eof[1], eof[2], eof[1], eof[2])
    diags = [to_diagnostic(i, eof_span) for i in issues]
    if not library and not builder.items and not issues:
        empty = "is empty after preprocessing" if lexed.tokens else "is empty"
        diags.append(Diagnostic(Severity.ERROR, "parse.empty-file", f"Input file '{filename}' {empty}.",
                                Span(filename, 1, 1, 1, 1)))
    diags.sort(key=lambda d: (d.span.file != filename, d.span.line, d.span.column))
    file = _assemble(filename, text, eof, builder.items, lexed.comments, pp, macros)
    return ParseResult(file, tuple(diags), tuple(pp.tokens))


_CHAINS: dict[tuple[int, int, str], int] = {}  # see _Driver._unit_chain


class _Driver:
    """Runs the LALR automaton over one file's tokens, calling the builder's actions."""

    def __init__(self, t: Tables, builder: Builder, tokens: list[Token], junk: dict[int, str],
                 eof: tuple[str, int, int, int]) -> None:
        self.t = t
        self.builder = builder
        self.tokens = tokens
        self.junk = junk
        self.issues: list[Issue] = []
        self.end = Token("$END", "", eof[0], eof[1], eof[2], eof[1], eof[2], eof[3], eof[3])
        self.actions = [getattr(builder, r.name, None) or _first for r in t.rules]
        self.passthrough = [a is _first and r.size == 1 for a, r in zip(self.actions, t.rules, strict=True)]

    def run(self) -> None:
        t = self.t
        states = t.states
        rules = t.rules
        actions = self.actions
        passthrough = self.passthrough
        chains = _CHAINS
        tokens = self.tokens
        n = len(tokens)
        state_stack = [t.start]
        value_stack: list[Child] = []
        i = 0
        prev: Token | None = None
        while True:
            tok = tokens[i] if i < n else self.end
            ttype = tok.type
            if ttype == "PP_ERROR":
                assert isinstance(tok, ErrorToken)
                self.issues.append(tok.issue)
                i = self._recover(state_stack, value_stack, i + 1, tok)
                state_stack, value_stack, prev = [t.start], [], None
                continue
            if ttype == "RETURN" or ttype == "RETURN_BARE":
                nxt = tokens[i + 1].type if i + 1 < n else "$END"
                ttype = tok.type = "RETURN_BARE" if nxt in ("SEMI", "RBRACE") else "RETURN"
            elif (prev is not None and tok.pos == prev.end_pos and ttype in _PIECES and prev.type in _PIECES
                  and "GLUE" in states[state_stack[-1]]):
                self._feed(_glue(tok), "GLUE", state_stack, value_stack)
            # feed the token: reduce while the table says so, then shift
            while True:
                act = states[state_stack[-1]].get(ttype)
                if act is None:
                    break
                if act[0]:
                    break
                r = act[1]
                rule = rules[r]
                if passthrough[r]:
                    # unit rules whose value is their child's (expr: assignment: ternary: …) only move
                    # the top state; the whole chain depends on (state below, top, lookahead): memoized
                    key = (state_stack[-2], state_stack[-1], ttype)
                    top = chains.get(key)
                    if top is None:
                        top = chains[key] = self._unit_chain(*key)
                    state_stack[-1] = top
                    if ttype == "$END" and top == t.end:
                        return
                    continue
                size = rule.size
                if size:
                    s = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    s = []
                value = actions[r](s)
                goto = states[state_stack[-1]][rule.origin]
                state_stack.append(goto[1])
                value_stack.append(value)
                if ttype == "$END" and goto[1] == t.end:
                    return
            if act is None:
                self.issues.append(self._syntax_issue(tok, state_stack))
                if ttype == "$END":
                    self._salvage(state_stack, value_stack, tok)
                    return
                i = self._recover(state_stack, value_stack, i, tok)
                state_stack, value_stack, prev = [t.start], [], None
                continue
            state_stack.append(act[1])
            value_stack.append(tok)
            if len(state_stack) == 3 and ttype in _TOP_LEVEL:
                self.builder.in_function = ttype == "FUNCTION" or (
                    ttype == "PRIVATE" and i + 1 < n and tokens[i + 1].type == "FUNCTION")
            prev = tok
            i += 1

    def _unit_chain(self, below: int, top: int, ttype: str) -> int:
        states, rules = self.t.states, self.t.rules
        while top != self.t.end:
            act = states[top].get(ttype)
            if act is None or act[0] or not self.passthrough[act[1]]:
                break
            top = states[below][rules[act[1]].origin][1]
        return top

    def _feed(self, tok: Token, ttype: str, state_stack: list[int], value_stack: list[Child]) -> bool:
        states = self.t.states
        while True:
            act = states[state_stack[-1]].get(ttype)
            if act is None:
                return False
            if act[0]:
                state_stack.append(act[1])
                value_stack.append(tok)
                return True
            rule = self.t.rules[act[1]]
            size = rule.size
            s = value_stack[-size:] if size else []
            if size:
                del state_stack[-size:]
                del value_stack[-size:]
            value = self.actions[act[1]](s)
            state_stack.append(states[state_stack[-1]][rule.origin][1])
            value_stack.append(value)
            if ttype == "$END" and state_stack[-1] == self.t.end:
                return True

    def _salvage(self, state_stack: list[int], value_stack: list[Child], at: Token) -> None:
        """Keep what was complete before the error: finish the items that can end here, and wrap the rest."""
        items_before = len(self.builder.items)
        issues_before = len(self.builder.issues)
        trial_states, trial_values = list(state_stack), list(value_stack)
        if self._feed(self.end, "$END", trial_states, trial_values):
            return
        del self.builder.items[items_before:]
        del self.builder.issues[issues_before:]
        start = next((v for v in value_stack[1:] if type(v) is Token), None)
        if start is None:
            return
        fragments: list[A.Node] = []
        _collect_nodes(value_stack[1:], fragments)
        builder = self.builder
        span = Span(builder.file, start.line, start.column, at.line, at.column)
        builder.items.append(A.ErrorItem(span, start.text, tuple(fragments)))

    def _recover(self, state_stack: list[int], value_stack: list[Child], i: int, at: Token) -> int:
        """stap's recovery: skip to the next token that can start a top-level item."""
        self._salvage(state_stack, value_stack, at)
        tokens = self.tokens
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            if tok.type in _TOP_LEVEL:
                break
            if tok.type == "PP_ERROR":
                assert isinstance(tok, ErrorToken)
                self.issues.append(tok.issue)
            i += 1
        return i

    def _acceptable(self, state_stack: list[int], ttype: str) -> bool:
        """Would ttype be shifted here (after whatever reductions it causes)? LALR rows over-promise."""
        states = self.t.states
        stack = list(state_stack)
        while True:
            act = states[stack[-1]].get(ttype)
            if act is None:
                return False
            if act[0]:
                return True
            rule = self.t.rules[act[1]]
            if ttype == "$END" and rule.origin == "start":
                return True
            if rule.size:
                del stack[-rule.size:]
            stack.append(states[stack[-1]][rule.origin][1])

    def _syntax_issue(self, tok: Token, state_stack: list[int]) -> Issue:
        row = self.t.states[state_stack[-1]]
        expected = {k for k in row if (k.isupper() or k == "$END") and self._acceptable(state_stack, k)}
        code, message = _expected_message(expected, tok, self.t.terminal_text)
        if tok.type == "JUNK":
            return Issue("parse.junk", self.junk.get(id(tok.origin or tok), "unknown junk token"), tok)
        if tok.type == "$END":
            return Issue(code, message, None)
        return Issue(code, message, tok)


def _expected_message(expected: set[str], tok: Token, texts: dict[str, str]) -> tuple[str, str]:
    if {"PROBE", "GLOBAL", "FUNCTION"} <= expected and "IDENT" not in expected:
        return "parse.expected-item", "expected 'probe', 'global', 'private', 'function', or '%{'"
    if expected >= _STATEMENT_STARTS:
        return "parse.expected-statement", "expected statement"
    if "NUMBER" in expected and "LPAR" in expected and "IDENT" in expected:
        if tok.type == "AT_OTHER":
            return "parse.unknown-operator", f"unknown operator {tok.text}"
        return "parse.expected-value", "expected literal string or number"
    if expected <= _IDENTIFIERS | {"STRING_KW", "LONG_KW"}:
        return "parse.expected-identifier", "expected identifier"
    shown = sorted(texts.get(e, e.lower() if e != "$END" else "end of file") for e in expected if e != "GLUE")
    if len(shown) == 1:
        return "parse.expected", f"expected '{shown[0]}'"
    if len(shown) <= 6:
        return "parse.expected", "expected one of '" + " ".join(shown) + "'"
    return "parse.unexpected", f"unexpected {tok.describe() if tok.type != '$END' else 'end of file'}"


def _first(s: list[Child]) -> Child:
    return s[0]


def _glue(tok: Token) -> Token:
    return Token("GLUE", "", tok.file, tok.line, tok.column, tok.line, tok.column, tok.pos, tok.pos)


def _collect_nodes(values: Any, out: list[A.Node]) -> None:
    for v in values:
        if isinstance(v, A.Node):
            out.append(v)
        elif isinstance(v, list | tuple):
            _collect_nodes(v, out)


# ---------------------------------------------------------------- assembling the File

def _comment_kind(text: str) -> str:
    if text.startswith("#"):
        return "hash"
    if text.startswith("//"):
        return "line"
    if text.startswith("/**") and not text.startswith("/**/"):
        return "doc"
    return "block"


def _macro_def(decl: MacroDecl) -> A.MacroDef:
    t = decl.name_token
    start = decl.define_token or t
    end = decl.end_token or t
    name_span = Span(t.file, t.line, t.column, t.end_line, t.end_column)
    return A.MacroDef(Span(t.file, start.line, start.column, end.end_line, end.end_column), decl.name, name_span,
                      tuple(decl.params), decl.library)


def _assemble(filename: str, text: str, eof: tuple[str, int, int, int], items: list[A.Node],
              raw_comments: list[RawComment], pp: PreprocessResult, macros: LibraryMacros) -> A.File:
    comments = tuple(A.Comment(Span(filename, c.line, c.column, c.end_line, c.end_column), c.text,
                               _comment_kind(c.text)) for c in raw_comments)
    items = _attach_docs(items, raw_comments, comments)
    inactive = []
    for sk in pp.skipped:
        end = sk.end
        sp = Span(filename, sk.start.end_line, sk.start.end_column,
                  end.line if end is not None else eof[1], end.column if end is not None else eof[2])
        inactive.append(A.InactiveRange(sp))
    conds = []
    for c in pp.conditionals:
        close = c.close or c.open
        then = c.then or c.open
        conds.append(A.Conditional(Span(filename, c.open.line, c.open.column, close.end_line, close.end_column),
                                   Span(filename, c.open.end_line, c.open.end_column, then.line, then.column),
                                   c.taken))
    defs = tuple(_macro_def(d) for d in pp.definitions)
    calls = []
    for inv in pp.invocations:
        d = _macro_def(inv.macro)
        calls.append(A.MacroCall(Span(filename, inv.at.line, inv.at.column, inv.end.end_line, inv.end.end_column),
                                 inv.macro.name, d.name_span))
    return A.File(Span(filename, 1, 1, eof[1], eof[2]), tuple(items), comments, tuple(inactive), tuple(conds),  # type: ignore[arg-type]
                  defs, tuple(calls))


_DOCUMENTED = (A.ProbeDecl, A.AliasDecl, A.FunctionDecl, A.GlobalDecl)


def _attach_docs(items: list[A.Node], raw: list[RawComment], comments: tuple[A.Comment, ...]) -> list[A.Node]:
    """A `/** … */` comment documents the probe, alias, function or global that follows it."""
    docs = [(c.end_line, c.end_column, comments[k]) for k, c in enumerate(raw) if comments[k].kind == "doc"]
    if not docs:
        return items
    out: list[A.Node] = []
    j = 0
    last_doc: A.Comment | None = None
    prev_end = (0, 0)
    for item in items:
        start = (item.span.line, item.span.column)
        while j < len(docs) and (docs[j][0], docs[j][1]) <= start:
            if (docs[j][0], docs[j][1]) > prev_end:
                last_doc = docs[j][2]
            j += 1
        if last_doc is not None and isinstance(item, _DOCUMENTED):
            item = replace(item, doc=last_doc)
        last_doc = None
        prev_end = (item.span.end_line, item.span.end_column)
        out.append(item)
    return out
