"""tapkit.values.Value against dataclasses: the same declarations must behave the same way.

Each twin test writes one class body and builds it twice, as `class C(Value)` and as
`@dataclass(frozen=True, slots=True) class C` (or the mutable/eq=False flavours), then compares
what both do. Pickling needs importable classes, so those use module-level declarations.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import textwrap
from typing import Any, ClassVar  # noqa: F401 (ClassVar: read by dataclasses in both())

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapkit import values
from tapkit.values import FrozenInstanceError, Value, field, fields, replace

FLAVOURS = {
    # Value class keywords -> the dataclass decorator arguments meaning the same
    "": "frozen=True, slots=True",
    ", frozen=False": "slots=True",
    ", eq=False": "frozen=True, slots=True, eq=False",
    ", frozen=False, eq=False": "slots=True, eq=False",
    ", slots=False": "frozen=True",
}


def both(body: str, flavour: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Run body twice: `class X(BASE):` declares a root class, `class Y(X):` a subclass; once as Values
    (flavour: the class keywords, repeated on subclasses), once as dataclasses (FLAVOURS[flavour])."""
    src = textwrap.dedent(body).splitlines()
    value_src = [line.replace("(BASE)", "(Value)").replace("):", f"{flavour}):") if line.startswith("class ")
                 else line for line in src]
    dc_src = [f"@dataclass({FLAVOURS[flavour]})\n{line.replace('(BASE)', '')}" if line.startswith("class ")
              else line for line in src]
    # dataclasses reads string annotations (`ClassVar[int]`) in the class's module: name this one
    value_ns: dict[str, Any] = {"Value": Value, "field": field, "__name__": __name__}
    dc_ns: dict[str, Any] = {"dataclass": dataclasses.dataclass, "field": dataclasses.field, "__name__": __name__}
    exec("\n".join(value_src), value_ns)
    exec("\n".join(dc_src), dc_ns)
    return value_ns, dc_ns


POINT = """
class P(BASE):
    x: int
    y: int = 0
    tags: list[int] = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)
"""


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_init_defaults_and_factory(flavour: str) -> None:
    v, d = both(POINT, flavour)
    good: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {}), ((1, 2), {}), ((), {"x": 3, "note": "n"}), ((1, 2, [5]), {"note": "z"})]
    for args, kwargs in good:
        a, b = v["P"](*args, **kwargs), d["P"](*args, **kwargs)
        assert [getattr(a, n) for n in fields(a)] == [getattr(b, f.name) for f in dataclasses.fields(b)]
    assert v["P"](1).tags is not v["P"](1).tags  # a fresh list each time, as default_factory gives
    bad: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}), ((1, 2, [], "", 9), {}), ((1,), {"z": 1}), ((1,), {"x": 1})]
    for args, kwargs in bad:
        with pytest.raises(TypeError):
            d["P"](*args, **kwargs)
        with pytest.raises(TypeError):
            v["P"](*args, **kwargs)


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_repr_eq_hash(flavour: str) -> None:
    v, d = both(POINT, flavour)
    assert repr(v["P"](1, 2, [3], "hidden")) == repr(d["P"](1, 2, [3], "hidden")) == "P(x=1, y=2, tags=[3])"
    pairs = [((1,), (1,)), ((1,), (2,)), ((1, 2, [], "a"), (1, 2, [], "b")), ((1, 2, [1]), (1, 2, [2]))]
    for left, right in pairs:
        assert (v["P"](*left) == v["P"](*right)) == (d["P"](*left) == d["P"](*right))
        assert (v["P"](*left) != v["P"](*right)) == (d["P"](*left) != d["P"](*right))
    assert (v["P"].__hash__ is None) == (d["P"].__hash__ is None)


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_frozen_and_slots(flavour: str) -> None:
    v, d = both("class Q(BASE):\n    x: int\n", flavour)
    a, b = v["Q"](1), d["Q"](1)
    assert hasattr(a, "__dict__") == hasattr(b, "__dict__")
    assert ("__slots__" in vars(v["Q"])) == ("__slots__" in vars(d["Q"]))
    frozen = "frozen=True" in FLAVOURS[flavour]
    with pytest.raises(FrozenInstanceError) if frozen else _nothing():
        a.x = 5
    with pytest.raises(dataclasses.FrozenInstanceError) if frozen else _nothing():
        b.x = 5
    assert a.x == b.x == (1 if frozen else 5)
    with pytest.raises(AttributeError) if frozen else _nothing():
        del a.x
    if frozen:
        with pytest.raises(AttributeError):
            a.other = 1


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_identity_equality_with_eq_false() -> None:
    v, d = both("class R(BASE):\n    x: int\n", ", eq=False")
    assert v["R"](1) != v["R"](1) and d["R"](1) != d["R"](1)
    one = v["R"](1)
    assert one == one and hash(one) == object.__hash__(one)
    assert len({v["R"](1), v["R"](1)}) == 2


def test_inherited_field_order_and_redeclaration() -> None:
    body = """
    class A(BASE):
        a: int
        b: int = 1

    class B(A):
        c: int = 2
        a: int = 9

    class C(B):
        b: int = 5
    """
    v, d = both(body)
    for name in "ABC":
        assert fields(v[name]) == tuple(f.name for f in dataclasses.fields(d[name]))
    assert repr(v["B"]()) == repr(d["B"]()) == "B(a=9, b=1, c=2)"
    assert repr(v["C"](3)) == repr(d["C"](3)) == "C(a=3, b=5, c=2)"
    assert v["A"](1, 1) != v["B"](1, 1) and d["A"](1, 1) != d["B"](1, 1)  # another class is never equal
    assert v["C"].__match_args__ == d["C"].__match_args__
    assert not hasattr(v["C"](), "__dict__")


