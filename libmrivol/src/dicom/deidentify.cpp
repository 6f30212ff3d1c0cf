#include "mrivol/dicom/deidentify.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "internal.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/core/sha256.hpp"
#include "mrivol/core/version.hpp"
#include "mrivol/io/atomic.hpp"

namespace mrivol {
namespace dicom {
namespace {

const DictRow kFullDictionary[] = {
#include "dicom_dict_full.inc"
};

}  // namespace

/// The loader runs with a dictionary subset; de-identification must know the
/// VR of every standard element (person names, dates, UIDs), also in
/// implicit-VR files, and dcmseg looks tags up by name: the missing entries
/// are added once.
void use_full_dictionary() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_codecs();
    // Standard elements stored as UN (a gateway that did not know them) are
    // parsed with their real VR, so the rules below see names, dates, UIDs
    // and sequences inside them.
    dcmEnableUnknownVRConversion.set(OFTrue);
    DcmDataDictionary& dict = dcmDataDict.wrlock();
    for (const DictRow& r : kFullDictionary)
      if (dict.findEntry(DcmTagKey(r.group, r.element), nullptr) == nullptr)
        dict.addEntry(new DcmDictEntry(r.group, r.element, DcmVR(r.vr), r.name, r.vm_min, r.vm_max, "DICOM",
                                       OFFalse, nullptr));
    dcmDataDict.wrunlock();
  });
}

