#include "mrivol/core/metadata.hpp"

namespace mrivol {

std::vector<std::string> PatientIdentity::values() const {
  std::vector<std::string> v;
  for (const std::string* s : {&name, &id, &birth_date, &accession_number, &institution_name,
                               &institution_address, &referring_physician, &performing_physician, &operators})
    if (!s->empty()) v.push_back(*s);
  return v;
}

bool PatientIdentity::empty() const { return values().empty() && sex.empty() && age.empty(); }

std::vector<std::string> session_mismatches(const Metadata& pre, const Metadata& post) {
  std::vector<std::string> out;
  std::vector<std::string> fields;
  auto differ = [&](const std::string& a, const std::string& b, const char* name) {
    if (!a.empty() && !b.empty() && a != b) fields.push_back(name);
  };
  differ(pre.patient.id, post.patient.id, "PatientID");
  differ(pre.patient.name, post.patient.name, "PatientName");
  differ(pre.patient.birth_date, post.patient.birth_date, "PatientBirthDate");
  if (!fields.empty()) {
    std::string f;
    for (const auto& x : fields) f += (f.empty() ? "" : ", ") + x;
    out.push_back("PRE and POST look like different patients (" + f + " differ)");
  }
  if (!pre.acq.frame_of_reference_uid.empty() && !post.acq.frame_of_reference_uid.empty() &&
      pre.acq.frame_of_reference_uid != post.acq.frame_of_reference_uid)
    out.push_back("PRE and POST have different frames of reference (FrameOfReferenceUID differs)");
  return out;
}

}  // namespace mrivol
