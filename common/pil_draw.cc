// Pillow 9.4 ImageDraw fill rules re-derived for CV_8UC1 masks (see pil_draw.h).
#include "common/pil_draw.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

#include "opencv2/core.hpp"

namespace explainer::common::internal {
namespace {

constexpr uint8_t kInk = 1;
constexpr double kCoordinateLimit = 1 << 20;
// A FillEdges visit of one edge on one row (crossing, slot, share of the sort) costs
// about as much as writing this many pixels. Measured (-O2, one core): 2000 edges
// spanning 500,000 rows, 1e9 visits, 30 s (30 ns each, the sort dominating); a filled
// 8192 x 8192 rectangle, mask allocation included, 1.2 ns per pixel.
constexpr int64_t kEdgeRowWork = 32;

// Pillow converts float coordinates with a C cast: truncation toward zero.
int Truncate(double v) {
  return static_cast<int>(std::clamp(v, -kCoordinateLimit, kCoordinateLimit));
}

// Pillow's ROUND_UP / ROUND_DOWN macros (halves away from / toward zero). For a
// float argument the positive branch adds 0.5f in float while the negative branch
// goes through fabs(), i.e. double: both are kept, since they differ near .5.
int RoundUp(float f) {
  return f >= 0.0f ? static_cast<int>(std::floor(f + 0.5f))
                   : -static_cast<int>(std::floor(std::fabs(static_cast<double>(f)) + 0.5));
}
int RoundDown(float f) {
  return f >= 0.0f ? static_cast<int>(std::ceil(f - 0.5f))
                   : -static_cast<int>(std::ceil(std::fabs(static_cast<double>(f)) - 0.5));
}
int RoundUp(double d) {
  return d >= 0.0 ? static_cast<int>(std::floor(d + 0.5))
                  : -static_cast<int>(std::floor(std::fabs(d) + 0.5));
}
int RoundDown(double d) {
  return d >= 0.0 ? static_cast<int>(std::ceil(d - 0.5))
                  : -static_cast<int>(std::ceil(std::fabs(d) - 0.5));
}

// Pixels x0..x1 (either order, both included) of row y, clipped to the canvas.
void HLine(cv::Mat& canvas, int x0, int y, int x1) {
  if (y < 0 || y >= canvas.rows) return;
  if (x0 > x1) std::swap(x0, x1);
  if (x1 < 0 || x0 >= canvas.cols) return;
  x0 = std::max(x0, 0);
  x1 = std::min(x1, canvas.cols - 1);
  std::memset(canvas.ptr<uint8_t>(y) + x0, kInk, static_cast<size_t>(x1 - x0 + 1));
}

void SetPixel(cv::Mat& canvas, int x, int y) {
  if (x >= 0 && x < canvas.cols && y >= 0 && y < canvas.rows) canvas.at<uint8_t>(y, x) = kInk;
}

// A polygon edge from (x0, y0), with its bounding box and inverse slope (float,
// as Pillow computes it).
struct Edge {
  int x0 = 0, y0 = 0;
  int xmin = 0, ymin = 0, xmax = 0, ymax = 0;
  float dx = 0;
};

Edge MakeEdge(int x0, int y0, int x1, int y1) {
  Edge e;
  e.xmin = std::min(x0, x1);
  e.xmax = std::max(x0, x1);
  e.ymin = std::min(y0, y1);
  e.ymax = std::max(y0, y1);
  e.dx = y0 == y1 ? 0.0f : static_cast<float>(x1 - x0) / static_cast<float>(y1 - y0);
  e.x0 = x0;
  e.y0 = y0;
  return e;
}

// Where the edge's line crosses row y, in float arithmetic.
float XAt(const Edge& e, int y) {
  return static_cast<float>(y - e.y0) * e.dx + static_cast<float>(e.x0);
}

// An edge that starts (or ends) on the current row, as a corner candidate.
struct CornerCandidate {
  bool rising;  // dx > 0 (else dx < 0; vertical edges never match)
  float x;      // where it crosses the row
  uint32_t index;
};

bool CandidateLess(const CornerCandidate& a, const CornerCandidate& b) {
  if (a.rising != b.rising) return a.rising < b.rising;
  if (a.x < b.x) return true;
  if (b.x < a.x) return false;
  return a.index < b.index;
}

// The lowest table index below `below` among `candidates` (sorted by CandidateLess)
// with the same dx sign that cross the row at `x`, or -1.
int64_t FindCorner(const std::vector<CornerCandidate>& candidates, bool rising, float x,
                   uint32_t below) {
  const auto it = std::lower_bound(candidates.begin(), candidates.end(),
                                   CornerCandidate{rising, x, 0}, CandidateLess);
  if (it == candidates.end() || it->rising != rising || it->x != x || it->index >= below) {
    return -1;
  }
  return it->index;
}

// Pillow's scan-line fill (polygon_generic): horizontal edges are drawn whole;
// every other row gets the sorted edge crossings filled pairwise from
// ROUND_UP(left) to ROUND_DOWN(right). An edge ending on the row counts twice,
// and Pillow's corner patch is reproduced as written, including that it writes
// the crossing slot numbered like the other edge's table index.
//
// Pillow visits every edge on every row and, for the corner patch, every edge of
// lower table index: rows x edges, and edges^2 on a row. Here only the edges that
// span the row are visited (an active-edge list kept in table order, so crossings
// land in the same slots), and the corner patch looks its partner up among the
// edges that start on the row (or end on it, on the last row): Pillow's condition
// can hold for no other edge. Same pixels, in time linear in the rows the edges
// span.
void FillEdges(cv::Mat& canvas, const std::vector<Edge>& edges) {
  if (edges.empty()) return;
  int ymin = canvas.rows - 1;
  int ymax = 0;
  std::vector<const Edge*> table;
  for (const Edge& e : edges) {
    ymin = std::min(ymin, e.ymin);
    ymax = std::max(ymax, e.ymax);
    if (e.ymin == e.ymax) {
      HLine(canvas, e.xmin, e.ymin, e.xmax);
      continue;
    }
    table.push_back(&e);
  }
  ymin = std::max(ymin, 0);
  ymax = std::min(ymax, canvas.rows);

  // Table indices in the order the edges reach a row.
  std::vector<uint32_t> by_start(table.size());
  for (uint32_t i = 0; i < by_start.size(); ++i) by_start[i] = i;
  std::stable_sort(by_start.begin(), by_start.end(),
                   [&](uint32_t a, uint32_t b) { return table[a]->ymin < table[b]->ymin; });
  size_t next = 0;
  std::vector<uint32_t> active;  // edges spanning the row, ascending table index
  std::vector<uint32_t> arriving;
  std::vector<uint32_t> merged;
  std::vector<CornerCandidate> starts;  // edges whose first row is this one
  std::vector<CornerCandidate> ends;    // edges whose last row is this one (last row only)
  std::vector<float> xx(table.size() * 2);
  for (int y = ymin; y <= ymax; ++y) {
    const auto ended = [&](uint32_t i) { return table[i]->ymax < y; };
    active.erase(std::remove_if(active.begin(), active.end(), ended), active.end());
    arriving.clear();
    while (next < by_start.size() && table[by_start[next]]->ymin <= y) {
      if (!ended(by_start[next])) arriving.push_back(by_start[next]);
      ++next;
    }
    starts.clear();
    if (!arriving.empty()) {
      std::sort(arriving.begin(), arriving.end());
      merged.clear();
      std::merge(active.begin(), active.end(), arriving.begin(), arriving.end(),
                 std::back_inserter(merged));
      active.swap(merged);
      for (uint32_t i : arriving) {
        const Edge& e = *table[i];
        if (e.ymin == y && e.dx != 0) starts.push_back({e.dx > 0, XAt(e, y), i});
      }
      std::sort(starts.begin(), starts.end(), CandidateLess);
    }
    ends.clear();
    if (y == ymax) {
      for (uint32_t i : active) {
        const Edge& e = *table[i];
        if (e.ymax == y && e.dx != 0) ends.push_back({e.dx > 0, XAt(e, y), i});
      }
      std::sort(ends.begin(), ends.end(), CandidateLess);
    }

    size_t j = 0;
    for (const uint32_t i : active) {
      const Edge& current = *table[i];
      xx[j++] = XAt(current, y);
      if (y == current.ymax && y < ymax) {
        xx[j] = xx[j - 1];
        ++j;
      } else if (current.dx != 0 && std::round(xx[j - 1]) == xx[j - 1]) {
        // Pillow's partner: the first edge k < i with the same dx sign that starts
        // on this row when `current` does (ends on it when `current` does) and
        // crosses it at the same x.
        int64_t k = -1;
        if (y == current.ymin) {
          k = FindCorner(starts, current.dx > 0, xx[j - 1], i);
        } else if (y == current.ymax) {
          k = FindCorner(ends, current.dx > 0, xx[j - 1], i);
        }
        if (k < 0) continue;
        const Edge& other = *table[k];
        const int offset = y == ymax ? -1 : 1;
        const float a = XAt(current, y + offset);
        const float b = XAt(other, y + offset);
        if (y == current.ymax) {
          xx[k] = current.dx > 0 ? std::max(a, b) + 1.0f : std::min(a, b) - 1.0f;
        } else {
          xx[k] = current.dx > 0 ? std::min(a, b) : std::max(a, b) + 1.0f;
        }
      }
    }
    std::sort(xx.begin(), xx.begin() + static_cast<std::ptrdiff_t>(j));
    for (size_t i = 1; i < j; i += 2) {
      HLine(canvas, RoundUp(xx[i - 1]), y, RoundDown(xx[i]));
    }
  }
}

// Edge list as ImagingDrawPolygon builds it: a horizontal edge that continues a
// horizontal edge in the same direction extends it instead of adding another.
std::vector<Edge> PolygonEdges(const std::vector<cv::Point2d>& points) {
  std::vector<Edge> edges;
  if (points.empty()) return edges;
  std::vector<cv::Point> v;
  v.reserve(points.size());
  for (const cv::Point2d& p : points) v.emplace_back(Truncate(p.x), Truncate(p.y));
  size_t i = 0;
  for (; i + 1 < v.size(); ++i) {
    const cv::Point a = v[i];
    const cv::Point b = v[i + 1];
    if (a.y == b.y && i != 0 && a.y == v[i - 1].y) {
      Edge& last = edges.back();
      if (b.x > a.x && a.x > v[i - 1].x) {
        last.xmax = b.x;
        continue;
      }
      if (b.x < a.x && a.x < v[i - 1].x) {
        last.xmin = b.x;
        continue;
      }
    }
    edges.push_back(MakeEdge(a.x, a.y, b.x, b.y));
  }
  if (v[i] != v[0]) edges.push_back(MakeEdge(v[i].x, v[i].y, v[0].x, v[0].y));
  return edges;
}

// ImageDraw.line's polygon for the segment p0-p1 (width > 1), or nothing when the
// segment has length 0 (Pillow then sets the single pixel p0).
std::vector<Edge> WideSegmentEdges(cv::Point2d p0, cv::Point2d p1, int width) {
  const int x0 = Truncate(p0.x);
  const int y0 = Truncate(p0.y);
  const int x1 = Truncate(p1.x);
  const int y1 = Truncate(p1.y);
  const int dx = x1 - x0;
  const int dy = y1 - y0;
  std::vector<Edge> edges;
  if (dx == 0 && dy == 0) return edges;
  // The segment's two long sides, offset by about (width - 1) / 2 on each side.
  const double length = std::hypot(static_cast<double>(dx), static_cast<double>(dy));
  const double half = (width - 1) / 2.0;
  const double ratio_max = RoundUp(half) / length;
  const double ratio_min = RoundDown(half) / length;
  const int dxmin = RoundDown(ratio_min * dy);
  const int dxmax = RoundDown(ratio_max * dy);
  const int dymin = RoundDown(ratio_min * dx);
  const int dymax = RoundDown(ratio_max * dx);
  const cv::Point v[4] = {{x0 - dxmin, y0 + dymax},
                          {x1 - dxmin, y1 + dymax},
                          {x1 + dxmax, y1 - dymin},
                          {x0 + dxmax, y0 - dymin}};
  for (int k = 0; k < 4; ++k) {
    edges.push_back(MakeEdge(v[k].x, v[k].y, v[(k + 1) % 4].x, v[(k + 1) % 4].y));
  }
  return edges;
}

// How many of the integers lo..hi lie in [0, limit).
int64_t Clipped(int64_t lo, int64_t hi, int64_t limit) {
  return std::max<int64_t>(0, std::min(hi, limit - 1) - std::max<int64_t>(lo, 0) + 1);
}

// FillEdges' work: every (edge, row) visit on the rows it scans, plus at most the
// clipped bounding box's width of pixels per row.
int64_t EdgesWork(cv::Size size, const std::vector<Edge>& edges) {
  if (edges.empty()) return 0;
  int64_t work = static_cast<int64_t>(edges.size());
  int64_t ymin = size.height - 1;
  int64_t ymax = 0;
  int64_t xmin = edges[0].xmin;
  int64_t xmax = edges[0].xmax;
  for (const Edge& e : edges) {
    ymin = std::min<int64_t>(ymin, e.ymin);
    ymax = std::max<int64_t>(ymax, e.ymax);
    xmin = std::min<int64_t>(xmin, e.xmin);
    xmax = std::max<int64_t>(xmax, e.xmax);
    // FillEdges scans rows up to size.height inclusive.
    if (e.ymin != e.ymax) work += kEdgeRowWork * Clipped(e.ymin, e.ymax, size.height + 1);
  }
  const int64_t rows = Clipped(ymin, ymax, size.height + 1);
  return work + rows * (1 + Clipped(xmin, xmax, size.width));
}

// Pillow's integer walk along a quarter ellipse with semi-axes a, b on a doubled
// grid: from (a, b % 2) to (a % 2, b), each step taking whichever of up,
// up-left and left lands closest to the curve.
class QuarterWalk {
 public:
  QuarterWalk(int64_t a, int64_t b)
      : finished_(a < 0 || b < 0),
        cx_(a),
        cy_(b % 2),
        ex_(a % 2),
        ey_(b),
        a2_(a * a),
        b2_(b * b),
        steps_left_(a + b + 8) {}