namespace {

// Removed wherever they occur (PS3.15 Table E.1-1, action X, and the
// identifying sequences).
const DcmTagKey kRemove[] = {
    DCM_PatientBirthTime, DCM_RETIRED_OtherPatientIDs, DCM_OtherPatientIDsSequence, DCM_OtherPatientNames,
    DCM_PatientBirthName, DCM_PatientAddress, DCM_PatientMotherBirthName, DCM_PatientTelephoneNumbers,
    DCM_MilitaryRank, DCM_BranchOfService, DCM_EthnicGroup, DCM_Occupation, DCM_AdditionalPatientHistory,
    DCM_PatientComments, DcmTagKey(0x0010, 0x1090) /* MedicalRecordLocator */, DCM_PatientReligiousPreference,
    DCM_RegionOfResidence, DCM_CountryOfResidence, DCM_MedicalAlerts, DCM_Allergies, DCM_SpecialNeeds,
    DCM_PatientState, DCM_IssuerOfPatientID, DCM_PatientInsurancePlanCodeSequence,
    DCM_ReferencedPatientSequence, DCM_ResponsibleOrganization, DCM_ResponsiblePerson,
    DCM_CurrentPatientLocation, DCM_AdmittingDiagnosesDescription, DCM_AdmissionID, DCM_InstitutionName,
    DCM_InstitutionAddress, DCM_InstitutionalDepartmentName, DCM_InstitutionCodeSequence,
    DCM_ReferringPhysicianAddress, DCM_ReferringPhysicianTelephoneNumbers, DCM_PhysiciansOfRecord,
    DCM_PerformingPhysicianName, DCM_NameOfPhysiciansReadingStudy, DCM_OperatorsName, DCM_RequestingPhysician,
    DCM_PersonAddress, DCM_PersonTelephoneNumbers, DCM_ContentCreatorName, DCM_StationName,
    DCM_DeviceSerialNumber, DCM_DetectorID, DCM_GantryID, DCM_PlateID, DCM_CassetteID,
    DCM_ScheduledStationName, DCM_PerformedStationName, DCM_PerformedLocation, DCM_StudyDescription,
    DCM_ImageComments, DCM_FrameComments, DCM_DerivationDescription, DCM_TextValue,
    DCM_RequestAttributesSequence, DCM_RequestedProcedureDescription, DCM_RequestedProcedureID,
    DCM_ScheduledProcedureStepDescription, DCM_PerformedProcedureStepID,
    DCM_PerformedProcedureStepDescription, DCM_IssuerOfAccessionNumberSequence,
    DCM_FillerOrderNumberImagingServiceRequest, DCM_PlacerOrderNumberImagingServiceRequest,
    DCM_OriginalAttributesSequence, DCM_DigitalSignaturesSequence, DCM_TimezoneOffsetFromUTC,
    DCM_IssuerOfPatientIDQualifiersSequence, DCM_PatientTelecomInformation, DCM_PersonTelecomInformation,
    DCM_PatientBirthDateInAlternativeCalendar, DCM_PatientDeathDateInAlternativeCalendar,
    DCM_PatientAlternativeCalendar, DCM_OperatorIdentificationSequence,
    DCM_PerformingPhysicianIdentificationSequence, DCM_ReferringPhysicianIdentificationSequence,
    DCM_PhysiciansOfRecordIdentificationSequence, DCM_PhysiciansReadingStudyIdentificationSequence,
    DCM_RequestingService, DCM_ScheduledStationAETitle, DCM_PerformedStationAETitle, DCM_StationAETitle,
    DCM_ScheduledProcedureStepID, DCM_RequestedProcedureComments, DCM_ImagingServiceRequestComments,
    DCM_CommentsOnThePerformedProcedureStep, DCM_RETIRED_StudyComments, DCM_RETIRED_IdentifyingComments,
    DCM_RETIRED_AcquisitionComments, DCM_ReferencedPatientPhotoSequence,
    // written afresh below
    DCM_PatientIdentityRemoved, DCM_DeidentificationMethod, DCM_DeidentificationMethodCodeSequence,
    DCM_LongitudinalTemporalInformationModified};

// Kept but emptied (type 2 attributes).
const DcmTagKey kEmpty[] = {DCM_PatientBirthDate, DCM_AccessionNumber, DCM_StudyID,
                            DCM_ReferringPhysicianName};

// UIDs that name a class or a syntax, not an instance: never replaced.
const DcmTagKey kClassUids[] = {DCM_SOPClassUID,
                                DCM_ReferencedSOPClassUID,
                                DCM_MediaStorageSOPClassUID,
                                DCM_TransferSyntaxUID,
                                DCM_ImplementationClassUID,
                                DCM_ReferencedSOPClassUIDInFile,
                                DCM_AffectedSOPClassUID,
                                DCM_RequestedSOPClassUID,
                                DCM_CodingSchemeUID,
                                DCM_RelatedGeneralSOPClassUID,
                                DCM_OriginalSpecializedSOPClassUID,
                                DCM_ReferencedTransferSyntaxUIDInFile,
                                DCM_PrivateInformationCreatorUID};

// Private elements kept (Retain Safe Private option, 113111): binary
// acquisition parameters the loader needs, without free text.
struct SafePrivate {
  Uint16 group;
  const char* creator;
  std::vector<Uint8> elements;
};
const SafePrivate kSafePrivate[] = {
    // CSA image header: mosaic layout, slice normal, b-values
    {0x0029, "SIEMENS CSA HEADER", {0x08, 0x09, 0x10}},
    // mosaic count, diffusion b-value, direction, b-matrix, bandwidth
    {0x0019, "SIEMENS MR HEADER", {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x27, 0x28}},
    // GE image type (magnitude, phase, real, imaginary)
    {0x0043, "GEMS_PARM_01", {0x2f}}};

/// A short text value, also when the element is UN (a private creator in an
/// implicit-VR file).
std::string item_string(DcmItem* item, const DcmTagKey& k) {
  DcmElement* e = nullptr;
  if (item->findAndGetElement(k, e, OFFalse).bad() || !e) return "";
  std::string s;
  OFString v;
  const DcmEVR vr = e->ident();
  if (vr == EVR_UN || vr == EVR_OB || vr == EVR_UNKNOWN || vr == EVR_UNKNOWN2B) {
    Uint8* b = nullptr;
    if (e->getUint8Array(b).bad() || !b || e->getLength() > 64) return "";
    s.assign(reinterpret_cast<const char*>(b), e->getLength());
  } else {
    if (e->getOFStringArray(v).bad()) return "";
    s = v.c_str();
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

/// Whether a private element (or private creator) is on the safe list.
bool safe_private(DcmItem* item, const DcmTagKey& k) {
  const Uint16 g = k.getGroup(), e = k.getElement();
  for (const SafePrivate& sp : kSafePrivate) {
    if (sp.group != g) continue;
    if (e >= 0x0010 && e <= 0x00FF) {
      if (item_string(item, k) == sp.creator) return true;
      continue;
    }
    if (e < 0x1000) continue;
    if (item_string(item, DcmTagKey(g, static_cast<Uint16>(e >> 8))) != sp.creator) continue;
    if (std::find(sp.elements.begin(), sp.elements.end(), static_cast<Uint8>(e & 0xFF)) != sp.elements.end())
      return true;
  }
  return false;
}

bool in(const DcmTagKey& k, const DcmTagKey* b, const DcmTagKey* e) { return std::find(b, e, k) != e; }

/// Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

void civil_from_days(long z, long& y, unsigned& m, unsigned& d) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::string shift_one_date(const std::string& s, long days);

/// "YYYYMMDD[...]" shifted by `days`, also both ends of a range
/// ("20200101-20200301"); empty when the text is not a valid date.
std::string shift_date(const std::string& s, long days) {
  const auto dash = s.find('-');
  if (dash == std::string::npos || dash < 8) return shift_one_date(s, days);
  const std::string a = shift_one_date(s.substr(0, dash), days), b = s.substr(dash + 1);
  const std::string c = b.empty() ? b : shift_one_date(b, days);
  return a.empty() || (!b.empty() && c.empty()) ? "" : a + "-" + c;
}

std::string shift_one_date(const std::string& s, long days) {
  if (s.size() < 8 || !std::all_of(s.begin(), s.begin() + 8, [](char c) { return std::isdigit(c); }))
    return "";
  const long y = std::stol(s.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoul(s.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoul(s.substr(6, 2)));
  if (m < 1 || m > 12 || d < 1 || d > 31) return "";
  long ny;
  unsigned nm, nd;
  civil_from_days(days_from_civil(y, m, d) + days, ny, nm, nd);
  if (ny < 1 || ny > 9999) return "";
  char b[16];
  std::snprintf(b, sizeof b, "%04ld%02u%02u", ny, nm, nd);
  return b + s.substr(8);
}

std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto p = s.find('\\', start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string tag_text(const DcmTagKey& k) {
  char b[16];
  std::snprintf(b, sizeof b, "(%04X,%04X)", k.getGroup(), k.getElement());
  return b;
}

class Cleaner {
 public:
  Cleaner(const DeidentifyOptions& o, long shift) : opt_(o), shift_(shift) {}
  DeidentifyResult counts;

  /// The same original always maps to the same new UID (for one key).
  std::string new_uid(const std::string& uid) const { return uid_from_seed(opt_.key + '\n' + uid); }

  void clean(DcmItem* item) {
    std::vector<DcmTagKey> drop;
    std::vector<std::pair<DcmTagKey, std::string>> replace;
    for (unsigned long i = 0; i < item->card(); ++i) {
      DcmElement* e = item->getElement(i);
      const DcmTagKey k = e->getTag();
      const Uint16 g = k.getGroup();
      if (g == 0x0002) continue;  // file meta: written afresh
      if ((g & 1) != 0 && safe_private(item, k)) continue;
      if ((g & 1) != 0 || (g >= 0x5000 && g <= 0x50FF) || (g >= 0x6000 && g <= 0x60FF) ||
          in(k, std::begin(kRemove), std::end(kRemove))) {
        drop.push_back(k);
        continue;
      }
      if (k == DCM_PixelData || k == DcmTagKey(0x7FE0, 0x0008) || k == DcmTagKey(0x7FE0, 0x0009)) {
        if (!opt_.keep_pixels) drop.push_back(k);
        continue;
      }
      if (k == DCM_PatientName || k == DCM_PatientID) {  // written afresh below (whatever the VR read)
        replace.emplace_back(k, opt_.pseudonym);
        ++counts.replaced;
        continue;
      }
      if (in(k, std::begin(kEmpty), std::end(kEmpty))) {
        replace.emplace_back(k, "");
        ++counts.emptied;
        continue;
      }
      const DcmEVR vr = e->ident();
      if (vr == EVR_UN || vr == EVR_UNKNOWN ||
          vr == EVR_UNKNOWN2B) {  // a public element nothing can interpret
        drop.push_back(k);
        continue;
      }
      if (vr == EVR_SQ) {
        auto* sq = static_cast<DcmSequenceOfItems*>(e);
        for (unsigned long j = 0; j < sq->card(); ++j) clean(sq->getItem(j));
        continue;
      }
      if (vr == EVR_PN) {  // any other person
        drop.push_back(k);
        continue;
      }
      if (vr == EVR_UI || vr == EVR_DA || vr == EVR_DT) {
        OFString v;
        e->getOFStringArray(v);
        const std::string value = trim(v.c_str());
        if (value.empty()) continue;
        std::string out;
        for (const std::string& part : split_values(value)) {
          std::string p = trim(part), q;
          if (vr == EVR_UI) {
            q = (p.rfind("1.2.840.10008.", 0) == 0 || in(k, std::begin(kClassUids), std::end(kClassUids)))
                    ? p
                    : new_uid(p);
          } else {
            q = p.empty() ? p : shift_date(p, shift_);
          }
          out += q + "\\";
        }
        out.pop_back();
        if (out != value) {
          e->putString(out.c_str());
          vr == EVR_UI ? ++counts.uids : ++counts.dates;
        }
      }
    }
    for (const auto& k : drop) {
      item->findAndDeleteElement(k, OFFalse, OFFalse);
      ++counts.removed;
    }
    for (const auto& [k, v] : replace) {
      item->findAndDeleteElement(k, OFFalse, OFFalse);
      if (item->putAndInsertString(k, v.c_str()).bad())
        throw DicomError("", "cannot write " + tag_text(k) + " of the de-identified copy");
    }
  }

 private:
  const DeidentifyOptions& opt_;
  long shift_;
};

/// Text elements (not UIDs, numbers, dates or times) that contain one of the
/// identifying values: "(gggg,eeee)" of the first found, or "".
std::string find_identifier(DcmItem* item, const std::vector<std::string>& ids) {
  for (unsigned long i = 0; i < item->card(); ++i) {
    DcmElement* e = item->getElement(i);
    const DcmEVR vr = e->ident();
    if (vr == EVR_SQ) {
      auto* sq = static_cast<DcmSequenceOfItems*>(e);
      for (unsigned long j = 0; j < sq->card(); ++j) {
        const std::string hit = find_identifier(sq->getItem(j), ids);
        if (!hit.empty()) return hit;
      }
      continue;
    }
    const bool binary = vr == EVR_UN || vr == EVR_OB || vr == EVR_UNKNOWN || vr == EVR_UNKNOWN2B;
    if (((e->getTag().getGroup() & 1) != 0 || binary) && e->getTag() != DCM_PixelData &&
        e->getLength() < (1u << 20)) {  // kept private or binary elements: search their bytes
      Uint8* b = nullptr;
      if (e->getUint8Array(b).good() && b) {
        const std::string text = upper(std::string(reinterpret_cast<const char*>(b), e->getLength()));
        for (const auto& id : ids)
          if (text.find(id) != std::string::npos) return tag_text(e->getTag());
      }
    }
    if (!(vr == EVR_AE || vr == EVR_CS || vr == EVR_LO || vr == EVR_LT || vr == EVR_PN || vr == EVR_SH ||
          vr == EVR_ST || vr == EVR_UC || vr == EVR_UR || vr == EVR_UT))
      continue;
    OFString v;
    if (e->getOFStringArray(v).bad()) continue;
    const std::string text = upper(v.c_str());
    for (const auto& id : ids)
      if (text.find(id) != std::string::npos) return tag_text(e->getTag());
  }
  return "";
}

/// Identifying values worth searching for: whole values (person names also
/// with spaces for '^'), four characters or longer (shorter ones match by
/// chance). Parts of names are not searched: a family name may be a word of a
/// series description or of the scanner's model name.
std::vector<std::string> identifiers(const PatientIdentity& p) {
  std::set<std::string> out;
  for (const std::string& v : p.values()) {
    std::string u = upper(trim(v));
    while (!u.empty() && (u.back() == '^' || u.back() == ' ')) u.pop_back();  // "DOE^JOHN^^"
    std::string spaced = u;
    std::replace(spaced.begin(), spaced.end(), '^', ' ');
    spaced = trim(spaced);
    if (spaced.size() < 4) continue;  // also "^^^^" (an empty person name)
    out.insert(u);
    out.insert(spaced);
  }
  return {out.begin(), out.end()};
}

void check_pseudonym(const std::string& p) {
  if (p.empty() || p.size() > 64)
    throw UsageError("--pseudonym must be 1 to 64 characters (letters, digits, '-', '_', '.')");
  for (char c : p)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      throw UsageError("--pseudonym may contain only letters, digits, '-', '_' and '.'");
}

}  // namespace

DeidentifyResult deidentify_series(const SeriesInfo& series, const std::string& dir,
                                   const DeidentifyOptions& opt, Reporter& rep) {
  check_pseudonym(opt.pseudonym);
  if (!series.images_ || series.images_->images.empty())
    throw DicomError(series.label, "the series has no images to de-identify");
  use_full_dictionary();
  // Source files in slice order, each once (a multi-frame file holds many images).
  std::vector<std::shared_ptr<const FileHeader>> files;
  {
    std::set<std::string> seen;
    for (const Image& im : series.images_->images)
      if (seen.insert(im.file->path).second) files.push_back(im.file);
  }
  io::AtomicFolder folder(dir, opt.overwrite);
  // One date offset per patient: 1 to 3650 days back, from the key and the
  // pseudonym, so both sessions of a subject move together.
  const std::string h =
      sha256_hex((opt.key + "\ndate\n" + opt.pseudonym).data(), opt.key.size() + 6 + opt.pseudonym.size());
  const long shift = -(1 + static_cast<long>(std::stoul(h.substr(0, 8), nullptr, 16) % 3650));
  Cleaner cleaner(opt, shift);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const FileHeader& fh = *files[i];
    bool gz = false;
    FileKind kind;
    std::string why;
    auto ff = open_file(fh.path, /*header_only=*/!opt.keep_pixels, gz, kind, why);
    if (!ff) throw DicomError(fh.path, why);
    DcmDataset* ds = ff->getDataset();
    if (opt.keep_pixels) {
      OFString burned;
      if (ds->findAndGetOFString(DCM_BurnedInAnnotation, burned).good() &&
          upper(trim(burned.c_str())) == "YES")
        throw DicomError(fh.path,
                         "BurnedInAnnotation is YES: the pixels may show identifying text; de-identify the "
                         "headers only (without --deidentify-pixels)");
    }
    const E_TransferSyntax xfer = opt.keep_pixels ? ds->getOriginalXfer() : EXS_LittleEndianExplicit;
    cleaner.clean(ds);
    ds->putAndInsertString(DCM_PatientIdentityRemoved, "YES");
    ds->putAndInsertString(DCM_LongitudinalTemporalInformationModified, "MODIFIED");
    const std::string method = "mrivol " + version() + ": PS3.15 E.1 (113100/07/08/11)" +
                               std::string(opt.keep_pixels ? "" : ", no pixels");
    ds->putAndInsertString(DCM_DeidentificationMethod, method.substr(0, 64).c_str());
    for (const auto& code : {std::make_pair("113100", "Basic Application Confidentiality Profile"),
                             std::make_pair("113107", "Retain Longitudinal With Modified Dates Option"),
                             std::make_pair("113108", "Retain Patient Characteristics Option"),
                             std::make_pair("113111", "Retain Safe Private Option")}) {
      DcmItem* it = nullptr;
      if (ds->findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, it, -2).good() && it) {
        it->putAndInsertString(DCM_CodeValue, code.first);
        it->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
        it->putAndInsertString(DCM_CodeMeaning, code.second);
      }
    }
    const std::string hit = find_identifier(ds, identifiers(fh.patient));
    if (!hit.empty())
      throw DicomError(fh.path, "an identifying value remains in " + hit +
                                    " after de-identification; nothing was written (please report this)");
    char name[32];
    std::snprintf(name, sizeof name, "IM%04zu.dcm", i + 1);
    const OFCondition st = ff->saveFile((folder / name).c_str(), xfer, EET_ExplicitLength, EGL_recalcGL,
                                        EPD_noChange, 0, 0, EWM_createNewMeta);
    if (st.bad())
      throw OutputError(dir + "/" + name, std::string("cannot write DICOM (") + st.text() + ")" +
                                              io::disk_full_note(folder.temp_path()));
    ++cleaner.counts.files;
  }
  const DeidentifyResult& c = cleaner.counts;
  nlohmann::ordered_json j;
  j["schema"] = "mrivol.deidentify/1";
  j["software"] = "mrivol " + version();
  j["series_label"] = series.label;
  j["pseudonym"] = opt.pseudonym;
  j["files"] = c.files;
  j["pixel_data"] = opt.keep_pixels ? "kept" : "removed";
  j["key"] = opt.key.empty() ? "none (UIDs and the date offset follow from the pseudonym alone)" : "given";
  j["profile"] = {"DICOM PS3.15 E.1 Basic Application Level Confidentiality Profile (113100)",
                  "Retain Longitudinal Temporal Information with Modified Dates (113107)",
                  "Retain Patient Characteristics: sex, age, size, weight (113108)",
                  "Retain Safe Private: Siemens CSA image header and MR header acquisition values, GE image "
                  "type (113111)"};
  j["kept_descriptions"] = {"SeriesDescription", "ProtocolName"};
  j["elements"] = {{"removed", c.removed},
                   {"emptied", c.emptied},
                   {"pseudonymised", c.replaced},
                   {"uids_replaced", c.uids},
                   {"dates_shifted", c.dates}};
  io::write_text_file(folder / "deidentification.json", j.dump(2) + "\n", false);
  folder.commit();
  rep.info("wrote " + std::to_string(c.files) + " de-identified file(s) to " + dir);
  return c;
}

}  // namespace dicom
}  // namespace mrivol
