"""Grammar actions: each alternative of grammar.lark (by its `->` name) becomes AST nodes as LALR reduces.

Checks that stap makes inside its parser but that a context-free grammar cannot say
(number ranges, duplicate names, `?` respecified, print argument rules, privilege) are
made here and reported as Issues with stap's wording.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapkit.syntax.build_base import Child, parse_c_number
from tapkit.syntax.build_exprs import ExpressionActions
from tapkit.syntax.build_items import ItemActions

__all__ = ["Builder", "Child", "parse_c_number", "rule_actions"]


class Builder(ItemActions, ExpressionActions):
    """The actions of every grammar.lark alternative, for one file."""


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

