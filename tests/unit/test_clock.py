"""orchestra.clock: the store's timestamps, written and compared."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestra.clock import now_iso, seconds_between


def test_now_iso_is_utc_to_the_millisecond_as_datetime_writes_it() -> None:
    assert now_iso(1_795_000_000.123) == "2026-11-18T11:06:40.123Z"  # 0.123 is 0.12299... as a float
    for moment in (0.0, 0.9995, 1_795_000_000.0005, 1_795_000_000.999_999_7, 1_795_086_399.9999):
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert now_iso(moment) == expected, moment
    assert now_iso().endswith("Z") and len(now_iso()) == len("2026-11-18T11:06:40.123Z")


def test_seconds_between_two_stored_timestamps() -> None:
    assert seconds_between("2026-11-24T12:00:00.000Z", "2026-11-24T12:01:30.500Z") == 90.5
    assert seconds_between("2026-11-24T12:00:00+00:00", "2026-11-24T11:59:00Z") == -60.0


def test_seconds_between_is_zero_without_a_readable_start() -> None:
    assert seconds_between(None, "2026-11-24T12:00:00.000Z") == 0.0
    assert seconds_between("", "2026-11-24T12:00:00.000Z") == 0.0
    assert seconds_between("yesterday", "2026-11-24T12:00:00.000Z") == 0.0


def test_seconds_between_reads_a_timestamp_without_offset_as_utc() -> None:
    assert seconds_between("2026-11-24T12:00:00", "2026-11-24T12:01:00.000Z") == 60.0
    assert seconds_between("2026-11-24T12:00:00Z", "2026-11-24T12:00:30") == 30.0
    assert seconds_between("2026-11-24T14:00:00+02:00", "2026-11-24T12:00:10") == 10.0
    assert seconds_between(12, "2026-11-24T12:00:00.000Z") == 0.0  # a number edited in by hand
