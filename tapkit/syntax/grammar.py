"""Loading grammar.lark once and turning lark's LALR table into the compact form the parser drives."""

from __future__ import annotations

import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

from tapkit.values import Value

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")


class Rule(Value):
    name: str  # the alias (or rule name) naming its action in builder.py
    origin: str
    size: int


class Tables(Value):
    """states[state][terminal or rule] = (True, next_state) for shift/goto, (False, rule index) for reduce."""

    states: dict[int, dict[str, tuple[bool, int]]]
    rules: tuple[Rule, ...]
    start: int
    end: int
    terminal_text: dict[str, str]  # terminal name -> how it is written, for "expected ..." messages


def _build() -> Tables:
    from lark import Lark
    from lark.lexer import Lexer
    from lark.parsers.lalr_analysis import Shift

    class _NoLexer(Lexer):  # tokens come from tokens.py
        def __init__(self, conf: Any) -> None:
            pass

        def lex(self, data: Any) -> Any:  # type: ignore[override]
            raise NotImplementedError

    lark = Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer=_NoLexer)
    table = lark.parser.parser.parser.parse_table
    rule_index: dict[Any, int] = {}
    rules: list[Rule] = []
    for r in lark.rules:
        rule_index[r] = len(rules)
        rules.append(Rule(str(r.alias or r.origin.name), str(r.origin.name), len(r.expansion)))
    states: dict[int, dict[str, tuple[bool, int]]] = {}
    # one object per distinct action and symbol name: the pickle then stores each once, and loading
    # the tables (once per process) takes ~2 ms instead of ~9 ms
    shared: dict[object, Any] = {}
    for state, actions in table.states.items():
        row: dict[str, tuple[bool, int]] = {}
        for sym, (action, arg) in actions.items():
            act = (True, arg) if action is Shift else (False, rule_index[arg])
            row[shared.setdefault(str(sym), str(sym))] = shared.setdefault(act, act)
        states[state] = row
    texts = {t.name: t.pattern.value for t in lark.terminals if hasattr(t.pattern, "value")}
    return Tables(states, tuple(rules), table.start_states["start"], table.end_states["start"], texts)


def _lark_version() -> str:
    """lark's version without importing lark (30 ms): only building the tables needs lark itself."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("lark")
    if spec is not None and spec.origin:
        m = re.search(r"""^__version__\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", Path(spec.origin).read_text(), re.M)
        if m:
            return m.group(1)
    import lark

    return str(lark.__version__)


_TABLES_FORMAT = b"values-2"  # changes when Tables/Rule pickle differently


def _cache_file() -> Path:
    from tapkit.cache import cache_dir, content_hash

    key = content_hash(GRAMMAR_PATH.read_bytes() + _lark_version().encode() + _TABLES_FORMAT)
    return cache_dir("grammar") / f"tables-{key}.pickle"


@lru_cache(maxsize=1)
def tables() -> Tables:
    """The LALR tables, computed by lark once and then kept in the cache dir (building takes ~0.25 s)."""
    path = _cache_file()
    try:
        with path.open("rb") as f:
            loaded = pickle.load(f)
        if isinstance(loaded, Tables):
            return loaded
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    built = _build()
    tmp = path.with_suffix(f".tmp{id(built)}")
    try:
        with tmp.open("wb") as f:
            pickle.dump(built, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        pass
    return built
