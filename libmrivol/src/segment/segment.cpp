#include "mrivol/segment/segment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "internal.hpp"
#include "mrivol/core/error.hpp"

namespace mrivol {
namespace segment {

const std::vector<std::string>& level_names() {
  static const std::vector<std::string> n{"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"};
  return n;
}

std::pair<int, int> parse_levels(const std::string& text) {
  if (text.empty() || text == "all") return {0, 4};
  const auto& n = level_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (text == n[i]) return {int(i), int(i)};
  // A span of vertebrae: "L3-S1" = L3-L4, L4-L5, L5-S1.
  static const std::vector<std::string> v{"L1", "L2", "L3", "L4", "L5", "S1"};
  const auto dash = text.find('-');
  if (dash != std::string::npos) {
    const auto a = std::find(v.begin(), v.end(), text.substr(0, dash));
    const auto b = std::find(v.begin(), v.end(), text.substr(dash + 1));
    if (a != v.end() && b != v.end() && a < b) return {int(a - v.begin()), int(b - v.begin()) - 1};
  }
  throw UsageError(
      "--levels must be a span of vertebrae such as L3-S1 or L1-L2 (L1..L5, S1) or 'all', not '" + text +
      "'");
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Contrast from the acquisition: TE and TR, else the series description.
std::string contrast_from_metadata(const Acquisition& a, std::string& why) {
  if (a.echo_time_ms && a.repetition_time_ms) {
    if (*a.echo_time_ms >= 60 && *a.repetition_time_ms >= 1500) {
      why = "metadata (TE " + std::to_string(int(*a.echo_time_ms)) + " ms, TR " +
            std::to_string(int(*a.repetition_time_ms)) + " ms: T2-weighted)";
      return "t2";
    }
    if (*a.echo_time_ms <= 30 && *a.repetition_time_ms <= 1200) {
      why = "metadata (TE " + std::to_string(int(*a.echo_time_ms)) + " ms, TR " +
            std::to_string(int(*a.repetition_time_ms)) + " ms: T1-weighted)";
      return "t1c";
    }
  }
  const std::string d = lower(a.series_description + " " + a.protocol_name);
  if (d.find("t2") != std::string::npos) {
    why = "metadata (series description)";
    return "t2";
  }
  if (d.find("t1") != std::string::npos) {
    why = "metadata (series description)";
    return "t1c";
  }
  return "";
}

Volume like(const Volume& scan) {
  Volume v;
  v.geom = scan.geom;
  v.data.assign(scan.geom.voxels(), 0.0f);
  return v;
}

double median_of(std::vector<float> v) { return v.empty() ? 0.0 : percentile(std::move(v), 50); }

// Resample a mask (nearest neighbour) onto a grid.
Mask mask_on(const Volume& m, const Geometry& g) {
  Mask out(g.voxels(), 0);
  const auto& mg = m.geom;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const Vec3 c = mg.point_to_index(g.index_to_point(double(i), double(j), double(k)));
        const long a = std::lround(c[0]), b = std::lround(c[1]), e = std::lround(c[2]);
        if (a < 0 || b < 0 || e < 0 || a >= long(mg.size[0]) || b >= long(mg.size[1]) ||
            e >= long(mg.size[2]))
          continue;
        out[i + g.size[0] * (j + g.size[1] * k)] =
            m.at(std::size_t(a), std::size_t(b), std::size_t(e)) > 0.5f;
      }
  return out;
}

bool same_grid(const Geometry& a, const Geometry& b) {
  if (a.size != b.size) return false;
  for (int i = 0; i < 3; ++i)
    if (std::fabs(a.spacing[i] - b.spacing[i]) > 1e-4 || std::fabs(a.origin[i] - b.origin[i]) > 1e-3)
      return false;
  for (int i = 0; i < 9; ++i)
    if (std::fabs(a.direction[i] - b.direction[i]) > 1e-4) return false;
  return true;
}

Work make_work(const Volume& scan, unsigned threads) {
  Work w;
  w.g = scan.geom;
  for (int a = 0; a < 3; ++a) {
    w.d.n[a] = static_cast<long>(scan.geom.size[a]);
    w.d.s[a] = scan.geom.spacing[a];
  }
  w.img.assign(scan.data.begin(), scan.data.begin() + static_cast<long>(scan.geom.voxels()));
  w.threads = threads;
  int best = 0;
  for (int c = 1; c < 3; ++c)
    if (std::fabs(w.g.axis(c)[2]) > std::fabs(w.g.axis(best)[2])) best = c;
  w.si = best;
  w.a1 = best == 0 ? 1 : 0;
  w.a2 = best == 2 ? 1 : 2;
  w.smooth = gaussian(w.img, w.d, {0.8, 0.8, 0.8}, threads);
  return w;
}

// Noise of the magnitude image (sigma of each Gaussian channel), from the
// differences of neighbouring voxels along the finest in-plane axes: their
// median absolute value is 0.6745 * sqrt(2) * sigma where both voxels lie in
// one tissue, which most pairs do. Pairs where the smoothed image is below
// 6 sigma (air, where the magnitude is Rayleigh, not Gaussian; zero-filled
// borders) are left out, iterating from all non-zero pairs; the smoothed
// image decides, as a cut on the voxels themselves would truncate their
// noise. 0 when not measurable.
double noise_sigma(const std::vector<float>& img, const std::vector<float>& smooth, const Dims& d) {
  const double fine = std::min({d.s[0], d.s[1], d.s[2]});
  double sigma = 0;
  for (int it = 0; it < 4; ++it) {
    const double floor = it == 0 ? 0.0 : 6.0 * sigma;
    std::vector<float> diffs;
    for (int a = 0; a < 3; ++a) {
      if (d.s[a] > 1.5 * fine || d.n[a] < 2) continue;
      const std::size_t step = a == 0 ? 1 : a == 1 ? std::size_t(d.n[0]) : std::size_t(d.n[0] * d.n[1]);
      // A quarter of the pairs (every other row and column of a checkerboard
      // of rows) is plenty for a median and 4x faster.
      for (long k = 0; k < d.n[2] - (a == 2); ++k)
        for (long j = (k & 1); j < d.n[1] - (a == 1); j += 2)
          for (long i = 0; i < d.n[0] - (a == 0); i += 2) {
            const std::size_t v = d.index(i, j, k);
            const float x = img[v], y = img[v + step];
            if (smooth[v] > floor && smooth[v + step] > floor && x > 0 && y > 0)
              diffs.push_back(std::fabs(x - y));
          }
    }
    if (diffs.size() < 1000) return 0;
    const auto mid = diffs.begin() + std::ptrdiff_t(diffs.size() / 2);
    std::nth_element(diffs.begin(), mid, diffs.end());
    const double m = *mid;
    if (!(m > 0)) return 0;
    sigma = m / (0.6745 * std::sqrt(2.0));
  }
  return sigma;
}

// Inverse of the Rice mean: the amplitude A whose magnitude has mean M under
// noise sigma. Below sigma*sqrt(pi/2) (the mean at A = 0) it is 0. Applied
// voxel by voxel it removes the magnitude's noise floor, so means and linear
// partial-volume fractions of dark (low-signal) tissue are unbiased.
class RiceInverse {
 public:
  explicit RiceInverse(double sigma) : sigma_(sigma) {
    if (!(sigma > 0)) return;
    const int n = 2048;
    const double top = 40.0 * sigma;
    for (int i = 0; i <= n; ++i) {
      const double A = top * i / n, x = A * A / (4 * sigma * sigma);
      double M;
      if (x > 200)
        M = std::sqrt(A * A + sigma * sigma);  // asymptotic (error < 1e-4 sigma)
      else
        M = sigma * 1.2533141373155003 * std::exp(-x) *  // sqrt(pi / 2)
            ((1 + 2 * x) * std::cyl_bessel_i(0.0, x) + 2 * x * std::cyl_bessel_i(1.0, x));
      a_.push_back(A);
      m_.push_back(M);
    }
  }
  float operator()(float M) const {
    if (a_.empty()) return M;
    if (M <= m_.front()) return 0.0f;
    if (M >= m_.back()) return static_cast<float>(std::sqrt(double(M) * M - sigma_ * sigma_));
    const auto it = std::upper_bound(m_.begin(), m_.end(), double(M));
    const std::size_t i = std::size_t(it - m_.begin());
    const double t = (M - m_[i - 1]) / (m_[i] - m_[i - 1]);
    return static_cast<float>(a_[i - 1] + t * (a_[i] - a_[i - 1]));
  }

