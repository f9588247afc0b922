"""pc-fmnist-png.py: writes each image of an IDX file as its own 8-bit
grayscale PNG (zlib level 9, the best of the five PNG filters per image),
then decodes a sample back to check the writer. Python standard library only.
usage: pc-fmnist-png.py IMAGES.idx OUTDIR"""
import os, struct, sys, zlib

def predictor(f, a, b, c):
    if f == 0: return 0
    if f == 1: return a
    if f == 2: return b
    if f == 3: return (a + b) // 2
    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

def filtered(img, w, h, f):
    out, prev = bytearray(), bytes(w)
    for y in range(h):
        r = img[y * w:(y + 1) * w]
        out.append(f)
        for x in range(w):
            a = r[x - 1] if x else 0
            c = prev[x - 1] if x else 0
            out.append((r[x] - predictor(f, a, prev[x], c)) & 255)
        prev = r
    return bytes(out)

def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)

def png(img, w, h):
    best = min((zlib.compress(filtered(img, w, h, f), 9) for f in range(5)), key=len)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", best) + chunk(b"IEND", b""))

def unpng(data, w, h):
    n = struct.unpack(">I", data[33:37])[0]  # IDAT length: signature 8 + IHDR chunk 25
    raw = zlib.decompress(data[41:41 + n])
    out, prev = bytearray(), bytes(w)
    for y in range(h):
        f, row = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a = row[x - 1] if x else 0
            c = prev[x - 1] if x else 0
            row[x] = (row[x] + predictor(f, a, prev[x], c)) & 255
        out += row
        prev = bytes(row)
    return bytes(out)

data = open(sys.argv[1], "rb").read()
n, h, w = struct.unpack(">III", data[4:16])
os.makedirs(sys.argv[2], exist_ok=True)
for i in range(n):
    img = data[16 + i * h * w:16 + (i + 1) * h * w]
    p = png(img, w, h)
    if i % 500 == 0 and unpng(p, w, h) != img:
        sys.exit("pc-fmnist-png: PNG writer self-check failed at image %d" % i)
    open(os.path.join(sys.argv[2], "%05d.png" % i), "wb").write(p)
