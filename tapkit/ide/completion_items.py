"""What completion hands out: items with a kind, a detail and documentation, and the span they replace."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tapkit.diagnostics import Span


class CompletionKind(Enum):
    KEYWORD = "keyword"
    SNIPPET = "snippet"
    FUNCTION = "function"
    VARIABLE = "variable"
    PARAMETER = "parameter"
    GLOBAL = "global"
    MACRO = "macro"
    PROBE = "probe"  # a probe-point component or alias
    CONSTANT = "constant"  # a %( %) condition name
    TYPE = "type"  # a C type (in @cast) or a parameter type
    FIELD = "field"  # a struct member after `->`
    MODULE = "module"  # a kernel module name
    FILE = "file"  # a path (process("…"))
    FOLDER = "folder"


@dataclass(frozen=True, slots=True)
class Completion:
    label: str
    kind: CompletionKind
    detail: str = ""
    documentation: str = ""  # markdown
    insert_text: str | None = None  # None: the label
    snippet: bool = False  # insert_text uses LSP snippet syntax ($1, ${1:x})
    sort_key: str = ""
    filter_text: str | None = None
    resolve: tuple[str, ...] = ()  # what resolve_completion needs to add documentation later


@dataclass(frozen=True, slots=True)
class Completions:
    replace: Span  # the typed prefix that every item replaces
    items: tuple[Completion, ...]
    incomplete: bool = False  # more would match: ask again as the user types
