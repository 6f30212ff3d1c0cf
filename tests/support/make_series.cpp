// mrivol-test-make-series DIR ROWS COLS SLICES [ax|sag] [SERIES_NUMBER] [DESCRIPTION]
// Writes a synthetic series (for benchmarks and the bundled test_data);
// values follow mrivol_test::pattern so slice order is checkable.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "synth_dicom.hpp"

int main(int argc, char** argv) {
  if (argc < 5 || argc > 8) {
    std::fprintf(stderr, "usage: %s DIR ROWS COLS SLICES [ax|sag] [SERIES_NUMBER] [DESCRIPTION]\n", argv[0]);
    return 2;
  }
  const unsigned rows = std::atoi(argv[2]), cols = std::atoi(argv[3]), n = std::atoi(argv[4]);
  const bool sag = argc > 5 && std::string(argv[5]) == "sag";
  const int number = argc > 6 ? std::atoi(argv[6]) : 1;
  const std::string desc = argc > 7 ? argv[7] : (sag ? "t2_tse_sag" : "t2_tse_tra");
  // Sagittal: rows run S->I, columns A->P; slices step right to left.
  const std::array<double, 6> iop =
      sag ? std::array<double, 6>{0, 1, 0, 0, 0, -1} : std::array<double, 6>{1, 0, 0, 0, 1, 0};
  auto st = mrivol_test::make_stack(
      n, sag ? std::array<double, 3>{-20, -60, 40} : std::array<double, 3>{-60, -60, -20}, iop,
      sag ? 3.5 : 4.0, rows, cols);
  for (auto& s : st) {
    s.row_spacing = s.col_spacing = sag ? 0.7 : 0.5;
    s.series_number = number;
    s.series_uid = "1.2.826.0.1.3680043.8.498.77." + std::to_string(number);
    s.sop_uid = s.series_uid + "." + std::to_string(s.instance_number);
    s.description = desc;
  }
  mrivol_test::write_stack(argv[1], st);
  return 0;
}
