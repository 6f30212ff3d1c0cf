// mrivol-test-fuzz-seeds DIR: small seed inputs for fuzz_dicom (issue 8):
// 3-slice 8x8 series joined by the fuzz target's file marker, in every
// transfer syntax DCMTK can encode here, and the edge cases of the corpus
// tests (single slice, missing ImagePositionPatient, mismatched matrix,
// rescale, echoes). Small seeds keep each fuzz execution fast.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "synth_dicom.hpp"

namespace fs = std::filesystem;
using mrivol_test::SynthSlice;

static std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

static void joined(const std::string& out, const std::vector<std::string>& files) {
  std::string all;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i) all += "MRIVOLFUZZSPLIT";
    all += read(files[i]);
  }
  std::ofstream(out, std::ios::binary) << all;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], tmp = dir + "/.work";
  fs::create_directories(tmp);
  auto stack = mrivol_test::make_stack(3, {-10, -10, -5}, {1, 0, 0, 0, 1, 0}, 2.5, 8, 8);
  std::vector<std::string> plain;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    stack[i].sop_uid = stack[i].series_uid + ".9." + std::to_string(i + 1);
    plain.push_back(tmp + "/s" + std::to_string(i) + ".dcm");
    mrivol_test::write_slice(plain.back(), stack[i]);
  }
  joined(dir + "/series_explicit_le", plain);
  joined(dir + "/single_slice", {plain[0]});
  const std::vector<std::pair<std::string, std::string>> xfers = {
      {"implicit_le", "1.2.840.10008.1.2"},        {"explicit_be", "1.2.840.10008.1.2.2"},
      {"deflate", "1.2.840.10008.1.2.1.99"},       {"rle", "1.2.840.10008.1.2.5"},
      {"jpeg_lossless", "1.2.840.10008.1.2.4.70"}, {"jpegls", "1.2.840.10008.1.2.4.80"}};
  for (const auto& [name, uid] : xfers) {
    std::vector<std::string> files;
    for (std::size_t i = 0; i < plain.size(); ++i) {
      files.push_back(tmp + "/" + name + std::to_string(i) + ".dcm");
      try {
        mrivol_test::transcode(plain[i], files.back(), uid);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "seed %s skipped: %s\n", name.c_str(), e.what());
        files.clear();
        break;
      }
    }
    if (!files.empty()) joined(dir + "/series_" + name, files);
  }
  {  // no ImagePositionPatient, different matrix, rescale + echoes
    auto s = stack;
    s[1].omit_ipp = true;
    mrivol_test::write_slice(tmp + "/noipp.dcm", s[1]);
    joined(dir + "/missing_ipp", {plain[0], tmp + "/noipp.dcm", plain[2]});
    s = stack;
    s[2].rows = 6;
    mrivol_test::write_slice(tmp + "/small.dcm", s[2]);
    joined(dir + "/mixed_matrix", {plain[0], plain[1], tmp + "/small.dcm"});
    s = stack;
    for (auto& x : s) {
      x.slope = 0.5;
      x.intercept = -100;
      x.echo_number = 2;
    }
    std::vector<std::string> files;
    for (std::size_t i = 0; i < s.size(); ++i) {
      files.push_back(tmp + "/r" + std::to_string(i) + ".dcm");
      mrivol_test::write_slice(files.back(), s[i]);
    }
    joined(dir + "/rescale_echo", files);
  }
  fs::remove_all(tmp);
  return 0;
}