 private:
  double sigma_;
  std::vector<double> a_, m_;
};

// The mask voxels whose face neighbours (along the axes no coarser than 1.5x
// the finest) are, on average, nearly all vein. A voxel is chosen by its
// neighbours, not by its own value: choosing by its own fraction would pick
// the voxels whose noise happens to make them darker, and their mean would
// put the vein intensity beyond the true one.
void core_by_neighbours(const Mask& M, const std::vector<float>& f, const Dims& c, Mask& core) {
  const double fine = std::min({c.s[0], c.s[1], c.s[2]});
  for (long k = 0; k < c.n[2]; ++k)
    for (long j = 0; j < c.n[1]; ++j)
      for (long i = 0; i < c.n[0]; ++i) {
        const std::size_t v = c.index(i, j, k);
        if (!M[v]) continue;
        double sum = 0;
        int cnt = 0;
        for (int a = 0; a < 3; ++a) {
          if (c.s[a] > 1.5 * fine) continue;
          for (int sgn : {-1, 1}) {
            long q[3] = {i, j, k};
            q[a] += sgn;
            if (!c.inside(q[0], q[1], q[2])) continue;
            sum += f[c.index(q[0], q[1], q[2])];
            ++cnt;
          }
        }
        core[v] = cnt > 0 && sum >= 0.85 * cnt;
      }
}

// The plexus inside the canal: partial-volume model iterated with the mask.
void segment_vessels(Work& w, const Options& opt, Result& r, Reporter& rep, std::vector<float>& frac,
                     Mask& binary) {
  const Dims& D = w.d;
  // Crop to the canal's bounding box (plus a margin).
  std::array<long, 3> lo{D.n[0], D.n[1], D.n[2]}, hi{-1, -1, -1};
  for (long k = 0; k < D.n[2]; ++k)
    for (long j = 0; j < D.n[1]; ++j)
      for (long i = 0; i < D.n[0]; ++i)
        if (w.canal[D.index(i, j, k)]) {
          const long p[3] = {i, j, k};
          for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], p[a]);
            hi[a] = std::max(hi[a], p[a]);
          }
        }
  frac.assign(D.count(), 0.0f);
  binary.assign(D.count(), 0);
  if (hi[0] < 0) return;
  Dims c;
  for (int a = 0; a < 3; ++a) {
    lo[a] = std::max(0L, lo[a] - 3);
    hi[a] = std::min(D.n[a] - 1, hi[a] + 3);
    c.n[a] = hi[a] - lo[a] + 1;
    c.s[a] = D.s[a];
  }
  const std::size_t nc = c.count();
  std::vector<float> I(nc), csf(nc);
  Mask canal(nc), sac(nc);
  auto full_index = [&](long i, long j, long k) { return D.index(i + lo[0], j + lo[1], k + lo[2]); };
  for (long k = 0; k < c.n[2]; ++k)
    for (long j = 0; j < c.n[1]; ++j)
      for (long i = 0; i < c.n[0]; ++i) {
        const std::size_t v = c.index(i, j, k), u = full_index(i, j, k);
        I[v] = w.img[u];
        canal[v] = w.canal[u];
        sac[v] = w.sac[u];
        const long p[3] = {i + lo[0], j + lo[1], k + lo[2]};
        csf[v] = static_cast<float>(w.csf_level[static_cast<std::size_t>(p[w.si])]);
      }
  // Epidural space: the canal minus the sac's interior (veins that indent
  // the sac stay inside; the nerve roots deep in the sac do not).
  const Mask sac_core = erode_mm(sac, c, 1.5);
  Mask E(nc);
  std::vector<float> ev;
  for (std::size_t v = 0; v < nc; ++v) {
    // (On T1 the nerve roots are far darker than enhancing veins: the whole
    // canal is searched, so veins pressing into the sac are not cut.)
    E[v] = canal[v] && (r.contrast == "t1c" || !sac_core[v]);
    if (E[v]) ev.push_back(I[v]);
  }
  if (ev.size() < 50) throw QualityError("", "the epidural space found is too small to measure");
  const double vox = c.s[0] * c.s[1] * c.s[2];
  // Vessel polarity.
  if (opt.veins != "auto") {
    r.veins = opt.veins;
    r.veins_source = "option";
  } else if (r.contrast == "t1c") {
    r.veins = "bright";
    r.veins_source = "contrast (enhancing veins on T1)";
  } else {
    double dark = 0;
    for (std::size_t v = 0; v < nc; ++v)
      if (E[v] && I[v] < 0.3 * csf[v]) dark += vox;
    r.veins = dark > 500 ? "dark"
                         : "bright";  // a plexus of flow voids is cm3; stray dark voxels (bone edges) are not
    r.veins_source =
        "image (" + std::to_string(int(dark)) + " mm3 of flow-void signal in the epidural space)";
  }
  const int pv = r.veins == "dark" ? -1 : 1;
  const bool between = r.contrast == "t2" && pv > 0;  // slow-flow veins: between fat and CSF
  // Dark veins and enhancing veins: the model is linear in the signal
  // amplitude, but a magnitude image's mean is not linear in it (the Rician
  // noise floor lifts dark voxels: at SNR 12 a flow void of amplitude 70
  // reads 122 on average, a half-vein voxel of 435 only 443). Each voxel is
  // mapped through the inverse of the Rice mean before the model is fitted,
  // so mixtures read their true fractions (+2.6 % per half-vein voxel at
  // SNR 12 otherwise). (The slow-flow T2 model keeps the raw signal.)
  // Near-isotropic voxels only: on thick slices most edge voxels mix vein,
  // fat and CSF, which this two-class model reads short; there the noise
  // floor's lift happened to offset it, and taking the lift away alone made
  // the 3.5 mm sagittal volumes 5 % lower (seen on the phantom).
  const bool iso_voxels = std::max({c.s[0], c.s[1], c.s[2]}) <= 1.5 * std::min({c.s[0], c.s[1], c.s[2]});
  if (!between && iso_voxels) {
    r.noise_sigma = noise_sigma(w.img, w.smooth, D);
    const RiceInverse rinv(r.noise_sigma);
    for (auto& x : I) x = rinv(x);
    ev.clear();
    for (std::size_t v = 0; v < nc; ++v)
      if (E[v]) ev.push_back(I[v]);
  }
  const double V0 = percentile(ev, pv < 0 ? 1.0 : 99.5);
  // Initial background: epidural voxels clearly not vessel.
  Mask P(nc, 0);
  for (std::size_t v = 0; v < nc; ++v) {
    if (!E[v]) continue;
    if (pv < 0)
      P[v] = I[v] >= 0.5 * csf[v];
    else
      P[v] = (I[v] - csf[v]) < 0.3 * (V0 - csf[v]);
  }
  const float bmed = static_cast<float>(median_of(ev));
  std::vector<float> B = normalized_convolution(I, P, c, 3.0, bmed, w.threads);
  std::vector<float> V(nc, static_cast<float>(V0));
  std::vector<float> f(nc, 0.0f);
  Mask M(nc, 0);
  const std::size_t min_vox = static_cast<std::size_t>(std::max(1.0, opt.min_component_mm3 / vox));
  if (between) {
    if (std::max({c.s[0], c.s[1], c.s[2]}) > 1.2)
      r.warnings.push_back(
          "slow-flow (bright) veins on T2 with voxels thicker than 1.2 mm: the thecal sac's wall (a fat/CSF "
          "mixture of the vein's brightness) cannot be told from veins; this volume is not reliable");
    bright_t2_veins(
        {c, w.si, w.a1, w.a2, w.anterior_dir, w.threads, I, canal, sac, csf, opt.min_component_mm3}, f, M, V,
        B);
    for (std::size_t v = 0; v < nc; ++v) E[v] = canal[v];
  }
  for (int it = 0; it < 4 && !between; ++it) {
    for (std::size_t v = 0; v < nc; ++v) {
      const double den = V[v] - B[v];
      f[v] = E[v] && pv * den > 1e-6 ? static_cast<float>((I[v] - B[v]) / den) : 0.0f;
      M[v] = E[v] && f[v] >= 0.5f;
    }
    M = remove_small(M, c, min_vox);
    if (pv < 0 && r.contrast == "t2") {
      // Flow voids wholly inside the sac are nerve roots (dark on T2, lying
      // within 1.5 mm of the sac's wall where the sac is found a little
      // tight), not veins: an epidural vein, even one indenting the sac,
      // reaches the epidural side.
      std::vector<std::size_t> sizes;
      const auto lab = components(M, c, sizes);
      std::vector<std::uint8_t> out_of_sac(sizes.size(), 0);
      for (std::size_t v = 0; v < nc; ++v)
        if (lab[v] && !sac[v]) out_of_sac[std::size_t(lab[v])] = 1;
      for (std::size_t v = 0; v < nc; ++v)
        if (lab[v] && !out_of_sac[std::size_t(lab[v])]) M[v] = 0;
    }
    if (it == 3) break;
    const Mask near = dilate_at_least_one(M, c, 1.5);
    for (std::size_t v = 0; v < nc; ++v) P[v] = E[v] && !near[v];
    const auto B2 = normalized_convolution(I, P, c, 1.0, -1e30f, w.threads, 0.02);
    const auto B6 = normalized_convolution(I, P, c, 6.0, bmed, w.threads);
    for (std::size_t v = 0; v < nc; ++v) B[v] = B2[v] > -1e29f ? B2[v] : B6[v];
    // Vein intensity from the voxels that are (nearly) all vein by the
    // current model: thick slices may have few pure voxels, erosion would
    // pick mixed ones.
    Mask core(nc, 0);
    if (iso_voxels)
      core_by_neighbours(M, f, c, core);
    else
      for (std::size_t v = 0; v < nc; ++v) core[v] = M[v] && f[v] >= 0.85f;
    std::vector<float> cv;
    for (std::size_t v = 0; v < nc; ++v)
      if (core[v]) cv.push_back(I[v]);
    if (cv.size() >= 20)
      V = normalized_convolution(I, core, c, 15.0, static_cast<float>(median_of(cv)), w.threads);
  }
  // Partial-volume band: the face neighbours of the mask (fully outside
  // voxels would only add the clamped noise of the background).
  Mask band = M;
  // (The slow-flow model returns its own band: the fractions it set.)
  if (between)
    for (std::size_t v = 0; v < nc; ++v) band[v] = band[v] || f[v] != 0.0f;
  for (long k = 0; k < c.n[2]; ++k)
    for (long j = 0; j < c.n[1]; ++j)
      for (long i = 0; i < c.n[0]; ++i) {
        const std::size_t v = c.index(i, j, k);
        if (M[v]) continue;
        const long nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k},
                               {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
        for (const auto& q : nb)
          if (c.inside(q[0], q[1], q[2]) && M[c.index(q[0], q[1], q[2])]) {
            band[v] = 1;
            break;
          }
      }
  std::vector<float> vb, bb;
  for (std::size_t v = 0; v < nc; ++v) {
    // On near-isotropic voxels fractions are clamped one noise standard
    // deviation beyond [0, 1], not at [0, 1]: clamping at 0 and 1 adds
    // 0.4 sigma of noise to every background voxel of the band and takes it
    // from every pure vein voxel (at SNR 12, +4 % of the volume at small
    // veins); at one sigma 80 % of that bias is gone, while fractions pushed
    // negative by structure (CSF partial volume beside the sac) cannot
    // subtract more than one sigma. Thick slices keep [0, 1]: there the
    // negative fractions are mostly vein-and-CSF voxels, not noise (seen:
    // -3 % of the volume on 3.5 mm slices; there the noise is left as it was).
    float flo = 0.0f, fhi = 1.0f;
    if (!between && iso_voxels && r.noise_sigma > 0 && std::fabs(V[v] - B[v]) > 1e-6) {
      const float sf = static_cast<float>(r.noise_sigma / std::fabs(V[v] - B[v]));
      flo = -sf;
      fhi = 1.0f + sf;
    }
    const float x = band[v] && E[v] ? std::clamp(f[v], flo, fhi) : 0.0f;
    const std::size_t u =
        full_index(long(v % std::size_t(c.n[0])), long((v / std::size_t(c.n[0])) % std::size_t(c.n[1])),
                   long(v / std::size_t(c.n[0] * c.n[1])));
    frac[u] = x;
    binary[u] = M[v];
    if (M[v]) {
      vb.push_back(V[v]);
      bb.push_back(B[v]);
    }
  }
  r.vein_intensity = median_of(vb);
  r.background_intensity = median_of(bb);
  rep.debug("vessels: veins " + r.veins + ", vein intensity " + std::to_string(r.vein_intensity) +
            ", background " + std::to_string(r.background_intensity));
}

}  // namespace

