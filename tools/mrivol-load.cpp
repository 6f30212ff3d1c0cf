// mrivol-load: list the image series of a DICOM folder, or convert one to
// NIfTI/NRRD/MetaImage with a BIDS-style JSON sidecar.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/cli.hpp"
#include "mrivol/dicom/series.hpp"
#include "mrivol/io/atomic.hpp"
#include "mrivol/io/image.hpp"
#include "mrivol/io/sidecar.hpp"

using namespace mrivol;

namespace {

const cli::ToolSpec spec{
    "mrivol-load",
    "DICOM --list | DICOM -o OUT [--series KEY] [options]",
    "Scans DICOM (a folder, searched recursively, or one file; .dcm.gz accepted), groups the\n"
    "images into series and splits them where one volume is impossible (orientation, matrix,\n"
    "echo, magnitude/phase, acquisition). Slices are ordered by ImagePositionPatient along\n"
    "the slice normal and spacing comes from the positions. Several images per position\n"
    "(time points, diffusion directions) form one 4D image.\n\n"
    "--list prints one tab-separated line per image set on stdout: list position, label\n"
    "(series number, .N when a series was split), SeriesInstanceUID, description, image\n"
    "label, slices, volumes, matrix, spacing (mm), orientation, transfer syntax, status.\n\n"
    "-o writes the image (.nii, .nii.gz, .nrrd or .mha by extension) and a JSON sidecar\n"
    "beside it (OUT with .json). Patient name, ID, birth date, accession number, institution\n"
    "and physicians are never written unless --include-identifiers is given.",
    {"mrivol-load /data/sub-01 --list", "mrivol-load /data/sub-01 -o t2_sag.nii.gz --series 5",
     "mrivol-load /data/sub-01 -o echo2.nii --series 1301.2"}};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

void print_list(const dicom::ScanResult& scan) {
  std::cout << "#\tlabel\tseries_uid\tdescription\timage\tslices\tvolumes\tmatrix\tspacing_"
               "mm\torientation\ttransfer_syntax\tstatus\n";
  for (std::size_t i = 0; i < scan.series.size(); ++i) {
    const auto& s = scan.series[i];
    const auto& g = s.geom;
    std::cout << i + 1 << '\t' << s.label << '\t' << s.series_uid << '\t' << s.description << '\t'
              << (s.volume_label.empty() ? "-" : s.volume_label) << '\t' << g.size[2] << '\t' << s.timepoints
              << '\t' << g.size[0] << 'x' << g.size[1] << '\t' << fmt(g.spacing[0]) << 'x'
              << fmt(g.spacing[1]) << 'x' << fmt(g.spacing[2]) << '\t'
              << (s.orientation.empty() ? "-" : s.orientation) << '\t' << s.transfer_syntax << '\t'
              << (s.error.empty() ? "ok" : "error: " + s.error) << '\n';
  }
}

std::string short_list(const dicom::ScanResult& scan) {
  std::ostringstream o;
  for (const auto& s : scan.series)
    o << " " << s.label << (s.description.empty() ? "" : " (" + s.description + ")") << ";";
  std::string r = o.str();
  if (!r.empty()) r.pop_back();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_tool(
      argc, argv, spec,
      [](cli::Definition& d) {
        d.options.add_options()("input", cli::po::value<std::string>(), "DICOM folder or file")(
            "list,l", cli::po::bool_switch(), "list the image sets and exit")(
            "output,o", cli::po::value<std::string>(), "output image (.nii, .nii.gz, .nrrd, .mha)")(
            "series,s", cli::po::value<std::string>(),
            "which image set: label (5, 1301.2), SeriesInstanceUID, or list position (#3)")(
            "float", cli::po::bool_switch(), "store float32 instead of integers + scl_slope")(
            "include-identifiers", cli::po::bool_switch(),
            "also write patient name/ID/birth date/accession/institution/physicians to the sidecar");
        d.positional.add("input", 1);
        d.required_positional = {"input"};
      },
      [](const cli::po::variables_map& vm, const cli::Common& c, Reporter& rep) {
        const std::string in = vm["input"].as<std::string>();
        const bool list = vm["list"].as<bool>();
        if (!list && !vm.count("output")) throw UsageError("give --list or -o OUT");
        std::string out;
        if (vm.count("output")) {
          out = vm["output"].as<std::string>();
          io::format_from_path(out);
          io::check_writable(out, c.force);
          io::check_writable(io::sidecar_path(out), c.force);
        }
        dicom::ScanOptions so;
        so.threads = c.threads;
        const dicom::ScanResult scan = dicom::scan(in, so, rep);
        const auto& st = scan.stats;
        rep.info("found " + std::to_string(scan.series.size()) + " image set(s) in " +
                 std::to_string(st.files) + " files (" + std::to_string(st.non_dicom) + " not DICOM, " +
                 std::to_string(st.non_image) + " non-image DICOM, " + std::to_string(st.unreadable) +
                 " unreadable, " + std::to_string(st.duplicates) + " duplicates skipped)");
        for (const auto& s : scan.series)
          for (const auto& w : s.warnings) rep.debug("series " + s.label + ": " + w);
        if (list) {
          print_list(scan);
          return;
        }
        const dicom::SeriesInfo* s = nullptr;
        if (vm.count("series")) {
          s = &dicom::select(scan, vm["series"].as<std::string>());
        } else if (scan.series.size() == 1) {
          s = &scan.series.front();
        } else {
          throw DicomError(in, std::to_string(scan.series.size()) +
                                   " image sets found; choose one with --series:" + short_list(scan));
        }
        dicom::LoadOptions lo;
        lo.threads = c.threads;
        const Volume v = dicom::load(*s, lo, rep);
        for (const auto& w : v.meta.warnings) rep.warn(w);
        io::WriteOptions wo;
        wo.overwrite = c.force;
        wo.keep_integer_storage = !vm["float"].as<bool>();
        io::SidecarOptions sc;
        sc.include_identifiers = vm["include-identifiers"].as<bool>();
        const std::string json = io::bids_sidecar(v, sc);
        io::write_image(v, out, wo);
        io::write_text_file(io::sidecar_path(out), json, c.force);
        rep.info("wrote " + out + " (" + std::to_string(v.geom.size[0]) + "x" +
                 std::to_string(v.geom.size[1]) + "x" + std::to_string(v.geom.size[2]) +
                 (v.timepoints > 1 ? "x" + std::to_string(v.timepoints) : std::string()) + ")");
      });
}
