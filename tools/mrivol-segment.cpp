// mrivol-segment: the epidural venous plexus of one lumbar MRI scan.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/cli.hpp"
#include "mrivol/core/version.hpp"
#include "mrivol/io/atomic.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/io/input.hpp"
#include "mrivol/segment/segment.hpp"

using namespace mrivol;
using nlohmann::ordered_json;

namespace {

const cli::ToolSpec spec{
    "mrivol-segment",
    "SCAN --out DIR [options]    |    [SCAN] --measure MASK --out DIR",
    "Segments the epidural venous plexus (the veins of the epidural space of the lumbar\n"
    "canal) in one scan: finds the spinal canal (the thecal sac is the tube brighter on T2,\n"
    "darker on T1, than everything around it), the thecal sac, the vertebral levels from the\n"
    "discs (the lowest full disc is L5-S1 unless --lowest-disc says otherwise), then the veins\n"
    "in the epidural space with a partial-volume model: each voxel a mix of vein and local\n"
    "background, both estimated locally (no bias-field model needed).\n\n"
    "SCAN: a DICOM folder or file (--series picks a set) or an image file (.nii, .nii.gz,\n"
    ".nrrd, .mha). Geometry is LPS; outputs are on the scan's own grid.\n\n"
    "DIR receives: plexus.nii.gz (binary: vein fraction >= 0.5), plexus_soft.nii.gz (vein\n"
    "fraction 0..1), canal.nii.gz, thecal_sac.nii.gz, levels.nii.gz (1..5 = L1-L2..L5-S1),\n"
    "segmentation.json (plexus_volume_mm3, plexus_volume_soft_mm3, per level volumes and the\n"
    "dural sac cross-sectional area at each disc, the fitted model, parameters),\n"
    "qc_sagittal.png and qc_axial.png (outlines: plexus red, sac blue, canal green),\n"
    "provenance.json.\n\n"
    "--measure MASK measures a mask drawn elsewhere (ITK-SNAP, 3D Slicer: labels > 0, or\n"
    "fractions 0..1); with SCAN, per level too.",
    {"mrivol-segment pre/ --out seg", "mrivol-segment scan.nii.gz --out seg --levels L3-S1 --contrast t2",
     "mrivol-segment scan.nii.gz --out seg --roi-box -20,-10,-60,20,40,60",
     "mrivol-segment scan.nii.gz --measure manual.nii.gz --out seg-manual"}};

}  // namespace

