#pragma once

#include <string>

namespace mrivol {

/// mrivol's version (semantic versioning).
std::string version();
/// One line per dependency: "ITK 5.2.1", "DCMTK 3.6.7", ...
std::string dependency_versions();

}  // namespace mrivol
