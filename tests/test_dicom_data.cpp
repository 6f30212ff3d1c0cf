// Real scanner DICOM (../shared/dicom) against dcm2niix's reference NIfTIs,
// compared in physical space: for every voxel of the reference grid we find
// the voxel of our volume at the same LPS position and compare values.
//
// Tolerances (stated once): positions 1e-3 mm, direction cosines 1e-4;
// values exactly, through the manifest's SHA-256 of int32 voxel values in
// reference order (for Philips, whose references use the private scale, the
// raw stored integers are compared instead, as MANIFEST.md prescribes).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
#include "mrivol/dicom/series.hpp"
#include "mrivol/io/image.hpp"
#include "synth_dicom.hpp"
#include "test_support.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <filesystem>

using namespace mrivol;
using nlohmann::json;

namespace {

json manifest() {
  std::ifstream f(mrivol_test::shared_dicom_dir() + "/manifest.json");
  if (!f) return json::object();
  return json::parse(f);
}

std::vector<std::string> case_names() {
  std::vector<std::string> v;
  const json m = manifest();
  if (m.contains("cases"))
    for (const auto& c : m["cases"]) v.push_back(c["case"].get<std::string>());
  return v;
}

json find_case(const std::string& name) {
  static const json m = manifest();
  for (const auto& c : m["cases"])
    if (c["case"] == name) return c;
  return json();
}

/// Map of reference voxel (i,j,k) -> our voxel index, established from the
/// reference affine; fails the test when positions or directions disagree.
struct Mapping {
  long base[3];
  long step[3][3];  // step[ref axis][our axis]
};

bool map_grid(const json& ref, const Geometry& g, Mapping& m, std::string& why) {
  const auto A = ref["sform"];
  auto lps = [&](double i, double j, double k) {
    Vec3 ras{};
    for (int r = 0; r < 3; ++r)
      ras[r] = A[r][0].get<double>() * i + A[r][1].get<double>() * j + A[r][2].get<double>() * k +
               A[r][3].get<double>();
    return Vec3{-ras[0], -ras[1], ras[2]};
  };
  const Vec3 o = g.point_to_index(lps(0, 0, 0));
  for (int a = 0; a < 3; ++a) {
    m.base[a] = std::lround(o[a]);
    if (std::fabs(o[a] - m.base[a]) * g.spacing[a] > 1e-3) {
      why = "reference voxel (0,0,0) is off our grid by " +
            std::to_string(std::fabs(o[a] - m.base[a]) * g.spacing[a]) + " mm";
      return false;
    }
  }
  for (int r = 0; r < 3; ++r) {
    const Vec3 e = g.point_to_index(lps(r == 0, r == 1, r == 2));
    int nonzero = 0;
    for (int a = 0; a < 3; ++a) {
      const double d = e[a] - o[a];
      m.step[r][a] = std::lround(d);
      // Direction cosines to 1e-4: the step must be a signed unit step.
      if (std::fabs(d - m.step[r][a]) > 1e-4) {
        why = "reference axis " + std::to_string(r) + " is not aligned with our grid (step " +
              std::to_string(d) + ")";
        return false;
      }
      nonzero += m.step[r][a] != 0;
    }
    if (nonzero != 1) {
      why = "reference axis " + std::to_string(r) + " maps to no single axis";
      return false;
    }
  }
  // Far corner: positions to 1e-3 mm over the whole grid.
  const auto dims = ref["dims"];
  const double fi = dims[0].get<double>() - 1, fj = dims[1].get<double>() - 1, fk = dims[2].get<double>() - 1;
  const Vec3 c = g.point_to_index(lps(fi, fj, fk));
  for (int a = 0; a < 3; ++a) {
    const double expect = m.base[a] + fi * m.step[0][a] + fj * m.step[1][a] + fk * m.step[2][a];
    if (std::fabs(c[a] - expect) * g.spacing[a] > 1e-3) {
      why = "far corner differs by " + std::to_string(std::fabs(c[a] - expect) * g.spacing[a]) + " mm";
      return false;
    }
  }
  return true;
}

/// int32 values in reference (Fortran) order, raw or scaled.
std::vector<std::int32_t> resample_ints(const Volume& v, const json& ref, const Mapping& m, bool raw) {
  const auto dims = ref["dims"];
  const long nx = dims[0], ny = dims[1], nz = dims[2];
  const long nt = dims.size() > 3 ? dims[3].get<long>() : 1;
  std::vector<std::int32_t> out;
  out.reserve(static_cast<std::size_t>(nx * ny * nz * nt));
  const double slope = v.stored ? v.stored->slope : 1.0, inter = v.stored ? v.stored->intercept : 0.0;
  for (long t = 0; t < nt; ++t)
    for (long k = 0; k < nz; ++k)
      for (long j = 0; j < ny; ++j)
        for (long i = 0; i < nx; ++i) {
          long idx[3];
          for (int a = 0; a < 3; ++a)
            idx[a] = m.base[a] + i * m.step[0][a] + j * m.step[1][a] + k * m.step[2][a];
          for (int a = 0; a < 3; ++a)
            if (idx[a] < 0 || idx[a] >= static_cast<long>(v.geom.size[a])) return {};
          const double x = v.at(idx[0], idx[1], idx[2], t);
          out.push_back(static_cast<std::int32_t>(std::lround(raw ? (x - inter) / slope : x)));
        }
  return out;
}

std::string testing_dir(const json& c) {
  return mrivol_test::shared_dicom_dir() + "/" + c["dicom_dir"].get<std::string>();
}

class RealDicom : public ::testing::TestWithParam<std::string> {};

TEST_P(RealDicom, MatchesReferenceInPhysicalSpace) {
  const json c = find_case(GetParam());
  ASSERT_FALSE(c.is_null());
  const std::string dir = mrivol_test::shared_dicom_dir() + "/" + c["dicom_dir"].get<std::string>();
  dicom::ScanOptions so;
  so.threads = 2;
  const dicom::ScanResult scan = dicom::scan(dir, so);

  std::set<std::string> uids;
  for (const auto& s : scan.series) uids.insert(s.series_uid);
  EXPECT_EQ(uids.size(), c["expected_series_count"].get<std::size_t>());
  ASSERT_EQ(scan.series.size(), c["expected_ref_volumes"].get<std::size_t>())
      << "image sets after splitting (echoes, magnitude/phase)";

  std::vector<Volume> vols;
  for (const auto& s : scan.series) {
    ASSERT_TRUE(s.error.empty()) << s.error;
    vols.push_back(dicom::load(s));
  }
  std::set<std::size_t> used;
  for (const auto& ref : c["reference_geometry"]) {
    const bool scaled_is_raw = ref["sha256_int32_F"] == ref["sha256_raw_int32_F"];
    const std::string want = scaled_is_raw ? ref["sha256_int32_F"] : ref["sha256_raw_int32_F"];
    const auto dims = ref["dims"];
    const std::size_t nt = dims.size() > 3 ? dims[3].get<std::size_t>() : 1;
    std::string diag;
    bool matched = false;
    for (std::size_t vi = 0; vi < vols.size() && !matched; ++vi) {
      if (used.count(vi)) continue;
      const Volume& v = vols[vi];
      if (v.timepoints != nt || v.geom.voxels() != dims[0].get<std::size_t>() * dims[1].get<std::size_t>() *
                                                       dims[2].get<std::size_t>()) {
        diag += " [set " + std::to_string(vi) + ": size differs]";
        continue;
      }
      Mapping m{};
      std::string why;
      if (!map_grid(ref, v.geom, m, why)) {
        diag += " [set " + std::to_string(vi) + ": " + why + "]";
        continue;
      }
      const auto ints = resample_ints(v, ref, m, !scaled_is_raw);
      const std::string got = sha256_hex(ints.data(), ints.size() * sizeof(std::int32_t));
      if (got == want) {
        matched = true;
        used.insert(vi);
        // Intensity scaling: for non-Philips cases the scaled values are the
        // reference's values; check the mean as an independent summary.
        if (scaled_is_raw) {
          double sum = 0;
          for (float x : v.data) sum += x;
          EXPECT_NEAR(sum / v.data.size(), ref["mean"].get<double>(),
                      1e-4 * (1 + std::fabs(ref["mean"].get<double>())));
        }
      } else {
        diag += " [set " + std::to_string(vi) + ": geometry ok, values differ]";
      }
    }
    EXPECT_TRUE(matched) << "no loaded image matches " << ref["nifti"] << ":" << diag;
  }
}

TEST_P(RealDicom, ReferenceNiftiReadBackAgrees) {
  // Independent of the hashes: read each dcm2niix NIfTI with our reader
  // (ITK, RAS->LPS) and compare values at the same physical positions. For
  // privately scaled references (Philips) the stored integers are compared:
  // raw = (value - scl_inter) / scl_slope on both sides.
  const json c = find_case(GetParam());
  const std::string dir = testing_dir(c);
  const auto scan = dicom::scan(dir);
  std::vector<Volume> ours;
  for (const auto& s : scan.series) ours.push_back(dicom::load(s));
  std::size_t compared_files = 0;
  for (const auto& ref : c["reference_geometry"]) {
    if (ref["nifti"].is_null()) continue;  // reference NIfTI not in the corpus (hash test covers it)
    const bool raw = ref["sha256_int32_F"] != ref["sha256_raw_int32_F"];
    const double rs = ref["scl_slope"].get<double>(), ri = ref["scl_inter"].get<double>();
    const Volume theirs =
        io::read_image(mrivol_test::shared_dicom_dir() + "/" + ref["nifti"].get<std::string>());
    const auto& g = theirs.geom;
    bool matched = false;
    std::string diag;
    for (const Volume& o : ours) {
      if (o.timepoints != theirs.timepoints || o.geom.voxels() != g.voxels()) continue;
      const double os = o.stored ? o.stored->slope : 1.0, oi = o.stored ? o.stored->intercept : 0.0;
      std::size_t checked = 0, bad = 0, off_grid = 0;
      for (std::size_t k = 0; k < g.size[2]; ++k)
        for (std::size_t j = 0; j < g.size[1]; j += 2)
          for (std::size_t i = 0; i < g.size[0]; ++i) {
            const Vec3 q = o.geom.point_to_index(g.index_to_point(i, j, k));
            long idx[3];
            for (int a = 0; a < 3; ++a) {
              idx[a] = std::lround(q[a]);
              // 2e-3 mm: the reference affine is stored as float32.
              if (std::fabs(q[a] - idx[a]) * o.geom.spacing[a] > 2e-3 || idx[a] < 0 ||
                  idx[a] >= static_cast<long>(o.geom.size[a]))
                ++off_grid;
            }
            if (off_grid) break;
            ++checked;
            const std::size_t t = theirs.timepoints - 1;  // last volume: also checks 4D order
            const double a = o.at(idx[0], idx[1], idx[2], t), b = theirs.at(i, j, k, t);
            if (raw)
              bad += std::lround((a - oi) / os) != std::lround((b - ri) / rs);
            else
              bad += a != b;
          }
      if (off_grid == 0 && checked > 100 && bad == 0)
        matched = true;
      else
        diag += " [" + std::to_string(off_grid) + " off grid, " + std::to_string(bad) + " of " +
                std::to_string(checked) + " differ]";
      if (matched) break;
    }
    EXPECT_TRUE(matched) << ref["nifti"] << diag;
    ++compared_files;
  }
  if (compared_files == 0)
    GTEST_SKIP() << "no reference NIfTI in the corpus for this case (hash test covers it)";
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RealDicom);
INSTANTIATE_TEST_SUITE_P(Shared, RealDicom, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(SharedData, MosaicMissingItsCsaHeaderMarksTheSeries) {
  // One of two mosaic volumes loses its CSA header: the series must not load
  // silently as a 3D image.
  mrivol_test::TempDir d("mosaic_no_csa");
  const std::string src = mrivol_test::shared_dicom_dir() + "/siemens_cor_oblique_mosaic/dicom";
  std::filesystem::copy(src, d.str());
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((d / "0002.dcm").c_str()).good());
  ff.getDataset()->findAndDeleteElement(DcmTagKey(0x0029, 0x1010));
  ff.getDataset()->findAndDeleteElement(DcmTagKey(0x0019, 0x100a));
  ASSERT_TRUE(ff.saveFile((d / "0002.dcm").c_str(), EXS_LittleEndianExplicit).good());
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 1u);
  EXPECT_NE(scan.series[0].error.find("unreadable"), std::string::npos) << scan.series[0].error;
  EXPECT_FALSE(scan.warnings.empty());
}