  // The current point, then advances; false once the end has been returned.
  bool Next(int64_t* x, int64_t* y) {
    if (finished_) return false;
    *x = cx_;
    *y = cy_;
    if ((cx_ == ex_ && cy_ == ey_) || --steps_left_ < 0) {
      finished_ = true;
      return true;
    }
    int64_t nx = cx_;
    int64_t ny = cy_ + 2;
    __int128 best = Deviation(nx, ny);
    if (nx > 1) {
      const __int128 diagonal = Deviation(cx_ - 2, cy_ + 2);
      if (best > diagonal) {
        nx = cx_ - 2;
        ny = cy_ + 2;
        best = diagonal;
      }
      if (best > Deviation(cx_ - 2, cy_)) {
        nx = cx_ - 2;
        ny = cy_;
      }
    }
    cx_ = nx;
    cy_ = ny;
    return true;
  }

 private:
  // |b^2 x^2 + a^2 y^2 - a^2 b^2|, exact (128-bit) for any clamped size.
  __int128 Deviation(int64_t x, int64_t y) const {
    const __int128 v = static_cast<__int128>(a2_) * y * y + static_cast<__int128>(b2_) * x * x -
                       static_cast<__int128>(a2_) * b2_;
    return v < 0 ? -v : v;
  }

  bool finished_;
  int64_t cx_, cy_, ex_, ey_;
  int64_t a2_, b2_;
  int64_t steps_left_;  // a guard only: the walk always reaches its end first
};

}  // namespace

void PilPolygon(cv::Mat& canvas, const std::vector<cv::Point2d>& points) {
  FillEdges(canvas, PolygonEdges(points));
}

void PilRectangle(cv::Mat& canvas, cv::Point2d a, cv::Point2d b) {
  const int x0 = Truncate(a.x);
  const int x1 = Truncate(b.x);
  int y0 = Truncate(a.y);
  int y1 = Truncate(b.y);
  if (y0 > y1) std::swap(y0, y1);
  if (y1 < 0 || y0 >= canvas.rows) return;
  y0 = std::max(y0, 0);
  y1 = std::min(y1, canvas.rows - 1);
  for (int y = y0; y <= y1; ++y) HLine(canvas, x0, y, x1);
}

void PilEllipse(cv::Mat& canvas, double fx0, double fy0, double fx1, double fy1) {
  const int x0 = Truncate(fx0);
  const int y0 = Truncate(fy0);
  const int64_t a = int64_t{Truncate(fx1)} - x0;
  const int64_t b = int64_t{Truncate(fy1)} - y0;
  if (a < 0 || b < 0) return;
  const int64_t width = a + b;  // a filled ellipse is one ring as thick as it is wide
  if (width < 1) return;
  const int64_t leftmost = a % 2;

  // Rows come in groups: the outer walk gives the right end r of each doubled-grid
  // row y, the inner walk (degenerate unless the ellipse is tiny) the left end l.
  QuarterWalk outer(a, b);
  QuarterWalk inner(a - 2 * (width - 1), b - 2 * (width - 1));
  int64_t pr = 0, py = 0;
  if (!outer.Next(&pr, &py)) return;
  int64_t pl = leftmost;
  bool finished = false;
  auto draw = [&](int64_t left, int64_t y, int64_t right) {
    HLine(canvas, static_cast<int>(x0 + (left + a) / 2), static_cast<int>(y0 + (y + b) / 2),
          static_cast<int>(x0 + (right + a) / 2));
  };
  while (!finished) {
    const int64_t y = py;
    int64_t l = pl;
    const int64_t r = pr;
    int64_t cx = 0, cy = 0;
    bool more;
    while ((more = outer.Next(&cx, &cy)) && cy <= y) {
    }
    if (more) {
      pr = cx;
      py = cy;
    } else {
      finished = true;
    }
    while ((more = inner.Next(&cx, &cy)) && cy <= y) l = cx;
    pl = more ? cx : leftmost;

    const int64_t l_or_2 = l == 0 ? 2 : l;
    if ((l > 0 || l < r) && y > 0) draw(l_or_2, y, r);
    if (y > 0) draw(-r, y, -l);
    if (l > 0 || l < r) draw(l_or_2, -y, r);
    draw(-r, -y, -l);
  }
}

void PilWideLine(cv::Mat& canvas, const std::vector<cv::Point2d>& points, int width) {
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    const std::vector<Edge> edges = WideSegmentEdges(points[i], points[i + 1], width);
    if (edges.empty()) {
      SetPixel(canvas, Truncate(points[i].x), Truncate(points[i].y));
    } else {
      FillEdges(canvas, edges);
    }
  }
}

