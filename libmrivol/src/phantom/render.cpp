#include "render.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../core/parallel.hpp"
#include "../core/splitmix.hpp"

namespace mrivol {
namespace phantom {

std::uint64_t mix(std::uint64_t x) { return splitmix64(x); }

double uniform01(std::uint64_t key, std::uint64_t index) {
  return (static_cast<double>(mix(key ^ mix(index)) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void render(const Config& c, const SessionSpec& spec, Session& s, unsigned threads, Reporter& rep,
            const std::string& stage) {
  const Model model(spec.anatomy, spec.radius_scale);
  std::array<double, kTissueCount> signal = tissue_signal(c);
  signal[kFat] *= spec.fat_gain;
  signal[kEpiFat] *= spec.fat_gain;
  signal[kMuscle] *= spec.muscle_gain;
  const Geometry& g = spec.grid;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2], n = nx * ny * nz;
  for (Volume* v : {&s.image, &s.plexus, &s.canal, &s.sac}) {
    v->geom = g;
    v->timepoints = 1;
    v->data.resize(n);
  }
  const int ss = std::max(1, c.supersample);
  const int st =
      spec.thick_slices ? std::max(ss, static_cast<int>(std::ceil(g.spacing[2] / g.spacing[0] - 1e-9))) : ss;
  const auto& m = spec.body_from_world;
  const double sigma = 1000.0 / std::max(c.snr, 1e-3);
  const double inv = 1.0 / (ss * ss * st);
  std::atomic<std::size_t> done{0};
  parallel_for(nz * ny, threads, [&](std::size_t row) {
    const std::size_t k = row / ny, j = row % ny;
    for (std::size_t i = 0; i < nx; ++i) {
      double sum = 0;
      int npl = 0, nca = 0, nsa = 0;
      for (int a = 0; a < st; ++a)
        for (int b = 0; b < ss; ++b)
          for (int d = 0; d < ss; ++d) {
            const Vec3 w = g.index_to_point(i + (d + 0.5) / ss - 0.5, j + (b + 0.5) / ss - 0.5,
                                            k + (a + 0.5) / st - 0.5);
            const Vec3 bp{m[0] * w[0] + m[1] * w[1] + m[2] * w[2] + m[3],
                          m[4] * w[0] + m[5] * w[1] + m[6] * w[2] + m[7],
                          m[8] * w[0] + m[9] * w[1] + m[10] * w[2] + m[11]};
            const Sample smp = model.at(bp);
            sum += signal[smp.tissue];
            npl += smp.plexus;
            nca += smp.canal;
            nsa += smp.sac;
          }
      const std::size_t idx = (k * ny + j) * nx + i;
      // Smooth multiplicative receive bias, fixed to the scanner (session) frame.
      const Vec3 w = g.index_to_point(i, j, k);
      const double* ph = spec.bias_phase.data();
      const double bias = std::exp(c.bias * (std::sin(w[0] / 110.0 + ph[0]) * std::cos(w[1] / 140.0 + ph[1]) +
                                             0.6 * std::sin(w[2] / 170.0 + ph[2]) +
                                             0.3 * std::cos((w[0] + w[2]) / 90.0 + ph[3])));
      const double clean = sum * inv * bias * spec.scale;
      // Rician magnitude noise from two Gaussian channels (Box-Muller).
      const double u1 = uniform01(spec.noise_key, 2 * idx), u2 = uniform01(spec.noise_key, 2 * idx + 1);
      const double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
      const double re = clean + sigma * r * std::cos(th), im = sigma * r * std::sin(th);
      s.image.data[idx] = static_cast<float>(std::min(65535.0, std::nearbyint(std::sqrt(re * re + im * im))));
      s.plexus.data[idx] = static_cast<float>(npl * inv);
      s.canal.data[idx] = static_cast<float>(nca * inv);
      s.sac.data[idx] = static_cast<float>(nsa * inv);
    }
    const std::size_t dn = ++done;
    if (dn % 256 == 0 || dn == nz * ny) rep.progress(stage, static_cast<double>(dn) / (nz * ny));
  });
  s.image.stored = StoredScaling{1.0, 0.0, false, 16};
}

}  // namespace phantom
}  // namespace mrivol
