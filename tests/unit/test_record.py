"""`orchestra.record`: the value records the hook path uses in place of dataclasses."""

from __future__ import annotations

import pytest
from orchestra.record import FrozenRecordError, Record, as_dict, default, field_names, replace


class Point(Record):
    x: int
    y: int = 0
    tags: list[str] = default(list)


class Labelled(Point):
    label: str = ""


class Counter(Record, frozen=False):
    n: int = 0


def test_fields_defaults_and_construction() -> None:
    assert field_names(Labelled) == ("x", "y", "tags", "label")
    assert Point(1) == Point(x=1, y=0, tags=[])
    assert Labelled(1, 2, ["a"], "p").label == "p"
    first, second = Point(1), Point(1)
    first.tags.append("t")
    assert second.tags == []  # a fresh default for each record
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: Point(), "Point() is missing field 'x'"),
    (lambda: Point(1, z=2), "Point() has no field 'z'"),
    (lambda: Point(1, x=1), "Point() got field 'x' twice"),
    (lambda: Point(1, 2, [], 4), "Point() takes 3 fields, 4 were given"),
])
def test_bad_construction_says_what(call, message: str) -> None:
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_frozen_equal_and_hashable_by_value() -> None:
    point = Point(1, 2, ("a",))
    with pytest.raises(FrozenRecordError, match="Point is frozen"):
        point.x = 5
    with pytest.raises(AttributeError):
        del point.y
    assert point == Point(1, 2, ("a",)) and point != Point(1, 3, ("a",))
    assert point != Labelled(1, 2, ("a",))  # another type is never equal
    assert len({point, Point(1, 2, ("a",))}) == 1


def test_mutable_records_change_and_are_not_hashable() -> None:
    counter = Counter()
    counter.n += 1
    assert counter == Counter(1)
    with pytest.raises(TypeError):
        hash(counter)


def test_as_dict_is_deep_and_replace_copies() -> None:
    nested = Labelled(1, tags=[Point(2)], label="a")
    assert as_dict(nested) == {"x": 1, "y": 0, "tags": [{"x": 2, "y": 0, "tags": []}], "label": "a"}
    moved = replace(nested, x=9)
    assert moved.x == 9 and moved.label == "a" and nested.x == 1
