"""Global associative arrays (runtime/map.c, map-gen.c) and foreach ordering.

An array is a dict in the map's list order: new keys go to the tail, a deleted key that
comes back goes to the tail again, and a sorted foreach sorts the map in place (so a later
unsorted foreach sees the sorted order, as in stap). Keys are the index value for one
index and a tuple for several. Capacity is MAXMAPENTRIES (or `global a[N]`); a full map
refuses new keys with stap's "Array overflow" error, or, for `global a%[N]`, reuses its
oldest entry.

Changing an array inside a foreach over it is refused by stap's pass 2 ("variable 'a'
modified during 'foreach' iteration", "function call modifies var 'a' during 'foreach'
iteration"), so foreach_keys can hand out a snapshot. One consequence: a sorted foreach
nested in a loop over the same array reorders the map under the outer loop's C iterator in
stap, while here the outer loop keeps its own order.

Statistics arrays are per-CPU maps in stap whose aggregate is rebuilt, in hash order
with a per-session random seed, for every read; their unsorted foreach order is therefore
unspecified there. Here it is insertion order, and sorting them does not reorder storage.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from tapkit.runtime.arith import div_nocheck, wrap, wrap32
from tapkit.runtime.errors import StapError, array_overflow
from tapkit.runtime.stats import NO_HIST, HistSpec, Stat

MAXMAPENTRIES = 2048

V = TypeVar("V")
Key = Hashable
Pattern = Sequence[Any]  # one entry per index; None is the `*` wildcard


class _Map(Generic[V]):
    __slots__ = ("d", "maxsize", "overflow", "wrap")

    def __init__(self, maxsize: int | None = None, wrap: bool = False) -> None:
        self.d: dict[Key, V] = {}
        self.maxsize = maxsize if maxsize is not None and maxsize > 0 else MAXMAPENTRIES
        self.wrap = wrap
        self.overflow = array_overflow(maxsize)

    def _make_room(self, where: str | None) -> None:
        """Called when a new key is about to be added to a full map."""
        if not self.wrap:
            raise StapError(self.overflow, where)
        del self.d[next(iter(self.d))]  # %[N] arrays reuse the oldest node

    def __len__(self) -> int:
        return len(self.d)

    def __contains__(self, key: Key) -> bool:
        return key in self.d

    def delete(self, key: Key) -> None:
        self.d.pop(key, None)

    def clear(self) -> None:
        self.d.clear()

    def contains_slice(self, pattern: Pattern) -> int:
        """`[k1, *, k3] in a`."""
        return 1 if any(_matches(k, pattern) for k in self.d) else 0

    def delete_slice(self, pattern: Pattern) -> None:
        """`delete a[*, k2]`."""
        for k in [k for k in self.d if _matches(k, pattern)]:
            del self.d[k]

    def _sort_value(self, aggregate: str) -> Callable[[V], Any]:
        return lambda v: v

    def foreach_keys(self, column: int | None = None, descending: bool = False, limit: int | None = None,
                     pattern: Pattern | None = None, aggregate: str = "count") -> list[Key]:
        """The keys one `foreach` visits, in order.

        column: None for no sorting, 0 to sort by value (for statistics, by `aggregate`:
        count/sum/min/max/avg), i >= 1 by the i-th index. limit counts every element
        walked, including those a slice `pattern` then skips (that is how stap's loop is built).
        """
        if column is not None:
            keys = self._sort(column, descending, limit)
        else:
            keys = list(self.d)
        if limit is not None:
            keys = keys[: max(limit, 0)]
        if pattern is not None:
            keys = [k for k in keys if _matches(k, pattern)]
        return keys

    def _sort(self, column: int, descending: bool, limit: int | None) -> list[Key]:
        key_of = self._sort_key(column)
        items = list(self.d.items())
        n = wrap32(limit) if limit is not None else 0
        if n == 0 or n > 30:
            items.sort(key=key_of, reverse=descending)
        else:
            _sortn(items, n, key_of, descending)
        self._store_order(items)
        return [k for k, _ in items]

    def _sort_key(self, column: int, aggregate: str = "count") -> Callable[[tuple[Key, V]], Any]:
        if column == 0:
            value_of = self._sort_value(aggregate)
            return lambda kv: value_of(kv[1])
        index = column - 1
        return lambda kv: kv[0][index] if isinstance(kv[0], tuple) else kv[0]

    def _store_order(self, items: list[tuple[Key, V]]) -> None:
        self.d = dict(items)  # the map's list is sorted in place in stap


def _matches(key: Key, pattern: Pattern) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(p is None or p == k for p, k in zip(pattern, parts, strict=True))


def _sortn(items: list[Any], n: int, key_of: Callable[[Any], Any], descending: bool) -> None:
    """_stp_map_sortn for 0 < n <= 30 (and any negative n): bubble the first n, then keep a
    sorted top n while walking the rest. Its effect on the rest of the list is reproduced."""

    def after(p: Any, q: Any) -> bool:  # _stp_cmp: must p come after q?
        a, b = key_of(p), key_of(q)
        return bool(a < b) if descending else bool(a > b)

    if not items:
        return
    swaps = True
    pos = 0
    while swaps:
        swaps = False
        num = n
        pos = 0
        while pos + 1 < len(items):
            num -= 1
            if num <= 0:
                break
            if after(items[pos], items[pos + 1]):
                items[pos], items[pos + 1] = items[pos + 1], items[pos]
                swaps = True
            pos += 1
    last = pos
    a = last + 1
    while a < len(items):
        item = items[a]
        c = last
        while c >= 0 and after(items[c], item):
            c -= 1
        if c != last:
            items.pop(a)
            items.insert(c + 1, item)
        a += 1


class LongArray(_Map[int]):
    """`global a` holding longs; reading a missing key gives 0."""

    __slots__ = ()

    def get(self, key: Key) -> int:
        return self.d.get(key, 0)

    def set(self, key: Key, value: int, where: str | None = None) -> int:
        d = self.d
        if len(d) >= self.maxsize and key not in d:
            self._make_room(where)
        d[key] = value
        return value

    def add(self, key: Key, delta: int, where: str | None = None) -> int:
        """`a[k] += delta` (and ++, --): returns the new value."""
        d = self.d
        old = d.get(key)
        if old is None:
            if len(d) >= self.maxsize:
                self._make_room(where)
            old = 0
        value = old + delta
        if not -(1 << 63) <= value < (1 << 63):
            value = wrap(value)
        d[key] = value
        return value


class StringArray(_Map[str]):
    """`global a` holding strings; reading a missing key gives ""."""

    __slots__ = ()

    def get(self, key: Key) -> str:
        return self.d.get(key, "")

    def set(self, key: Key, value: str, where: str | None = None) -> str:
        d = self.d
        if len(d) >= self.maxsize and key not in d:
            self._make_room(where)
        d[key] = value  # an empty string is stored too: the element exists
        return value


class StatArray(_Map[Stat]):
    """`global a` of statistics: `a[k] <<< v`, @count(a[k]) ..."""

    __slots__ = ("spec", "variance_shift")

    def __init__(self, spec: HistSpec = NO_HIST, variance_shift: int | None = None, maxsize: int | None = None,
                 wrap: bool = False) -> None:
        super().__init__(maxsize, wrap)
        self.spec = spec
        self.variance_shift = variance_shift

    def get(self, key: Key) -> Stat | None:
        """The element's aggregate, or None (stap's NULL: @count 0, other extractors fail)."""
        return self.d.get(key)

    def add(self, key: Key, value: int, where: str | None = None) -> int:
        d = self.d
        stat = d.get(key)
        if stat is None:
            if len(d) >= self.maxsize:
                self._make_room(where)
            stat = d[key] = Stat(self.spec, self.variance_shift, array_element=True)
        stat.add(value)
        return value

    def _sort_value(self, aggregate: str) -> Callable[[Stat], Any]:
        if aggregate == "avg":
            return lambda s: div_nocheck(s.sum, s.count)
        return {"count": lambda s: s.count, "sum": lambda s: s.sum, "min": lambda s: s.min,
                "max": lambda s: s.max}[aggregate]

    def foreach_keys(self, column: int | None = None, descending: bool = False, limit: int | None = None,
                     pattern: Pattern | None = None, aggregate: str = "count") -> list[Key]:
        if column is None:
            return super().foreach_keys(None, descending, limit, pattern)
        key_of = self._sort_key(column, aggregate)
        items = list(self.d.items())
        n = wrap32(limit) if limit is not None else 0
        if n == 0 or n > 30:
            items.sort(key=key_of, reverse=descending)
        else:
            _sortn(items, n, key_of, descending)
        keys = [k for k, _ in items]  # the aggregate map is rebuilt next time: no reordering
        if limit is not None:
            keys = keys[: max(limit, 0)]
        if pattern is not None:
            keys = [k for k in keys if _matches(k, pattern)]
        return keys
