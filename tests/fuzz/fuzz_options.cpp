// libFuzzer target over the tools' option and region parsing: the input is a
// command line (arguments separated by newlines) parsed by the shared tool
// layer (Boost.ProgramOptions through cli::run_tool) with the options the
// tools have (--roi/--roi-box boxes, --seeds points, --levels, numbers,
// --threads...), each value going through the same parsers the tools call.
// A usage error (exit 2) or invalid input (exit 3) is the expected outcome for
// bad text; exit 1 (an unexpected exception), a crash or a sanitizer report
// is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/segment/segment.hpp"

using namespace mrivol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"mrivol-fuzz"};
  std::size_t from = 0;
  while (from <= text.size() && args.size() < 16) {
    const std::size_t nl = text.find('\n', from);
    args.push_back(text.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
    if (nl == std::string::npos) break;
    from = nl + 1;
  }
  // direct parser calls on every argument
  for (const auto& a : args) {
    try {
      cli::numbers(a, "x");
    } catch (const Error&) {
    }
    try {
      cli::box(a, "roi");
    } catch (const Error&) {
    }
    try {
      cli::points(a, "seeds");
    } catch (const Error&) {
    }
    try {
      segment::parse_levels(a);
    } catch (const Error&) {
    }
    (void)cli::looks_like_box(a);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  cli::ToolSpec spec{"mrivol-fuzz", "[options]", "Fuzzing the option layer.", {}};
  const int code = cli::run_tool(
      static_cast<int>(args.size()), argv.data(), spec,
      [](cli::Definition& d) {
        d.options.add_options()("roi", cli::po::value<std::string>(), "box or mask")(
            "roi-box", cli::po::value<std::string>(), "box")("seeds", cli::po::value<std::string>(),
                                                             "points")(
            "levels", cli::po::value<std::string>()->default_value("all"), "levels")(
            "min-component", cli::po::value<double>()->default_value(3.0), "mm3")(
            "series", cli::po::value<std::string>(), "series")("out,o", cli::po::value<std::string>(), "out");
      },
      [](const cli::po::variables_map& vm, const cli::Common&, Reporter&) {
        if (vm.count("roi") && cli::looks_like_box(vm["roi"].as<std::string>()))
          cli::box(vm["roi"].as<std::string>(), "roi");
        if (vm.count("roi-box")) cli::box(vm["roi-box"].as<std::string>(), "roi-box");
        if (vm.count("seeds")) cli::points(vm["seeds"].as<std::string>(), "seeds");
        segment::parse_levels(vm["levels"].as<std::string>());
      });
  if (code == static_cast<int>(ExitCode::internal)) std::abort();
  return 0;
}
