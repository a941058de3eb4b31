#!/usr/bin/env python3
"""Compares two PNG images (8-bit RGB or RGBA, non-interlaced, as pdftoppm
writes them) with a tolerance, in the standard library alone.

    png_compare.py <actual.png> <reference.png> [max_share]

The images must have the same size. A pixel differs when one of its channels
differs by more than 48 of 255 (anti-aliasing and hinting move edges by a
shade); the comparison fails when more than max_share (default 0.005, half a
percent) of the pixels differ, which a changed word, amount or rule does.
Exit 0 when they match, 1 when they do not (with the figures), 2 on a bad
file.
"""
import struct
import sys
import zlib

THRESHOLD = 48


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, head = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = head
    channels = {2: 3, 6: 4, 0: 1}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise ValueError("%s: only 8-bit grey, RGB or RGBA, non-interlaced" % path)
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    max_share = float(argv[3]) if len(argv) > 3 else 0.005
    try:
        w1, h1, c1, a = read_png(argv[1])
        w2, h2, c2, b = read_png(argv[2])
    except (OSError, ValueError, TypeError, zlib.error) as e:
        print("png_compare: %s" % e)
        return 2
    if (w1, h1) != (w2, h2):
        print("png_compare: sizes differ: %dx%d against %dx%d" % (w1, h1, w2, h2))
        return 1
    differ = 0
    for y in range(h1):
        ra, rb = a[y], b[y]
        if ra == rb and c1 == c2:
            continue
        for x in range(w1):
            pa = ra[x * c1:x * c1 + min(c1, 3)]
            pb = rb[x * c2:x * c2 + min(c2, 3)]
            if any(abs(p - q) > THRESHOLD for p, q in zip(pa, pb)):
                differ += 1
    share = differ / float(w1 * h1)
    if share > max_share:
        print("png_compare: %d of %d pixels differ (%.3f %%, at most %.3f %% allowed)"
              % (differ, w1 * h1, 100 * share, 100 * max_share))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
