// mrivol-phantom: write a synthetic lumbar spine MRI pair (pre/post exercise)
// with known plexus volumes and known motion.
#include <cstdio>
#include <iostream>

#include "common/cli.hpp"
#include "mrivol/phantom/phantom.hpp"

using namespace mrivol;

namespace {

const cli::ToolSpec spec{
    "mrivol-phantom",
    "--out DIR [--preset NAME|FILE] [--seed N] [--contrast t2|t1c] [--acquisition sag2d|ax2d|iso3d] "
    "[options]",
    "Simulates a lumbar spine (L1-S1 with discs, posterior elements, canal, thecal sac with\n"
    "nerve roots, epidural fat, psoas and paraspinal muscle, subcutaneous fat) examined twice:\n"
    "before and after exercise. After exercise the epidural venous plexus (paired anterior\n"
    "internal vertebral veins, transverse retrocorporeal connections and a large draining\n"
    "vein through the L4 foramen) is engorged: every vessel radius times --engorgement.\n"
    "The post session sees the body through a rigid motion and a re-centred field of view.\n"
    "Partial volume by supersampling, Rician noise, smooth bias field, global and per-tissue\n"
    "intensity changes between sessions.\n\n"
    "Writes DIR/pre/ and DIR/post/ (DICOM, one file per slice, names not in slice order),\n"
    "DIR/truth/ (truth.json: true plexus volumes, change, per-level volumes and dural sac\n"
    "areas, the motion as a 4x4 LPS matrix mapping a pre point to the same anatomical point\n"
    "of post; plexus/canal/thecal-sac masks and plexus fractions on each session's grid;\n"
    "PNG previews), DIR/phantom.json (the configuration, replayable with --preset) and\n"
    "DIR/provenance.json. The same arguments give byte-identical pixel data.",
    {"mrivol-phantom --out pair", "mrivol-phantom --out case --preset case",
     "mrivol-phantom --out p7 --seed 7 --random --contrast t1c --acquisition iso3d",
     "mrivol-phantom --out null --preset null   # engorgement 1: true change exactly 0"}};

}  // namespace

int main(int argc, char** argv) {
  return cli::run_tool(
      argc, argv, spec,
      [](cli::Definition& d) {
        namespace po = cli::po;
        d.options.add_options()("out,o", po::value<std::string>(),
                                "output folder (created; must not exist unless --force)")(
            "preset", po::value<std::string>()->default_value("default"),
            "default, case, null, small, or a JSON file (e.g. a DIR/phantom.json)")(
            "seed", po::value<std::uint64_t>(), "random seed (motion direction, noise, random anatomy)")(
            "random", po::bool_switch(), "draw anatomy dimensions and engorgement from the seed")(
            "contrast", po::value<std::string>(), "t2 (TSE) or t1c (contrast-enhanced fat-suppressed T1)")(
            "veins", po::value<std::string>(), "on t2: dark (flow voids, default) or bright (slow flow)")(
            "acquisition", po::value<std::string>(),
            "sag2d (0.7 mm, 3.5 mm slices), ax2d (0.7 mm, 4 mm) or iso3d (1 mm)")(
            "engorgement", po::value<double>(), "post/pre vessel radius factor (1 = null pair)")(
            "motion-deg", po::value<double>(), "rotation between sessions, degrees")(
            "motion-mm", po::value<double>(), "translation between sessions, mm")(
            "recentre-mm", po::value<double>(), "post field-of-view re-centring error, mm")(
            "snr", po::value<double>(), "brightest tissue / noise sigma")("bias", po::value<double>(),
                                                                          "bias field amplitude (0 = none)")(
            "post-scale", po::value<double>(), "global intensity scale of the post session")(
            "tissue-jitter", po::value<double>(), "max relative fat/muscle intensity change in post")(
            "posture-deg", po::value<double>(),
            "non-rigid posture change: lumbar curve change per level, degrees (0 = rigid)")(
            "slice-mm", po::value<double>(),
            "slice thickness of sag2d/ax2d, mm (0 = 3.5 / 4; the slab keeps its extent)")(
            "supersample", po::value<int>(), "sub-samples per voxel edge (partial volume)")(
            "no-previews", po::bool_switch(), "do not write PNG previews");
        d.required_positional = {};
      },
      [](const cli::po::variables_map& vm, const cli::Common& c, Reporter& rep) {
        if (!vm.count("out")) throw UsageError("--out DIR is required");
        phantom::Config cfg = phantom::preset(vm["preset"].as<std::string>());
        if (vm.count("seed")) cfg.seed = vm["seed"].as<std::uint64_t>();
        if (vm["random"].as<bool>()) cfg.random_anatomy = true;
        auto str = [&](const char* k, std::string& v) {
          if (vm.count(k)) v = vm[k].as<std::string>();
        };
        auto num = [&](const char* k, double& v) {
          if (vm.count(k)) v = vm[k].as<double>();
        };
        str("contrast", cfg.contrast);
        str("veins", cfg.veins);
        str("acquisition", cfg.acquisition);
        num("engorgement", cfg.engorgement);
        num("motion-deg", cfg.motion_deg);
        num("motion-mm", cfg.motion_mm);
        num("recentre-mm", cfg.recentre_mm);
        num("snr", cfg.snr);
        num("bias", cfg.bias);
        num("post-scale", cfg.post_scale);
        num("tissue-jitter", cfg.tissue_jitter);
        num("posture-deg", cfg.posture_deg);
        num("slice-mm", cfg.slice_mm);
        if (vm.count("supersample")) cfg.supersample = vm["supersample"].as<int>();
        phantom::validate(cfg);
        const std::string out = vm["out"].as<std::string>();
        phantom::check_output(out, c.force);
        const phantom::Pair pair = phantom::generate(cfg, c.threads, rep);
        phantom::WriteOptions wo;
        wo.overwrite = c.force;
        wo.previews = !vm["no-previews"].as<bool>();
        wo.command_line = c.command_line;
        phantom::write_pair(pair, out, wo, rep);
        char line[200];
        std::snprintf(line, sizeof line, "true plexus volume %.1f -> %.1f mm^3 (%+.1f%%)", pair.truth.pre_mm3,
                      pair.truth.post_mm3, pair.truth.percent_change);
        rep.info(line);
        rep.info("wrote " + out + "/pre, " + out + "/post, " + out + "/truth");
      });
}
