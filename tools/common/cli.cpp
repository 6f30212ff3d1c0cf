#include "common/cli.hpp"

#include <sstream>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <new>

#include "mrivol/core/version.hpp"

namespace mrivol {
namespace cli {
namespace {

/// Messages and progress on stderr: a redrawn bar on a terminal, a few plain
/// lines otherwise; --quiet keeps warnings only, --verbose adds details.
class StderrReporter final : public Reporter {
 public:
  StderrReporter(std::string tool, bool quiet, bool verbose)
      : tool_(std::move(tool)), quiet_(quiet), verbose_(verbose), tty_(::isatty(2) != 0) {}
  ~StderrReporter() override { end_bar(); }

  void message(Level level, const std::string& text) override {
    if (level == Level::debug && !verbose_) return;
    if (level == Level::info && quiet_) return;
    std::lock_guard<std::mutex> lock(m_);
    end_bar();
    std::cerr << tool_ << ": " << (level == Level::warning ? "warning: " : "") << text << '\n';
  }

  void progress(const std::string& stage, double f) override {
    if (quiet_) return;
    std::lock_guard<std::mutex> lock(m_);
    const int pct = static_cast<int>(f * 100.0 + 0.5);
    if (tty_) {
      const int w = 30, fill = static_cast<int>(f * w + 0.5);
      std::fprintf(stderr, "\r%s: %-8s [%s%s] %3d%%", tool_.c_str(), stage.c_str(),
                   std::string(static_cast<std::size_t>(fill), '#').c_str(),
                   std::string(static_cast<std::size_t>(w - fill), ' ').c_str(), pct);
      bar_open_ = pct < 100;
      if (!bar_open_) std::fputc('\n', stderr);
    } else if (stage != last_stage_ || pct >= last_pct_ + 25 || (pct == 100 && last_pct_ != 100)) {
      if (verbose_ || pct == 100) std::cerr << tool_ << ": " << stage << " " << pct << "%\n";
      last_stage_ = stage;
      last_pct_ = pct;
    }
  }

 private:
  void end_bar() {
    if (bar_open_) std::fputc('\n', stderr);
    bar_open_ = false;
  }
  std::string tool_;
  bool quiet_, verbose_, tty_;
  bool bar_open_ = false;
  std::string last_stage_;
  int last_pct_ = -100;
  std::mutex m_;
};

void print_help(const ToolSpec& spec, const po::options_description& all) {
  std::cout << "Usage: " << spec.name << " " << spec.synopsis << "\n\n" << spec.description << "\n\n";
  std::cout << all << "\n";
  if (!spec.examples.empty()) {
    std::cout << "Examples:\n";
    for (const auto& e : spec.examples) std::cout << "  " << e << "\n";
    std::cout << "\n";
  }
  std::cout << "Coordinates: LPS millimetres (DICOM/ITK patient frame); NIfTI outputs carry the\n"
               "equivalent RAS qform/sform, so FSL, ANTs, ITK-SNAP and Slicer see the same geometry.\n\n"
            << exit_code_table();
}

}  // namespace

std::string exit_code_table() {
  return "Exit codes:\n"
         "  0  success\n"
         "  1  unexpected internal error (a bug: please report it)\n"
         "  2  usage error (bad or missing option)\n"
         "  3  invalid input (missing file, unusable image or value)\n"
         "  4  DICOM unreadable, undecodable or ambiguous\n"
         "  5  registration or quality-control failure\n"
         "  6  output cannot be written (exists without --force, folder not writable, disk full)\n";
}

int run_tool(int argc, char** argv, const ToolSpec& spec, const DefineFn& define, const RunFn& run) {
  Definition def;
  Common common;
  po::options_description std_opts("Standard options");
  std_opts.add_options()("help,h", "print this help and exit")(
      "version", "print version and dependency versions and exit")(
      "threads", po::value<unsigned>(&common.threads)->default_value(0),
      "worker threads (0 = all cores); results do not depend on it")(
      "quiet,q", po::bool_switch(&common.quiet), "print warnings and errors only")(
      "verbose,v", po::bool_switch(&common.verbose), "print details (skipped files, decisions)")(
      "force,f", po::bool_switch(&common.force), "overwrite existing outputs");
  for (int i = 0; i < argc; ++i) common.command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    define(def);
    po::options_description all;
    all.add(def.options).add(std_opts);
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).positional(def.positional).run(), vm);
    if (vm.count("help")) {
      print_help(spec, all);
      return 0;
    }
    if (vm.count("version")) {
      std::cout << spec.name << " (mrivol) " << version() << "\n" << dependency_versions();
      return 0;
    }
    po::notify(vm);
    for (const auto& name : def.required_positional)
      if (!vm.count(name)) throw UsageError("missing argument " + name);
    if (common.quiet && common.verbose) throw UsageError("--quiet and --verbose exclude each other");
    StderrReporter rep(spec.name, common.quiet, common.verbose);
    run(vm, common, rep);
    return 0;
  } catch (const po::error& e) {
    std::cerr << spec.name << ": error: " << e.what() << " (see --help)\n";
    return static_cast<int>(ExitCode::usage);
  } catch (const UsageError& e) {
    std::cerr << spec.name << ": error: " << e.what() << " (see --help)\n";
    return static_cast<int>(ExitCode::usage);
  } catch (const Error& e) {
    std::cerr << spec.name << ": error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << spec.name << ": error: out of memory\n";
    return static_cast<int>(ExitCode::internal);
  } catch (const std::exception& e) {
    std::cerr << spec.name << ": internal error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::internal);
  }
}

std::vector<double> numbers(const std::string& text, const char* what) {
  std::vector<double> v;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError(std::string("--") + what + ": '" + text +
                       "' is not a comma-separated list of numbers");
    }
  }
  return v;
}

}  // namespace cli
}  // namespace mrivol
