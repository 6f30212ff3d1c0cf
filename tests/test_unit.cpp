// Tiny exact unit tests: geometry, checksums, image round trips, atomic output.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
#include "mrivol/io/atomic.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/io/sidecar.hpp"
#include "test_support.hpp"

using namespace mrivol;

namespace {

Volume oblique_volume() {
  Volume v;
  v.geom.size = {5, 4, 3};
  v.geom.spacing = {0.7, 0.8, 3.5};
  v.geom.origin = {-12.5, 30.25, 7.0};
  // 20 degrees about S-I then 10 about L-R: a general oblique rotation.
  const double a = 20 * 3.14159265358979323846 / 180, b = 10 * 3.14159265358979323846 / 180;
  const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
  const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += rz[3 * i + k] * rx[3 * k + j];
      v.geom.direction[3 * i + j] = s;
    }
  v.data.resize(v.geom.voxels());
  for (std::size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(i) * 2.5f - 10.0f;
  v.stored = StoredScaling{2.5, -10.0, true, 16};
  return v;
}

TEST(Geometry, IndexPointRoundTrip) {
  const Volume v = oblique_volume();
  const Vec3 p = v.geom.index_to_point(1.5, 2, 0.25);
  const Vec3 q = v.geom.point_to_index(p);
  EXPECT_NEAR(q[0], 1.5, 1e-12);
  EXPECT_NEAR(q[1], 2.0, 1e-12);
  EXPECT_NEAR(q[2], 0.25, 1e-12);
}

TEST(Geometry, AxisCodes) {
  Geometry g;  // identity LPS: x->L, y->P, z->S
  EXPECT_STREQ(g.axcodes_ras().data(), "LPS");
  g.direction = {0, 0, 1, 1, 0, 0, 0, -1, 0};  // sagittal-ish: i->P, j->I, k->L
  EXPECT_STREQ(g.axcodes_ras().data(), "PIL");
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(m.data(), m.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

class ImageRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(ImageRoundTrip, GeometryAndValuesSurvive) {
  // Written by our writer, read back through ITK's independent reader.
  mrivol_test::TempDir tmp("roundtrip_" + std::to_string(std::hash<std::string>{}(GetParam())));
  const Volume v = oblique_volume();
  const std::string path = tmp / ("vol" + GetParam());
  io::write_image(v, path);
  const Volume r = io::read_image(path);
  ASSERT_EQ(r.geom.size, v.geom.size);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(r.geom.spacing[i], v.geom.spacing[i], 1e-5);
    EXPECT_NEAR(r.geom.origin[i], v.geom.origin[i], 1e-4);  // float32 in NIfTI
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(r.geom.direction[i], v.geom.direction[i], 1e-5);
  for (std::size_t i = 0; i < v.data.size(); ++i) ASSERT_FLOAT_EQ(r.data[i], v.data[i]) << i;
}

INSTANTIATE_TEST_SUITE_P(Formats, ImageRoundTrip, ::testing::Values(".nii", ".nii.gz", ".nrrd", ".mha"),
                         [](const auto& i) {
                           return i.param.substr(1) == "nii.gz" ? std::string("nii_gz") : i.param.substr(1);
                         });

TEST(ImageIo, FourDimensionalNifti) {
  mrivol_test::TempDir tmp("fourd");
  Volume v = oblique_volume();
  v.timepoints = 2;
  v.time_step_s = 2.0;
  v.data.resize(v.geom.voxels() * 2, 7.0f);
  v.stored.reset();
  io::write_image(v, tmp / "v.nii");
  const Volume r = io::read_image(tmp / "v.nii");
  EXPECT_EQ(r.timepoints, 2u);
  EXPECT_FLOAT_EQ(r.at(4, 3, 2, 1), 7.0f);
}

TEST(AtomicOutput, RefusesToOverwriteWithoutForce) {
  mrivol_test::TempDir tmp("atomic");
  const std::string p = tmp / "a.json";
  io::write_text_file(p, "first", false);
  try {
    io::write_text_file(p, "second", false);
    FAIL() << "expected OutputError";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::output);
  }
  std::ifstream f(p);
  std::string s;
  f >> s;
  EXPECT_EQ(s, "first");
  io::write_text_file(p, "second", true);
  std::ifstream g(p);
  g >> s;
  EXPECT_EQ(s, "second");
  // No temporary files left behind.
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.str())) n += e.is_regular_file();
  EXPECT_EQ(n, 1u);
}

TEST(AtomicOutput, FailedWriteLeavesNothing) {
  mrivol_test::TempDir tmp("atomic_fail");
  Volume v = oblique_volume();
  v.data.resize(3);  // inconsistent: the writer must refuse before creating files
  EXPECT_THROW(io::write_image(v, tmp / "x.nii"), Error);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.str()));
}

TEST(Sidecar, NoIdentifiersUnlessAsked) {
  Volume v = oblique_volume();
  v.meta.patient.name = "Doe^Jane";
  v.meta.patient.id = "PID-0042";
  v.meta.acq.series_description = "t2_tse_sag";
  const std::string j = io::bids_sidecar(v);
  EXPECT_EQ(j.find("Doe^Jane"), std::string::npos);
  EXPECT_EQ(j.find("PID-0042"), std::string::npos);
  EXPECT_NE(j.find("t2_tse_sag"), std::string::npos);
  io::SidecarOptions o;
  o.include_identifiers = true;
  EXPECT_NE(io::bids_sidecar(v, o).find("Doe^Jane"), std::string::npos);
  EXPECT_EQ(io::sidecar_path("a/b.nii.gz"), "a/b.json");
}

}  // namespace
