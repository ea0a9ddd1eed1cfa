"""Associative arrays: defaults, capacity and overflow errors, order, foreach sorting and slices."""

from __future__ import annotations

import random

import pytest

from tapkit.runtime.arrays import MAXMAPENTRIES, LongArray, StatArray, StringArray, _sortn
from tapkit.runtime.errors import StapError
from tapkit.runtime.stats import HistSpec, stat_count, stat_sum


def test_defaults_and_membership() -> None:
    a, s = LongArray(), StringArray()
    assert a.get(1) == 0 and s.get(("x", 2)) == ""
    assert 1 not in a
    a.set(1, 0)
    s.set(("x", 2), "")
    assert 1 in a and ("x", 2) in s  # storing 0 or "" still creates the element
    a.delete(1)
    assert 1 not in a
    a.delete(99)  # deleting a missing key is fine


def test_add_wraps_and_returns_new_value() -> None:
    a = LongArray()
    assert a.add("k", 5) == 5
    assert a.add("k", -2) == 3
    a.set("m", (1 << 63) - 1)
    assert a.add("m", 1) == -(1 << 63)


def test_overflow_error_names_the_limit() -> None:
    a = LongArray()
    for i in range(MAXMAPENTRIES):
        a.set(i, i)
    a.set(5, 50)  # existing keys can still be written
    with pytest.raises(StapError) as err:
        a.set(MAXMAPENTRIES, 1, "identifier 'a' at t.stp:2:3")
    assert err.value.text == "Array overflow, check MAXMAPENTRIES near identifier 'a' at t.stp:2:3"
    sized = StringArray(maxsize=3)
    for k in "abc":
        sized.set(k, k)
    with pytest.raises(StapError, match=r"^Array overflow, check size limit \(3\)$"):
        sized.set("d", "d")
    stats = StatArray(maxsize=2)
    stats.add(1, 1)
    stats.add(2, 1)
    with pytest.raises(StapError, match=r"^Array overflow, check size limit \(2\)$"):
        stats.add(3, 1)
    full = LongArray(maxsize=1)
    full.add(1, 1)
    with pytest.raises(StapError):
        full.add(2, 1)


def test_wrapping_array_reuses_the_oldest_entry() -> None:
    a = LongArray(maxsize=3, wrap=True)
    for k in (1, 2, 3, 4):
        a.set(k, k)
    assert list(a.d) == [2, 3, 4]
    a.set(2, 20)  # an update is not an insertion
    a.set(5, 5)
    assert list(a.d) == [3, 4, 5]


def test_insertion_order_and_reinsertion() -> None:
    a = LongArray()
    for k in (3, 1, 2):
        a.set(k, 0)
    a.delete(3)
    a.set(3, 0)
    assert a.foreach_keys() == [1, 2, 3]
    a.clear()
    assert a.foreach_keys() == [] and len(a) == 0


def make(items: list[tuple[object, int]]) -> LongArray:
    a = LongArray()
    for k, v in items:
        a.set(k, v)
    return a


def test_sort_by_value_and_key_is_stable() -> None:
    a = make([(("b", 2), 5), (("a", 9), 1), (("c", 1), 5), (("a", 3), 7)])
    assert a.foreach_keys(column=0) == [("a", 9), ("b", 2), ("c", 1), ("a", 3)]
    assert a.foreach_keys(column=0, descending=True) == [("a", 3), ("b", 2), ("c", 1), ("a", 9)]
    assert a.foreach_keys(column=1) == [("a", 3), ("a", 9), ("b", 2), ("c", 1)]
    assert a.foreach_keys(column=2, descending=True) == [("a", 9), ("a", 3), ("b", 2), ("c", 1)]


def test_sorting_reorders_the_map_for_later_loops() -> None:
    a = make([(3, 0), (1, 0), (2, 0)])
    a.foreach_keys(column=1)
    assert a.foreach_keys() == [1, 2, 3]


