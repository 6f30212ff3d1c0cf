// Typed errors: every failure the library reports carries the exit code a tool
// maps it to, and a one-line message that names the file and the problem.
#pragma once

#include <stdexcept>
#include <string>

namespace mrivol {

/// The exit-code table shared by every mrivol tool (documented in README.md).
enum class ExitCode : int {
  ok = 0,
  internal = 1,       ///< unexpected internal error (a bug)
  usage = 2,          ///< bad command line
  invalid_input = 3,  ///< input exists but is not usable (wrong grid, NaN, bad option value...)
  dicom = 4,          ///< DICOM unreadable, undecodable or ambiguous
  registration = 5,   ///< registration or quality-control failure
  output = 6,         ///< an output cannot be written
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& path, const std::string& problem)
      : std::runtime_error(path.empty() ? problem : path + ": " + problem),
        code_(code),
        path_(path),
        problem_(problem) {}
  ExitCode code() const noexcept { return code_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& problem() const noexcept { return problem_; }

 private:
  ExitCode code_;
  std::string path_;
  std::string problem_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& problem) : Error(ExitCode::usage, "", problem) {}
};
struct InputError : Error {
  InputError(const std::string& path, const std::string& problem)
      : Error(ExitCode::invalid_input, path, problem) {}
};
struct DicomError : Error {
  DicomError(const std::string& path, const std::string& problem) : Error(ExitCode::dicom, path, problem) {}
};
struct RegistrationError : Error {
  RegistrationError(const std::string& path, const std::string& problem)
      : Error(ExitCode::registration, path, problem) {}
};
/// A result that fails its quality checks (no canal found, implausible
/// segmentation): the same exit code as a failed registration.
struct QualityError : Error {
  QualityError(const std::string& path, const std::string& problem)
      : Error(ExitCode::registration, path, problem) {}
};
struct OutputError : Error {
  OutputError(const std::string& path, const std::string& problem) : Error(ExitCode::output, path, problem) {}
};

}  // namespace mrivol