Result segment(const Volume& scan, const Options& opt, Reporter& rep) {
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  r.level_range = parse_levels(opt.levels);
  if (opt.veins != "auto" && opt.veins != "dark" && opt.veins != "bright")
    throw UsageError("--veins must be auto, dark or bright, not '" + opt.veins + "'");
  if (opt.contrast != "auto" && opt.contrast != "t2" && opt.contrast != "t1c")
    throw UsageError("--contrast must be auto, t2 or t1c, not '" + opt.contrast + "'");
  int big = 0;
  for (int a = 0; a < 3; ++a) big += scan.geom.size[a] >= 32;
  if (big < 2)
    throw InputError("", "the scan is too small to contain a lumbar canal (needs >= 32 voxels in 2 axes)");
  if (scan.timepoints > 1) r.warnings.push_back("4D scan: only the first volume is segmented");
  auto lap = [&r, last = t0](const char* stage) mutable {
    const auto now = std::chrono::steady_clock::now();
    r.stage_seconds.push_back({stage, std::chrono::duration<double>(now - last).count()});
    last = now;
  };
  Work w = make_work(scan, opt.threads);
  lap("smoothing");
  // Contrast.
  if (opt.contrast != "auto") {
    r.contrast = opt.contrast;
    r.contrast_source = "option";
  } else {
    r.contrast = contrast_from_metadata(scan.meta.acq, r.contrast_source);
    if (r.contrast.empty()) {
      const double sb = tube_strength(w, +1), sd = tube_strength(w, -1);
      r.contrast = sb >= sd ? "t2" : "t1c";
      r.contrast_source = "image (CSF " + std::string(sb >= sd ? "bright" : "dark") + ")";
      r.warnings.push_back("no TE/TR or series description: contrast guessed from the image as " +
                           r.contrast + "; give --contrast (or keep the BIDS sidecar metadata) to be sure");
    }
  }
  w.polarity = r.contrast == "t2" ? 1 : -1;
  rep.debug("contrast " + r.contrast + " from " + r.contrast_source);
  if (opt.region.mask) {
    w.canal = mask_on(*opt.region.mask, scan.geom);
    if (!same_grid(opt.region.mask->geom, scan.geom))
      r.warnings.push_back("the region mask is on another grid: resampled (nearest neighbour) onto the scan");
    std::size_t n = 0;
    for (auto m : w.canal) n += m;
    if (n == 0) throw InputError(opt.region.mask_path, "the region mask does not overlap the scan");
    r.region_source = "mask";
  }
  lap("contrast");
  find_canal(w, opt, r, rep);
  if (opt.canal_add) {
    const Mask add = mask_on(*opt.canal_add, scan.geom);
    for (std::size_t v = 0; v < add.size(); ++v) w.canal[v] = w.canal[v] || add[v];
  }
  if (opt.coverage) {
    const Mask cov = mask_on(*opt.coverage, scan.geom);
    for (std::size_t v = 0; v < cov.size(); ++v)
      if (!cov[v]) w.canal[v] = w.sac[v] = 0;
  }
  lap("canal and sac");
  rep.progress("segment", 0.4);
  std::vector<float> frac;
  Mask binary;
  segment_vessels(w, opt, r, rep, frac, binary);
  lap("plexus");
  rep.progress("segment", 0.7);
  if (opt.levels_given.empty()) {
    find_levels(w, opt, r, rep);
  } else {
    // Levels given (another session's, carried through the registration).
    r.level_planes = opt.levels_given;
    r.level_results.assign(level_names().size(), LevelResult{});
    for (std::size_t l = 0; l < r.level_results.size(); ++l) {
      auto& lr = r.level_results[l];
      lr.name = level_names()[l];
      if (l >= r.level_planes.size() || !r.level_planes[l].found) continue;
      lr.disc_point = r.level_planes[l].disc.point;
      auto inside = [&](const Vec3& p) {
        const Vec3 c = scan.geom.point_to_index(p);
        for (int a = 0; a < 3; ++a)
          if (c[a] < -0.5 || c[a] > scan.geom.size[a] - 0.5) return false;
        return true;
      };
      lr.present = inside(r.level_planes[l].top.point) && inside(r.level_planes[l].bottom.point);
      if (!lr.present)
        r.warnings.push_back(lr.name + " extends beyond the field of view: its volume is partial");
      r.levels_found = true;
    }
  }
  const auto labels = label_levels(w, r);
  lap("levels");
  if (!r.levels_found && opt.levels != "all")
    throw QualityError("",
                       "no vertebral levels found, so the measurement cannot be restricted to " + opt.levels);
  // Outputs.
  r.plexus = like(scan);
  r.plexus_soft = like(scan);
  r.canal = like(scan);
  r.sac = like(scan);
  r.levels = like(scan);
  const double vox = w.d.s[0] * w.d.s[1] * w.d.s[2];
  const auto [l0, l1] = r.level_range;
  for (std::size_t v = 0; v < w.d.count(); ++v) {
    r.canal.data[v] = w.canal[v];
    r.sac.data[v] = w.sac[v] && !binary[v];
    r.levels.data[v] = labels[v];
    r.canal_volume_mm3 += w.canal[v] * vox;
    r.volume_canal_mm3 += frac[v] * vox;
    const int l = int(labels[v]) - 1;
    const bool in = r.levels_found ? (l >= l0 && l <= l1) : w.canal[v] != 0;
    if (!in) continue;
    r.plexus.data[v] = binary[v];
    r.plexus_soft.data[v] = frac[v];
    r.volume_mm3 += binary[v] * vox;
    r.volume_soft_mm3 += frac[v] * vox;
    if (l >= 0) {
      r.level_results[std::size_t(l)].volume_mm3 += binary[v] * vox;
      r.level_results[std::size_t(l)].volume_soft_mm3 += frac[v] * vox;
    }
  }
  if (!r.levels_found) r.warnings.push_back("volumes are over the whole canal in the field of view");
  // Dural sac area at each disc's mid-plane: sac voxels in a slab / slab thickness.
  for (std::size_t l = 0; l < r.level_results.size(); ++l) {
    if (l < r.level_planes.size() && r.level_planes[l].found) {
      const auto& pl = r.level_planes[l].disc;
      double h = 2.0;
      for (int a = 0; a < 3; ++a)
        h = std::max(h, std::fabs(dot(scan.geom.axis(a), pl.normal)) * scan.geom.spacing[a]);
      double cnt = 0;
      for (long k = 0; k < w.d.n[2]; ++k)
        for (long j = 0; j < w.d.n[1]; ++j)
          for (long i = 0; i < w.d.n[0]; ++i) {
            const std::size_t v = w.d.index(i, j, k);
            if (r.sac.data[v] <= 0) continue;
            const Vec3 x = scan.geom.index_to_point(double(i), double(j), double(k));
            const double sd = (x[0] - pl.point[0]) * pl.normal[0] + (x[1] - pl.point[1]) * pl.normal[1] +
                              (x[2] - pl.point[2]) * pl.normal[2];
            if (std::fabs(sd) <= h / 2) cnt += 1;
          }
      r.level_results[l].sac_area_mm2 = cnt * vox / h;
    }
    if (!r.levels_found || int(l) < l0 || int(l) > l1) r.level_results[l].present = false;
  }
  // A mask that touches the edge of the field of view may be cut there.
  {
    const auto& g = scan.geom;
    for (std::size_t k = 0; k < g.size[2] && !r.touches_edge; ++k)
      for (std::size_t j = 0; j < g.size[1] && !r.touches_edge; ++j)
        for (std::size_t i = 0; i < g.size[0]; ++i) {
          const bool edge =
              i == 0 || j == 0 || k == 0 || i + 1 == g.size[0] || j + 1 == g.size[1] || k + 1 == g.size[2];
          if (edge && r.plexus.data[i + g.size[0] * (j + g.size[1] * k)] > 0) {
            r.touches_edge = true;
            break;
          }
        }
    if (r.touches_edge)
      r.warnings.push_back("the plexus mask touches the edge of the field of view: it may be cut there");
  }
  // Centreline points for the report and the QC pictures.
  for (long k = 0; k < w.d.n[w.si]; ++k) {
    const double wk = k * w.d.s[w.si];
    if (wk >= w.w_lo && wk <= w.w_hi) r.centreline.push_back(w.point(w.centre1(wk), w.centre2(wk), wk));
  }
  if (r.centreline.size() >= 2) {
    for (std::size_t i = 1; i < r.centreline.size(); ++i) {
      const auto& a = r.centreline[i - 1];
      const auto& b = r.centreline[i];
      r.canal_length_mm += norm(Vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]});
    }
    if (r.centreline.front()[2] < r.centreline.back()[2])
      std::reverse(r.centreline.begin(), r.centreline.end());
  }
  lap("measurement");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rep.progress("segment", 1.0);
  return r;
}

