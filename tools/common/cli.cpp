#include "common/cli.hpp"

#include <algorithm>
#include <cmath>

#include <sstream>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <new>

#include "mrivol/core/version.hpp"
#include "mrivol/io/atomic.hpp"

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

namespace {

// Boost.ProgramOptions (1.74) builds its messages by replacing "%value%",
// "%option%"... in a template, searching again from the start after each
// replacement: a user value containing such a token ("--levels %value%") made
// what() loop forever (found by fuzz_options). Percent signs in the values are
// shown URL-encoded ("%25") instead, which contains no token.
struct PoErrorAccess : po::error_with_option_name {
  using po::error_with_option_name::m_substitutions;
};

// Errors are one line: messages from ITK or DCMTK may hold line breaks.
std::string one_line(const std::string& text) {
  std::string out;
  bool space = false;
  for (char ch : text) {
    const bool ws = ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ';
    if (ws) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

std::string po_message(po::error& e) {
  if (auto* n = dynamic_cast<po::error_with_option_name*>(&e)) {
    const auto subs = n->*(&PoErrorAccess::m_substitutions);
    for (const auto& [key, value] : subs) {
      if (value.find('%') == std::string::npos) continue;
      std::string safe;
      for (char ch : value) safe += ch == '%' ? std::string("%25") : std::string(1, ch);
      n->set_substitute(key, safe);
    }
  }
  return one_line(e.what());
}

}  // namespace

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
  } catch (po::error& e) {
    std::cerr << spec.name << ": error: " << po_message(e) << " (see --help)\n";
    return static_cast<int>(ExitCode::usage);
  } catch (const UsageError& e) {
    std::cerr << spec.name << ": error: " << e.what() << " (see --help)\n";
    return static_cast<int>(ExitCode::usage);
  } catch (const Error& e) {
    std::cerr << spec.name << ": error: " << io::final_names(one_line(e.what())) << "\n";
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << spec.name << ": error: out of memory\n";
    return static_cast<int>(ExitCode::internal);
  } catch (const std::exception& e) {
    std::cerr << spec.name << ": internal error: " << io::final_names(one_line(e.what())) << "\n";
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
      if (used != item.size() || !std::isfinite(v.back())) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError(std::string("--") + what + ": '" + text +
                       "' is not a comma-separated list of numbers");
    }
  }
  return v;
}

std::array<double, 6> box(const std::string& text, const char* what) {
  const auto b = numbers(text, what);
  if (b.size() != 6)
    throw UsageError(std::string("--") + what + " needs 6 numbers: x0,y0,z0,x1,y1,z1 (LPS mm), not '" + text +
                     "'");
  for (int i = 0; i < 3; ++i)
    if (b[i] == b[i + 3])
      throw UsageError(std::string("--") + what + ": the box is empty along " + "xyz"[i] + " ('" + text +
                       "')");
  return {b[0], b[1], b[2], b[3], b[4], b[5]};
}

std::vector<std::array<double, 3>> points(const std::string& text, const char* what) {
  std::vector<std::array<double, 3>> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ';')) {
    const auto p = numbers(item, what);
    if (p.size() != 3)
      throw UsageError(std::string("--") + what + ": each point needs x,y,z (LPS mm), separated by ';'");
    out.push_back({p[0], p[1], p[2]});
  }
  if (out.empty()) throw UsageError(std::string("--") + what + ": no point given");
  return out;
}

bool looks_like_box(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789.,-+eE ") == std::string::npos;
}

}  // namespace cli
}  // namespace mrivol
