// mrivol-load: list the image series of a DICOM folder, or convert one to
// NIfTI/NRRD/MetaImage with a BIDS-style JSON sidecar.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/cli.hpp"
#include "mrivol/dicom/deidentify.hpp"
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
    "and physicians are never written unless --include-identifiers is given.\n\n"
    "--deidentify DIR writes pseudonymised copies of the series' DICOM files for sharing\n"
    "(DIR/IM0001.dcm..., headers only unless --deidentify-pixels, and DIR/deidentification.json):\n"
    "DICOM PS3.15 E.1 basic profile with modified dates and patient characteristics kept.\n"
    "Patient name and ID become --pseudonym; other names, addresses, institution, station,\n"
    "device serial, accession number, comments, overlays and private elements (but the Siemens\n"
    "CSA image header and a few acquisition values) are removed;\n"
    "birth date emptied; sex, age, size and weight kept; every instance/series/study/frame of\n"
    "reference UID replaced by a 2.25 UID derived from the original and the key; every date\n"
    "moved back by one offset (1-3650 days) derived from the key and the pseudonym, so both\n"
    "sessions of a subject stay linked and their interval is kept. Series description and\n"
    "protocol name are kept. Give the same --pseudonym and --deid-key-file for every session\n"
    "of a subject; without a key, anyone who knows the pseudonym can recompute the offset.\n"
    "Each copy is checked for the source's identifying values before anything is written.",
    {"mrivol-load /data/sub-01 --list", "mrivol-load /data/sub-01 -o t2_sag.nii.gz --series 5",
     "mrivol-load /data/sub-01 -o echo2.nii --series 1301.2",
     "mrivol-load /data/sub-01 --series 5 --deidentify share/sub-01_pre --pseudonym sub-01 "
     "--deid-key-file ~/.mrivol-key"}};

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

/// The de-identification key: the file's content without trailing newlines.
std::string read_key(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot read the key file");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string k = ss.str();
  while (!k.empty() && (k.back() == '\n' || k.back() == '\r')) k.pop_back();
  if (k.empty()) throw InputError(path, "the key file is empty");
  return k;
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
            "also write patient name/ID/birth date/accession/institution/physicians to the sidecar")(
            "deidentify", cli::po::value<std::string>(),
            "write pseudonymised copies of the series' DICOM files to this new folder")(
            "pseudonym", cli::po::value<std::string>(),
            "with --deidentify: the new PatientName and PatientID (e.g. sub-01)")(
            "deid-key-file", cli::po::value<std::string>(),
            "with --deidentify: file holding a secret mixed into the new UIDs and the date offset")(
            "deidentify-pixels", cli::po::bool_switch(),
            "with --deidentify: keep the pixel data (refused when BurnedInAnnotation is YES)");
        d.positional.add("input", 1);
        d.required_positional = {"input"};
      },
      [](const cli::po::variables_map& vm, const cli::Common& c, Reporter& rep) {
        const std::string in = vm["input"].as<std::string>();
        const bool list = vm["list"].as<bool>();
        const bool deid = vm.count("deidentify") != 0;
        if (!list && !vm.count("output") && !deid)
          throw UsageError("give --list, -o OUT or --deidentify DIR");
        if (list && deid) throw UsageError("--deidentify cannot be combined with --list");
        if (!deid &&
            (vm.count("pseudonym") || vm.count("deid-key-file") || vm["deidentify-pixels"].as<bool>()))
          throw UsageError("--pseudonym, --deid-key-file and --deidentify-pixels need --deidentify DIR");
        dicom::DeidentifyOptions deo;
        if (deid) {
          if (!vm.count("pseudonym")) throw UsageError("--deidentify needs --pseudonym (e.g. sub-01)");
          deo.pseudonym = vm["pseudonym"].as<std::string>();
          deo.keep_pixels = vm["deidentify-pixels"].as<bool>();
          deo.overwrite = c.force;
          if (vm.count("deid-key-file")) deo.key = read_key(vm["deid-key-file"].as<std::string>());
          io::check_folder_writable(vm["deidentify"].as<std::string>(), c.force);
        }
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
        if (deid) {
          const std::string dir = vm["deidentify"].as<std::string>();
          dicom::deidentify_series(*s, dir, deo, rep);
          if (deo.key.empty())
            rep.warn(
                "no --deid-key-file: anyone who knows the pseudonym can recompute the date offset, and "
                "anyone holding the original UIDs can link the copies back to them");
          if (out.empty()) return;
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
        {
          // Image and sidecar go into place together: a concurrent run
          // writing the same names waits, so the pair is always from one run.
          io::FolderLock lock(io::parent_folder(out));
          io::check_writable(out, c.force);
          io::check_writable(io::sidecar_path(out), c.force);
          io::write_image(v, out, wo);
          io::write_text_file(io::sidecar_path(out), json, c.force);
        }
        rep.info("wrote " + out + " (" + std::to_string(v.geom.size[0]) + "x" +
                 std::to_string(v.geom.size[1]) + "x" + std::to_string(v.geom.size[2]) +
                 (v.timepoints > 1 ? "x" + std::to_string(v.timepoints) : std::string()) + ")");
      });
}