Result measure(const Volume& mask, const Volume* scan, const Options& opt, Reporter& rep) {
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  r.level_range = parse_levels(opt.levels);
  // Fractions when the mask holds values strictly between 0 and 1, else labels > 0.
  bool soft = false;
  for (std::size_t v = 0; v < mask.geom.voxels() && !soft; ++v)
    soft = mask.data[v] > 0.001f && mask.data[v] < 0.999f;
  if (scan) {
    r = segment(*scan, opt, rep);
    r.region_source += "; plexus from the measured mask";
  } else {
    r.level_results.assign(level_names().size(), LevelResult{});
    for (std::size_t i = 0; i < r.level_results.size(); ++i) r.level_results[i].name = level_names()[i];
    r.plexus = like(mask);
    r.plexus_soft = like(mask);
    r.canal = like(mask);
    r.sac = like(mask);
    r.levels = like(mask);
    r.region_source = "none (mask only: no levels)";
  }
  const Geometry& g = r.plexus.geom;
  const bool same = same_grid(mask.geom, g);
  if (!same) r.warnings.push_back("the mask is on another grid than the scan: resampled (nearest neighbour)");
  const auto [l0, l1] = r.level_range;
  const double vox = g.spacing[0] * g.spacing[1] * g.spacing[2];
  r.volume_mm3 = r.volume_soft_mm3 = r.volume_canal_mm3 = 0;
  for (auto& l : r.level_results) l.volume_mm3 = l.volume_soft_mm3 = 0;
  double outside = 0;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const std::size_t v = i + g.size[0] * (j + g.size[1] * k);
        float m = 0;
        if (same) {
          m = mask.data[v];
        } else {
          const Vec3 c = mask.geom.point_to_index(g.index_to_point(double(i), double(j), double(k)));
          const long a = std::lround(c[0]), b = std::lround(c[1]), e = std::lround(c[2]);
          if (a >= 0 && b >= 0 && e >= 0 && a < long(mask.geom.size[0]) && b < long(mask.geom.size[1]) &&
              e < long(mask.geom.size[2]))
            m = mask.at(std::size_t(a), std::size_t(b), std::size_t(e));
        }
        // (mrivol's own soft maps hold noise-unbiased fractions a little
        // beyond [0, 1]: kept, so a map measured again gives its volume.)
        const float fr = soft ? std::clamp(m, -0.5f, 1.5f) : (m > 0.5f ? 1.0f : 0.0f);
        const float bin = soft ? (m >= 0.5f ? 1.0f : 0.0f) : fr;
        r.plexus.data[v] = bin;
        r.plexus_soft.data[v] = fr;
        r.volume_canal_mm3 += fr * vox;
        const int l = int(r.levels.data[v]) - 1;
        if (scan && r.levels_found) {
          if (r.canal.data[v] <= 0) outside += fr * vox;
          if (l < l0 || l > l1) {
            r.plexus.data[v] = r.plexus_soft.data[v] = 0;
            continue;
          }
        }
        r.volume_mm3 += bin * vox;
        r.volume_soft_mm3 += fr * vox;
        if (l >= 0) {
          r.level_results[std::size_t(l)].volume_mm3 += bin * vox;
          r.level_results[std::size_t(l)].volume_soft_mm3 += fr * vox;
        }
      }
  if (outside > 0.5)
    r.warnings.push_back(std::to_string(int(std::lround(outside))) +
                         " mm3 of the mask lie outside the canal found in the scan and belong to no level");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace segment
}  // namespace mrivol
