"""Probe points: the match tree of built-in families and aliases, and derivation as stap does it.

A script's `probe P1, P2 { … }` is matched component by component against a tree whose leaves
are builders: a built-in family (begin, timer.ms(N), module("m").function("f"), …) or a probe
alias from a tapset. Wildcards in component names (`syscall.*`) try every matching branch;
an alias expands to its own locations with its prologue/epilogue around the body, and those
are derived in turn. `?` makes a point optional, `!` sufficient, `if (cond)` adds a condition.
Errors follow stap's rules: a required point that derives nothing is "no match", optional
failures are only reported when something required failed too.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tapkit.semantic.errors import SemanticError, Where
from tapkit.semantic.suggest import levenshtein_suggest
from tapkit.syntax import ast as A
from tapkit.syntax.probes import expand_probe_point

if TYPE_CHECKING:
    from tapkit.semantic.session import DerivedProbe, Session

ArgLiteral = A.NumberLiteral | A.StringLiteral


@dataclass(eq=False)
class Comp:
    """One component during derivation (stap's probe_point::component)."""

    functor: str
    arg: ArgLiteral | None
    where: Where
    from_glob: bool = False

    @property
    def arg_kind(self) -> str | None:
        if self.arg is None:
            return None
        return "string" if isinstance(self.arg, A.StringLiteral) else "number"

    def text(self) -> str:
        if self.arg is None:
            return self.functor
        if isinstance(self.arg, A.StringLiteral):
            return f'{self.functor}("{self.arg.value}")'
        return f"{self.functor}({self.arg.value})"


@dataclass(eq=False)
class Point:
    """A probe point being derived: components, `?`/`!` and the conditions to AND together."""

    comps: list[Comp]
    optional: bool = False
    sufficient: bool = False
    conditions: tuple[A.Expr, ...] = ()
    src: A.ProbePoint | None = None
    well_formed: bool = True

    def copy(self) -> Point:
        return Point(list(self.comps), self.optional, self.sufficient, self.conditions, self.src, self.well_formed)

    def text(self, flags: bool = True) -> str:
        s = ".".join(c.text() for c in self.comps)
        if flags:
            if self.sufficient:
                s += "!"
            elif self.optional:
                s += "?"
        return s


@dataclass(frozen=True, eq=False)
class WithWrites:
    """An alias's second body, with the names the probe using it writes (for its @probewrite(x) tests)."""

    block: A.Block
    written: frozenset[str]


Body = A.Block | WithWrites | tuple["Body", ...]


def written_names(body: Body) -> frozenset[str]:
    """Variables (and $targets) a body assigns, increments, deletes, iterates into or catches into."""
    from tapkit.syntax.walk import walk

    blocks: list[A.Block] = []
    stack: list[Body] = [body]
    while stack:
        b = stack.pop()
        if isinstance(b, A.Block):
            blocks.append(b)
        elif isinstance(b, WithWrites):
            blocks.append(b.block)
        else:
            stack.extend(b)
    out: set[str] = set()

    def target_name(e: A.Node) -> str | None:
        while isinstance(e, A.Paren):
            e = e.expr
        if isinstance(e, A.ArrayIndex):
            e = e.base
        if isinstance(e, A.Var):
            return e.name
        if isinstance(e, A.TargetVar):
            return e.name
        return None

    for block in blocks:
        for n in walk(block):
            name = None
            if isinstance(n, A.Assignment):
                name = target_name(n.target)
            elif isinstance(n, A.Crement):
                name = target_name(n.operand)
            elif isinstance(n, A.DeleteStatement):
                name = target_name(n.target)
            elif isinstance(n, A.ForeachLoop):
                out.update(k.name for k in n.keys)
                if n.value is not None:
                    out.add(n.value.name)
            elif isinstance(n, A.TryStatement) and n.catch_var is not None:
                out.add(n.catch_var.name)
            if name is not None:
                out.add(name)
    return frozenset(out)


@dataclass(eq=False)
class ProbeSpec:
    """A probe to derive: the user's (or a library file's), or an alias expansion of one (stap's probe)."""

    points: list[Point]
    body: Body
    decl: A.ProbeDecl
    file: str
    base: ProbeSpec | None = None
    alias: AliasRef | None = None
    alias_point: Point | None = None  # the alias name this expansion stands for (with any suffix)
    privileged: bool = False

    def chain(self) -> list[ProbeSpec]:
        out: list[ProbeSpec] = []
        p: ProbeSpec | None = self
        while p is not None:
            out.append(p)
            p = p.base
        return out


@dataclass(frozen=True)
class AliasRef:
    """An alias declaration: item `item` of a library file (its index) or of a user file (library_file None).

    The declaration itself is loaded only when the alias is expanded (Session.alias_decl).
    """

    file_path: str
    item: int
    library_file: int | None


def points_of(pps: tuple[A.ProbePoint, ...]) -> list[Point]:
    """Syntax probe points to derivation points, brace groups expanded as stap's parser does."""
    out = []
    for pp in pps:
        for x in expand_probe_point(pp):
            comps = [Comp(c.name, c.arg if isinstance(c.arg, A.NumberLiteral | A.StringLiteral) else None,
                          _component_where(c))
                     for c in x.components if isinstance(c, A.Component)]
            out.append(Point(comps, x.optional, x.sufficient, (x.condition,) if x.condition is not None else (),
                             pp, True))
    return out


def _component_where(c: A.Component) -> Where:
    head = c.name.split("*", 1)[0]
    if not head:
        return Where(c.name_span, "operator '*'")
    return Where(c.name_span, f"identifier '{head}'")


# ---------------------------------------------------------------- the match tree

class Builder(Protocol):
    @property
    def name(self) -> str: ...

    def build(self, s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
              results: list[DerivedProbe]) -> None: ...

    def build_with_suffix(self, s: Session, probe: ProbeSpec, loc: Point, suffix: list[Comp],
                          results: list[DerivedProbe]) -> None: ...


MatchKey = tuple[str, str | None]


class MatchNode:
    """A node of the match tree: sub-components and the builders of points that end here.

    A node can start out as a piece of the library's alias trie (children, alias numbers) and
    turn into nodes only when derivation walks through it: most of the ~6,000 alias names are
    never visited by a given script."""

    __slots__ = ("_ends", "_make", "_sub", "_trie")

    def __init__(self, trie: Any = None, make: Callable[[int], Builder] | None = None) -> None:
        self._trie = trie  # a TrieNode, or pickled bytes of one
        self._make = make
        self._sub: dict[MatchKey, MatchNode] | None = None if trie is not None else {}
        self._ends: list[Builder] | None = None if trie is not None else []

    def _materialize(self) -> None:
        import pickle

        from tapkit.semantic.library import split_trie_key

        trie = self._trie
        if isinstance(trie, bytes):
            trie = pickle.loads(trie)
        children, ends = trie
        make = self._make
        self._sub = {split_trie_key(key): MatchNode(child, make) for key, child in children.items()}
        self._ends = [make(i) for i in ends] if make is not None else []
        self._trie = None

    @property
    def sub(self) -> dict[MatchKey, MatchNode]:
        if self._sub is None:
            self._materialize()
        assert self._sub is not None
        return self._sub

    @property
    def ends(self) -> list[Builder]:
        if self._ends is None:
            self._materialize()
        assert self._ends is not None
        return self._ends

    def bind(self, key: MatchKey) -> MatchNode:
        sub = self.sub
        node = sub.get(key)
        if node is None:
            node = sub[key] = MatchNode()
        return node

    def suggest(self, functor: str) -> str:
        star = functor.find("*")
        if star > 0:
            functor = functor[:star]
        if not functor:
            return ""
        return levenshtein_suggest(functor, {name for name, _ in self.sub}, 5)


def LazyMatchNode(trie: dict[str, bytes], make: Callable[[int], Builder]) -> MatchNode:
    """The root of a match tree over the library's alias trie (subtrees stay pickled until reached)."""
    return MatchNode((trie, ()), make)


class RecursiveExpansion(SemanticError):
    pass


def _key_text(key: MatchKey) -> str:
    name, kind = key
    return f"{name}({kind})" if kind else name


def find_and_build(s: Session, probe: ProbeSpec, loc: Point, pos: int, node: MatchNode,
                   results: list[DerivedProbe], builders: set[str]) -> None:
    """stap's match_node::find_and_build: match loc's components from pos, building at the leaves."""
    suppressed = loc.optional or loc.sufficient
    s.costly_suppressed += suppressed
    try:
        if pos == len(loc.comps):
            if not node.ends:
                alternatives = "".join(" " + _key_text(k) for k in sorted(node.sub, key=_sort_key))
                raise SemanticError("sem.probe-truncated", f"probe point truncated (follow:{alternatives})",
                                    loc.comps[-1].where)
            params = {c.functor: c.arg for c in loc.comps}
            before = len(results)
            for b in node.ends:
                b.build(s, probe, loc, params, results)
            if len(results) == before:
                builders.update(b.name for b in node.ends)
            return
        comp = loc.comps[pos]
        functor = comp.functor
        if "**" in functor:
            _double_glob(s, probe, loc, pos, node, results, builders)
            return
        if "*" in functor:
            before = len(results)
            for (name, kind), sub in sorted(node.sub.items(), key=lambda kv: _sort_key(kv[0])):
                if kind == comp.arg_kind and fnmatch.fnmatchcase(name, functor):
                    concrete = loc.copy()
                    concrete.comps[pos] = Comp(name, comp.arg, comp.where, True)
                    try:
                        find_and_build(s, probe, concrete, pos + 1, sub, results, builders)
                    except RecursiveExpansion:
                        raise
                    except SemanticError:
                        pass  # wildcard branches that fail are skipped
            if len(results) == before:
                _try_suffix(s, probe, loc, pos, node, results)
            if not loc.optional and len(results) == before:
                sugs = node.suggest(functor)
                raise SemanticError("sem.probe-mismatch", "probe point mismatch: didn't find any wildcard matches"
                                    + (f" (similar: {sugs})" if sugs else ""), comp.where)
            return
        exact = node.sub.get((functor, comp.arg_kind))
        if exact is not None:
            find_and_build(s, probe, loc, pos + 1, exact, results, builders)
            return
        before = len(results)
        _try_suffix(s, probe, loc, pos, node, results)
        if not loc.optional and len(results) == before:
            sugs = node.suggest(functor)
            raise SemanticError("sem.probe-mismatch", "probe point mismatch" + (f" (similar: {sugs})" if sugs else ""),
                                comp.where)
    finally:
        s.costly_suppressed -= suppressed


def _sort_key(key: MatchKey) -> tuple[str, int, int]:
    # std::map order of match_key: name, then has-parameter, then parameter type (unknown < long < string)
    name, kind = key
    return (name, kind is not None, {None: 0, "number": 1, "string": 2}[kind])


def _double_glob(s: Session, probe: ProbeSpec, loc: Point, pos: int, node: MatchNode,
                 results: list[DerivedProbe], builders: set[str]) -> None:
    comp = loc.comps[pos]
    functor = comp.functor
    start = functor.find("**")
    end = start
    while end < len(functor) and functor[end] == "*":
        end += 1
    prefix, suffix = functor[:start], functor[end:]
    before = len(results)
    simple = loc.copy()
    simple.comps[pos] = Comp(prefix + "*" + suffix, comp.arg, comp.where, True)
    try:
        find_and_build(s, probe, simple, pos, node, results, builders)
    except RecursiveExpansion:
        raise
    except SemanticError:
        pass
    expanded = loc.copy()
    expanded.comps[pos:pos + 1] = [Comp(prefix + "*", None, comp.where, True),
                                   Comp("**" + suffix, comp.arg, comp.where, comp.from_glob)]
    after_simple = len(results)
    try:
        find_and_build(s, probe, expanded, pos, node, results, builders)
    except RecursiveExpansion:
        raise
    except SemanticError:
        pass
    if len(results) == after_simple == before:
        _try_suffix(s, probe, loc, pos, node, results)
    if not loc.optional and len(results) == before:
        sugs = node.suggest(functor)
        raise SemanticError("sem.probe-mismatch", "probe point mismatch: didn't find any wildcard matches"
                            + (f" (similar: {sugs})" if sugs else ""), comp.where)


def _try_suffix(s: Session, probe: ProbeSpec, loc: Point, pos: int, node: MatchNode,
                results: list[DerivedProbe]) -> None:
    """PR12210: components left over after a complete alias name are appended to its expansion."""
    suffix = loc.comps[pos:]
    for b in node.ends:
        try:
            b.build_with_suffix(s, probe, loc, suffix, results)
        except RecursiveExpansion:
            raise
        except SemanticError as e:
            if not loc.optional:
                raise SemanticError(e.code, e.message, loc.comps[pos].where, e.chain) from None


# ---------------------------------------------------------------- derivation

def derive_probes(s: Session, probe: ProbeSpec, results: list[DerivedProbe], optional: bool = False,
                  rethrow: bool = False) -> None:
    """stap's derive_probes: every location of probe, with its `?`/`!` rules and error reporting."""
    undo = False
    if optional and not s.parent_optional:
        s.parent_optional = True
        undo = True
    optional_errors: list[SemanticError] = []
    try:
        for loc in probe.points:
            builders: set[str] = set()
            try:
                before = len(results)
                try:
                    find_and_build(s, probe, loc, 0, s.match_root, results, builders)
                except SemanticError as e:
                    if not loc.optional and not s.parent_optional:
                        raise
                    optional_errors.append(SemanticError("sem.probe-point", "while resolving probe point",
                                                         loc.comps[0].where, e))
                    continue
                if not (loc.optional or s.parent_optional) and len(results) == before:
                    raise SemanticError("sem.no-match", "no match")
                if loc.sufficient and len(results) > before:
                    break
            except SemanticError as e:
                if rethrow:
                    raise
                s.errors.error(SemanticError(e.code if e.code != "sem.no-match" else "sem.no-match",
                                             "while resolving probe point", loc.comps[0].where, e))
                for err in optional_errors:
                    s.errors.error(err)
    finally:
        if undo:
            s.parent_optional = False


@dataclass(eq=False)
class AliasBuilder:
    """Expands one alias (stap's alias_expansion_builder)."""

    ref: AliasRef
    name_index: int = 0
    name: str = field(default="alias expansion builder")

    def build(self, s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
              results: list[DerivedProbe]) -> None:
        self.build_with_suffix(s, probe, loc, [], results)

    def build_with_suffix(self, s: Session, probe: ProbeSpec, loc: Point, suffix: list[Comp],
                          results: list[DerivedProbe]) -> None:
        decl = s.alias_decl(self.ref)
        # stap's checkForRecursiveExpansion: the probe being derived repeats an alias of its ancestors
        if probe.alias is not None and any(p.alias == probe.alias for p in probe.chain()[1:]):
            raise RecursiveExpansion("sem.alias-recursion",
                                     f"recursive loop in alias expansion of {loc.text()} at {loc.comps[0].where.span}")
        points = []
        for p in points_of(decl.points):
            p.comps += suffix
            p.conditions = p.conditions + loc.conditions
            points.append(p)
        if decl.epilogue:
            body: Body = (probe.body, decl.body)
        elif decl.body2 is not None:
            body = (decl.body, probe.body, WithWrites(decl.body2, written_names(probe.body)))
        else:
            body = (decl.body, probe.body)
        alias_point = points_of((decl.names[0],))[0]
        alias_point.comps += suffix
        alias_point.well_formed = not any("*" in c.functor for c in suffix)
        expansion = ProbeSpec(points, body, probe.decl, probe.file, base=probe, alias=self.ref,
                              alias_point=alias_point, privileged=True)
        before = len(results)
        derive_probes(s, expansion, results, loc.optional, bool(suffix))
        if len(results) > before:
            s.use_alias_file(self.ref)


def register_alias(root: MatchNode, ref: AliasRef, names: tuple[tuple[MatchKey, ...], ...]) -> None:
    """Bind an alias's names into the tree (library aliases first, then the user's, as stap does)."""
    for i, name in enumerate(names):
        node = root
        for key in name:
            node = node.bind(key)
        node.ends.append(AliasBuilder(ref, i))
