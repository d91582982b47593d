#!/usr/bin/python3
"""Makes the mask goldens for tests/common/mask_test.cc with labelme's own rules
(labelme_shape.shape_to_mask, i.e. PIL ImageDraw) -- never from our C++ output.

Rerun from the repository root:
    /usr/bin/python3 tests/data/common/make_mask_goldens.py [--shared ../shared]
Writes tests/data/common/masks/:
  cases.json / cases_expected.png    hand-picked shapes of every type (edge cases:
                                     halves, negatives, outside, reversed, degenerate)
  random.json / random_expected.png  seeded random shapes of every type
  btxrd_areas.csv                    per real BTXRD annotation: image size, shape
                                     count, union mask area, per-shape areas
Each *_expected.png stacks one 0/255 mask per shape, top to bottom, in shape order.
Needs python3-pil and python3-numpy (PIL 9.4 on Debian bookworm made the committed
files; Pillow changed its polygon corner rules in 10.x).
"""
import argparse
import csv
import glob
import json
import os

import numpy as np
import PIL
from PIL import Image

from labelme_shape import shape_to_mask

HERE = os.path.dirname(os.path.abspath(__file__))
MASKS = os.path.join(HERE, "masks")


def shape(label, shape_type, points):
    return {"label": label, "points": points, "group_id": None, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None}


CASES = [
    shape("polygon_triangle", "polygon", [[10.2, 5.7], [50.9, 12.3], [20.5, 40.8]]),
    shape("polygon_concave", "polygon",
          [[5, 5], [58, 8], [30, 20], [55, 42], [8, 40], [20, 22]]),
    shape("polygon_bowtie", "polygon", [[5, 5], [40, 30], [40, 5], [5, 30]]),
    shape("polygon_horizontal_runs", "polygon",
          [[5, 10], [15, 10], [25, 10], [25, 20], [15, 20], [5, 20]]),
    shape("polygon_halves", "polygon", [[3.5, 3.5], [30.5, 3.5], [30.5, 20.5], [3.5, 20.5]]),
    shape("polygon_outside", "polygon", [[-20, -10], [80, 5], [30, 70]]),
    shape("polygon_collinear", "polygon", [[5, 5], [20, 20], [35, 35]]),
    shape("polygon_negative_fractions", "polygon",
          [[-0.7, 10.3], [20.2, -0.6], [30.9, 25.1]]),
    shape("polygon_spike", "polygon", [[10, 10], [60, 11], [10, 12]]),
    shape("polygon_v", "polygon", [[32, 2], [34, 40], [36, 2]]),
    shape("polygon_diamond", "polygon", [[32, 2], [52, 22], [32, 42], [12, 22]]),
    shape("polygon_closed_repeat", "polygon", [[8, 8], [40, 12], [20, 35], [8, 8]]),
    shape("rectangle", "rectangle", [[10.7, 5.2], [40.1, 30.9]]),
    shape("rectangle_reversed", "rectangle", [[40.1, 30.9], [10.7, 5.2]]),
    shape("rectangle_reversed_x", "rectangle", [[40, 5], [10, 30]]),
    shape("rectangle_outside", "rectangle", [[-10, -10], [100, 20]]),
    shape("rectangle_single_pixel", "rectangle", [[20, 20], [20, 20]]),
    shape("circle", "circle", [[30, 24], [40, 30]]),
    shape("circle_fractions", "circle", [[30.6, 20.4], [33.1, 22.9]]),
    shape("circle_zero_radius", "circle", [[20, 20], [20, 20]]),
    shape("circle_tiny", "circle", [[20.3, 20.3], [20.9, 20.3]]),
    shape("circle_near_origin", "circle", [[2.5, 3.5], [6, 5]]),
    shape("circle_outside", "circle", [[60, 45], [75, 50]]),
    shape("circle_covers_all", "circle", [[32, 24], [132, 24]]),
    shape("line", "line", [[5, 5], [55, 40]]),
    shape("line_horizontal", "line", [[5, 20], [55, 20]]),
    shape("line_vertical", "line", [[30, 2], [30, 45]]),
    shape("line_zero_length", "line", [[20, 20], [20, 20]]),
    shape("line_outside", "line", [[-10, 50], [70, -5]]),
    shape("line_shallow", "line", [[3.9, 10.2], [60.4, 14.8]]),
    shape("linestrip", "linestrip", [[5, 40], [20, 10], [35, 40], [50, 10], [60, 30]]),
    shape("linestrip_fractions", "linestrip", [[5.5, 5.5], [30.7, 8.2], [31.2, 40.9]]),
    shape("linestrip_two_points", "linestrip", [[60, 2], [2, 46]]),
    shape("point", "point", [[30, 24]]),
    shape("point_near_corner", "point", [[3.2, 2.7]]),
    shape("point_outside", "point", [[-3, -3]]),
    shape("oriented_rectangle", "oriented_rectangle", [[10, 20], [30, 5], [50, 25], [30, 40]]),
    shape("oriented_rectangle_fractions", "oriented_rectangle",
          [[12.4, 30.6], [40.2, 8.9], [50.8, 21.1], [23.0, 42.7]]),
]
CASES_SIZE = (48, 64)  # height, width
RANDOM_SIZE = (32, 40)
RANDOM_COUNT = 700


