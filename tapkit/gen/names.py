"""Names in generated code: valid stap identifiers that say what they read, never a keyword."""

from __future__ import annotations

import re

from tapkit.syntax.tokens import KEYWORDS

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NON_IDENT = re.compile(r"[^A-Za-z0-9_]")

# Variables every generated probe alias sets itself; a parameter with one of these names is renamed.
ALIAS_VARIABLES = frozenset({"name", "argstr", "retstr"})


def is_identifier(text: str) -> bool:
    return bool(_IDENT.match(text)) and text not in KEYWORDS


def identifier(text: str) -> str:
    """text as a stap identifier: other characters become _, a leading digit or a keyword gets a suffix."""
    out = _NON_IDENT.sub("_", text.strip()) or "_"
    if out[0].isdigit():
        out = "_" + out
    return out + "_" if out in KEYWORDS else out


def local_name(text: str, reserved: frozenset[str] = frozenset()) -> str:
    """A local variable for a C name: keywords and reserved names get `_arg` appended (`next` -> `next_arg`)."""
    out = _NON_IDENT.sub("_", text)
    return out + "_arg" if out in KEYWORDS or out in reserved else out


def bare_type_name(spelled: str) -> str:
    """"struct vcache" -> "vcache"; a typedef name stays as it is."""
    parts = spelled.split()
    return parts[-1] if parts and parts[0] in ("struct", "union", "enum") else spelled.strip()
