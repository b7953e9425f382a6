#!/usr/bin/python3
"""Image fixtures and Pillow 9.4 reference outputs for tests/test_image.c and test_preprocess.c.

Usage: /usr/bin/python3 tools/make_image_fixtures.py OUTDIR

Writes test images (PNG in every colour type, bit depth and interlacing, JPEG baseline,
progressive, grayscale, CMYK and YCCK) to OUTDIR/images/, and what Pillow and torch make of
them to OUTDIR/refs/, all listed in OUTDIR/manifest.txt, one record per line, fields separated
by single spaces (file names are relative to OUTDIR):

  image NAME FILE MODE WIDTH HEIGHT DECODED RAW_I32
      FILE opened by Pillow has mode MODE (Pillow's name: 1 L LA P RGB RGBA CMYK I) and size.
      DECODED: Image.open(FILE).convert('RGB') as raw bytes, HEIGHT x WIDTH x 3, or "-" when
      the image is too large to store. RAW_I32: for mode I, the pixel values as little-endian
      int32, HEIGHT x WIDTH; otherwise "-".
  pre NAME RESIZE FILTER SIZE RGB TENSOR
      The transform of open_clip's BiomedCLIP preprocessing on image NAME with Pillow doing the
      work: RESIZE "crop" is torchvision's Resize(SIZE) on the shortest side (no resize when it
      is already SIZE; the long side becomes int(SIZE * long / short)) then CenterCrop(SIZE)
      (top = int(round((H - SIZE) / 2.0)), left likewise); "squash" is resize((SIZE, SIZE)).
      FILTER is nearest, bilinear or bicubic. RGB: convert('RGB') of the result, SIZE x SIZE x 3
      bytes. TENSOR: torchvision's ToTensor + Normalize computed with torch in float32
      (x / 255, - mean, / std with open_clip's mean and std), 3 x SIZE x SIZE little-endian
      float32, or "-".
  resize_f32 NAME INPUT IN_W IN_H OUT_W OUT_H FILTER OUTPUT
      A mode "F" image (INPUT, IN_H x IN_W little-endian float32) resized by Pillow to
      OUT_W x OUT_H with FILTER (OUTPUT, float32).

Pillow cannot write 16-bit colour, grey+alpha 16, palettes of 1/2/4 bits with chosen
entries, or interlaced PNGs, so PNGs are written by the small encoder below (every scanline
filter type is used, IDAT is split into several chunks) and only read by Pillow. JPEGs are
written by Pillow, except the YCCK one: Pillow writes CMYK as CMYK, while TurboJPEG
(libturbojpeg, called through ctypes) compresses CMYK input as YCCK; without libturbojpeg
that fixture is left out and the generator says so.
"""
import ctypes
import ctypes.util
import io
import os
import struct
import sys
import warnings
import zlib

import numpy as np
import torch
from PIL import Image

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
MAX_DECODED_PIXELS = 1 << 20  # larger images get no DECODED reference (it would be huge)

