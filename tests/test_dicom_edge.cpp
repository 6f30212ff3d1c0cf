// Synthetic DICOM edge cases written by the tests with DCMTK; each has an
// asserted outcome.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "mrivol/core/error.hpp"
#include "mrivol/dicom/series.hpp"
#include "synth_dicom.hpp"
#include "test_support.hpp"

using namespace mrivol;
using mrivol_test::make_stack;
using mrivol_test::pattern;
using mrivol_test::TempDir;
using mrivol_test::write_stack;
namespace fs = std::filesystem;

namespace {

const std::array<double, 6> kAxial{1, 0, 0, 0, 1, 0};

/// Voxel (x,y,k) must hold the pattern of slice `k` (position order).
void expect_position_order(const Volume& v, unsigned n) {
  ASSERT_EQ(v.geom.size[2], n);
  for (unsigned k = 0; k < n; ++k)
    for (unsigned y = 0; y < v.geom.size[1]; ++y)
      for (unsigned x = 0; x < v.geom.size[0]; ++x)
        ASSERT_EQ(v.at(x, y, k), pattern(k, y, x)) << "voxel " << x << "," << y << "," << k;
}

ExitCode load_error(const dicom::SeriesInfo& s) {
  try {
    dicom::load(s);
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

TEST(DicomEdge, ShuffledFileOrderIsSortedByPosition) {
  TempDir d("shuffled");
  auto st = make_stack(6, {10, -20, -30}, kAxial, 2.5);
  std::reverse(st.begin(), st.end());  // file names now run against position
  std::swap(st[1], st[4]);
  write_stack(d.str(), st);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 1u);
  const Volume v = dicom::load(scan.series[0]);
  expect_position_order(v, 6);
  EXPECT_NEAR(v.geom.spacing[2], 2.5, 1e-9);
  EXPECT_NEAR(v.geom.origin[2], -30, 1e-9);
}

TEST(DicomEdge, MissingInstanceNumberStillLoads) {
  TempDir d("no_instance");
  auto st = make_stack(4, {0, 0, 0}, kAxial, 3.0);
  for (auto& s : st) s.instance_number = -1;
  std::reverse(st.begin(), st.end());
  write_stack(d.str(), st);
  const Volume v = dicom::load(dicom::scan(d.str()).series.at(0));
  expect_position_order(v, 4);
}

TEST(DicomEdge, DuplicateFileIsReportedAndIgnored) {
  TempDir d("duplicate");
  const auto st = make_stack(5, {0, 0, 0}, kAxial, 2.0);
  write_stack(d.str(), st);
  fs::copy_file(d / "im0003.dcm", d / "copy_of_3.dcm");
  const auto scan = dicom::scan(d.str());
  EXPECT_EQ(scan.stats.duplicates, 1u);
  ASSERT_EQ(scan.series.size(), 1u);
  expect_position_order(dicom::load(scan.series[0]), 5);
}

TEST(DicomEdge, MissingSliceIsAnError) {
  TempDir d("missing_slice");
  auto st = make_stack(6, {0, 0, 0}, kAxial, 2.0);
  st.erase(st.begin() + 3);
  write_stack(d.str(), st);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 1u);
  EXPECT_NE(scan.series[0].error.find("non-uniform slice spacing"), std::string::npos)
      << scan.series[0].error;
  EXPECT_EQ(load_error(scan.series[0]), ExitCode::dicom);
}

TEST(DicomEdge, SamePositionTwiceBecomesUnevenError) {
  // A second, different image at one position only (not a copy): ambiguous.
  TempDir d("uneven");
  auto st = make_stack(4, {0, 0, 0}, kAxial, 2.0);
  auto extra = st[2];
  extra.sop_uid += ".99";
  st.push_back(extra);
  write_stack(d.str(), st);
  const auto scan = dicom::scan(d.str());
  EXPECT_NE(scan.series.at(0).error.find("uneven number of images"), std::string::npos);
}

TEST(DicomEdge, RepeatedStackBecomesFourD) {
  TempDir d("fourd");
  auto a = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  auto b = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  for (std::size_t i = 0; i < b.size(); ++i) {
    b[i].sop_uid += ".2";
    b[i].instance_number += 10;
    for (auto& p : b[i].pixels) p = static_cast<std::int16_t>(p + 5000);
  }
  a.insert(a.end(), b.begin(), b.end());
  write_stack(d.str(), a);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 1u);
  const Volume v = dicom::load(scan.series[0]);
  EXPECT_EQ(v.timepoints, 2u);
  EXPECT_EQ(v.at(1, 2, 2, 0), pattern(2, 2, 1));
  EXPECT_EQ(v.at(1, 2, 2, 1), pattern(2, 2, 1) + 5000);
}

