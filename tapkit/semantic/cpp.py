"""A small C preprocessor for kernel trace headers: enough to find their tracepoint declarations.

It strips comments, follows #if/#ifdef/#elif on the kernel's CONFIG values, records #defines and
expands the header's own macros (with `##` pasting and `#` stringizing) so that helper macros
such as `DEFINE_RPC_RUNNING_EVENT(name)` reveal the DEFINE_EVENT they stand for. #include is
not followed: each header is read on its own, as stap compiles each on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TOKEN = re.compile(r"""\s+|[A-Za-z_]\w*|\d[\w.]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'"""
                    r"""|\#\#|\.\.\.|->|<<|>>|[<>!=]=|&&|\|\||.""", re.S)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", re.S)

Macro = tuple[str, list[str] | None]  # body, parameter names (None: object-like)


def tokenize(text: str) -> list[str]:
    return [" " if t[:1].isspace() else t for t in _TOKEN.findall(text)]


def _strip_comments(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        s = m.group(0)
        if s.startswith(("//", "/*")):
            return " " + "\n" * s.count("\n")
        return s
    return _COMMENT.sub(repl, text)


def split_args(text: str) -> list[str]:
    """Top-level comma-separated parts of text (parentheses, brackets and braces nest)."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for t in tokenize(text):
        if t in "([{" and len(t) == 1:
            depth += 1
        elif t in ")]}" and len(t) == 1:
            depth -= 1
        if t == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(t)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


class HeaderPreprocessor:
    def __init__(self, config: dict[str, str]) -> None:
        self.config = config
        self.defines: dict[str, Macro] = {}
        self.last_trace_system = ""
        self.system_at: dict[str, str] = {}

    # ------------------------------------------------------------ directives
    def run(self, text: str) -> str:
        text = _strip_comments(text.replace("\\\n", ""))
        out: list[str] = []
        stack: list[tuple[bool, bool]] = []  # (this branch active, some branch already taken)
        active = True
        for line in text.split("\n"):
            stripped = line.strip()
            if stripped.startswith("#"):
                directive = stripped[1:].strip()
                word, _, rest = directive.partition(" ")
                word = word.strip()
                rest = rest.strip()
                if word in ("if", "ifdef", "ifndef"):
                    if word == "ifdef":
                        cond = self._defined(rest.split()[0] if rest else "")
                    elif word == "ifndef":
                        cond = not self._defined(rest.split()[0] if rest else "")
                    else:
                        cond = self.evaluate(rest)
                    stack.append((active, cond and active))
                    active = active and cond
                elif word == "elif":
                    outer, taken = stack[-1] if stack else (True, True)
                    cond = outer and not taken and self.evaluate(rest)
                    stack[-1] = (outer, taken or cond)
                    active = cond
                elif word == "else":
                    outer, taken = stack[-1] if stack else (True, True)
                    active = outer and not taken
                    stack[-1] = (outer, True)
                elif word == "endif":
                    if stack:
                        active = stack.pop()[0]
                elif not active:
                    continue
                elif word == "define":
                    self._define(rest)
                elif word == "undef":
                    self.defines.pop(rest.split()[0] if rest else "", None)
                out.append("")
                continue
            out.append(line if active else "")
        return "\n".join(out)

    def _define(self, rest: str) -> None:
        m = re.match(r"([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$", rest, re.S)
        if not m:
            return
        name = m.group(1)
        params = [p.strip() for p in m.group(3).split(",")] if m.group(2) is not None else None
        if params == [""]:
            params = []
        self.defines[name] = (m.group(4).strip(), params)
        if name == "TRACE_SYSTEM":
            self.last_trace_system = m.group(4).strip()

    def _defined(self, name: str) -> bool:
        return name in self.defines or self.config.get(name, "n") in ("y", "m") or name.startswith("__KERNEL__")

    def evaluate(self, expr: str) -> bool:
        def config_value(name: str) -> str:
            v = self.config.get(name)
            return "1" if v in ("y", "m") else (v if v and v.lstrip("-").isdigit() else "0")

        expr = re.sub(r"defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)",
                      lambda m: "1" if self._defined(m.group(1) or m.group(2)) else "0", expr)
        expr = re.sub(r"IS_ENABLED\s*\(\s*(\w+)\s*\)|IS_REACHABLE\s*\(\s*(\w+)\s*\)",
                      lambda m: "1" if self.config.get(m.group(1) or m.group(2)) in ("y", "m") else "0", expr)
        expr = re.sub(r"IS_BUILTIN\s*\(\s*(\w+)\s*\)", lambda m: "1" if self.config.get(m.group(1)) == "y" else "0",
                      expr)
        expr = re.sub(r"IS_MODULE\s*\(\s*(\w+)\s*\)", lambda m: "1" if self.config.get(m.group(1)) == "m" else "0",
                      expr)
        expr = re.sub(r"\bCONFIG_\w+\b", lambda m: config_value(m.group(0)), expr)

        def ident(m: re.Match[str]) -> str:
            word = m.group(0)
            if word in ("and", "or", "not"):
                return word
            macro = self.defines.get(word)
            if macro is not None and macro[1] is None and re.fullmatch(r"-?\d+", macro[0] or ""):
                return macro[0]
            return "0"

        py = expr.replace("&&", " and ").replace("||", " or ")
        py = re.sub(r"!(?!=)", " not ", py)
        py = re.sub(r"(\d+)[uUlL]+\b", r"\1", py)
        py = re.sub(r"[A-Za-z_]\w*", ident, py)
        try:
            return bool(eval(py, {"__builtins__": {}}, {}))
        except Exception:
            return True

    # ------------------------------------------------------------ expansion
    def invocations(self, body: str, names: set[str]) -> Iterator[tuple[str, list[str]]]:
        """Each use of a macro in names, after expanding the header's own macros, with its arguments."""
        tokens = self.expand(tokenize(body), frozenset(names))
        i, n = 0, len(tokens)
        while i < n:
            t = tokens[i]
            if t in names:
                j = i + 1
                while j < n and tokens[j] == " ":
                    j += 1
                if j < n and tokens[j] == "(":
                    args, end = _collect(tokens, j)
                    yield t, ["".join(a).strip() for a in args]
                    i = end + 1
                    continue
            i += 1

    def expand(self, tokens: list[str], keep: frozenset[str], hide: frozenset[str] = frozenset(),
               depth: int = 0) -> list[str]:
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            t = tokens[i]
            macro = self.defines.get(t) if t not in keep and t not in hide else None
            if macro is None or depth > 40:
                out.append(t)
                i += 1
                continue
            body, params = macro
            if params is None:
                out += self.expand(tokenize(body), keep, hide | {t}, depth + 1)
                i += 1
                continue
            j = i + 1
            while j < n and tokens[j] == " ":
                j += 1
            if j >= n or tokens[j] != "(":
                out.append(t)
                i += 1
                continue
            args, end = _collect(tokens, j)
            out += self.expand(self._substitute(body, params, args, keep), keep, hide | {t}, depth + 1)
            i = end + 1
        return out

    def _substitute(self, body: str, params: list[str], args: list[list[str]], keep: frozenset[str]) -> list[str]:
        names = list(params)
        if names and names[-1] == "...":
            names[-1] = "__VA_ARGS__"
            fixed = len(names) - 1
            rest = args[fixed:]
            joined: list[str] = []
            for k, a in enumerate(rest):
                if k:
                    joined.append(",")
                joined += a
            args = [*args[:fixed], joined]
        binding = {name: (args[k] if k < len(args) else []) for k, name in enumerate(names)}
        toks = tokenize(body)
        out: list[str] = []
        k = 0
        while k < len(toks):
            t = toks[k]
            if t == "#" and k + 1 < len(toks):
                nxt = k + 1
                while nxt < len(toks) and toks[nxt] == " ":
                    nxt += 1
                if nxt < len(toks) and toks[nxt] in binding:
                    out.append('"' + "".join(binding[toks[nxt]]).strip() + '"')
                    k = nxt + 1
                    continue
            if t in binding:
                pasted = _adjacent_paste(toks, k)
                out += binding[t] if pasted else self.expand(binding[t], keep)
                k += 1
                continue
            out.append(t)
            k += 1
        return _paste(out)


def _adjacent_paste(toks: list[str], k: int) -> bool:
    for step in (-1, 1):
        j = k + step
        while 0 <= j < len(toks) and toks[j] == " ":
            j += step
        if 0 <= j < len(toks) and toks[j] == "##":
            return True
    return False


def _paste(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "##":
            while out and out[-1] == " ":
                out.pop()
            j = i + 1
            while j < len(tokens) and tokens[j] == " ":
                j += 1
            if out and j < len(tokens):
                out[-1] = out[-1] + tokens[j]
                i = j + 1
                continue
            i += 1
            continue
        out.append(t)
        i += 1
    return out


def _collect(tokens: list[str], open_index: int) -> tuple[list[list[str]], int]:
    """Arguments of a call whose '(' is at open_index, and the index of its ')'."""
    args: list[list[str]] = [[]]
    depth = 0
    i = open_index
    while i < len(tokens):
        t = tokens[i]
        if t == "(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif t == ")":
            depth -= 1
            if depth == 0:
                return args, i
        elif t == "," and depth == 1:
            args.append([])
            i += 1
            continue
        args[-1].append(t)
        i += 1
    return args, len(tokens) - 1
