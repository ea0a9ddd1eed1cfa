"""The preprocessor, at token level as in stap: `@define` macros and `%( … %? … %: … %)` conditionals.

It runs between the lexer and the grammar. Where stap would throw a parse error it
leaves an ErrorToken in the stream, so the parser reports it at the same point and
recovers the same way. It also records what the editor needs: inactive branches,
conditionals (for folding), macro definitions and macro call sites.
"""

from __future__ import annotations

from tapkit.syntax.conditions import ConditionError, evaluate_condition
from tapkit.syntax.issues import ErrorToken, Issue
from tapkit.syntax.tokens import AT_WORDS, Token
from tapkit.target import Target
from tapkit.values import Value, field

IDENTIFIER_TYPES = frozenset({"IDENT", "PRINTFN", "TVAR", "DOLLARS"})
_NOT_MACRO = frozenset({"ARGSTR", "JUNK"})
# Token types the preprocessor must look at; everything else passes straight through.
_SPECIAL = frozenset({"PP_IF", "PP_THEN", "PP_ELSE", "PP_END", "AT_OTHER", "STATOP"}
                     | {t for t in AT_WORDS.values()})

MAX_EXPANSION_DEPTH = 1000

_NONE, _KEEP_THEN, _SKIP_THEN, _KEEP_ELSE, _SKIP_ELSE = range(5)


class MacroDecl(Value, frozen=False, eq=False):
    """A macro (or, with is_param, one argument of an invocation) and its body tokens."""

    name: str
    name_token: Token
    params: list[str]
    body: list[Token]
    library: bool = False
    is_param: bool = False
    parent: _Activation | None = None  # where a parameter's tokens must be evaluated
    define_token: Token | None = None
    end_token: Token | None = None


class _Activation(Value, frozen=False, eq=False):
    tok: Token
    macro: MacroDecl
    cursor: int = 0
    params: dict[str, MacroDecl] = field(default_factory=dict)


class Skipped(Value):
    """A branch the preprocessor dropped: from the end of start (a %? or %:) to the start of end (None: EOF)."""

    start: Token
    end: Token | None


class Conditional(Value):
    open: Token
    then: Token | None
    close: Token | None
    taken: bool


class Invocation(Value):
    at: Token
    end: Token
    macro: MacroDecl


class PreprocessResult(Value, frozen=False):
    tokens: list[Token]
    definitions: list[MacroDecl]
    invocations: list[Invocation]
    skipped: list[Skipped]
    conditionals: list[Conditional]
    saw_tokens: bool