TEST(DicomEdge, TwoSeriesInOneFolder) {
  TempDir d("two_series");
  auto a = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  auto b = make_stack(4, {0, 0, 0}, kAxial, 1.0);
  for (auto& s : b) {
    s.series_uid = "1.2.826.0.1.3680043.8.498.2";
    s.series_number = 7;
    s.sop_uid += ".7";
  }
  write_stack(d.str(), a, "a");
  write_stack(d.str(), b, "b");
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 2u);
  EXPECT_EQ(scan.series[0].label, "1");
  EXPECT_EQ(scan.series[1].label, "7");
  EXPECT_EQ(dicom::select(scan, "7").geom.size[2], 4u);
  EXPECT_EQ(dicom::select(scan, "#1").geom.size[2], 3u);
  EXPECT_THROW(dicom::select(scan, "8"), UsageError);
}

TEST(DicomEdge, MixedOrientationsAreSplit) {
  TempDir d("mixed_orient");
  auto ax = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  auto sag = make_stack(5, {0, 0, 0}, {0, 1, 0, 0, 0, -1}, 2.0);
  for (auto& s : sag) s.sop_uid += ".5";
  ax.insert(ax.end(), sag.begin(), sag.end());
  write_stack(d.str(), ax);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 2u);
  EXPECT_EQ(scan.series[0].label, "1.1");
  EXPECT_EQ(scan.series[1].label, "1.2");
  std::vector<std::string> o{scan.series[0].orientation, scan.series[1].orientation};
  std::sort(o.begin(), o.end());
  EXPECT_EQ(o, (std::vector<std::string>{"AX", "SAG"}));
}

TEST(DicomEdge, EchoesAreSplit) {
  TempDir d("echoes");
  auto e1 = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  auto e2 = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  for (auto& s : e1) {
    s.echo_number = 1;
    s.echo_time = 10;
  }
  for (auto& s : e2) {
    s.echo_number = 2;
    s.echo_time = 20;
    s.sop_uid += ".2";
  }
  e1.insert(e1.end(), e2.begin(), e2.end());
  write_stack(d.str(), e1);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 2u);
  EXPECT_EQ(scan.series[0].volume_label, "e1");
  EXPECT_EQ(scan.series[1].volume_label, "e2");
}

TEST(DicomEdge, ObliqueStackGeometryIsExact) {
  TempDir d("oblique");
  const double c = std::cos(0.3), s = std::sin(0.3);
  const std::array<double, 6> iop{c, s, 0, 0, c * std::cos(0.2), -std::sin(0.2)};
  // Re-orthogonalise the column vector against the row vector.
  std::array<double, 6> o = iop;
  const double dp = o[0] * o[3] + o[1] * o[4] + o[2] * o[5];
  for (int i = 0; i < 3; ++i) o[3 + i] -= dp * o[i];
  const double l = std::sqrt(o[3] * o[3] + o[4] * o[4] + o[5] * o[5]);
  for (int i = 0; i < 3; ++i) o[3 + i] /= l;
  auto st = make_stack(5, {-50.5, 20.25, 3.0}, o, 3.3);
  std::reverse(st.begin(), st.end());
  write_stack(d.str(), st);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 1u);
  EXPECT_EQ(scan.series[0].orientation, "OBL");
  const Volume v = dicom::load(scan.series[0]);
  expect_position_order(v, 5);
  EXPECT_NEAR(v.geom.spacing[2], 3.3, 1e-6);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(v.geom.origin[i], (std::array<double, 3>{-50.5, 20.25, 3.0})[i], 1e-6);
    EXPECT_NEAR(v.geom.direction[3 * i + 0], o[i], 1e-6);
    EXPECT_NEAR(v.geom.direction[3 * i + 1], o[3 + i], 1e-6);
  }
}

TEST(DicomEdge, ShearedStackIsRefused) {
  TempDir d("sheared");
  auto st = make_stack(4, {0, 0, 0}, kAxial, 2.0);
  for (std::size_t k = 0; k < st.size(); ++k) st[k].ipp[1] += 0.5 * k;  // gantry-tilt-like offset
  write_stack(d.str(), st);
  const auto scan = dicom::scan(d.str());
  EXPECT_NE(scan.series.at(0).error.find("sheared"), std::string::npos) << scan.series.at(0).error;
  EXPECT_EQ(load_error(scan.series[0]), ExitCode::dicom);
}

