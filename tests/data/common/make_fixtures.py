#!/usr/bin/python3
"""Makes the image fixtures and numeric goldens for tests/common (common_tests).

Rerun from the repository root after changing anything here:
    /usr/bin/python3 tests/data/common/make_fixtures.py
It rewrites tests/data/common/images/ and tests/data/common/golden/ (deterministic,
a few tens of KB). Needs Debian's python3-numpy, python3-opencv and python3-pil.

The goldens are computed independently of our C++ code, from the Python semantics
the service replaces:
  * preprocess: albumentations Resize (cv2.resize INTER_LINEAR) + Normalize, written
    as (img / 255 - mean) / std in float32, CHW;
  * overlay: pytorch-grad-cam 1.5 show_cam_on_image (copied below, ~10 lines);
  * metrics: the seed's IoU (mask resized with INTER_NEAREST, heatmap >= t), pointing
    game, energy inside, mask area, in float64 NumPy;
  * npy: np.save's exact bytes.
Decode fixtures carry pixels given by formulas that the C++ tests recompute
(pattern_rgb / gray_value / gray16_value below), so a decoded image is checked
against arithmetic, not against another decoder.
"""
import io
import json
import os
import struct
import zlib

import cv2
import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")
GOLDEN = os.path.join(HERE, "golden")

# ---------------------------------------------------------------- pixel formulas
# Keep in step with tests/common/fixture_patterns.h.
PATTERN_W, PATTERN_H = 12, 9


def pattern_rgb(w=PATTERN_W, h=PATTERN_H):
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 37 + y * 11) % 256
    g = (x * 5 + y * 71 + 13) % 256
    b = (x * y * 3 + 7) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def gray_value(w=PATTERN_W, h=PATTERN_H):
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 20 + y * 7) % 256).astype(np.uint8)


def gray16_value(w=PATTERN_W, h=PATTERN_H):
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 4099 + y * 997 + 5) % 65536).astype(np.uint16)


# Flat 16x16 blocks: JPEG keeps flat, 8x8-aligned blocks nearly exact, so the
# orientation of a decoded JPEG can be checked by its block colours.
BLOCK_COLOURS = [(230, 30, 30), (30, 200, 40), (40, 40, 220),
                 (240, 240, 240), (250, 220, 0), (0, 0, 0)]


def quadrant_rgb():
    """48x32 (W x H): 2 rows x 3 columns of 16x16 blocks, BLOCK_COLOURS row-major."""
    img = np.zeros((32, 48, 3), np.uint8)
    colours = BLOCK_COLOURS
    for by in range(2):
        for bx in range(3):
            img[by * 16:(by + 1) * 16, bx * 16:(bx + 1) * 16] = colours[by * 3 + bx]
    return img


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def oriented_by_formula(img, orientation):
    """EXIF orientation as coordinate maps (same as the C++ test's helper)."""
    h, w = img.shape[:2]
    if orientation in (5, 6, 7, 8):
        out = np.zeros((w, h) + img.shape[2:], img.dtype)
    else:
        out = np.zeros_like(img)
    oh, ow = out.shape[:2]
    for y in range(oh):
        for x in range(ow):
            sx, sy = {
                1: (x, y), 2: (w - 1 - x, y), 3: (w - 1 - x, h - 1 - y), 4: (x, h - 1 - y),
                5: (y, x), 6: (y, h - 1 - x), 7: (w - 1 - y, h - 1 - x), 8: (w - 1 - y, x),
            }[orientation]
            out[y, x] = img[sy, sx]
    return out


