"""Value records for the code that hook processes import.

The standard `dataclasses` module imports `inspect` (and with it ast, dis and tokenize) and builds
every class by compiling generated source. In a hook process that costs about 10 ms of import and
a fraction of a millisecond per class, where a no-op `uv run --script` hook takes about 25 ms in
all. `Record` gives the same kind of value: fields declared by annotation, defaults as class
attributes (`default(list)` for a fresh mutable one), keyword or positional construction, equality
and hashing by field values, frozen unless the class says `frozen=False`. Code that no hook
imports keeps using `dataclasses`.
"""

from __future__ import annotations

from collections.abc import Callable


class FrozenRecordError(AttributeError):
    """An attempt to change a field of a frozen record."""


class default:  # noqa: N801 - reads as a field default: `tags: list[str] = default(list)`
    """A default made afresh for each record."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


class Record:
    """Base of a value record; subclasses declare their fields as annotations."""

    _fields: tuple[str, ...] = ()
    _defaults: dict[str, object] = {}
    _frozen = True

    def __init_subclass__(cls, frozen: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})
        own = [name for name, kind in annotations.items()
               if not name.startswith("_") and not str(kind).startswith("ClassVar")]
        cls._fields = tuple(name for name in cls._fields if name not in own) + tuple(own)
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
        cls._frozen = frozen
        if not frozen:
            cls.__hash__ = None  # type: ignore[assignment] - mutable records are unhashable, as with dataclasses

    def __init__(self, *args: object, **kwargs: object) -> None:
        cls = type(self)
        if len(args) > len(cls._fields):
            raise TypeError(f"{cls.__name__}() takes {len(cls._fields)} fields, {len(args)} were given")
        values = dict(zip(cls._fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in cls._fields:
                raise TypeError(f"{cls.__name__}() has no field {name!r}")
            if name in values:
                raise TypeError(f"{cls.__name__}() got field {name!r} twice")
            values[name] = value
        for name in cls._fields:
            if name not in values:
                if name not in cls._defaults:
                    raise TypeError(f"{cls.__name__}() is missing field {name!r}")
                given = cls._defaults[name]
                values[name] = given.make() if isinstance(given, default) else given
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: object) -> None:
        if self._frozen:
            raise FrozenRecordError(f"{type(self).__name__} is frozen: cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._frozen:
            raise FrozenRecordError(f"{type(self).__name__} is frozen: cannot delete {name!r}")
        object.__delattr__(self, name)

    def _values(self) -> tuple[object, ...]:
        return tuple(self.__dict__[name] for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"


def as_dict(record: Record) -> dict[str, object]:
    """The record's fields as a dict, records inside lists, tuples and dicts included."""
    return {name: _plain(record.__dict__[name]) for name in record._fields}


def _plain(value: object) -> object:
    if isinstance(value, Record):
        return as_dict(value)
    if type(value) in (list, tuple):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def replace(record: Record, **changes: object):
    """A copy of `record` with some fields changed."""
    return type(record)(**{**{name: record.__dict__[name] for name in record._fields}, **changes})


def field_names(kind: type[Record]) -> tuple[str, ...]:
    """The fields of a record class, in order."""
    return kind._fields