TEST(DicomEdge, NonDicomZeroByteAndTruncatedFilesAreSkipped) {
  TempDir d("junk");
  write_stack(d.str(), make_stack(3, {0, 0, 0}, kAxial, 2.0));
  std::ofstream(d / "README.txt") << "not a DICOM file\n";
  std::ofstream(d / "empty.dcm");
  {
    // Truncated: a copy of slice 1 cut inside the header.
    std::ifstream in(d / "im0001.dcm", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(d / "truncated.dcm", std::ios::binary) << bytes.substr(0, 300);
  }
  const auto scan = dicom::scan(d.str());
  EXPECT_EQ(scan.stats.files, 6u);
  EXPECT_EQ(scan.stats.non_dicom, 2u);
  EXPECT_EQ(scan.stats.unreadable, 1u);
  ASSERT_EQ(scan.series.size(), 1u);
  expect_position_order(dicom::load(scan.series[0]), 3);
  const bool named = std::any_of(scan.messages.begin(), scan.messages.end(), [](const std::string& m) {
    return m.find("truncated.dcm") != std::string::npos;
  });
  EXPECT_TRUE(named);
}

TEST(DicomEdge, TruncatedPixelDataFailsWithFileName) {
  TempDir d("trunc_pixels");
  write_stack(d.str(), make_stack(3, {0, 0, 0}, kAxial, 2.0, 64, 64));
  const std::string victim = d / "im0002.dcm";
  fs::resize_file(victim, fs::file_size(victim) - 2000);
  try {
    const auto scan = dicom::scan(d.str());
    // Either the scan skips it (then a slice is missing) or loading names it.
    if (scan.series.at(0).error.empty())
      dicom::load(scan.series[0]);
    else
      throw DicomError(victim, scan.series[0].error);
    FAIL() << "truncated file went unnoticed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::dicom);
  }
}

TEST(DicomEdge, MissingImagePositionIsAnError) {
  TempDir d("no_ipp");
  auto st = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  st[1].omit_ipp = true;
  write_stack(d.str(), st);
  const auto scan = dicom::scan(d.str());
  bool any_error = false;
  for (const auto& s : scan.series)
    if (s.error.find("ImagePositionPatient") != std::string::npos) any_error = true;
  EXPECT_TRUE(any_error);
}

TEST(DicomEdge, EmptyFolderAndMissingPath) {
  TempDir d("empty");
  try {
    dicom::scan(d.str());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::dicom);
    EXPECT_NE(std::string(e.what()).find(d.str()), std::string::npos);
  }
  try {
    dicom::scan(d / "does-not-exist");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::invalid_input);
  }
}

TEST(DicomEdge, RescaleSlopeAndInterceptAreApplied) {
  TempDir d("rescale");
  auto st = make_stack(2, {0, 0, 0}, kAxial, 2.0);
  for (auto& s : st) {
    s.slope = 0.5;
    s.intercept = -3;
  }
  write_stack(d.str(), st);
  const Volume v = dicom::load(dicom::scan(d.str()).series.at(0));
  EXPECT_FLOAT_EQ(v.at(3, 4, 1), pattern(1, 4, 3) * 0.5f - 3.0f);
  ASSERT_TRUE(v.stored.has_value());
  EXPECT_DOUBLE_EQ(v.stored->slope, 0.5);
}

class TransferSyntax : public ::testing::TestWithParam<std::string> {};

TEST_P(TransferSyntax, DecodesToTheSameValues) {
  // The same synthetic series re-encoded by DCMTK in each syntax it can
  // write; the loader must give identical voxels and name the syntax.
  TempDir src("ts_src_" + std::to_string(std::hash<std::string>{}(GetParam())));
  TempDir dst("ts_dst_" + std::to_string(std::hash<std::string>{}(GetParam())));
  auto st = make_stack(4, {0, 0, 0}, kAxial, 2.0, 16, 16);
  for (auto& s : st)
    for (auto& p : s.pixels) p = static_cast<std::int16_t>(std::abs(p));  // JPEG-LS lossless: keep it simple
  write_stack(src.str(), st);
  for (const auto& e : fs::directory_iterator(src.str()))
    mrivol_test::transcode(e.path().string(), dst / e.path().filename().string(), GetParam());
  const auto scan = dicom::scan(dst.str());
  ASSERT_EQ(scan.series.size(), 1u);
  EXPECT_NE(scan.series[0].transfer_syntax, GetParam()) << "syntax should be named, not just its UID";
  expect_position_order(dicom::load(scan.series[0]), 4);
}

