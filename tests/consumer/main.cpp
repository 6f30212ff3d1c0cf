#include <iostream>

#include "mrivol/core/version.hpp"
#include "mrivol/dicom/series.hpp"

int main(int argc, char** argv) {
  std::cout << "mrivol " << mrivol::version() << "\n";
  if (argc > 1) {
    const auto scan = mrivol::dicom::scan(argv[1]);
    const auto v = mrivol::dicom::load(scan.series.front());
    std::cout << v.geom.size[0] << "x" << v.geom.size[1] << "x" << v.geom.size[2] << "\n";
  }
  return 0;
}