def save_pil(img, name, fmt, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt, **kwargs)
    write(IMAGES, name, buf.getvalue())
    return buf.getvalue()


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def png_chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def big_endian_tiff(img):
    """Uncompressed RGB TIFF in Motorola byte order (PIL and OpenCV write Intel)."""
    h, w = img.shape[:2]
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value
        (256, 4, 1, w),  # ImageWidth as LONG
        (257, 3, 1, h),  # ImageLength as SHORT
        (258, 3, 3, None),  # BitsPerSample -> offset
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, None),  # StripOffsets -> data offset
        (277, 3, 1, 3),
        (278, 3, 1, h),
        (279, 4, 1, w * h * 3),
        (284, 3, 1, 1),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    data_offset = bits_offset + 6
    out = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 258:
            value = bits_offset
            out += struct.pack(">HHII", tag, typ, count, value)
            continue
        if tag == 273:
            value = data_offset
        if typ == 3:
            out += struct.pack(">HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack(">HHII", tag, typ, count, value)
    out += struct.pack(">I", 0) + struct.pack(">HHH", 8, 8, 8) + img.tobytes()
    return out


def cv2_rgb(data):
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if bgr is None else bgr[:, :, ::-1]


def make_images():
    os.makedirs(IMAGES, exist_ok=True)
    rgb = pattern_rgb()
    save_pil(rgb, "rgb.png", "PNG")
    save_pil(np.dstack([rgb, np.full(rgb.shape[:2], 77, np.uint8)]), "rgba.png", "PNG")
    save_pil(gray_value(), "gray.png", "PNG")
    g16 = gray16_value()
    write(IMAGES, "gray16.png", cv2.imencode(".png", g16)[1].tobytes())
    rgb16 = (rgb.astype(np.uint16) * 257 + np.uint16(100)).astype(np.uint16)
    write(IMAGES, "rgb16.png", cv2.imencode(".png", rgb16[:, :, ::-1].copy())[1].tobytes())
    # OpenCV's IMREAD_COLOR keeps the high byte of 16-bit samples (libpng strip_16).
    assert (cv2_rgb(open(os.path.join(IMAGES, "gray16.png"), "rb").read())[:, :, 0]
            == (g16 >> 8)).all()
    save_pil(rgb, "rgb.bmp", "BMP")
    save_pil(rgb, "rgb.tif", "TIFF")
    save_pil(rgb, "rgb_lzw.tif", "TIFF", compression="tiff_lzw")
    write(IMAGES, "rgb_big_endian.tif", big_endian_tiff(rgb))
    assert (cv2_rgb(big_endian_tiff(rgb)) == rgb).all()
    save_pil(rgb, "rgb_lossless.webp", "WEBP", lossless=True)
    quad = quadrant_rgb()
    save_pil(quad, "quad_lossy.webp", "WEBP", quality=90)
    save_pil(quad, "quad.jpg", "JPEG", quality=95)
    save_pil(quad, "quad_progressive.jpg", "JPEG", quality=95, progressive=True)
    for orientation in (6, 8):
        data = save_pil(quad, "quad_exif%d.jpg" % orientation, "JPEG", quality=95,
                        exif=exif_bytes(orientation))
        # labelme's frame: PIL's exif_transpose must agree with our formula.
        upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
        expected = oriented_by_formula(quad, orientation)
        assert upright.shape == expected.shape
        centres = (slice(8, None, 16), slice(8, None, 16))  # block centres, away from
        assert np.abs(upright[centres].astype(int) - expected[centres]).max() < 12  # chroma blur
    for orientation in range(2, 9):
        data = save_pil(rgb, "rgb_exif%d.webp" % orientation, "WEBP", lossless=True,
                        exif=exif_bytes(orientation))
        upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
        assert (upright == oriented_by_formula(rgb, orientation)).all(), orientation
    data = save_pil(rgb, "rgb_exif6.png", "PNG", exif=exif_bytes(6))
    assert (np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
            == oriented_by_formula(rgb, 6)).all()

    # Bad inputs. A noisy picture makes the JPEG long enough to cut mid-scan.
    noise = np.random.default_rng(7).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    write(IMAGES, "truncated.jpg", jpeg[: len(jpeg) * 6 // 10])
    write(IMAGES, "trailing_data.jpg", jpeg + b"TRAILER-" * 8)
    # A comment segment holding FF D9 right after SOI, then the file cut: a naive
    # "contains FF D9" test would pass it.
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 6) + b"x\xff\xd9yz!"
    write(IMAGES, "truncated_eoi_in_comment.jpg", (jpeg[:2] + comment + jpeg[2:])[:1500])
    png = open(os.path.join(IMAGES, "rgb.png"), "rb").read()
    write(IMAGES, "truncated.png", png[: len(png) - 30])
    webp = open(os.path.join(IMAGES, "rgb_lossless.webp"), "rb").read()
    write(IMAGES, "truncated.webp", webp[: len(webp) * 7 // 10])
    bmp = open(os.path.join(IMAGES, "rgb.bmp"), "rb").read()
    write(IMAGES, "truncated.bmp", bmp[: len(bmp) // 2])
    tif = open(os.path.join(IMAGES, "rgb.tif"), "rb").read()
    write(IMAGES, "truncated.tif", tif[:200])
    write(IMAGES, "text_as.png", b"hello, this is plain text and not an image\n")
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    write(IMAGES, "huge_header.png",
          b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    for name in ("truncated.png", "truncated.webp", "truncated.bmp", "truncated.tif"):
        assert cv2_rgb(open(os.path.join(IMAGES, name), "rb").read()) is None, name


# ---------------------------------------------------------------- numeric goldens
def preprocess_reference(rgb, size, mean, std):
    """albumentations Resize + Normalize (+ ToTensorV2's HWC -> CHW) in float32."""
    resized = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    x = resized.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    # albumentations' own formula, (img - mean*255) * (1 / (std*255)), agrees closely.
    alt = (resized.astype(np.float32) - np.asarray(mean, np.float32) * 255) * np.reciprocal(
        np.asarray(std, np.float32) * 255)
    assert np.abs(alt - x).max() < 1e-5
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


def show_cam_on_image(img, mask, use_rgb=False, colormap=cv2.COLORMAP_JET,
                      image_weight=0.5):
    """pytorch-grad-cam 1.5 pytorch_grad_cam/utils/image.py, verbatim logic."""
    heatmap = cv2.applyColorMap(np.uint8(255 * mask), colormap)
    if use_rgb:
        heatmap = cv2.cvtColor(heatmap, cv2.COLOR_BGR2RGB)
    heatmap = np.float32(heatmap) / 255
    if np.max(img) > 1:
        raise Exception("The input image should np.float32 in the range [0, 1]")
    if image_weight < 0 or image_weight > 1:
        raise Exception("image_weight should be in the range [0, 1].")
    cam = (1 - image_weight) * heatmap + image_weight * img
    cam = cam / np.max(cam)
    return np.uint8(255 * cam)


def save_rgb_png(img, name):
    Image.fromarray(img).save(os.path.join(GOLDEN, name))


def scores_reference(heatmap, mask, thresholds):
    h, w = heatmap.shape
    m = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST) > 0
    out = {"iou": []}
    for t in thresholds:
        hot = heatmap >= np.float32(t)
        union = np.logical_or(hot, m).sum()
        inter = np.logical_and(hot, m).sum()
        out["iou"].append(float(inter / union) if union > 0 else 0.0)
    total = float(heatmap.astype(np.float64).sum())
    out["pointing_game_hit"] = bool(total > 0 and m.flat[int(np.argmax(heatmap))])
    out["energy_inside"] = (float(heatmap.astype(np.float64)[m].sum() / total)
                            if total > 0 else 0.0)
    out["mask_area_fraction"] = float(m.mean())
    return out


def make_goldens():
    os.makedirs(GOLDEN, exist_ok=True)
    rng = np.random.default_rng(2024)
    image = rng.integers(0, 256, (29, 37, 3), dtype=np.uint8)
    save_rgb_png(image, "input_37x29.png")
    imagenet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    custom = ([0.5, 0.25, 0.125], [0.5, 0.3, 0.7])
    np.save(os.path.join(GOLDEN, "preprocess_16x12_imagenet.npy"),
            preprocess_reference(image, (16, 12), *imagenet))
    np.save(os.path.join(GOLDEN, "preprocess_50x40_custom.npy"),
            preprocess_reference(image, (50, 40), *custom))

    # Heatmap at "model resolution" 16x12 with exact 0, 1 and k/255 values.
    heat = rng.random((12, 16), dtype=np.float32)
    heat[0, 0], heat[0, 1], heat[1, 0] = 0.0, 1.0, np.float32(128 / 255)
    heat[5, 5:10] = heat[5, 5]  # a plateau
    np.save(os.path.join(GOLDEN, "heatmap_16x12.npy"), heat)
    rgb01 = np.float32(image) / 255
    model_rgb = cv2.resize(image, (16, 12), interpolation=cv2.INTER_LINEAR)
    save_rgb_png(model_rgb, "model_input_16x12.png")
    save_rgb_png(show_cam_on_image(np.float32(model_rgb) / 255, heat, True,
                                   image_weight=0.5), "overlay_model_w050.png")
    full = cv2.resize(heat, (37, 29), interpolation=cv2.INTER_LINEAR)
    save_rgb_png(show_cam_on_image(rgb01, full, True, image_weight=0.5),
                 "overlay_full_w050.png")
    save_rgb_png(show_cam_on_image(rgb01, full, True, image_weight=0.3),
                 "overlay_full_w030.png")
    save_rgb_png(show_cam_on_image(rgb01, full, True, image_weight=0.0),
                 "overlay_full_w000.png")
    jet = cv2.cvtColor(cv2.applyColorMap(np.uint8(255 * heat), cv2.COLORMAP_JET),
                       cv2.COLOR_BGR2RGB)
    save_rgb_png(jet, "jet_16x12.png")
    Image.fromarray(np.uint8(255 * heat)).save(os.path.join(GOLDEN, "gray_16x12.png"))

    # Metrics: a 37x29 mask (a filled ellipse) scored against the 16x12 heatmap.
    mask = np.zeros((29, 37), np.uint8)
    cv2.ellipse(mask, (20, 12), (10, 7), 15, 0, 360, 1, -1)
    Image.fromarray(mask * 255).save(os.path.join(GOLDEN, "metrics_mask_37x29.png"))
    thresholds = [0.3, 0.5, 0.7, 0.0, 1.0]
    golden = {"thresholds": thresholds,
              "resized_mask": scores_reference(heat, mask, thresholds)}
    same = cv2.resize(mask, (16, 12), interpolation=cv2.INTER_NEAREST)
    golden["same_size_mask"] = scores_reference(heat, same, thresholds)
    with open(os.path.join(GOLDEN, "metrics.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")

    values = np.arange(15, dtype=np.float32).reshape(3, 5) * np.float32(-0.75) + 0.5
    np.save(os.path.join(GOLDEN, "npy_3x5.npy"), values)
    np.save(os.path.join(GOLDEN, "npy_1x1.npy"), np.full((1, 1), 3.25, np.float32))


if __name__ == "__main__":
    make_images()
    make_goldens()
    print("wrote", IMAGES, "and", GOLDEN)