def random_coordinate(rng, low, high):
    kind = rng.integers(0, 3)
    value = rng.uniform(low, high)
    if kind == 0:
        return float(round(value))  # integers
    if kind == 1:
        return float(np.floor(value)) + 0.5  # exact halves
    return round(float(value), 4)


def random_shapes(rng):
    height, width = RANDOM_SIZE
    types = ["polygon", "rectangle", "circle", "line", "linestrip", "point",
             "oriented_rectangle"]
    counts = {"polygon": None, "rectangle": 2, "circle": 2, "line": 2, "linestrip": None,
              "point": 1, "oriented_rectangle": 4}
    shapes = []
    for i in range(RANDOM_COUNT):
        shape_type = types[i % len(types)]
        n = counts[shape_type]
        if n is None:
            n = int(rng.integers(3, 9)) if shape_type == "polygon" else int(rng.integers(2, 6))
        points = [[random_coordinate(rng, -8, width + 8), random_coordinate(rng, -8, height + 8)]
                  for _ in range(n)]
        if shape_type == "circle":  # keep most circles smaller than the canvas
            r = rng.uniform(0, 18)
            a = rng.uniform(0, 2 * np.pi)
            points[1] = [round(points[0][0] + r * np.cos(a), 4),
                         round(points[0][1] + r * np.sin(a), 4)]
        shapes.append(shape("random_%03d" % i, shape_type, points))
    return shapes


def write_case_file(name, shapes, size, indent):
    height, width = size
    annotation = {"version": "5.4.1", "flags": {}, "shapes": shapes,
                  "imagePath": name + ".png", "imageData": None,
                  "imageHeight": height, "imageWidth": width}
    with open(os.path.join(MASKS, name + ".json"), "w") as f:
        json.dump(annotation, f, indent=indent)
        f.write("\n")
    stacked = np.concatenate(
        [shape_to_mask(size, s["points"], s["shape_type"]) for s in shapes], axis=0)
    Image.fromarray(stacked.astype(np.uint8) * 255).save(
        os.path.join(MASKS, name + "_expected.png"), optimize=True)


def write_btxrd_areas(shared):
    rows = []
    for path in sorted(glob.glob(os.path.join(shared, "btxrd", "annotations", "*.json"))):
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        size = (data["imageHeight"], data["imageWidth"])
        union = np.zeros(size, bool)
        areas = []
        for s in data["shapes"]:
            m = shape_to_mask(size, s["points"], s.get("shape_type"))
            areas.append(int(m.sum()))
            union |= m
        rows.append([os.path.basename(path), size[1], size[0], len(data["shapes"]),
                     int(union.sum()), ";".join(str(a) for a in areas)])
    assert len(rows) == 36, "expected the 36 BTXRD annotations, found %d" % len(rows)
    with open(os.path.join(MASKS, "btxrd_areas.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "image_width", "image_height", "shapes", "area", "shape_areas"])
        w.writerows(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=os.path.join(HERE, "..", "..", "..", "..",
                                                         "shared"),
                        help="the shared data folder holding btxrd/annotations")
    args = parser.parse_args()
    assert PIL.__version__ == "9.4.0", "goldens were made with Pillow 9.4.0"
    os.makedirs(MASKS, exist_ok=True)
    write_case_file("cases", CASES, CASES_SIZE, indent=1)
    write_case_file("random", random_shapes(np.random.default_rng(11)), RANDOM_SIZE,
                    indent=None)
    write_btxrd_areas(os.path.abspath(args.shared))
    print("wrote", MASKS)


if __name__ == "__main__":
    main()
