"""Draws media/icon.png (128x128): a lightning bolt over stacked 'token' bars.

Standard library only (zlib + struct), so it runs anywhere: python3 media/make-icon.py
"""
import struct
import zlib
from pathlib import Path

SIZE = 128
BACKGROUND = (30, 41, 59)
BARS = (56, 189, 248)
BOLT = (250, 204, 21)


def inside_rounded_square(x: float, y: float, radius: float = 22) -> bool:
    cx = min(max(x, radius), SIZE - radius)
    cy = min(max(y, radius), SIZE - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def inside_polygon(x: float, y: float, points: list[tuple[float, float]]) -> bool:
    inside = False
    j = len(points) - 1
    for i, (xi, yi) in enumerate(points):
        xj, yj = points[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


BOLT_SHAPE = [(74, 12), (34, 70), (60, 70), (50, 116), (94, 54), (67, 54), (80, 12)]
# Three bars of decreasing length: tokens accepted per step.
BAR_RECTS = [(16, 28, 44, 38), (16, 48, 36, 58), (16, 68, 28, 78)]


def pixel(x: int, y: int) -> tuple[int, int, int, int]:
    # 4x4 supersampling for smooth edges.
    samples = [(x + (i + 0.5) / 4, y + (j + 0.5) / 4) for i in range(4) for j in range(4)]
    totals = [0.0, 0.0, 0.0, 0.0]
    for sx, sy in samples:
        if not inside_rounded_square(sx, sy):
            continue
        colour = BACKGROUND
        if any(x0 <= sx <= x1 and y0 <= sy <= y1 for x0, y0, x1, y1 in BAR_RECTS):
            colour = BARS
        if inside_polygon(sx, sy, BOLT_SHAPE):
            colour = BOLT
        for k in range(3):
            totals[k] += colour[k]
        totals[3] += 255
    n = len(samples)
    alpha = totals[3] / n
    if alpha == 0:
        return (0, 0, 0, 0)
    coverage = totals[3] / 255
    return (round(totals[0] / coverage), round(totals[1] / coverage), round(totals[2] / coverage), round(alpha))


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    raw = b''.join(b'\x00' + row for row in rows)
    header = struct.pack('>IIBBBBB', width, height, 8, 6, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')


rows = [bytes(v for x in range(SIZE) for v in pixel(x, y)) for y in range(SIZE)]
Path(__file__).with_name('icon.png').write_bytes(png(SIZE, SIZE, rows))
