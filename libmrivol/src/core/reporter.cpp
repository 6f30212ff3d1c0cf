#include "mrivol/core/reporter.hpp"

namespace mrivol {
namespace {
class NullReporter final : public Reporter {
 public:
  void message(Level, const std::string&) override {}
  void progress(const std::string&, double) override {}
};
}  // namespace

Reporter& null_reporter() {
  static NullReporter r;
  return r;
}

}  // namespace mrivol
