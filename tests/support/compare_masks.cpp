// mrivol-test-compare-masks MASK SOFT TRUTH_MASK TRUTH_FRACTION [CANAL TRUTH_CANAL]:
// Dice and volumes of a segmentation against a phantom's truth (development
// and benchmark aid; the tests compute the same in-process).
#include <cmath>
#include <cstdio>

#include "mrivol/io/image.hpp"

namespace {
// `t` resampled (nearest) onto the grid of `ref` (the truth is written on the
// phantom's grid; the loader may order slices the other way).
mrivol::Volume on_grid(const mrivol::Volume& t, const mrivol::Volume& ref) {
  mrivol::Volume o = ref;
  const auto& g = ref.geom;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const auto c = t.geom.point_to_index(g.index_to_point(double(i), double(j), double(k)));
        const long a = std::lround(c[0]), b = std::lround(c[1]), e = std::lround(c[2]);
        float v = 0;
        if (a >= 0 && b >= 0 && e >= 0 && a < long(t.geom.size[0]) && b < long(t.geom.size[1]) &&
            e < long(t.geom.size[2]))
          v = t.at(std::size_t(a), std::size_t(b), std::size_t(e));
        o.data[i + g.size[0] * (j + g.size[1] * k)] = v;
      }
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MASK SOFT TRUTH_MASK TRUTH_FRACTION [CANAL TRUTH_CANAL]\n", argv[0]);
    return 2;
  }
  using mrivol::io::read_image;
  const auto m = read_image(argv[1]), s = read_image(argv[2]);
  const auto tm = on_grid(read_image(argv[3]), m), tf = on_grid(read_image(argv[4]), m);
  const double vox = m.geom.spacing[0] * m.geom.spacing[1] * m.geom.spacing[2];
  double inter = 0, a = 0, b = 0, soft = 0, tsoft = 0, fp = 0, fn = 0, abs_err = 0, soft_out = 0,
         soft_in_err = 0;
  for (std::size_t i = 0; i < m.geom.voxels(); ++i) {
    const bool x = m.data[i] > 0.5f, y = tm.data[i] > 0.5f;
    inter += x && y;
    a += x;
    b += y;
    soft += s.data[i];
    tsoft += tf.data[i];
    fp += x && !y;
    fn += !x && y;
    abs_err += std::fabs(s.data[i] - tf.data[i]);
    if (tf.data[i] <= 0.0f)
      soft_out += s.data[i];
    else
      soft_in_err += s.data[i] - tf.data[i];
  }
  std::printf(
      "dice %.4f  binary %.0f vs %.0f mm3  soft %.0f vs %.0f mm3 (%+.2f%%)  fp %.0f fn %.0f  L1 %.0f mm3\n",
      2 * inter / (a + b), a * vox, b * vox, soft * vox, tsoft * vox, 100 * (soft - tsoft) / tsoft, fp * vox,
      fn * vox, abs_err * vox);
  std::printf("soft outside the truth %.0f mm3, soft error inside %+.0f mm3\n", soft_out * vox,
              soft_in_err * vox);
  if (argc >= 7) {
    const auto c = read_image(argv[5]);
    const auto tc = on_grid(read_image(argv[6]), c);
    double ci = 0, ca = 0, cb = 0;
    for (std::size_t i = 0; i < c.geom.voxels(); ++i) {
      const bool x = c.data[i] > 0.5f, y = tc.data[i] > 0.5f;
      ci += x && y;
      ca += x;
      cb += y;
    }
    std::printf("canal dice %.4f  %.0f vs %.0f mm3\n", 2 * ci / (ca + cb), ca * vox, cb * vox);
  }
  return 0;
}