int64_t PilPolygonWork(cv::Size canvas, const std::vector<cv::Point2d>& points) {
  return static_cast<int64_t>(points.size()) + EdgesWork(canvas, PolygonEdges(points));
}

int64_t PilRectangleWork(cv::Size canvas, cv::Point2d a, cv::Point2d b) {
  const int64_t x0 = Truncate(a.x);
  const int64_t x1 = Truncate(b.x);
  const int64_t y0 = Truncate(a.y);
  const int64_t y1 = Truncate(b.y);
  return 1 + Clipped(std::min(y0, y1), std::max(y0, y1), canvas.height) *
                 (1 + Clipped(std::min(x0, x1), std::max(x0, x1), canvas.width));
}

int64_t PilEllipseWork(cv::Size canvas, double x0, double y0, double x1, double y1) {
  const int64_t ix0 = Truncate(x0);
  const int64_t iy0 = Truncate(y0);
  const int64_t ix1 = Truncate(x1);
  const int64_t iy1 = Truncate(y1);
  if (ix1 < ix0 || iy1 < iy0) return 1;
  // The walks take about a + b steps whether on the canvas or not; each row drawn
  // writes at most the clipped width.
  return 16 + (ix1 - ix0) + (iy1 - iy0) +
         Clipped(iy0, iy1, canvas.height) * (1 + Clipped(ix0, ix1, canvas.width));
}

int64_t PilWideLineWork(cv::Size canvas, const std::vector<cv::Point2d>& points, int width) {
  int64_t work = 0;
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    work += 1 + EdgesWork(canvas, WideSegmentEdges(points[i], points[i + 1], width));
  }
  return work;
}

}  // namespace explainer::common::internal
