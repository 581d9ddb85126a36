"""`core.records.dataclass` against the standard library: generated frozen classes, compared as twins.

Each example declares one class shape (fields with defaults, factories and per-field flags, the
decorator's options, hand-written methods, a dataclass base) twice: once for
`dataclasses.dataclass(frozen=True, ...)` and once for ours. Whatever the standard library does,
ours must do too: the same exception, or the same signature, doc, fields, repr, equality,
hashing, ordering, freezing, `replace`, `asdict` and copies.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import launchbuild
from launchbuild.core import records

_NAMES = ["a", "b", "self", "name", "other", "value", "x_1", "fields"]

_field = st.fixed_dictionaries({
    "default": st.sampled_from(["none", "int", "factory"]),
    "init": st.booleans(),
    "repr": st.booleans(),
    "compare": st.booleans(),
    "hash": st.sampled_from([None, True, False]),
})
_options = st.fixed_dictionaries({
    "init": st.booleans(), "repr": st.booleans(), "eq": st.booleans(), "order": st.booleans(),
    "match_args": st.booleans(),
})
_extras = st.lists(st.sampled_from(["__eq__", "__hash__", "__hash__=None", "__repr__", "__post_init__", "__lt__",
                                    "__init__", "__setattr__", "doc"]), unique=True, max_size=3)
_shape = st.fixed_dictionaries({
    "fields": st.dictionaries(st.sampled_from(_NAMES), _field, max_size=5),
    "options": _options,
    "extras": _extras,
    "base_fields": st.dictionaries(st.sampled_from(_NAMES), _field, max_size=3),
})


def _namespace(fields: dict[str, dict[str, Any]], extras: list[str]) -> dict[str, Any]:
    ns: dict[str, Any] = {"__annotations__": {}, "__module__": __name__, "__qualname__": "Shape"}
    for name, spec in fields.items():
        ns["__annotations__"][name] = "int"
        flags = {k: spec[k] for k in ("init", "repr", "compare", "hash")}
        if spec["default"] == "int":
            ns[name] = dataclasses.field(default=7, **flags)
        elif spec["default"] == "factory":
            ns[name] = dataclasses.field(default_factory=list, **flags)
        else:
            ns[name] = dataclasses.field(**flags)
    if "__eq__" in extras:
        ns["__eq__"] = lambda self, other: NotImplemented
    if "__hash__" in extras:
        ns["__hash__"] = lambda self: 42
    if "__hash__=None" in extras:
        ns["__hash__"] = None
    if "__repr__" in extras:
        ns["__repr__"] = lambda self: "handwritten"
    if "__post_init__" in extras:
        ns["__post_init__"] = lambda self: object.__setattr__(self, "_seen", True)
    if "__lt__" in extras:
        ns["__lt__"] = lambda self, other: True
    if "__init__" in extras:
        ns["__init__"] = lambda self, *args, **kwargs: None
    if "__setattr__" in extras:
        ns["__setattr__"] = lambda self, name, value: None
    if "doc" in extras:
        ns["__doc__"] = "Written by hand."
    return ns


def _declare(decorator: Any, shape: dict[str, Any]) -> type:
    options = dict(shape["options"], frozen=True)
    bases: tuple[type, ...] = ()
    if shape["base_fields"]:
        base_ns = _namespace(shape["base_fields"], [])
        base_ns["__qualname__"] = "Base"
        bases = (decorator(type("Base", (), base_ns), frozen=True),)
    return decorator(type("Shape", bases, _namespace(shape["fields"], shape["extras"])), **options)


def _outcome(fn: Any) -> Any:
    try:
        value = fn()
        return ("ok", re.sub(r" at 0x[0-9a-f]+", "", value) if isinstance(value, str) else value)
    except Exception as exc:  # noqa: BLE001 - the exception is the observation
        return ("raised", type(exc).__name__, str(exc).replace("launchbuild.core.records", "dataclasses"))


def _instances(cls: type) -> list[Any]:
    """Three instances: two made from the same values, then one from other values."""
    required = [p.name for p in inspect.signature(cls).parameters.values() if p.default is inspect.Parameter.empty]
    return [cls(**{name: value for name in required}) for value in (0, 0, 1)]


def _observe(cls: type) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "signature": _outcome(lambda: str(inspect.signature(cls))),
        "doc": cls.__doc__,
        "match_args": getattr(cls, "__match_args__", None),
        "fields": [(f.name, f.init, f.repr, f.compare, f.hash, f.default) for f in dataclasses.fields(cls)],
        "hash_is_none": cls.__hash__ is None,
        "own_methods": sorted(k for k in vars(cls) if k.startswith("__") and callable(vars(cls)[k])),
    }
    made = _outcome(lambda: _instances(cls))
    if made[0] == "raised":
        return dict(seen, made=made)
    one, same, later = made[1]
    seen["repr"] = _outcome(lambda: repr(one))
    seen["eq"] = [_outcome(lambda: one == same), _outcome(lambda: one == later), _outcome(lambda: one != same),
                  _outcome(lambda: one == object())]
    seen["hash"] = _outcome(lambda: hash(one) == hash(same))
    seen["order"] = [_outcome(lambda op=op: op(one, later)) for op in
                     (lambda p, q: p < q, lambda p, q: p <= q, lambda p, q: p > q, lambda p, q: p >= q)]
    seen["set"] = [_outcome(lambda n=n: setattr(one, n, 1)) for n in [*_NAMES, "unrelated"]]
    seen["del"] = [_outcome(lambda n=n: delattr(one, n)) for n in [*_NAMES, "unrelated"]]
    seen["replace"] = _outcome(lambda: repr(dataclasses.replace(same)))
    seen["asdict"] = _outcome(lambda: dataclasses.asdict(one))
    seen["copy"] = _outcome(lambda: copy.copy(one) == one and copy.deepcopy(one) == one)
    seen["post_init"] = getattr(one, "_seen", False)
    return seen


@settings(max_examples=400, deadline=None)
@given(_shape)
def test_a_record_behaves_as_its_standard_library_twin(shape: dict[str, Any]) -> None:
    theirs = _outcome(lambda: _declare(dataclasses.dataclass, shape))
    ours = _outcome(lambda: _declare(records.dataclass, shape))
    assert theirs[0] == ours[0], (theirs, ours)
    if theirs[0] == "raised":
        assert theirs[1:] == ours[1:]
        return
    assert _observe(theirs[1]) == _observe(ours[1])
    assert records.is_record(ours[1])
    assert not records.is_record(theirs[1])


@records.dataclass(frozen=True, order=True)
class _Point:
    """A module-level record, so that pickle can find it."""

    x: int
    y: tuple[int, ...] = ()
    tags: list[str] = dataclasses.field(default_factory=list, compare=False)


@records.dataclass(frozen=True, order=True)
class _Nested:
    point: _Point
    children: list[_Nested] = dataclasses.field(default_factory=list, hash=False)


def test_records_pickle_copy_and_show_their_recursion_as_the_standard_library_does() -> None:
    point = _Point(1, (2, 3), ["a"])
    assert pickle.loads(pickle.dumps(point)) == point
    assert copy.deepcopy(point) == point and copy.deepcopy(point).tags is not point.tags
    nested = _Nested(point)
    nested.children.append(nested)
    assert repr(nested) == "_Nested(point=_Point(x=1, y=(2, 3), tags=['a']), children=[...])"
    assert _Nested(_Point(1)) < _Nested(_Point(2))
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2  # type: ignore[misc]
    assert _Point.__init__.__qualname__ == "_Point.__init__"
    assert _Point.__init__.__annotations__ == {"x": "int", "y": "tuple[int, ...]", "tags": "list[str]", "return": None}


def test_a_record_may_derive_only_from_records() -> None:
    @dataclasses.dataclass(frozen=True)
    class Stdlib:
        a: int

    with pytest.raises(TypeError, match="is not a launchbuild.core.records dataclass"):
        records.dataclass(type("Child", (Stdlib,), {"__annotations__": {"b": "int"}}), frozen=True)
    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        records.dataclass(type("Loose", (_Point,), {"__annotations__": {"z": "int"}}))


def test_what_records_do_not_generate_goes_to_the_standard_library_unchanged() -> None:
    kw_only = records.dataclass(type("KwOnly", (), {"__annotations__": {"a": "int"}}), frozen=True, kw_only=True)
    assert not records.is_record(kw_only) and kw_only.__dataclass_params__.frozen  # type: ignore[attr-defined]
    loose = records.dataclass(type("Loose", (), {"__annotations__": {"a": "int"}}))
    assert not records.is_record(loose) and not loose.__dataclass_params__.frozen  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="InitVar fields are not supported"):
        records.dataclass(type("WithInitVar", (), {"__annotations__": {"a": dataclasses.InitVar[int]}}), frozen=True)


def _package_modules() -> list[str]:
    skipped = ("launchbuild.tests", "launchbuild.bench", "launchbuild.scripts", "launchbuild.examples",
               "launchbuild.docs")
    names = []
    for info in pkgutil.walk_packages(launchbuild.__path__, "launchbuild."):
        if not info.name.startswith(skipped) and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_every_frozen_dataclass_of_the_package_is_a_record() -> None:
    """A frozen class made by the standard library costs a warm check ~0.5 ms more: use core.records."""
    stdlib_frozen = []
    for name in _package_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == name and dataclasses.is_dataclass(value)
                    and value.__dataclass_params__.frozen and not records.is_record(value)):  # type: ignore[attr-defined]
                stdlib_frozen.append(f"{name}.{value.__qualname__}")
    assert stdlib_frozen == []
