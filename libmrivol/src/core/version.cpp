#include "mrivol/core/version.hpp"

#include <dcmtk/dcmdata/dcuid.h>
#include <zlib.h>

#include <boost/version.hpp>

#ifndef MRIVOL_ITK_VERSION
#define MRIVOL_ITK_VERSION "unknown"
#endif
#ifndef MRIVOL_VERSION
#define MRIVOL_VERSION "0.0.0"
#endif

namespace mrivol {

std::string version() { return MRIVOL_VERSION; }

std::string dependency_versions() {
  std::string s;
  s += std::string("ITK ") + MRIVOL_ITK_VERSION + "\n";  // the ITK this build compiled against
  s += std::string("DCMTK ") + OFFIS_DCMTK_VERSION_STRING + "\n";
  s += "Boost " + std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
       "." + std::to_string(BOOST_VERSION % 100) + "\n";
  s += std::string("zlib ") + zlibVersion() + "\n";
  return s;
}

}  // namespace mrivol
