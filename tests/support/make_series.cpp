// mrivol-test-make-series DIR ROWS COLS SLICES: write a synthetic axial
// series (for benchmarks); values follow mrivol_test::pattern.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "synth_dicom.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DIR ROWS COLS SLICES\n", argv[0]);
    return 2;
  }
  const unsigned rows = std::atoi(argv[2]), cols = std::atoi(argv[3]), n = std::atoi(argv[4]);
  auto st = mrivol_test::make_stack(n, {-128, -128, -100}, {1, 0, 0, 0, 1, 0}, 1.0, rows, cols);
  for (auto& s : st) s.row_spacing = s.col_spacing = 0.5;
  mrivol_test::write_stack(argv[1], st);
  return 0;
}
