// Shared command-line layer of the mrivol tools: one spec per tool from which
// parsing and help come, the standard options, the stderr reporter and the
// mapping of exceptions to the documented exit codes.
#pragma once

#include <array>
#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <vector>

#include "mrivol/core/error.hpp"
#include "mrivol/core/reporter.hpp"

namespace mrivol {
namespace cli {

namespace po = boost::program_options;

struct ToolSpec {
  std::string name;
  std::string synopsis;     ///< "DIR --list | DIR -o OUT [options]"
  std::string description;  ///< paragraphs separated by blank lines
  std::vector<std::string> examples;
};

/// The standard options every tool has.
struct Common {
  unsigned threads = 0;
  bool quiet = false, verbose = false, force = false;
  std::string command_line;  ///< as typed, for provenance records
};

struct Definition {
  po::options_description options{"Options"};
  po::positional_options_description positional;
  std::vector<std::string> required_positional;  ///< names, for usage errors
};

using DefineFn = std::function<void(Definition&)>;
using RunFn = std::function<void(const po::variables_map&, const Common&, Reporter&)>;

/// Parse, handle --help/--version, run, map exceptions to exit codes.
int run_tool(int argc, char** argv, const ToolSpec& spec, const DefineFn& define, const RunFn& run);

/// The exit-code table as printed in --help and README.md.
std::string exit_code_table();

/// "1,2.5,-3" -> {1, 2.5, -3}; UsageError naming --`what` otherwise.
/// Non-finite values (nan, inf) are rejected too.
std::vector<double> numbers(const std::string& text, const char* what);

/// "x0,y0,z0,x1,y1,z1" (LPS mm) -> a box; UsageError unless 6 finite numbers
/// spanning a non-empty extent along each axis.
std::array<double, 6> box(const std::string& text, const char* what);

/// "x,y,z;x,y,z..." (LPS mm) -> points; UsageError otherwise.
std::vector<std::array<double, 3>> points(const std::string& text, const char* what);

/// True when `text` is made of numbers (a box, to be parsed by box()) rather than a path.
bool looks_like_box(const std::string& text);

}  // namespace cli
}  // namespace mrivol
