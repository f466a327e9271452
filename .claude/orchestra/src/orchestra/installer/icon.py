"""The plugin's 512x512 PNG icon, drawn with the standard library: a director linked to four teams.

Shapes are signed-distance fields, antialiased over one pixel and painted only inside their bounding
boxes, so drawing takes a fraction of a second; `pixels()` lets a check compare images independently
of the zlib build that compressed them.
"""

from __future__ import annotations

import math
import struct
import zlib

SIZE = 512
TOP, BOTTOM = (30, 27, 75), (49, 46, 129)
LINK = (165, 180, 252)
DIRECTOR = (248, 250, 252)
TEAMS = [(245, 158, 11), (16, 185, 129), (56, 189, 248), (244, 63, 94)]


def render() -> bytes:
    canvas = bytearray()
    for y in range(SIZE):
        t = y / (SIZE - 1)
        canvas += bytes(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True)) * SIZE
    centre = SIZE / 2
    spots = [(centre + 160 * math.cos(math.radians(a)), centre + 160 * math.sin(math.radians(a)))
             for a in (225, 315, 45, 135)]
    for x, y in spots:
        _segment(canvas, (centre, centre), (x, y), 7, LINK)
    for (x, y), colour in zip(spots, TEAMS, strict=True):
        _disc(canvas, x, y, 50, colour)
    _disc(canvas, centre, centre, 74, DIRECTOR)
    return encode(bytes(canvas))


def encode(rgb: bytes) -> bytes:
    rows = b"".join(b"\x00" + rgb[y * SIZE * 3:(y + 1) * SIZE * 3] for y in range(SIZE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def pixels(png: bytes) -> tuple[int, int, bytes]:
    """(width, height, raw scanlines) of a PNG written by `encode`; raises ValueError if it is not one."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG file")
    pos, width, height, data = 8, 0, 0, b""
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    return width, height, zlib.decompress(data)


def _blend(canvas: bytearray, x: int, y: int, colour: tuple[int, int, int], cover: float) -> None:
    i = (y * SIZE + x) * 3
    for k in range(3):
        canvas[i + k] = round(canvas[i + k] + (colour[k] - canvas[i + k]) * cover)


def _disc(canvas: bytearray, cx: float, cy: float, r: float, colour: tuple[int, int, int]) -> None:
    for y in range(max(0, int(cy - r - 1)), min(SIZE, int(cy + r + 2))):
        for x in range(max(0, int(cx - r - 1)), min(SIZE, int(cx + r + 2))):
            cover = min(1.0, max(0.0, r - math.hypot(x + 0.5 - cx, y + 0.5 - cy) + 0.5))
            if cover:
                _blend(canvas, x, y, colour, cover)


def _segment(canvas: bytearray, a: tuple[float, float], b: tuple[float, float], half: float,
             colour: tuple[int, int, int]) -> None:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    for y in range(max(0, int(min(ay, by) - half - 1)), min(SIZE, int(max(ay, by) + half + 2))):
        for x in range(max(0, int(min(ax, bx) - half - 1)), min(SIZE, int(max(ax, bx) + half + 2))):
            px, py = x + 0.5, y + 0.5
            t = min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / length2))
            cover = min(1.0, max(0.0, half - math.hypot(px - ax - t * dx, py - ay - t * dy) + 0.5))
            if cover:
                _blend(canvas, x, y, colour, cover)