def test_string_keys_sort_as_bytes() -> None:
    a = make([("b", 0), ("B", 0), ("\xe9", 0), ("a", 0)])
    assert a.foreach_keys(column=1) == ["B", "a", "b", "\xe9"]


def test_limit() -> None:
    a = make([(k, v) for k, v in zip(range(10), [5, 3, 8, 1, 9, 2, 7, 4, 6, 0], strict=True)])
    assert a.foreach_keys(limit=3) == [0, 1, 2]
    assert a.foreach_keys(column=0, descending=True, limit=3) == [4, 2, 6]
    assert a.foreach_keys(limit=0) == [] and a.foreach_keys(limit=-2) == []
    assert a.foreach_keys(column=0, limit=50) == [9, 3, 5, 1, 7, 0, 8, 6, 2, 4]


def _stable_sort(items: list[tuple[int, int]], descending: bool) -> list[tuple[int, int]]:
    return sorted(items, key=lambda kv: kv[1], reverse=descending)


@pytest.mark.parametrize("seed", range(5))
def test_sortn_top_n_matches_a_stable_sort(seed: int) -> None:
    """_stp_map_sortn's top n equals the first n of a stable sort, ties included."""
    rng = random.Random(seed)
    for _ in range(200):
        items = [(i, rng.randint(0, 6)) for i in range(rng.randint(0, 40))]
        n = rng.randint(1, 30)
        descending = rng.random() < 0.5
        work = list(items)
        _sortn(work, n, lambda kv: kv[1], descending)
        assert work[:n] == _stable_sort(items, descending)[:n]
        assert sorted(work) == sorted(items)


def test_sortn_with_negative_limit_still_reorders() -> None:
    """A negative limit runs no iterations, but sortn has already rearranged the map: the
    bubble pass does nothing and each later element smaller than the head goes in front."""
    items = [(0, 5), (1, 9), (2, 1), (3, 0)]
    _sortn(items, -1, lambda kv: kv[1], False)
    assert items == [(3, 0), (2, 1), (0, 5), (1, 9)]


def test_slices() -> None:
    a = make([(("x", 1), 1), (("y", 2), 2), (("x", 3), 3)])
    assert a.contains_slice(("x", None)) == 1
    assert a.contains_slice((None, 2)) == 1
    assert a.contains_slice(("z", None)) == 0
    assert a.foreach_keys(pattern=("x", None)) == [("x", 1), ("x", 3)]
    # limit counts the elements the slice then skips
    assert a.foreach_keys(pattern=("x", None), limit=2) == [("x", 1)]
    a.delete_slice((None, 2))
    assert list(a.d) == [("x", 1), ("x", 3)]
    b = make([(1, 1), (2, 2)])
    assert b.contains_slice((None,)) == 1
    b.delete_slice((None,))
    assert len(b) == 0


def test_stat_arrays() -> None:
    s = StatArray(HistSpec.linear(0, 10, 1))
    for k, v in [("a", 1), ("b", 5), ("a", 3), ("a", 3), ("b", 1)]:
        assert s.add(k, v) == v
    assert stat_count(s.get("a")) == 3 and stat_sum(s.get("b")) == 6
    assert s.get("zz") is None  # @count of it is 0, other extractors fail
    assert s.foreach_keys(column=0, descending=True) == ["a", "b"]  # @count by default
    assert s.foreach_keys(column=0, aggregate="sum", descending=True) == ["a", "b"]
    assert s.foreach_keys(column=0, aggregate="max", descending=True) == ["b", "a"]
    assert s.foreach_keys(column=0, aggregate="avg") == ["a", "b"]
    assert s.foreach_keys(column=0, aggregate="min") == ["a", "b"]
    assert s.foreach_keys() == ["a", "b"]  # sorting a statistics array does not reorder it
    s.foreach_keys(column=1, descending=True)
    assert s.foreach_keys() == ["a", "b"]
