"""labelme's shape_to_mask (labelme/utils/shape.py, labelme 5.x), the reference
rasteriser for common/mask.cc. Imported by make_mask_goldens.py; needs PIL.

Written from labelme's function: PIL ImageDraw on an "L" image, line width 10,
point radius 5, outline=1 fill=1. Two notes:
  * labelme has no "oriented_rectangle" branch of its own; its 4 corners are drawn
    as a polygon, as the issue specifies.
  * rectangle corners are sorted first (newer Pillow rejects x1 < x0; Pillow 9.4
    sorts them itself, so the result is the same).
"""
import math

import numpy as np
import PIL.Image
import PIL.ImageDraw


def shape_to_mask(img_shape, points, shape_type=None, line_width=10, point_size=5):
    mask = np.zeros(img_shape[:2], dtype=np.uint8)
    mask = PIL.Image.fromarray(mask)
    draw = PIL.ImageDraw.Draw(mask)
    xy = [tuple(point) for point in points]
    if shape_type == "circle":
        assert len(xy) == 2, "Shape of shape_type=circle must have 2 points"
        (cx, cy), (px, py) = xy
        d = math.sqrt((cx - px) ** 2 + (cy - py) ** 2)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif shape_type == "rectangle":
        assert len(xy) == 2, "Shape of shape_type=rectangle must have 2 points"
        (x0, y0), (x1, y1) = xy
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)],
                       outline=1, fill=1)
    elif shape_type == "line":
        assert len(xy) == 2, "Shape of shape_type=line must have 2 points"
        draw.line(xy=xy, fill=1, width=line_width)
    elif shape_type == "linestrip":
        draw.line(xy=xy, fill=1, width=line_width)
    elif shape_type == "point":
        assert len(xy) == 1, "Shape of shape_type=point must have 1 points"
        cx, cy = xy[0]
        r = point_size
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    elif shape_type in [None, "polygon", "oriented_rectangle"]:
        assert len(xy) > 2, "Polygon must have points more than 2"
        draw.polygon(xy=xy, outline=1, fill=1)
    else:
        raise ValueError("shape_type={!r} is not supported.".format(shape_type))
    return np.array(mask, dtype=bool)