TEST(SharedData, DeflatedFileDecodes) {
  mrivol_test::TempDir d("deflated");
  const std::string src = mrivol_test::shared_dicom_dir() + "/ts_explicit_le/dicom/0001.dcm";
  mrivol_test::transcode(src, d / "0001.dcm", "1.2.840.10008.1.2.1.99");
  const Volume a = dicom::load(dicom::scan(src).series.at(0));
  const Volume b = dicom::load(dicom::scan(d.str()).series.at(0));
  EXPECT_EQ(a.data, b.data);
}

TEST(SharedData, HugeFrameCountIsRejectedBeforeAllocating) {
  mrivol_test::TempDir d("huge_frames");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((mrivol_test::shared_dicom_dir() + "/ts_rle/dicom/0001.dcm").c_str()).good());
  ff.getDataset()->putAndInsertString(DCM_NumberOfFrames, "2000000000");
  ASSERT_TRUE(ff.saveFile((d / "0001.dcm").c_str(), EXS_RLELossless).good());
  try {
    dicom::scan(d.str());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::dicom);
  }
}

TEST(SharedData, CorpusIsPresent) {
  // CI must fail, not skip, when ../shared/dicom is missing.
  const std::string dir = mrivol_test::shared_dicom_dir();
  ASSERT_TRUE(std::ifstream(dir + "/manifest.json").good()) << dir << "/manifest.json not found";
  EXPECT_GE(case_names().size(), 20u);
}

TEST(SharedData, Jpeg2000IsDecodedWithOpenJpeg) {
  // Open-source DCMTK has no JPEG 2000 codec; the loader must still decode it.
  const auto scan = dicom::scan(mrivol_test::shared_dicom_dir() + "/ts_jpeg2000/dicom");
  EXPECT_NE(scan.series.front().transfer_syntax.find("JPEG 2000"), std::string::npos);
  const Volume v = dicom::load(scan.series.front());
  EXPECT_EQ(v.geom.size[2], 35u);
}

}  // namespace