int main(int argc, char** argv) {
  return cli::run_tool(
      argc, argv, spec,
      [](cli::Definition& d) {
        namespace po = cli::po;
        d.options.add_options()("scan", po::value<std::string>(), "the scan (DICOM folder/file or image)")(
            "out,o", po::value<std::string>(), "output folder")("series",
                                                                po::value<std::string>()->default_value(""),
                                                                "image set of SCAN (see mrivol-load --list)")(
            "contrast", po::value<std::string>()->default_value("auto"),
            "auto (metadata: TE/TR, series description; else the image), t2 or t1c")(
            "veins", po::value<std::string>()->default_value("auto"),
            "auto (t2: detected; t1c: bright), dark (flow voids) or bright")(
            "levels", po::value<std::string>()->default_value("all"),
            "measure these levels only, e.g. L3-S1 (= L3-L4, L4-L5, L5-S1)")(
            "lowest-disc", po::value<std::string>()->default_value("L5-S1"),
            "name of the lowest full disc in the field of view (transitional anatomy, short fields)")(
            "roi-mask", po::value<std::string>(), "the canal as a mask image (replaces the automatic canal)")(
            "roi-box", po::value<std::string>(),
            "x0,y0,z0,x1,y1,z1: LPS mm box restricting the canal search")(
            "seeds", po::value<std::string>(), "x,y,z[;x,y,z...]: LPS mm points inside the thecal sac")(
            "measure", po::value<std::string>(), "measure this mask instead of segmenting")(
            "min-component", po::value<double>()->default_value(3.0),
            "vessel components smaller than this (mm3) are noise");
        d.positional.add("scan", 1);
      },
      [](const cli::po::variables_map& vm, const cli::Common& c, Reporter& rep) {
        if (!vm.count("out")) throw UsageError("--out DIR is required");
        if (!vm.count("scan") && !vm.count("measure")) throw UsageError("give SCAN, --measure MASK, or both");
        const std::string out = vm["out"].as<std::string>();
        io::check_folder_writable(out, c.force);
        segment::Options opt;
        opt.threads = c.threads;
        opt.contrast = vm["contrast"].as<std::string>();
        opt.veins = vm["veins"].as<std::string>();
        opt.levels = vm["levels"].as<std::string>();
        opt.lowest_disc = vm["lowest-disc"].as<std::string>();
        opt.min_component_mm3 = vm["min-component"].as<double>();
        if (opt.min_component_mm3 < 0) throw UsageError("--min-component must be >= 0");
        segment::parse_levels(opt.levels);
        if (opt.veins != "auto" && opt.veins != "dark" && opt.veins != "bright")
          throw UsageError("--veins must be auto, dark or bright, not '" + opt.veins + "'");
        if (opt.contrast != "auto" && opt.contrast != "t2" && opt.contrast != "t1c")
          throw UsageError("--contrast must be auto, t2 or t1c, not '" + opt.contrast + "'");
        if (vm.count("roi-box")) opt.region.box = cli::box(vm["roi-box"].as<std::string>(), "roi-box");
        if (vm.count("seeds"))
          for (const auto& p : cli::points(vm["seeds"].as<std::string>(), "seeds"))
            opt.region.seeds.push_back(p);
        if (vm.count("roi-mask")) {
          opt.region.mask_path = vm["roi-mask"].as<std::string>();
          opt.region.mask = io::read_image(opt.region.mask_path);
        }
        ordered_json inputs = ordered_json::object();
        Volume scan;
        const bool have_scan = vm.count("scan") > 0;
        if (have_scan) {
          const std::string path = vm["scan"].as<std::string>();
          scan = io::read_scan(path, vm["series"].as<std::string>(), c.threads, rep);
          inputs["scan"] = {{"path", path},
                            {"series_uid", scan.meta.acq.series_uid},
                            {"series_description", scan.meta.acq.series_description},
                            {"sha256", io::input_checksum(path)}};
        }
        segment::Result r;
        if (vm.count("measure")) {
          const std::string mpath = vm["measure"].as<std::string>();
          const Volume mask = io::read_image(mpath);
          inputs["mask"] = {{"path", mpath}, {"sha256", io::input_checksum(mpath)}};
          r = segment::measure(mask, have_scan ? &scan : nullptr, opt, rep);
        } else {
          r = segment::segment(scan, opt, rep);
        }
        for (const auto& wmsg : r.warnings) rep.warn(wmsg);
        io::AtomicFolder folder(out, c.force);
        io::WriteOptions bin;
        bin.keep_integer_storage = false;
        io::WriteOptions flt = bin;
        // Binary masks and labels as uint8 (integer storage of 0/1 values).
        auto as_labels = [](Volume v) {
          v.stored = StoredScaling{1.0, 0.0, false, 8};
          return v;
        };
        io::WriteOptions lab;
        io::write_image(as_labels(r.plexus), folder / "plexus.nii.gz", lab);
        io::write_image(r.plexus_soft, folder / "plexus_soft.nii.gz", flt);
        io::write_image(as_labels(r.canal), folder / "canal.nii.gz", lab);
        io::write_image(as_labels(r.sac), folder / "thecal_sac.nii.gz", lab);
        io::write_image(as_labels(r.levels), folder / "levels.nii.gz", lab);
        if (have_scan) segment::write_qc(scan, r, folder / "qc_", false);
        auto j = ordered_json::parse(segment::to_json(r, opt));
        j["inputs"] = inputs;
        j["threads"] = c.threads;
        io::write_text_file(folder / "segmentation.json", j.dump(2) + "\n", false);
        ordered_json prov{
            {"tool", "mrivol-segment"},       {"version", version()}, {"dependencies", dependency_versions()},
            {"command_line", c.command_line}, {"inputs", inputs},     {"threads", c.threads}};
        io::write_text_file(folder / "provenance.json", prov.dump(2) + "\n", false);
        folder.commit();
        char line[200];
        std::snprintf(line, sizeof line, "plexus %.0f mm3 (soft %.0f mm3), %s veins on %s, %.1f s",
                      r.volume_mm3, r.volume_soft_mm3, r.veins.c_str(), r.contrast.c_str(), r.seconds);
        rep.info(line);
      });
}
