#!/usr/bin/python3
"""Writes the fuzzers' seed corpora, tests/fuzz/<target>/corpus/, from the repository's
test data, and tests/fuzz/<target>/SOURCES.txt saying where every seed came from.

Seeds:
  image_decode     every fixture image of tests/data/common/images (including the
                   truncated and hostile ones), the PNG goldens of
                   tests/data/common/golden, tests/server/data/case_*.png, and the first
                   phantom image of tests/data/e2e's run (seed 20240611), shrunk to
                   64 px with PIL (JPEG q85 and PNG; the originals are 130-330 KB).
  labelme          tests/data/common/masks/cases.json whole and one file per shape
                   (its 38 shapes cover every shape type), the first 24 shapes of
                   masks/random.json, tests/server/data/case_*.json, the phantom's first
                   two annotations (seed 20240611), and a few hand-written variants
                   below (labelme 3.x fields, nulls, a "mask" shape, wrong counts).
  explain_request  ExplainRequest messages (protobuf wire format, encoded here by hand:
                   Debian has no python3-protobuf here) combining those images and
                   annotations with option sets that reach every branch of
                   PrepareItem/FinishItem; listed in REQUESTS below.

The libFuzzer runs add what they find to a scratch copy, never to these folders
(scripts/fuzz.sh). Rerun after changing the test data:

    cmake --build build --target explainer-phantom
    /usr/bin/python3 tests/fuzz/make_seed_corpus.py --phantom build/tools/phantom/explainer-phantom
"""

import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUZZ = os.path.join(ROOT, "tests", "fuzz")
PHANTOM_SEED = 20240611  # tests/data/e2e/make_demo_expectations.py's SEED


def rel(path):
    return os.path.relpath(path, ROOT)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Corpus:
    """One target's corpus folder, rewritten from scratch, with its SOURCES.txt."""

    def __init__(self, target):
        self.target = target
        self.dir = os.path.join(FUZZ, target, "corpus")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.sources = []

    def add(self, name, data, source):
        path = os.path.join(self.dir, name)
        if os.path.exists(path):
            sys.exit("duplicate seed name %s/%s" % (self.target, name))
        with open(path, "wb") as f:
            f.write(data)
        self.sources.append("%s\t%d bytes\t%s" % (name, len(data), source))

    def close(self):
        with open(os.path.join(FUZZ, self.target, "SOURCES.txt"), "w") as f:
            f.write("# Seeds of tests/fuzz/%s/corpus, written by tests/fuzz/make_seed_corpus.py.\n"
                    "# file\tsize\twhere it came from\n" % self.target)
            for line in sorted(self.sources):
                f.write(line + "\n")
        print("%s: %d seeds" % (self.target, len(self.sources)))


def labelme(shapes, width, height, version="5.4.1", **extra):
    doc = {"version": version, "flags": {}, "shapes": shapes, "imagePath": "x.png",
           "imageData": None, "imageHeight": height, "imageWidth": width}
    doc.update(extra)
    return json.dumps(doc, indent=1).encode()


def shrink(jpeg_bytes, fmt):
    image = Image.open(io.BytesIO(jpeg_bytes))
    image.thumbnail((64, 64))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


# --- protobuf wire format (proto/explainer/v1/explainer.proto) ---------------------

def varint(n):
    if n < 0:
        n += 1 << 64  # int32 negatives are 10-byte varints
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_float(number, value):
    return varint(number << 3 | 5) + struct.pack("<f", value)


def options(target_class=None, thresholds=(), raw=False, heatmap_png=False,
            overlay_png=False, weight=None, skip=False, labels=(), shape_types=()):
    out = b""
    if target_class is not None:
        out += field_varint(2, target_class)
    if thresholds:  # proto3 packs repeated scalars
        out += field_bytes(3, b"".join(struct.pack("<f", t) for t in thresholds))
    for number, flag in ((4, raw), (5, heatmap_png), (6, overlay_png), (8, skip)):
        if flag:
            out += field_varint(number, 1)
    if weight is not None:
        out += field_float(7, weight)
    for label in labels:
        out += field_bytes(9, label.encode())
    for shape_type in shape_types:
        out += field_bytes(10, shape_type.encode())
    return out