class _PPError(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def _err(code: str, message: str, tok: Token | None) -> _PPError:
    return _PPError(Issue(code, message, tok))


def _copy(src: Token) -> Token:
    t = Token(src.type, src.text, src.file, src.line, src.column, src.end_line, src.end_column, src.pos, src.end_pos)
    t.origin = src.origin
    t.chain = src.chain
    return t


def _original(tok: Token) -> bool:
    return tok.origin is None and tok.chain is None


class Preprocessor:
    """One file's preprocessing: call run() once."""

    def __init__(self, tokens: list[Token], target: Target, library: dict[str, MacroDecl],
                 eof: tuple[str, int, int, int], in_library_file: bool = False) -> None:
        self._tokens = tokens
        self._i = 0
        self._target = target
        self._library = library
        self._eof = eof
        self._in_library = in_library_file
        self._acts: list[_Activation] = []
        self._state: list[list[object]] = []  # [open %( token, state, last %? / %: token]
        self.file_macros: dict[str, MacroDecl] = {}
        self.definitions: list[MacroDecl] = []
        self.invocations: list[Invocation] = []
        self._call_positions: set[int] = set()
        self.skipped: list[Skipped] = []
        self.conditionals: list[Conditional] = []

    # -- driver -------------------------------------------------------------
    def run(self) -> PreprocessResult:
        out: list[Token] = []
        errors = 0
        tokens = self._tokens
        n = len(tokens)
        special = _SPECIAL
        while True:
            st = self._state
            if not self._acts and (not st or st[-1][1] == _KEEP_THEN or st[-1][1] == _KEEP_ELSE):
                i = self._i
                while i < n:
                    tok = tokens[i]
                    if tok.type in special:
                        break
                    out.append(tok)
                    i += 1
                self._i = i
                if i >= n and not st:
                    break
            elif self._acts and (not st or st[-1][1] == _KEEP_THEN or st[-1][1] == _KEEP_ELSE):
                # inside a macro body: copy its plain tokens straight out, anchored at the call
                act = self._acts[-1]
                body = act.macro.body
                c = act.cursor
                anchor = act.tok
                if act.macro.is_param:
                    while c < len(body) and body[c].type not in special:
                        out.append(_copy(body[c]))
                        c += 1
                else:
                    while c < len(body) and body[c].type not in special:
                        out.append(body[c].expanded_at(anchor, anchor))
                        c += 1
                act.cursor = c
            try:
                t = self._scan_pp()
            except _PPError as e:
                errors += 1
                out.append(ErrorToken.at(e.issue, e.issue.token, self._eof))
                if errors > 10000:  # a guard; every error consumes input, so this is never reached
                    break
                continue
            if t is None:
                break
            out.append(t)
        return PreprocessResult(out, self.definitions, self.invocations, self.skipped, self.conditionals,
                                bool(self._tokens))

    # -- first pass: macros -------------------------------------------------
    def _next_pp1(self) -> Token | None:
        acts = self._acts
        if not acts:
            i = self._i
            if i < len(self._tokens):
                self._i = i + 1
                return self._tokens[i]
            return None
        act = acts[-1]
        body = act.macro.body
        if act.cursor < len(body):
            src = body[act.cursor]
            act.cursor += 1
            if act.macro.is_param:
                return _copy(src)
            return src.expanded_at(act.tok, act.tok)
        return None

    def _scan_pp1(self, ignore_macros: bool = False) -> Token | None:
        acts = self._acts
        while True:
            t = self._next_pp1()
            if t is None:
                if not acts:
                    return None
                acts.pop()
                continue
            if t.type == "AT_DEFINE" and not ignore_macros:
                if acts:
                    raise _err("macro.define-in-macro", "'@define' forbidden inside macro body", t)
                self._define(t)
                continue
            if t.text[0] == "@" and t.type not in _NOT_MACRO:
                name = t.text[1:]
                act = acts[-1] if acts else None
                decl: MacroDecl | None = None
                if act is not None and name in act.params:
                    decl = act.params[name]
                elif not (act is not None and act.macro.library) and name in self.file_macros:
                    decl = self.file_macros[name]
                elif name in self._library:
                    decl = self._library[name]
                if decl is None:
                    return t
                self._invoke(t, decl, act)
                continue
            return t

    def _invoke(self, t: Token, decl: MacroDecl, act: _Activation | None) -> None:
        if len(self._acts) >= MAX_EXPANSION_DEPTH:
            # stap itself loops forever on a self-expanding macro; an editor must not
            self._acts.clear()
            raise _err("macro.too-deep", f"macro expansion too deep (does '@{decl.name}' expand to itself?)", t)
        new_act = _Activation(t, decl)
        n = len(decl.params)
        if n == 0:
            if decl.is_param and decl.parent is not None:
                new_act.params = decl.parent.params
            self._acts.append(new_act)
            if not decl.is_param and _original(t):
                self._record_call(Invocation(t, t, decl))
            return
        name = decl.name
        t2 = self._next_pp1()
        if t2 is None or t2.type != "LPAR":
            plural = "parameter" if n == 1 else "parameters"
            raise _err("macro.expected-lpar",
                       f"expected '(' in invocation of macro '@{name}' taking {n} {plural}", t2)
        sep: Token | None = t2
        for i, pname in enumerate(decl.params):
            p = MacroDecl(pname, t, [], [], is_param=True, parent=act)
            new_act.params[pname] = p
            sep = self._slurp_param(p.body)
            if sep is None:
                raise _err("macro.unterminated-call", "could not find end of macro invocation", t)
            if sep.type == "COMMA" and i + 1 == n:
                raise _err("macro.too-many-args", f"too many parameters for macro '@{name}' (expected {n})", sep)
            if sep.type == "RPAR" and i + 1 != n:
                raise _err("macro.too-few-args", f"too few parameters for macro '@{name}' (expected {n})", sep)
        self._acts.append(new_act)
        if _original(t) and sep is not None:
            self._record_call(Invocation(t, sep, decl))

    def _record_call(self, inv: Invocation) -> None:
        # a call inside a macro argument is expanded once per use of the parameter: record it once
        if inv.at.pos not in self._call_positions:
            self._call_positions.add(inv.at.pos)
            self.invocations.append(inv)

    def _slurp_param(self, body: list[Token]) -> Token | None:
        nesting = 0
        while True:
            t = self._next_pp1()
            if t is None:
                return None
            tt = t.type
            if tt == "LPAR" or tt == "LSQB":
                nesting += 1
            elif nesting and (tt == "RPAR" or tt == "RSQB"):
                nesting -= 1
            elif not nesting and (tt == "RPAR" or tt == "COMMA"):
                return t
            body.append(t)

    def _slurp_body(self, body: list[Token]) -> Token | None:
        nesting = 0
        while True:
            t = self._next_pp1()
            if t is None:
                return None
            if t.type == "PP_IF":
                nesting += 1
            elif t.type == "PP_END":
                if not nesting:
                    return t
                nesting -= 1
            body.append(t)

    def _define(self, at: Token) -> None:
        t = self._next_pp1()
        if t is None or t.type not in IDENTIFIER_TYPES:
            raise _err("macro.expected-name", "expected identifier", t)
        name = t.text
        if name in self.file_macros:
            raise _err("macro.redefined", f"attempt to redefine macro '@{name}' in the same file", t)
        if name == "define":
            raise _err("macro.redefined", "attempt to redefine '@define'", t)
        decl = MacroDecl(name, t, [], [], library=self._in_library, define_token=at)
        self.file_macros[name] = decl
        t2 = self._next_pp1()
        saw_params = False
        if t2 is not None and t2.type == "LPAR":
            saw_params = True
            while True:
                p = self._next_pp1()
                if p is None or p.type not in IDENTIFIER_TYPES:
                    raise _err("macro.expected-param", "expected identifier", p)
                decl.params.append(p.text)
                t2 = self._next_pp1()
                if t2 is not None and t2.type == "COMMA":
                    continue
                if t2 is not None and t2.type == "RPAR":
                    t2 = self._next_pp1()
                    break
                raise _err("macro.expected-comma", "expected ',' or ')'", t2)
        if t2 is None or t2.type != "PP_IF":
            raise _err("macro.expected-body", "expected '%('" if saw_params else "expected '%(' or '('", t2)
        end = self._slurp_body(decl.body)
        if end is None:
            raise _err("macro.unterminated", "incomplete macro definition - missing '%)'", t)
        decl.end_token = end
        self.definitions.append(decl)

    # -- second pass: conditionals -------------------------------------------
    def _scan_pp(self) -> Token | None:
        state = self._state
        while True:
            pp = state[-1][1] if state else _NONE
            if pp in (_SKIP_THEN, _SKIP_ELSE):
                t = self._skip_pp()
                marker = state[-1][2]
                assert isinstance(marker, Token)
                if _original(marker):
                    self.skipped.append(Skipped(marker, t if t is not None and _original(t) else None))
            else:
                t = self._scan_pp1()
            if t is None:
                if pp != _NONE:
                    entry = state.pop()
                    opener = entry[0]
                    assert isinstance(opener, Token)
                    raise _err("pp.unterminated", "incomplete conditional at end of file", opener)
                return None
            tt = t.type
            if tt == "PP_THEN":
                raise _err("pp.missing-open", "incomplete conditional - missing '%('", t)
            if tt == "PP_ELSE":
                if pp == _NONE:
                    raise _err("pp.missing-open", "incomplete conditional - missing '%('", t)
                if pp in (_KEEP_ELSE, _SKIP_ELSE):
                    raise _err("pp.duplicate-else", "invalid conditional - duplicate '%:'", t)
                state[-1][1] = _SKIP_ELSE if pp == _KEEP_THEN else _KEEP_ELSE
                state[-1][2] = t
                continue
            if tt == "PP_END":
                if pp == _NONE:
                    raise _err("pp.missing-open", "incomplete conditional - missing '%('", t)
                opener, st, then = state.pop()
                assert isinstance(opener, Token) and isinstance(then, Token)
                if _original(opener):
                    taken = st in (_KEEP_THEN, _SKIP_ELSE)
                    self.conditionals.append(Conditional(opener, then, t, taken))
                continue
            if tt != "PP_IF":
                return t
            self._open_conditional(t)

    def _open_conditional(self, t: Token) -> None:
        result = False
        and_result = True
        while True:
            left = self._scan_pp1()
            op = self._scan_pp1()
            right = self._scan_pp1()
            if left is None or op is None or right is None:
                raise _err("pp.incomplete-condition", "incomplete condition after '%('", t)
            try:
                value = evaluate_condition(self._target, left, op, right)
            except ConditionError as e:
                raise _err("pp.bad-condition", str(e), e.token) from None
            and_result = and_result and value
            n = self._scan_pp1()
            if n is not None and n.type == "ANDAND":
                continue
            result = result or and_result
            and_result = True
            if not (n is not None and n.type == "OROR"):
                break
        if n is None or n.type != "PP_THEN":
            raise _err("pp.expected-then", "expected '%?' marker for conditional", t)
        self._state.append([t, _KEEP_THEN if result else _SKIP_THEN, n])

    def _skip_pp(self) -> Token | None:
        nesting = 0
        while True:
            try:
                t = self._scan_pp1(ignore_macros=True)
            except _PPError:
                continue  # stap ignores errors in branches it skips
            if t is None:
                return None
            tt = t.type
            if tt == "PP_IF":
                nesting += 1
            elif nesting and tt == "PP_END":
                nesting -= 1
            elif not nesting and (tt == "PP_ELSE" or tt == "PP_THEN" or tt == "PP_END"):
                return t


def preprocess(tokens: list[Token], target: Target, library: dict[str, MacroDecl],
               eof: tuple[str, int, int, int], in_library_file: bool = False) -> PreprocessResult:
    return Preprocessor(tokens, target, library, eof, in_library_file).run()
