// BIDS-style JSON sidecars.
#pragma once

#include <string>

#include "mrivol/core/volume.hpp"

namespace mrivol {
namespace io {

struct SidecarOptions {
  /// Patient name, ID, birth date, accession number, institution and
  /// physicians are written only when this is set explicitly.
  bool include_identifiers = false;
};

/// JSON text: BIDS keys (seconds for times, as BIDS) plus an "mrivol" block
/// stating the LPS geometry plainly.
std::string bids_sidecar(const Volume& v, const SidecarOptions& opt = {});

/// "out/t1.nii.gz" -> "out/t1.json" (the sidecar beside an image file).
std::string sidecar_path(const std::string& image_path);

}  // namespace io
}  // namespace mrivol
