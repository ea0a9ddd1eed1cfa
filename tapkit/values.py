"""Small values declared by their annotations: slotted, frozen unless asked, compared by fields.

`class Point(Value): x: int; y: int = 0` behaves as `@dataclass(frozen=True, slots=True)` would:
__init__ takes the fields in order (inherited ones first), ==/hash compare the fields, repr shows
them, assignment raises FrozenInstanceError, and pickling is positional (`Point(*fields)`). The
difference is cost: the class is created once, with its __slots__, and __init__ is compiled the
first time the class is called (shared by every class of the same shape), so a module of many
small classes imports in a fraction of the time `dataclasses` takes (which execs five or six
methods per class and creates each slotted class twice).

Class keywords: `frozen=False` for a mutable record (plain attribute stores), `eq=False` for
identity semantics, `slots=False` for instances with a __dict__. `field(default=…,
default_factory=…, compare=False, repr=False)` as in dataclasses. `fields(cls)` lists the field
names; `replace(value, **changes)` copies with changes.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, ClassVar, TypeVar, dataclass_transform, overload

T = TypeVar("T")
V = TypeVar("V", bound="Value")


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen value (as dataclasses.FrozenInstanceError)."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """What `field(...)` returns in a class body; the metaclass reads it and removes it."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Any, compare: bool, repr: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr


@overload
def field(*, default: T, compare: bool = True, repr: bool = True) -> T: ...
@overload
def field(*, default_factory: Callable[[], T], compare: bool = True, repr: bool = True) -> T: ...
@overload
def field(*, compare: bool = True, repr: bool = True) -> Any: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING, compare: bool = True, repr: bool = True) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("field() takes default or default_factory, not both")
    return Field(default, default_factory, compare, repr)


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r} of frozen {type(self).__name__}")


def _value_eq(self: Value, other: object) -> Any:  # bool, or NotImplemented for other types
    if type(other) is not type(self):
        return NotImplemented
    key = type(self).__value_key__
    same: bool = key(self) == key(other)
    return same