def request(request_id, image=b"", annotation=b"", opts=b""):
    out = field_bytes(1, request_id.encode())
    if image:
        out += field_bytes(2, image)
    if annotation:
        out += field_bytes(3, annotation)
    if opts:
        out += field_bytes(4, opts)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phantom", required=True, help="the explainer-phantom binary")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.phantom, "--out", tmp, "--count", "2", "--seed",
                        str(PHANTOM_SEED)], check=True, stdout=subprocess.DEVNULL)
        phantom_jpeg = read(os.path.join(tmp, "images", "IMG000001.jpeg"))
        phantom_json = [read(os.path.join(tmp, "Annotations", "IMG%06d.json" % i))
                        for i in (1, 2)]
    phantom_src = "explainer-phantom --count 2 --seed %d" % PHANTOM_SEED

    images_dir = os.path.join(ROOT, "tests", "data", "common", "images")
    golden_dir = os.path.join(ROOT, "tests", "data", "common", "golden")
    server_dir = os.path.join(ROOT, "tests", "server", "data")
    masks_dir = os.path.join(ROOT, "tests", "data", "common", "masks")

    # image_decode
    corpus = Corpus("image_decode")
    for name in sorted(os.listdir(images_dir)):
        path = os.path.join(images_dir, name)
        corpus.add("common_images_" + name, read(path), rel(path))
    for name in sorted(os.listdir(golden_dir)):
        if name.endswith(".png"):
            path = os.path.join(golden_dir, name)
            corpus.add("common_golden_" + name, read(path), rel(path))
    for name in ("case_0.png", "case_1.png"):
        path = os.path.join(server_dir, name)
        corpus.add("server_" + name, read(path), rel(path))
    corpus.add("phantom_IMG000001_64px.jpg", shrink(phantom_jpeg, "JPEG"),
               phantom_src + ": images/IMG000001.jpeg, PIL thumbnail 64 px, JPEG q85")
    corpus.add("phantom_IMG000001_64px.png", shrink(phantom_jpeg, "PNG"),
               phantom_src + ": images/IMG000001.jpeg, PIL thumbnail 64 px, PNG")
    corpus.close()

    # labelme
    corpus = Corpus("labelme")
    cases_path = os.path.join(masks_dir, "cases.json")
    cases = json.loads(read(cases_path))
    corpus.add("masks_cases.json", read(cases_path), rel(cases_path))
    for i, shape in enumerate(cases["shapes"]):
        corpus.add("masks_cases_%02d_%s.json" % (i, shape["shape_type"]),
                   labelme([shape], cases["imageWidth"], cases["imageHeight"]),
                   "%s: shapes[%d] alone (%s)" % (rel(cases_path), i, shape["label"]))
    random_path = os.path.join(masks_dir, "random.json")
    rand = json.loads(read(random_path))
    corpus.add("masks_random_first24.json",
               labelme(rand["shapes"][:24], rand["imageWidth"], rand["imageHeight"]),
               rel(random_path) + ": shapes[0:24] (the whole file is 120 KB)")
    for name in ("case_0.json", "case_1.json"):
        path = os.path.join(server_dir, name)
        corpus.add("server_" + name, read(path), rel(path))
    for i, data in enumerate(phantom_json, start=1):
        corpus.add("phantom_IMG%06d.json" % i, data,
                   phantom_src + ": Annotations/IMG%06d.json" % i)
    rect = {"label": "a", "points": [[2, 3], [20, 15]], "shape_type": "rectangle"}
    hand = "written by make_seed_corpus.py: "
    corpus.add("hand_labelme3.json",
               json.dumps({"shapes": [{"label": "a", "line_color": None, "fill_color": None,
                                       "points": [[1, 1], [9, 2], [5, 8]]}],
                           "imagePath": "x.jpg", "imageData": None, "imageHeight": 12,
                           "imageWidth": 10, "lineColor": [0, 255, 0, 128],
                           "fillColor": [255, 0, 0, 128]}).encode(),
               hand + "labelme 3.x style (no version, no shape_type, colours)")
    corpus.add("hand_nulls.json",
               labelme([dict(rect, group_id=None, shape_type=None, description=None)], 24, 16),
               hand + "null shape_type / group_id / description")
    corpus.add("hand_no_size.json",
               json.dumps({"version": "5.0.1", "shapes": [rect, dict(rect, group_id=3)]}).encode(),
               hand + "no imageHeight / imageWidth, group ids")
    corpus.add("hand_mask_shape.json",
               labelme([{"label": "m", "points": [[0, 0], [4, 4]], "shape_type": "mask",
                         "mask": "iVBORw0KGgo="}], 8, 8),
               hand + "a \"mask\" shape (refused when rasterised)")
    corpus.add("hand_bad_counts.json",
               labelme([{"label": "c", "points": [[1, 1]], "shape_type": "circle"},
                        {"label": "p", "points": [[1, 1], [2, 2]], "shape_type": "polygon"}],
                       8, 8),
               hand + "point counts the shape types do not allow")
    corpus.add("hand_far_points.json",
               labelme([{"label": "f", "points": [[-1e6, 5], [1e6, 7], [3, 1e9]],
                         "shape_type": "polygon"},
                        {"label": "l", "points": [[-50, -50], [90, 70]], "shape_type": "line"}],
                       32, 24),
               hand + "points far outside the image")
    corpus.add("hand_image_data.json",
               labelme([rect], 24, 16, imageData="iVBORw0KGgoAAAANSUhEUg=="),
               hand + "imageData present (ignored)")
    corpus.close()

    # explain_request
    corpus = Corpus("explain_request")
    case0_png = read(os.path.join(server_dir, "case_0.png"))
    case0_json = read(os.path.join(server_dir, "case_0.json"))
    case1_png = read(os.path.join(server_dir, "case_1.png"))
    case1_json = read(os.path.join(server_dir, "case_1.json"))

    def image(name):
        return read(os.path.join(images_dir, name))

    requests = [
        ("case0_defaults", request("c0", case0_png, case0_json),
         "tests/server/data/case_0.png + case_0.json, default options"),
        ("case1_all_outputs",
         request("c1", case1_png, case1_json,
                 options(target_class=2, thresholds=(0.2, 0.5, 0.9), raw=True,
                         heatmap_png=True, overlay_png=True, weight=0.3)),
         "tests/server/data/case_1.png + case_1.json, every output, class 2, thresholds"),
        ("case1_filtered",
         request("c1f", case1_png, case1_json,
                 options(labels=("tumor",), shape_types=("polygon", "rectangle"))),
         "tests/server/data/case_1.png + case_1.json, label and shape-type filters"),
        ("quad_skip", request("q", image("quad.jpg"), b"", options(skip=True, raw=True)),
         "tests/data/common/images/quad.jpg, skip_explanation"),
        ("exif6_overlay",
         request("e6", image("quad_exif6.jpg"), b"", options(overlay_png=True, weight=0.0)),
         "tests/data/common/images/quad_exif6.jpg, overlay, weight 0"),
        ("gray16_heatmap", request("g", image("gray16.png"), b"", options(heatmap_png=True)),
         "tests/data/common/images/gray16.png, heatmap_png"),
        ("webp_target0", request("w", image("rgb_exif5.webp"), b"", options(target_class=0)),
         "tests/data/common/images/rgb_exif5.webp, target class 0"),
        ("tif_annotation_mismatch",
         request("t", image("rgb.tif"), case1_json, options(raw=True)),
         "tests/data/common/images/rgb.tif + case_1.json (size mismatch)"),
        ("huge_header", request("h", image("huge_header.png")),
         "tests/data/common/images/huge_header.png (over the pixel limit)"),
        ("truncated_png", request("tr", image("truncated.png")),
         "tests/data/common/images/truncated.png (corrupt)"),
        ("bad_target", request("bt", image("rgb.png"), b"", options(target_class=7)),
         "tests/data/common/images/rgb.png, target class out of range"),
        ("bad_thresholds",
         request("bth", image("rgb.bmp"), b"", options(thresholds=(1.5, -0.1))),
         "tests/data/common/images/rgb.bmp, thresholds outside [0, 1]"),
        ("no_image", request("empty", b"", b"", options(raw=True)),
         "request_id and options only, no image"),
        ("bad_annotation", request("ba", image("rgb.png"), b"{\"shapes\": 3}"),
         "tests/data/common/images/rgb.png, malformed annotation_json"),
    ]
    for name, data, source in requests:
        corpus.add(name + ".pb", data, "written by make_seed_corpus.py: " + source)
    corpus.close()


if __name__ == "__main__":
    main()