INSTANTIATE_TEST_SUITE_P(Encodable, TransferSyntax,
                         ::testing::Values("1.2.840.10008.1.2",        // implicit VR little endian
                                           "1.2.840.10008.1.2.2",      // explicit VR big endian
                                           "1.2.840.10008.1.2.1.99",   // deflated explicit little endian
                                           "1.2.840.10008.1.2.5",      // RLE lossless
                                           "1.2.840.10008.1.2.4.70",   // JPEG lossless SV1
                                           "1.2.840.10008.1.2.4.80"),  // JPEG-LS lossless
                         [](const auto& i) {
                           std::string n = i.param;
                           for (auto& c : n) c = c == '.' ? '_' : c;
                           return n;
                         });

TEST(DicomEdge, GzipCompressedFilesAreRead) {
  TempDir d("gz");
  write_stack(d.str(), make_stack(3, {0, 0, 0}, kAxial, 2.0));
  for (int i = 1; i <= 3; ++i) {
    const std::string f = d / ("im000" + std::to_string(i) + ".dcm");
    ASSERT_EQ(std::system(("gzip " + f).c_str()), 0);
  }
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 1u);
  const Volume v = dicom::load(scan.series[0]);
  EXPECT_TRUE(v.meta.acq.compressed_file);
  expect_position_order(v, 3);
}

TEST(DicomEdge, InPlaneShiftedAcquisitionIsSplitNotStacked) {
  // Same series, same slice positions along the normal, but the second
  // acquisition is shifted 20 mm within the plane: two image sets.
  TempDir d("inplane_shift");
  auto a = make_stack(3, {0, 0, 0}, kAxial, 2.0);
  auto b = make_stack(3, {20, 0, 0}, kAxial, 2.0);
  for (auto& s : a) s.acquisition_number = 1;
  for (auto& s : b) {
    s.acquisition_number = 2;
    s.sop_uid += ".2";
  }
  a.insert(a.end(), b.begin(), b.end());
  write_stack(d.str(), a);
  const auto scan = dicom::scan(d.str());
  ASSERT_EQ(scan.series.size(), 2u);
  EXPECT_EQ(scan.series[0].timepoints, 1u);
  EXPECT_NE(scan.series[0].volume_label.find("acq"), std::string::npos);
  // Without acquisition numbers the ambiguity is an error, never a 4D image.
  TempDir e("inplane_shift_noacq");
  for (auto& s : a) s.acquisition_number = -1;
  write_stack(e.str(), a);
  const auto scan2 = dicom::scan(e.str());
  ASSERT_EQ(scan2.series.size(), 1u);
  EXPECT_NE(scan2.series[0].error.find("shifted"), std::string::npos) << scan2.series[0].error;
}

TEST(DicomEdge, VolumesAcrossMidnightKeepTheirOrder) {
  TempDir d("midnight");
  auto a = make_stack(2, {0, 0, 0}, kAxial, 2.0);
  auto b = make_stack(2, {0, 0, 0}, kAxial, 2.0);
  for (auto& s : a) {
    s.acquisition_date = "20250301";
    s.acquisition_time = "235959.0";
  }
  for (auto& s : b) {
    s.acquisition_date = "20250302";
    s.acquisition_time = "000003.0";
    s.sop_uid += ".2";
    for (auto& p : s.pixels) p = static_cast<std::int16_t>(p + 1000);
  }
  b.insert(b.end(), a.begin(), a.end());  // later volume written first
  write_stack(d.str(), b);
  const Volume v = dicom::load(dicom::scan(d.str()).series.at(0));
  ASSERT_EQ(v.timepoints, 2u);
  EXPECT_EQ(v.at(0, 0, 0, 0), pattern(0, 0, 0));
  EXPECT_EQ(v.at(0, 0, 0, 1), pattern(0, 0, 0) + 1000);
}

TEST(DicomEdge, ThreadCountDoesNotChangeResult) {
  TempDir d("threads");
  write_stack(d.str(), make_stack(9, {0, 0, 0}, kAxial, 1.5, 16, 16));
  dicom::ScanOptions s1, s2;
  s1.threads = 1;
  s2.threads = 4;
  dicom::LoadOptions l1, l2;
  l1.threads = 1;
  l2.threads = 4;
  const Volume a = dicom::load(dicom::scan(d.str(), s1).series.at(0), l1);
  const Volume b = dicom::load(dicom::scan(d.str(), s2).series.at(0), l2);
  EXPECT_EQ(a.data, b.data);
}

}  // namespace