def _value_hash(self: Value) -> int:
    return hash(type(self).__value_key__(self))


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A fast C getter returning the fields as a tuple (attrgetter of one name returns the bare value)."""
    if len(names) >= 2:
        return attrgetter(*names)
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


# ---------------------------------------------------------------- __init__, compiled on first use

def _first_init(cls: type) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = _build_init(cls)
        type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    return __init__


_MAKERS: dict[tuple[Any, ...], Callable[..., Callable[..., None]]] = {}


def _build_init(cls: type) -> Callable[..., None]:
    """__init__ for cls: frozen slots are set through their member descriptors (faster than object.__setattr__)."""
    spec: tuple[tuple[str, Any, bool, bool], ...] = cls.__dict__["__value_spec__"]
    frozen: bool = cls.__dict__["__value_frozen__"]
    shape: list[Any] = []
    closure: list[Any] = []
    for n, d, _, _ in spec:
        if d is MISSING:
            kind = "required"
        elif isinstance(d, Field):
            kind = "factory"
            closure.append(d.default_factory)
        else:
            kind = "default"
            closure.append(d)
        store = "attr"
        if frozen:
            slot = next((k.__dict__[n] for k in cls.__mro__ if n in k.__dict__), None)
            if slot is not None and hasattr(slot, "__set__") and type(slot).__name__ == "member_descriptor":
                store = "slot"
                closure.append(slot.__set__)
            else:
                store = "object"
        shape.append((n, kind, store))
    key = tuple(shape)
    maker = _MAKERS.get(key)
    if maker is None:
        maker = _MAKERS[key] = _compile_maker(key)
    init = maker(*closure)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _compile_maker(shape: tuple[tuple[str, str, str], ...]) -> Callable[..., Callable[..., None]]:
    free: list[str] = []
    params: list[str] = []
    body: list[str] = []
    for i, (n, kind, store) in enumerate(shape):
        if kind == "default":
            free.append(f"_d{i}")
            params.append(f"{n}=_d{i}")
        elif kind == "factory":
            free.append(f"_f{i}")
            params.append(f"{n}=_MISSING")
            body.append(f"if {n} is _MISSING: {n} = _f{i}()")
        else:
            params.append(n)
        if store == "slot":
            free.append(f"_s{i}")
            body.append(f"_s{i}(self, {n})")
        elif store == "object":
            body.append(f"_object_setattr(self, {n!r}, {n})")
        else:
            body.append(f"self.{n} = {n}")
    lines = [f"def maker({', '.join(free)}):",
             f"    def __init__({', '.join(['self', *params])}):",
             *(f"        {line}" for line in body or ["pass"]),
             "    return __init__"]
    scope: dict[str, Any] = {"_MISSING": MISSING, "_object_setattr": object.__setattr__}
    exec(compile("\n".join(lines), "<tapkit.values __init__>", "exec"), scope)
    maker: Callable[..., Callable[..., None]] = scope["maker"]
    return maker


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
class ValueMeta(type):
    """Builds each Value class once: fields from annotations, __slots__, eq/hash/setattr by flavour."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], *, frozen: bool = True,
                eq: bool = True, slots: bool = True) -> ValueMeta:
        defaults: dict[str, Any] = {}
        compared: dict[str, bool] = {}
        shown: dict[str, bool] = {}
        for base in reversed(bases):
            spec = base.__dict__.get("__value_spec__")
            if spec and base.__dict__["__value_frozen__"] != frozen:
                raise TypeError(f"{name}: frozen and mutable values cannot derive from each other")
            if spec is not None:
                for n, d, c, r in spec:
                    defaults[n], compared[n], shown[n] = d, c, r
        inherited = set(defaults)
        for n, annotation in ns.get("__annotations__", {}).items():
            if _is_classvar(annotation):
                continue
            d = ns.pop(n, MISSING)  # a class attribute would clash with the slot; __init__ sets every field
            c = r = True
            if isinstance(d, Field):
                c, r = d.compare, d.repr
                d = d if d.default_factory is not MISSING else d.default
            if type(d).__hash__ is None:  # a list/dict/set default would be shared by every instance
                raise ValueError(f"{name}.{n}: mutable default {type(d).__name__}; use field(default_factory=...)")
            # a redeclared field keeps its place (dict order), as in dataclasses
            defaults[n], compared[n], shown[n] = d, c, r
        names = tuple(defaults)
        seen_default = False
        for n in names:
            if defaults[n] is not MISSING:
                seen_default = True
            elif seen_default:
                raise TypeError(f"{name}: non-default field {n!r} follows a field with a default")
        if slots:
            if "__slots__" in ns:
                raise TypeError(f"{name}: a Value declares its slots by annotations, not __slots__")
            ns["__slots__"] = tuple(n for n in names if n not in inherited)
        ns["__value_spec__"] = tuple((n, defaults[n], compared[n], shown[n]) for n in names)
        ns["__value_fields__"] = names
        ns["__value_frozen__"] = frozen
        ns["__match_args__"] = names
        ns["__value_astuple__"] = _tuple_getter(names)
        ns["__value_key__"] = _tuple_getter(tuple(n for n in names if compared[n]))
        ns["__value_repr_fields__"] = tuple(n for n in names if shown[n])
        if frozen and bases:  # the root Value class itself stays plain, so mutable records can derive from it
            ns.setdefault("__setattr__", _frozen_setattr)
            ns.setdefault("__delattr__", _frozen_delattr)
        elif not frozen:  # a mutable record may sit in a cycle: pickle it by state, created before its fields
            ns.setdefault("__reduce__", object.__reduce__)
        if eq and bases:
            ns.setdefault("__eq__", _value_eq)
            if "__hash__" not in ns:
                ns["__hash__"] = _value_hash if frozen else None
        cls = super().__new__(mcls, name, bases, ns)
        if "__init__" not in ns:
            type.__setattr__(cls, "__init__", _first_init(cls))
        return cls

    def __init__(cls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **flavour: bool) -> None:
        super().__init__(name, bases, ns)


class Value(metaclass=ValueMeta):
    """Base of the value classes; see the module docstring."""

    __value_fields__: ClassVar[tuple[str, ...]]
    __value_key__: ClassVar[Callable[[Any], tuple[Any, ...]]]
    __value_astuple__: ClassVar[Callable[[Any], tuple[Any, ...]]]
    __value_repr_fields__: ClassVar[tuple[str, ...]]

    @recursive_repr()  # a mutable value in a cycle shows as ..., as in dataclasses
    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self).__value_repr_fields__)
        return f"{type(self).__qualname__}({parts})"

    def __reduce__(self) -> tuple[Any, ...]:
        # positional rebuild: smaller pickles and about twice as fast to load as a state dict
        return (type(self), type(self).__value_astuple__(self))


def fields(cls_or_value: type[Value] | Value) -> tuple[str, ...]:
    """The field names, in __init__ order."""
    return cls_or_value.__value_fields__


def replace(value: V, **changes: Any) -> V:
    """A copy of value with some fields changed."""
    cls = type(value)
    return cls(*[changes.pop(n) if n in changes else getattr(value, n) for n in cls.__value_fields__],
               **changes)
