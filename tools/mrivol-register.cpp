// mrivol-register: rigid registration of a post-exercise scan onto the pre scan.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/cli.hpp"
#include "mrivol/core/version.hpp"
#include "mrivol/io/atomic.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/io/input.hpp"
#include "mrivol/io/png.hpp"
#include "mrivol/io/transform_file.hpp"
#include "mrivol/registration/register.hpp"

using namespace mrivol;
using nlohmann::ordered_json;

namespace {

const cli::ToolSpec spec{
    "mrivol-register",
    "PRE POST --out DIR [options]",
    "Registers POST (moving) onto PRE (fixed): rigid (versor) with Mattes mutual information\n"
    "(robust to intensity changes between sessions), a multi-resolution pyramid whose levels\n"
    "are physical voxel sizes (thick 2D slices are never shrunk further), seeded random\n"
    "sampling (repeatable), optional masks (e.g. the spinal canal region). Optional further\n"
    "stages: affine (12 parameters, on the two finest levels) and a cubic B-spline\n"
    "deformation (control points every --bspline-spacing mm, L-BFGS-B), for posture changes.\n\n"
    "PRE and POST: DICOM folders or files (--pre-series/--post-series pick a set) or image\n"
    "files (.nii, .nii.gz, .nrrd, .mha).\n\n"
    "DIR receives: transform.tfm, an ITK transform file with fixed = PRE and moving = POST:\n"
    "it maps a physical LPS point of PRE to the same anatomical point of POST (use it as is\n"
    "with antsApplyTransforms / ITK resampling of POST onto PRE; with a B-spline stage it is\n"
    "an ITK composite [affine, B-spline], the B-spline applied first); registered.nii.gz (POST\n"
    "resampled on PRE's grid); registration.json (metric before/after, iterations per level,\n"
    "stop reasons, time, parameters); qc_before.png and qc_after.png (checkerboards of PRE\n"
    "and POST, sagittal and axial); provenance.json.\n\n"
    "An optimiser that diverges, makes the match worse or moves the scan implausibly far\n"
    "(--max-rotation, --max-translation) fails with exit code 5 and writes nothing.",
    {"mrivol-register pre/ post/ --out reg",
     "mrivol-register pre.nii.gz post.nii.gz --out reg --fixed-mask canal.nii.gz",
     "mrivol-register pre/ post/ --out reg --init moments --shrink 6,3,0 --smooth 3,1.5,0",
     "mrivol-register pre/ post/ --out reg --stages rigid,affine,bspline --bspline-spacing 40"}};

ordered_json transform_json(const Transform& t) {
  ordered_json j{{"kind", t.kind},
                 {"matrix",
                  {{t.matrix[0], t.matrix[1], t.matrix[2]},
                   {t.matrix[3], t.matrix[4], t.matrix[5]},
                   {t.matrix[6], t.matrix[7], t.matrix[8]}}},
                 {"translation_mm", t.translation},
                 {"rotation_deg", t.rotation_deg()}};
  if (t.deformation) {
    const auto& g = t.deformation->grid;
    double largest = 0;
    for (double v : t.deformation->coefficients) largest = std::max(largest, std::fabs(v));
    j["bspline"] = {{"control_points", g.size},
                    {"spacing_mm", g.spacing},
                    {"largest_coefficient_mm", largest},
                    {"applied", "first, in PRE space: q = A (p + D(p)) + t"}};
  }
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_tool(
      argc, argv, spec,
      [](cli::Definition& d) {
        namespace po = cli::po;
        d.options.add_options()("pre", po::value<std::string>(), "fixed scan (DICOM folder/file or image)")(
            "post", po::value<std::string>(), "moving scan (DICOM folder/file or image)")(
            "out,o", po::value<std::string>(), "output folder")("pre-series",
                                                                po::value<std::string>()->default_value(""),
                                                                "image set of PRE (see mrivol-load --list)")(
            "post-series", po::value<std::string>()->default_value(""), "image set of POST")(
            "stages", po::value<std::string>()->default_value("rigid"),
            "rigid, optionally followed by affine and/or bspline (comma-separated)")(
            "bspline-spacing", po::value<double>()->default_value(40), "B-spline control point spacing, mm")(
            "bspline-iterations", po::value<int>()->default_value(50), "B-spline L-BFGS-B iterations")(
            "init", po::value<std::string>()->default_value("auto"),
            "auto, header (scanner coordinates), moments, geometry, or an ITK transform file")(
            "extra-starts", po::value<std::string>()->default_value(""),
            "further initialisations (header, moments, geometry; comma-separated): each runs the coarse "
            "levels, the best metric goes on to the finest")("fixed-mask", po::value<std::string>(),
                                                             "mask in PRE's space restricting the metric")(
            "strict", po::bool_switch(),
            "refuse PRE and POST of different patients or frames of reference (default: warn)")(
            "moving-mask", po::value<std::string>(), "mask in POST's space")(
            "shrink", po::value<std::string>()->default_value("6,3,0"),
            "target voxel size per level, mm (0 = native)")(
            "smooth", po::value<std::string>()->default_value("3,1.5,0.5"), "Gaussian sigma per level, mm")(
            "iterations", po::value<int>()->default_value(250), "maximum iterations per level")(
            "bins", po::value<int>()->default_value(32), "mutual information histogram bins")(
            "samples", po::value<int>()->default_value(50000), "random metric samples per level")(
            "seed", po::value<std::uint64_t>()->default_value(1), "sampling seed")(
            "interp", po::value<std::string>()->default_value("linear"), "resampling: linear or bspline")(
            "max-rotation", po::value<double>()->default_value(30), "plausibility limit, degrees")(
            "max-translation", po::value<double>()->default_value(80), "plausibility limit, mm");
        d.positional.add("pre", 1).add("post", 1);
        d.required_positional = {"pre", "post"};
      },
      [](const cli::po::variables_map& vm, const cli::Common& c, Reporter& rep) {
        if (!vm.count("out")) throw UsageError("--out DIR is required");
        const std::string out = vm["out"].as<std::string>();
        io::check_folder_writable(out, c.force);
        registration::Config cfg;
        cfg.threads = c.threads;
        cfg.stages.clear();
        for (std::stringstream s(vm["stages"].as<std::string>()); s.good();) {
          std::string st;
          std::getline(s, st, ',');
          cfg.stages.push_back(st);
        }
        cfg.shrink_mm = cli::numbers(vm["shrink"].as<std::string>(), "shrink");
        cfg.smooth_mm = cli::numbers(vm["smooth"].as<std::string>(), "smooth");
        cfg.iterations = vm["iterations"].as<int>();
        cfg.bspline_spacing_mm = vm["bspline-spacing"].as<double>();
        cfg.bspline_iterations = vm["bspline-iterations"].as<int>();
        cfg.bins = vm["bins"].as<int>();
        cfg.samples = vm["samples"].as<int>();
        cfg.seed = vm["seed"].as<std::uint64_t>();
        cfg.max_rotation_deg = vm["max-rotation"].as<double>();
        cfg.max_translation_mm = vm["max-translation"].as<double>();
        for (std::stringstream s(vm["extra-starts"].as<std::string>()); s.good();) {
          std::string st;
          std::getline(s, st, ',');
          if (st.empty()) continue;
          if (st != "header" && st != "moments" && st != "geometry")
            throw UsageError("--extra-starts: '" + st + "' is not header, moments or geometry");
          cfg.extra_starts.push_back(st);
        }
        registration::validate(cfg);
        const std::string interp = vm["interp"].as<std::string>();
        if (interp != "linear" && interp != "bspline") throw UsageError("--interp must be linear or bspline");
        const std::string init = vm["init"].as<std::string>();
        Transform file_init;
        const bool init_file = init.find('.') != std::string::npos || init.find('/') != std::string::npos;
        if (init_file)
          file_init = io::read_transform(init);
        else
          cfg.init = init;

        const std::string pre_path = vm["pre"].as<std::string>(), post_path = vm["post"].as<std::string>();
        const Volume pre = io::read_scan(pre_path, vm["pre-series"].as<std::string>(), c.threads, rep);
        const Volume post = io::read_scan(post_path, vm["post-series"].as<std::string>(), c.threads, rep);
        std::vector<std::string> session_warnings;
        for (const auto& m : session_mismatches(pre.meta, post.meta)) {
          if (vm["strict"].as<bool>()) throw InputError(post_path, m + "; refused under --strict");
          rep.warn(m);
          session_warnings.push_back(m);
        }
        Volume fmask, mmask;
        if (vm.count("fixed-mask")) fmask = io::read_image(vm["fixed-mask"].as<std::string>());
        if (vm.count("moving-mask")) mmask = io::read_image(vm["moving-mask"].as<std::string>());
        const registration::Result r = registration::register_images(
            pre, post, vm.count("fixed-mask") ? &fmask : nullptr, vm.count("moving-mask") ? &mmask : nullptr,
            cfg, init_file ? &file_init : nullptr, rep);
        const auto mode =
            interp == "bspline" ? registration::Interpolation::bspline : registration::Interpolation::linear;
        Volume registered = registration::resample(post, pre.geom, r.transform, mode, c.threads);
        const Volume before = registration::resample(post, pre.geom, r.initial, mode, c.threads);

        const ordered_json inputs{{"pre",
                                   {{"path", pre_path},
                                    {"series_uid", pre.meta.acq.series_uid},
                                    {"sha256", io::input_checksum(pre_path)}}},
                                  {"post",
                                   {{"path", post_path},
                                    {"series_uid", post.meta.acq.series_uid},
                                    {"sha256", io::input_checksum(post_path)}}}};
        io::AtomicFolder folder(out, c.force);
        io::write_transform(r.transform, folder / "transform.tfm", false);
        io::WriteOptions wo;
        wo.keep_integer_storage = false;
        io::write_image(registered, folder / "registered.nii.gz", wo);
        io::write_checkerboard(pre, before, folder / "qc_before.png", false);
        io::write_checkerboard(pre, registered, folder / "qc_after.png", false);
        ordered_json levels = ordered_json::array();
        for (const auto& l : r.levels)
          levels.push_back({{"stage", l.stage},
                            {"voxel_mm", l.voxel_mm},
                            {"iterations", l.iterations},
                            {"metric", l.metric},
                            {"stop", l.stop},
                            {"seconds", l.seconds}});
        ordered_json starts = ordered_json::array();
        for (const auto& st : r.starts)
          starts.push_back({{"init", st.init}, {"coarse_metric", st.metric}, {"chosen", st.chosen}});
        ordered_json j{{"schema", "mrivol.register/1"},
                       {"transform_file", "transform.tfm"},
                       {"convention",
                        "fixed = pre, moving = post; maps a physical LPS point of pre to the same anatomical "
                        "point of post"},
                       {"transform", transform_json(r.transform)},
                       {"initial", {{"method", r.init_used}, {"transform", transform_json(r.initial)}}},
                       {"starts", starts},
                       {"metric",
                        {{"name", "Mattes mutual information (negated: lower is better)"},
                         {"before", r.metric_before},
                         {"after", r.metric_after}}},
                       {"levels", levels},
                       {"warnings", session_warnings},
                       {"seconds", r.seconds},
                       {"pyramid_seconds", r.pyramid_seconds},
                       {"threads", c.threads},
                       {"inputs", inputs},
                       {"parameters",
                        {{"stages", cfg.stages},
                         {"shrink_mm", cfg.shrink_mm},
                         {"smooth_mm", cfg.smooth_mm},
                         {"iterations", cfg.iterations},
                         {"bspline_spacing_mm", cfg.bspline_spacing_mm},
                         {"bspline_iterations", cfg.bspline_iterations},
                         {"bins", cfg.bins},
                         {"samples", cfg.samples},
                         {"seed", cfg.seed},
                         {"interpolation", interp}}},
                       {"version", version()}};
        io::write_text_file(folder / "registration.json", j.dump(2) + "\n", false);
        ordered_json prov{
            {"tool", "mrivol-register"},      {"version", version()}, {"dependencies", dependency_versions()},
            {"command_line", c.command_line}, {"inputs", inputs},     {"threads", c.threads}};
        io::write_text_file(folder / "provenance.json", prov.dump(2) + "\n", false);
        folder.commit();
        char line[200];
        std::snprintf(line, sizeof line, "%s: %.3f deg, %.3f %.3f %.3f mm; metric %.4f -> %.4f (%.1f s)",
                      r.transform.kind.c_str(), r.transform.rotation_deg(), r.transform.translation[0],
                      r.transform.translation[1], r.transform.translation[2], r.metric_before, r.metric_after,
                      r.seconds);
        rep.info(line);
      });
}
