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

}  // namespace mrivol