# ---- a PNG encoder for every colour type, bit depth and interlacing ---------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """H x W x C integer samples -> list of raw scanlines (bytes arrays) at the bit depth."""
    h, w, c = samples.shape
    if depth == 16:
        return [row.astype(">u2").tobytes() for row in samples.reshape(h, w * c)]
    if depth == 8:
        return [row.astype(np.uint8).tobytes() for row in samples.reshape(h, w * c)]
    flat = samples.reshape(h, w * c).astype(np.uint8)
    bits = np.unpackbits(flat[:, :, None], axis=2)[:, :, 8 - depth:]  # MSB first, `depth` bits
    return [np.packbits(row.reshape(-1)).tobytes() for row in bits]


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_rows(rows, bpp):
    """Filter each scanline with type (row index mod 5), so every filter is exercised."""
    out = []
    prev = np.zeros(len(rows[0]) if rows else 0, dtype=np.int16)
    for i, row in enumerate(rows):
        cur = np.frombuffer(row, dtype=np.uint8).astype(np.int16)
        left = np.concatenate([np.zeros(bpp, np.int16), cur[:-bpp]]) if len(cur) > bpp else np.zeros_like(cur)
        upleft = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]]) if len(cur) > bpp else np.zeros_like(cur)
        kind = i % 5
        predictor = [np.zeros_like(cur), left, prev, (left + prev) // 2, paeth(left, prev, upleft)][kind]
        out.append(bytes([kind]) + ((cur - predictor) % 256).astype(np.uint8).tobytes())
        prev = cur
    return out


def encode_png(samples, color_type, depth, palette=None, trns=None, interlace=False):
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w, c = samples.shape
    assert c == CHANNELS[color_type]
    bpp = max(1, c * depth // 8)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += b"".join(filter_rows(pack_rows(sub, depth), bpp))
    else:
        raw = b"".join(filter_rows(pack_rows(samples, depth), bpp))
    data = zlib.compress(raw, 6)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    step = max(1, len(data) // 3)
    for i in range(0, len(data), step):
        out += chunk(b"IDAT", data[i:i + step])
    return out + chunk(b"IEND", b"")


# ---- content that exercises the resampler: gradients, sharp edges, noise ------------------------

def content(rng, h, w, c, maxval, noise=0.3):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for ch in range(c):
        gradient = (x / max(w, 1) * (0.6 + 0.2 * ch) + y / max(h, 1) * (0.5 - 0.1 * ch) + 0.17 * ch) % 1.0
        checker = ((x // (5 + 2 * ch) + y // (7 + ch)) % 2) * 0.5
        v = (1 - noise) * (0.6 * gradient + 0.4 * checker) + noise * rng.random((h, w))
        circle = (x - w * 0.45) ** 2 + (y - h * 0.55) ** 2 < (min(w, h) / 3.0) ** 2
        v = np.where(circle, 1.0 - v, v)
        planes.append(np.clip(np.rint(v * maxval), 0, maxval))
    return np.stack(planes, axis=2).astype(np.int64)


def alpha_plane(rng, h, w, maxval):
    """Alpha with fully transparent and fully opaque bands and everything in between."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = (x / max(w, 1) + 0.3 * rng.random((h, w))) / 1.3
    a[(y.astype(int) // 11) % 4 == 0] = 0.0
    a[(y.astype(int) // 11) % 4 == 2] = 1.0
    return np.clip(np.rint(a * maxval), 0, maxval).astype(np.int64)[:, :, None]


def palette_for(rng, entries):
    return rng.integers(0, 256, size=(entries, 3))


# ---- Pillow / torch references -------------------------------------------------------------------

def transform(im, size, resize, filt):
    """open_clip's Resize + CenterCrop (or a squash resize) + convert('RGB'), torchvision's way."""
    if resize == "crop":
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        if short != size:
            new_short, new_long = size, int(size * long / short)
            new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
            im = im.resize((new_w, new_h), FILTERS[filt])
        w, h = im.size
        top = int(round((h - size) / 2.0))
        left = int(round((w - size) / 2.0))
        im = im.crop((left, top, left + size, top + size))
    else:
        im = im.resize((size, size), FILTERS[filt])
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def normalise(rgb):
    """torchvision ToTensor + Normalize, in torch float32."""
    t = torch.from_numpy(rgb.copy()).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    mean = torch.as_tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor(STD, dtype=torch.float32)[:, None, None]
    return t.sub_(mean).div_(std).numpy().astype("<f4")


class Fixtures:
    def __init__(self, outdir):
        self.outdir = outdir
        os.makedirs(os.path.join(outdir, "images"), exist_ok=True)
        os.makedirs(os.path.join(outdir, "refs"), exist_ok=True)
        self.lines = []
        self.names = set()

    def write(self, rel, data):
        with open(os.path.join(self.outdir, rel), "wb") as f:
            f.write(data)
        return rel

    def add(self, name, ext, data, transforms):
        """Store an encoded image and every reference for it."""
        assert name not in self.names, name
        self.names.add(name)
        path = self.write(f"images/{name}.{ext}", data)
        im = Image.open(io.BytesIO(data))
        im.load()
        w, h = im.size
        decoded = raw = "-"
        if w * h <= MAX_DECODED_PIXELS:
            decoded = self.write(f"refs/{name}.decoded.rgb", np.asarray(im.convert("RGB"), np.uint8).tobytes())
            if im.mode == "I":
                raw = self.write(f"refs/{name}.raw.i32", np.asarray(im, dtype="<i4").tobytes())
        self.lines.append(f"image {name} {path} {im.mode} {w} {h} {decoded} {raw}")
        for resize, filt, size, with_tensor in transforms:
            rgb = transform(im, size, resize, filt)
            base = f"refs/{name}.{resize}.{filt}.{size}"
            rgb_file = self.write(base + ".rgb", rgb.tobytes())
            tensor_file = self.write(base + ".f32", normalise(rgb).tobytes()) if with_tensor else "-"
            self.lines.append(f"pre {name} {resize} {filt} {size} {rgb_file} {tensor_file}")

    def add_f32_resize(self, name, arr, out_w, out_h, filt):
        h, w = arr.shape
        src = self.write(f"refs/{name}.in.f32", arr.astype("<f4").tobytes())
        out = np.asarray(Image.fromarray(arr.astype(np.float32), "F").resize((out_w, out_h), FILTERS[filt]))
        dst = self.write(f"refs/{name}.out.f32", out.astype("<f4").tobytes())
        self.lines.append(f"resize_f32 {name} {src} {w} {h} {out_w} {out_h} {filt} {dst}")

    def finish(self):
        with open(os.path.join(self.outdir, "manifest.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


# The standard set of transforms: BiomedCLIP's (with the tensor) and the squash variant.
STANDARD = [("crop", "bicubic", 224, True), ("squash", "bicubic", 224, False)]
# More filters and another output size for the colour-type fixtures.
EXTENDED = STANDARD + [("crop", "bilinear", 224, False), ("crop", "nearest", 224, False),
                       ("squash", "bilinear", 96, False), ("crop", "bicubic", 96, False)]


def pillow_jpeg(array, mode, **options):
    out = io.BytesIO()
    Image.fromarray(array.astype(np.uint8), mode).save(out, "JPEG", **options)
    return out.getvalue()


def turbojpeg_ycck(cmyk, quality=90):
    """CMYK samples compressed by TurboJPEG, which stores CMYK input as YCCK; None without it."""
    path = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
    try:
        tj = ctypes.CDLL(path)
    except OSError:
        return None
    tj.tjInitCompress.restype = ctypes.c_void_p
    tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.c_int, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                               ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int]
    tj.tjFree.argtypes = [ctypes.c_void_p]
    tj.tjDestroy.argtypes = [ctypes.c_void_p]
    TJPF_CMYK, TJSAMP_420 = 11, 2
    src = np.ascontiguousarray(cmyk.astype(np.uint8))
    h, w, _ = src.shape
    handle = tj.tjInitCompress()
    buf = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    rc = tj.tjCompress2(handle, src.ctypes.data, w, 0, h, TJPF_CMYK, ctypes.byref(buf), ctypes.byref(size),
                        TJSAMP_420, quality, 0)
    data = ctypes.string_at(buf, size.value) if rc == 0 else None
    if buf:
        tj.tjFree(buf)
    tj.tjDestroy(handle)
    return data


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    warnings.simplefilter("ignore")  # Pillow warns about palette transparency given as bytes
    rng = np.random.default_rng(20240611)
    fx = Fixtures(sys.argv[1])

    # Sizes that exercise the resampler and the crop arithmetic (RGB, 8-bit, non-interlaced).
    for w, h in [(1, 1), (7, 300), (223, 224), (224, 224), (225, 224), (224, 227), (229, 226), (3000, 17),
                 (50, 60), (100, 1000), (333, 250), (2, 3)]:
        fx.add(f"size_{w}x{h}", "png", encode_png(content(rng, h, w, 3, 255), 2, 8), STANDARD)
    for w, h in [(300, 257), (17, 3000), (224, 501), (500, 224)]:
        fx.add(f"gray_{w}x{h}", "png", encode_png(content(rng, h, w, 1, 255), 0, 8), STANDARD)
    # One large photograph-like image (preprocessing only: its decoded pixels are not stored).
    # (Drawn at 1024 x 1024 and enlarged by Pillow: computing the pattern at full size is slow.)
    big = Image.fromarray(content(rng, 1024, 1024, 3, 255, noise=0.1).astype(np.uint8), "RGB")
    big = np.asarray(big.resize((4096, 4096), Image.BILINEAR))
    fx.add("big_4096x4096", "jpg", pillow_jpeg(big, "RGB", quality=85), STANDARD)

    # Every PNG colour type and bit depth, 300 x 257 (a downscale with a crop).
    w, h = 300, 257
    for depth in (1, 2, 4, 8, 16):
        fx.add(f"png_gray{depth}", "png", encode_png(content(rng, h, w, 1, (1 << depth) - 1), 0, depth), EXTENDED)
    # 16-bit grey opens as mode I; small values keep the I -> RGB clipping from hiding the arithmetic.
    fx.add("png_gray16_low", "png", encode_png(content(rng, h, w, 1, 400), 0, 16), EXTENDED)
    fx.add("png_gray8_trns", "png", encode_png(content(rng, h, w, 1, 255), 0, 8, trns=struct.pack(">H", 7)), STANDARD)
    for depth in (8, 16):
        m = (1 << depth) - 1
        ga = np.concatenate([content(rng, h, w, 1, m), alpha_plane(rng, h, w, m)], axis=2)
        fx.add(f"png_ga{depth}", "png", encode_png(ga, 4, depth), EXTENDED)
        fx.add(f"png_rgb{depth}", "png", encode_png(content(rng, h, w, 3, m), 2, depth), EXTENDED)
        rgba = np.concatenate([content(rng, h, w, 3, m), alpha_plane(rng, h, w, m)], axis=2)
        fx.add(f"png_rgba{depth}", "png", encode_png(rgba, 6, depth), EXTENDED)
    fx.add("png_rgb8_trns", "png", encode_png(content(rng, h, w, 3, 255), 2, 8, trns=struct.pack(">HHH", 1, 2, 3)),
           STANDARD)
    for depth in (1, 2, 4, 8):
        n = 1 << depth
        indices = content(rng, h, w, 1, n - 1)
        pal = palette_for(rng, n)
        fx.add(f"png_pal{depth}", "png", encode_png(indices, 3, depth, palette=pal), EXTENDED)
        alphas = bytes(rng.integers(0, 256, size=n).astype(np.uint8))
        fx.add(f"png_pal{depth}_trns", "png", encode_png(indices, 3, depth, palette=pal, trns=alphas), EXTENDED)
    # One fully transparent entry (Pillow keeps an int transparency) and a short palette: the
    # entries the file does not define keep Pillow's grey ramp.
    indices = content(rng, h, w, 1, 255)
    fx.add("png_pal8_trns_one", "png",
           encode_png(indices, 3, 8, palette=palette_for(rng, 256), trns=b"\xff" * 9 + b"\x00"), STANDARD)
    fx.add("png_pal8_short", "png", encode_png(content(rng, h, w, 1, 39), 3, 8, palette=palette_for(rng, 40)),
           STANDARD)

    # Interlaced (Adam7) variants.
    fx.add("png_gray1_interlaced", "png", encode_png(content(rng, h, w, 1, 1), 0, 1, interlace=True), STANDARD)
    fx.add("png_gray16_interlaced", "png", encode_png(content(rng, h, w, 1, 500), 0, 16, interlace=True), STANDARD)
    fx.add("png_pal4_interlaced", "png",
           encode_png(content(rng, h, w, 1, 15), 3, 4, palette=palette_for(rng, 16), interlace=True), STANDARD)
    fx.add("png_rgb8_interlaced", "png", encode_png(content(rng, h, w, 3, 255), 2, 8, interlace=True), STANDARD)
    rgba16 = np.concatenate([content(rng, h, w, 3, 65535), alpha_plane(rng, h, w, 65535)], axis=2)
    fx.add("png_rgba16_interlaced", "png", encode_png(rgba16, 6, 16, interlace=True), STANDARD)
    ga8 = np.concatenate([content(rng, 5, 3, 1, 255), alpha_plane(rng, 5, 3, 255)], axis=2)
    fx.add("png_ga8_interlaced_tiny", "png", encode_png(ga8, 4, 8, interlace=True), STANDARD)

    # Upscales in the special modes: premultiplied alpha, NEAREST for P and 1, the int32 path.
    rgba = np.concatenate([content(rng, 60, 50, 3, 255), alpha_plane(rng, 60, 50, 255)], axis=2)
    fx.add("up_rgba_50x60", "png", encode_png(rgba, 6, 8), EXTENDED)
    la = np.concatenate([content(rng, 30, 40, 1, 255), alpha_plane(rng, 30, 40, 255)], axis=2)
    fx.add("up_la_40x30", "png", encode_png(la, 4, 8), EXTENDED)
    fx.add("up_pal_37x50", "png", encode_png(content(rng, 50, 37, 1, 255), 3, 8, palette=palette_for(rng, 256)),
           EXTENDED)
    fx.add("up_bit_61x47", "png", encode_png(content(rng, 47, 61, 1, 1), 0, 1), EXTENDED)
    fx.add("up_gray16_60x50", "png", encode_png(content(rng, 50, 60, 1, 300), 0, 16), EXTENDED)

    # JPEGs written by Pillow (libjpeg-turbo) and the YCCK one by TurboJPEG.
    w, h = 333, 250
    rgb = content(rng, h, w, 3, 255, noise=0.1)
    fx.add("jpeg_gray", "jpg", pillow_jpeg(content(rng, h, w, 1, 255)[:, :, 0], "L", quality=90), EXTENDED)
    fx.add("jpeg_rgb_420", "jpg", pillow_jpeg(rgb, "RGB", quality=85), EXTENDED)
    fx.add("jpeg_rgb_444", "jpg", pillow_jpeg(rgb, "RGB", quality=95, subsampling=0), STANDARD)
    fx.add("jpeg_rgb_422", "jpg", pillow_jpeg(rgb, "RGB", quality=75, subsampling=1), STANDARD)
    fx.add("jpeg_progressive", "jpg", pillow_jpeg(rgb, "RGB", quality=85, progressive=True), EXTENDED)
    fx.add("jpeg_gray_7x300", "jpg", pillow_jpeg(content(rng, 300, 7, 1, 255)[:, :, 0], "L"), STANDARD)
    cmyk = content(rng, h, w, 4, 255, noise=0.1)
    fx.add("jpeg_cmyk", "jpg", pillow_jpeg(cmyk, "CMYK", quality=90), EXTENDED)
    ycck = turbojpeg_ycck(cmyk)
    if ycck is None:
        print("make_image_fixtures: libturbojpeg not found, no YCCK fixture", file=sys.stderr)
    else:
        adobe = Image.open(io.BytesIO(ycck)).info.get("adobe_transform")
        assert adobe == 2, f"TurboJPEG did not write YCCK (Adobe transform {adobe})"
        fx.add("jpeg_ycck", "jpg", ycck, EXTENDED)

    # Mode "F" resizes (the resampler's float path, used for segmentation masks).
    mask = rng.random((56, 56)) * 6.0 - 3.0
    fx.add_f32_resize("f32_up_bicubic", mask, 300, 257, "bicubic")
    fx.add_f32_resize("f32_up_bilinear", mask, 100, 61, "bilinear")
    fx.add_f32_resize("f32_up_nearest", mask, 97, 130, "nearest")
    fx.add_f32_resize("f32_down_bicubic", rng.random((257, 300)).astype(np.float32), 77, 50, "bicubic")
    fx.add_f32_resize("f32_one_axis", mask, 56, 200, "bicubic")
    fx.finish()


if __name__ == "__main__":
    main()
