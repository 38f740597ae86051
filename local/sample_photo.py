"""A small, valid PNG made with the standard library: the local stack's and the tests' sample photo."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    """A grey-gradient PNG; `seed` makes distinct images."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + bytes((x * 16 + y + seed) % 256 for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