def test_declaration_errors_match_dataclasses() -> None:
    with pytest.raises(TypeError):
        both("class A(BASE):\n    a: int = 1\n    b: int\n")
    with pytest.raises(ValueError):
        both("class A(BASE):\n    a: list[int] = []\n")
    with pytest.raises(TypeError):
        both("class A(BASE):\n    a: int = 1\n\nclass B(A):\n    b: int\n")
    with pytest.raises(TypeError):  # frozen and mutable values do not derive from each other
        class Frozen(Value):
            x: int

        class Mutable(Frozen, frozen=False):  # type: ignore[misc]  # mypy rejects it too
            y: int
    with pytest.raises(ValueError):
        field(default=1, default_factory=int)  # type: ignore[call-overload]


def test_classvar_and_methods_are_not_fields() -> None:
    body = """
    class K(BASE):
        LIMIT: ClassVar[int] = 3
        x: int

        def doubled(self) -> int:
            return self.x * 2

        @property
        def tripled(self) -> int:
            return self.x * 3
    """
    v, d = both(body)
    assert fields(v["K"]) == ("x",) == tuple(f.name for f in dataclasses.fields(d["K"]))
    assert v["K"].LIMIT == 3 and v["K"](2).doubled() == 4 and v["K"](2).tripled == 6


def test_explicit_methods_win() -> None:
    body = """
    class E(BASE):
        x: int

        def __eq__(self, other: object) -> bool:
            return True

        def __repr__(self) -> str:
            return "E!"
    """
    v, d = both(body)
    assert v["E"](1) == v["E"](2) and d["E"](1) == d["E"](2)
    assert repr(v["E"](1)) == repr(d["E"](1)) == "E!"
    assert (v["E"].__hash__ is None) == (d["E"].__hash__ is None)


# ---------------------------------------------------------------- pickling and copying (module-level classes)

class Leaf(Value):
    name: str
    size: int = 0


class Tree(Value):
    leaves: tuple[Leaf, ...]
    label: str = field(default="", compare=False)


class Record(Value, frozen=False, eq=False):
    name: str
    peers: list[Record] = field(default_factory=list)
    owner: Holder | None = None


class Holder(Value):
    record: Record


class Loose(Value, slots=False):
    x: int
    y: tuple[int, ...] = ()


class Empty(Value):
    pass


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(protocol: int) -> None:
    tree = Tree((Leaf("a", 1), Leaf("b")), label="kept")
    back = pickle.loads(pickle.dumps(tree, protocol))
    assert back == tree and back.label == "kept" and type(back.leaves[0]) is Leaf
    loose = pickle.loads(pickle.dumps(Loose(1, (2, 3)), protocol))
    assert loose == Loose(1, (2, 3))
    assert pickle.loads(pickle.dumps(Empty(), protocol)) == Empty()


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_mutable_cycles(protocol: int) -> None:
    a, b = Record("a"), Record("b")
    a.peers.append(b)
    b.peers.append(a)
    a.owner = Holder(a)  # a frozen value inside the cycle
    a2 = pickle.loads(pickle.dumps(a, protocol))
    assert a2.peers[0].peers[0] is a2 and a2.owner is not None and a2.owner.record is a2
    assert a2.name == "a" and a2.peers[0].name == "b"


def test_repr_of_a_cycle() -> None:
    v, d = both("class Link(BASE):\n    name: str\n    next: object = None\n", ", frozen=False")
    a, b = v["Link"]("a"), d["Link"]("a")
    a.next, b.next = a, b
    assert repr(a) == repr(b) == "Link(name='a', next=...)"


def test_copy_and_deepcopy() -> None:
    tree = Tree((Leaf("a", 1),), label="x")
    assert copy.copy(tree) == tree and copy.deepcopy(tree) == tree
    rec = Record("r", [Record("s")])
    deep = copy.deepcopy(rec)
    assert deep.peers[0] is not rec.peers[0] and deep.peers[0].name == "s"
    shallow = copy.copy(rec)
    assert shallow.peers is rec.peers


def test_replace_and_fields() -> None:
    tree = Tree((Leaf("a"),), label="x")
    changed = replace(tree, label="y")
    assert changed.label == "y" and changed.leaves is tree.leaves and tree.label == "x"
    assert replace(Leaf("a", 2), size=3) == Leaf("a", 3)
    with pytest.raises(TypeError):
        replace(Leaf("a"), colour="red")
    assert fields(Leaf) == fields(Leaf("z")) == ("name", "size")
    assert fields(Empty) == ()


def test_match_statement() -> None:
    match Leaf("a", 4):
        case Leaf(name, size):
            assert (name, size) == ("a", 4)
        case _:
            pytest.fail("Leaf did not match positionally")


def test_values_module_has_no_dataclasses_import() -> None:
    assert "dataclasses" not in vars(values)


# ---------------------------------------------------------------- property test: eq/hash as dataclasses compute them

@dataclasses.dataclass(frozen=True, slots=True)
class LeafDC:
    name: str
    size: int = 0


scalars = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.tuples(st.integers(), st.booleans()))


@given(st.tuples(st.text(max_size=3), scalars), st.tuples(st.text(max_size=3), scalars))
def test_eq_hash_agree_with_dataclasses(left: tuple[str, Any], right: tuple[str, Any]) -> None:
    a, b = Leaf(*left), Leaf(*right)
    da, db = LeafDC(*left), LeafDC(*right)
    assert (a == b) == (da == db)
    if a == b:
        assert hash(a) == hash(b)
    assert hash(a) == hash(da)  # both hash the tuple of compared fields
    assert repr(a) == repr(da).replace("LeafDC", "Leaf")
    assert pickle.loads(pickle.dumps(a)) == a
