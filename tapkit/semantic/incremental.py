"""stap -p2's verdict on a script, computed part by part so that an edit re-analyzes only the part it touched.

A script's top-level items fall into parts that cannot see each other: a probe, the globals it names, the
functions it calls and the aliases its points may expand, and everything those name in turn. Each part is
analyzed as a program of its own (tapkit.semantic.analyze on the tree with only its items) and its result
kept in a PartCache under the part's text, so a part moved by an edit elsewhere is reused with its spans
shifted. What the text does not show (a tapset global two parts both reach, an untyped tapset function they
both call: Analysis.entities) joins their parts, which are then analyzed together.

Putting the parts together gives what analyzing the whole script gives (tests/semantic/test_incremental.py
checks it against the whole on every item and on mutations):
- no part has errors: each part's diagnostics, once each (a tapset file two parts pulled in warns once);
- some have: stap stops after the first stage (analysis.STAGES) in which any part fails, at the first error
  of some throw sites, in the order it meets them, so the failing parts, with every part that has a
  diagnostic from that stage on, are analyzed together as one program; the other parts contribute their
  diagnostics (all from earlier stages, which ran to completion in the whole program too). Two exceptions:
  a failure in the optimizer's early type check makes stap report what is still unresolved anywhere, so the
  whole script is analyzed; an "unresolved function" error lists the closest functions resolved so far, so
  the parts defining functions close enough to its name join the failing ones;
- "no probes found" only when no part keeps a probe.
The diagnostics come part after part, not in stap's order (an editor places them by position).
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import functools
import os
import pickle
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tapkit.cache import content_hash, store
from tapkit.diagnostics import Diagnostic, Fix, Related, Span
from tapkit.semantic.analysis import ELIDED, JOIN, STAGES, ScriptFile, analyze, format_errors
from tapkit.semantic.optimize import never_assigned_message
from tapkit.semantic.suggest import UNLIMITED, distance
from tapkit.syntax import ast as A
from tapkit.syntax.library import syntax_version
from tapkit.syntax.parser import ParseResult
from tapkit.syntax.walk import walk
from tapkit.values import Value, replace

if TYPE_CHECKING:
    from tapkit.semantic.library import TapsetLibrary
    from tapkit.semantic.options import AnalysisOptions

NO_PROBES = "sem.no-probes"
REJOIN_EVERY = 16  # analyses of a file joining its parts as last time, before one that finds the joins afresh
_RANK = {stage: i for i, stage in enumerate(STAGES)}


class PartResult(Value):
    """A part's verdict as analyzed at lines (each item's first and last line), to be moved when reused."""

    diagnostics: tuple[Diagnostic, ...]
    stages: tuple[str, ...]
    entities: frozenset[tuple[str, str, str]]  # (kind, name, state): analysis.signatures
    probes: int  # the derived probes the optimizer kept
    lines: tuple[tuple[int, int], ...]
    global_names: frozenset[str]  # Analysis.global_names and never_assigned: to redraw "similar" lists
    never_assigned: tuple[tuple[str, str, Span, frozenset[str]], ...]

    @property
    def failed(self) -> int | None:
        """The rank of the first stage with an error ("no probes found" aside), None without errors."""
        ranks = [_RANK[st] for d, st in zip(self.diagnostics, self.stages, strict=True)
                 if d.is_error and d.code != NO_PROBES]
        return min(ranks) if ranks else None


@functools.cache
def code_version() -> str:
    """Changes whenever the code that decides a verdict does: parts on disk from other code are never read."""
    root = Path(__file__).parent.parent
    files = sorted([*root.glob("semantic/*.py"), *root.glob("debuginfo/**/*.py")])
    return syntax_version() + content_hash(b"\0".join(p.read_bytes() for p in files))


def _prune(directory: Path, keep: int) -> None:
    """At most keep parts on disk: the least recently written go (every edit writes one)."""
    try:
        files = [(e.stat().st_mtime_ns, e.path) for e in os.scandir(directory) if e.name.endswith(".pickle")]
    except OSError:
        return
    if len(files) > keep:
        for _, path in sorted(files)[:len(files) - keep // 2]:
            with contextlib.suppress(OSError):
                os.unlink(path)


class PartCache:
    """The last parts analyzed, by their text and everything else that decides their verdict; with a directory,
    also on disk (a language server started again finds the parts of the scripts it saw)."""

    def __init__(self, size: int = 4000, directory: Path | None = None, keep: int = 20000) -> None:
        self.size = size
        self.directory = directory
        if directory is not None:
            _prune(directory, keep)
        self._parts: OrderedDict[object, PartResult] = OrderedDict()
        self._items: OrderedDict[object, tuple[frozenset[str], bool]] = OrderedDict()
        self._lock = threading.Lock()
        self.runs = 0  # parts analyzed (not found here): what tests and the bench read
        # per file: its items' texts as last grouped, and how many analyses ago groups were last found afresh
        self.joined: dict[str, tuple[list[frozenset[object]], int]] = {}

    def _file(self, key: object) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{content_hash(code_version() + repr(key))}.pickle"

    def get(self, key: object) -> PartResult | None:
        with self._lock:
            hit = self._parts.get(key)
            if hit is not None:
                self._parts.move_to_end(key)
                return hit
        path = self._file(key)
        if path is None or not path.exists():
            return None
        try:
            found = pickle.loads(path.read_bytes())
        except Exception:  # a file cut short or from another version: analyzed again, and rewritten
            return None
        if not isinstance(found, PartResult):
            return None
        with self._lock:
            self._parts[key] = found
        return found

    def item(self, key: object, item: A.Item) -> tuple[frozenset[str], bool]:
        """names_in(item), and whether a printf format in it is wrong (format_errors), by the item's text."""
        with self._lock:
            hit = self._items.get(key)
        if hit is None:
            hit = (names_in(item), bool(format_errors(item)))
            with self._lock:
                self._items[key] = hit
                while len(self._items) > 8 * self.size:
                    self._items.popitem(last=False)
        return hit

    def put(self, key: object, value: PartResult) -> None:
        with self._lock:
            self._parts[key] = value
            self.runs += 1
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)
        path = self._file(key)
        if path is not None:
            store(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


# ---------------------------------------------------------------- parts from the text

class Union:
    """Disjoint sets of 0..n-1, each named by its smallest member."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)

    def merged(self, groups: list[list[int]]) -> list[list[int]]:
        """groups (one per member) merged by set, each sorted, in the order of their first group."""
        out: dict[int, list[int]] = {}
        for i, g in enumerate(groups):
            out.setdefault(self.find(i), []).extend(g)
        return [sorted(set(g)) for g in out.values()]


def names_in(node: A.Node) -> frozenset[str]:
    """Every name the item uses or declares (variables, calls, probe-point components): more than it needs,
    never less, so that parts are joined whenever they might share something."""
    return frozenset(n.name for n in walk(node) if isinstance(getattr(n, "name", None), str))  # type: ignore[attr-defined]


def point_heads(points: Iterable[A.ProbePoint]) -> set[str]:
    """The first component of each point (every alternative of a `{a, b}` group)."""
    out: set[str] = set()
    for p in points:
        head = p.components[0] if p.components else None
        if isinstance(head, A.Component):
            out.add(head.name)
        elif isinstance(head, A.ComponentGroup):
            out |= point_heads(head.alternatives)
    return out


def parts_of(items: Sequence[A.Item], item_names: Sequence[frozenset[str]] | None = None) -> list[list[int]]:
    """The items (indexes, in order) of each part, parts in the order of their first item. Top-level embedded
    C and unparsed items belong to every part (they are not items anything names), and so do aliases.
    item_names: names_in() of each item, when known."""
    sets = Union(len(items))
    owner: dict[str, list[int]] = {}  # a global's or function's name -> the items declaring it
    aliases: list[tuple[set[str], int]] = []
    shared: list[int] = []
    for i, item in enumerate(items):
        if isinstance(item, A.GlobalDecl):
            for v in item.vars:
                owner.setdefault(v.name, []).append(i)
        elif isinstance(item, A.FunctionDecl):
            owner.setdefault(item.name, []).append(i)
        elif isinstance(item, A.AliasDecl):
            aliases.append((point_heads(item.names), i))
        elif not isinstance(item, A.ProbeDecl):
            shared.append(i)
    for i, item in enumerate(items):
        if isinstance(item, A.EmbeddedCode | A.ErrorItem):
            continue
        for name in item_names[i] if item_names is not None else names_in(item):
            for j in owner.get(name, ()):
                sets.join(i, j)
        if isinstance(item, A.ProbeDecl | A.AliasDecl):
            heads = point_heads(item.points)
            for names, j in aliases:
                if any(fnmatch.fnmatchcase(a, h) or fnmatch.fnmatchcase(h, a) for a in names for h in heads):
                    sets.join(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        if i not in shared:
            groups.setdefault(sets.find(i), []).append(i)
    shared += [i for _, i in aliases]  # every alias in every part: "similar" lists of probe points name them
    return [sorted(set(g + shared)) for g in sorted(groups.values())] or ([shared] if shared else [])


# ---------------------------------------------------------------- analyzing parts

class Lines:
    """Offsets of the text's lines, for item spans -> text slices."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        pos = text.find("\n")
        while pos >= 0:
            self.starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    def offset(self, line: int, column: int) -> int:
        return self.starts[min(line, len(self.starts)) - 1] + column - 1

    def item_text(self, span: Span) -> str:
        """The item from the start of its first line: its text and its column both decide its verdict."""
        return self.text[self.offset(span.line, 1):self.offset(span.end_line, span.end_column)]


def analyze_in_parts(file: ScriptFile, library: TapsetLibrary, options: AnalysisOptions, cache: PartCache,
                     context: object) -> list[Diagnostic]:
    """The diagnostics analyze([file], library, options) gives, by parts (see the module docstring). context:
    what else decides a part's verdict besides its text (the library, target and options: the caller knows)."""
    tree = file.parsed.file
    parse_diags = [*library.diagnostics, *file.parsed.diagnostics]
    if any(d.is_error for d in parse_diags):
        return parse_diags
    lines = Lines(file.text)
    defined: dict[str, tuple[str, ...]] = {}
    for m in tree.macros:
        if m.span.file == file.path:
            defined[m.name] = (*defined.get(m.name, ()), lines.item_text(m.span))
    texts = [(text, _macros_used(text, defined)) for text in (lines.item_text(item.span) for item in tree.items)]
    facts = [cache.item(text, item) for text, item in zip(texts, tree.items, strict=True)]
    for item, (_, bad_format) in zip(tree.items, facts, strict=True):
        if bad_format:
            parse_diags += format_errors(item)
    if any(d.is_error for d in parse_diags):
        return parse_diags
    runner = _Runner(file, library, options, cache, (file.path, context), texts)
    groups = parts_of(tree.items, [names for names, _ in facts])
    before, age = cache.joined.get(file.path, ([], 0))
    if age < REJOIN_EVERY:  # then once without: a join the text no longer calls for ends there
        groups = _joined_before(groups, texts, before)
    results = [runner.run(g) for g in groups]
    while True:  # parts that reach one entity the text does not show are analyzed together
        joined = _join_by_entities(groups, results)
        if len(joined) == len(groups):
            break
        groups = joined
        results = [runner.run(g) for g in groups]
    cache.joined[file.path] = ([frozenset(texts[i] for i in g) for g in groups], (age + 1) % (REJOIN_EVERY + 1))
    failed = [r.failed for r in results if r.failed is not None]
    if not failed:
        out = [d for r in results for d in r.diagnostics if d.code != NO_PROBES]
        if not any(r.probes for r in results):  # then every part says so (an empty script too)
            out += [d for d in (results[0] if results else runner.run([])).diagnostics if d.code == NO_PROBES]
        return _once(parse_diags + _redrawn(out, results))
    first = min(failed)
    together: set[int] = set()
    rest: list[PartResult] = []
    for g, r in zip(groups, results, strict=True):
        if r.failed is not None or any(_RANK[st] >= first for st, d in zip(r.stages, r.diagnostics, strict=True)
                                       if d.code != NO_PROBES) or first == _RANK["optimize"]:
            together.update(g)
    close = _close_functions([d for r in results if r.failed is not None for d in r.diagnostics], tree.items)
    for g, r in zip(groups, results, strict=True):
        if close & set(g):
            together.update(g)
        elif not together >= set(g):
            rest.append(r)
    whole = runner.run(sorted(together))
    out = [d for r in rest for d in r.diagnostics if d.code != NO_PROBES]
    return _once(parse_diags + _redrawn(out + [d for d in whole.diagnostics if d.code != NO_PROBES], [*results, whole]))


_UNRESOLVED = re.compile(r"unresolved function (\S+)(?: \(similar: ([^)]*)\))?")


def _close_functions(diags: list[Diagnostic], items: Sequence[A.Item]) -> set[int]:
    """The script functions that could be in an "unresolved function" error's list of similar names (stap
    lists the closest five of the functions resolved so far, which depends on what came before)."""
    out: set[int] = set()
    for d in diags:
        m = _UNRESOLVED.match(d.message) if d.code == "sem.unresolved-function" else None
        if m is None:
            continue
        listed = m.group(2).split(", ") if m.group(2) else []
        worst = max(distance(m.group(1), n) for n in listed) if len(listed) >= 5 else UNLIMITED
        out |= {i for i, item in enumerate(items)
                if isinstance(item, A.FunctionDecl) and distance(m.group(1), item.name) <= worst}
    return out


def _redrawn(diags: list[Diagnostic], results: Sequence[PartResult]) -> list[Diagnostic]:
    """diags with each "never-assigned" warning's list of similar names drawn from the whole script's globals
    (a part saw its own)."""
    everything = frozenset().union(*(r.global_names for r in results))
    drawn = {(name, span): (kind, own) for r in results for kind, name, span, own in r.never_assigned}
    out = []
    for d in diags:
        name = d.saw[len("identifier '"):-1] if d.code == "sem.never-assigned" and d.saw else ""
        if (name, d.span) in drawn:
            kind, own = drawn[(name, d.span)]
            names = (own | everything) - ({name} if kind == "local" else set())
            d = replace(d, message=never_assigned_message(kind, name, names))
        out.append(d)
    return out


_MACRO_CALL = re.compile(r"@([A-Za-z_]\w*)")


def _macros_used(text: str, defined: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The definitions of the script's own macros text may expand (those they expand in turn too): with its
    text, what an item's expansion depends on."""
    todo = [n for n in _MACRO_CALL.findall(text) if n in defined]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [n for body in defined[name] for n in _MACRO_CALL.findall(body) if n in defined]
    return tuple(body for name in sorted(seen) for body in defined[name])


def _joined_before(groups: list[list[int]], texts: Sequence[object],
                   before: list[frozenset[object]]) -> list[list[int]]:
    """groups, those whose items were in one group at the last analysis of the file joined up front (an edit
    seldom changes what joins them; joining more than needed costs time, never the verdict)."""
    # an item in several groups (an alias) or whose text repeats (`probe end { exit() }`) says nothing of its group
    count = Counter(texts[j] for g in groups for j in g)
    where = {text: k for k, group in enumerate(before) for text in group if count[text] == 1}
    owner: dict[int, int] = {}  # a group of before -> the first of groups holding one of its items
    sets = Union(len(groups))
    for i, g in enumerate(groups):
        for k in {where[texts[j]] for j in g if texts[j] in where}:
            sets.join(i, owner.setdefault(k, i))
    return sets.merged(groups)


def _join_by_entities(groups: list[list[int]], results: list[PartResult]) -> list[list[int]]:
    """Groups reaching an entity in different states (or one that always joins) become one."""
    states: dict[tuple[str, str], set[str]] = {}
    reach: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(results):
        for kind, name, sig in r.entities:
            states.setdefault((kind, name), set()).add(sig)
            reach.setdefault((kind, name), []).append(i)
    sets = Union(len(groups))
    for key, sigs in states.items():
        kind = key[0].split("/")[0]
        if kind == "local":  # joins only with the parts declaring a script global of that name
            reached = reach.get((key[0].replace("local", "script-global"), key[1]))
            if reached:
                for i in reach[key]:
                    sets.join(i, reached[0])
            continue
        if kind == "script-global":
            continue
        if kind == "function":
            sigs = sigs - {ELIDED}  # the parts that elided it do not call it any more
        if len(reach[key]) > 1 and (len(sigs) > 1 or JOIN in sigs):
            for i in reach[key][1:]:
                sets.join(i, reach[key][0])
    return sets.merged(groups)


def _once(diags: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diags))


class _Runner:
    def __init__(self, file: ScriptFile, library: TapsetLibrary, options: AnalysisOptions, cache: PartCache,
                 context: object, texts: list[tuple[str, tuple[str, ...]]]) -> None:
        self.file, self.library, self.options, self.cache, self.context, self.texts = \
            file, library, options, cache, context, texts
        self.items = file.parsed.file.items

    def run(self, indexes: list[int]) -> PartResult:
        items = [self.items[i] for i in indexes]
        key = (self.context, tuple(self.texts[i] for i in indexes))
        where = tuple((it.span.line, it.span.end_line) for it in items)
        hit = self.cache.get(key)
        if hit is None:
            tree = replace(self.file.parsed.file, items=tuple(items))
            a = analyze([ScriptFile(self.file.path, self.file.text, ParseResult(tree, ()))], self.library,
                        self.options, compact_tables=True)
            hit = PartResult(tuple(a.diagnostics), a.stages, a.entities, len(a.probes), where, a.global_names,
                             a.never_assigned)
            a.dispose()
            self.cache.put(key, hit)
        if hit.lines != where:
            hit = _moved(hit, where, self.file.path)
        return hit


def _moved(r: PartResult, where: tuple[tuple[int, int], ...], path: str) -> PartResult:
    """r with the spans inside each of its items moved from the item's old lines to where it is now."""
    olds = sorted(zip(r.lines, where, strict=True))
    firsts = [old[0] for old, _ in olds]

    def span(sp: Span) -> Span:
        if sp.file != path:
            return sp
        k = bisect.bisect_right(firsts, sp.line) - 1
        if k < 0 or sp.line > olds[k][0][1]:
            return sp
        delta = olds[k][1][0] - olds[k][0][0]
        return replace(sp, line=sp.line + delta, end_line=sp.end_line + delta)

    def diag(d: Diagnostic) -> Diagnostic:
        return replace(d, span=span(d.span), related=tuple(Related(r.message, span(r.span)) for r in d.related),
                       fixes=tuple(Fix(f.title, span(f.span), f.new_text) for f in d.fixes))

    return PartResult(tuple(diag(d) for d in r.diagnostics), r.stages, r.entities, r.probes, where, r.global_names,
                      tuple((kind, name, span(sp), own) for kind, name, sp, own in r.never_assigned))

