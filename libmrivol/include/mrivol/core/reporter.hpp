// The library never prints: it reports messages and progress through a
// Reporter it is handed. Tools supply one that writes to stderr.
#pragma once

#include <string>

namespace mrivol {

enum class Level { debug, info, warning };

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void message(Level level, const std::string& text) = 0;
  /// fraction in [0,1] of the named stage.
  virtual void progress(const std::string& stage, double fraction) = 0;

  void debug(const std::string& t) { message(Level::debug, t); }
  void info(const std::string& t) { message(Level::info, t); }
  void warn(const std::string& t) { message(Level::warning, t); }
};

/// A reporter that drops everything (the default when none is given).
Reporter& null_reporter();

}  // namespace mrivol
