// Image file I/O. NIfTI is written by our own writer (exact header control,
// integer storage with scl_slope); NRRD and MetaImage through ITK; all
// formats are read through ITK, which converts NIfTI's RAS to LPS.
#include "mrivol/io/image.hpp"

#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>
#include <itkVectorImage.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "../core/itk_bridge.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/io/atomic.hpp"
#include "nifti.hpp"

namespace mrivol {
namespace io {
namespace {

bool ends_with(const std::string& s, const std::string& e) {
  if (s.size() < e.size()) return false;
  return std::equal(e.rbegin(), e.rend(), s.rbegin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

using Image4 = itk::Image<float, 4>;

itk::ImageIOBase::Pointer io_for(ImageFormat f) {
  switch (f) {
    case ImageFormat::nifti:
    case ImageFormat::nifti_gz:
      return itk::NiftiImageIO::New().GetPointer();
    case ImageFormat::nrrd:
      return itk::NrrdImageIO::New().GetPointer();
    case ImageFormat::mha:
      return itk::MetaImageIO::New().GetPointer();
  }
  return nullptr;
}

template <unsigned D>
void write_itk(const Volume& v, const std::string& path, ImageFormat f) {
  using Img = itk::Image<float, D>;
  auto img = Img::New();
  set_itk_geometry(img.GetPointer(), v.geom, v.timepoints, v.time_step_s > 0 ? v.time_step_s : 1.0);
  img->GetPixelContainer()->SetImportPointer(const_cast<float*>(v.data.data()), v.data.size(), false);
  auto w = itk::ImageFileWriter<Img>::New();
  w->SetImageIO(io_for(f));
  w->SetFileName(path);
  w->SetInput(img);
  w->Update();
}

}  // namespace

ImageFormat format_from_path(const std::string& path) {
  if (ends_with(path, ".nii.gz")) return ImageFormat::nifti_gz;
  if (ends_with(path, ".nii")) return ImageFormat::nifti;
  if (ends_with(path, ".nrrd") || ends_with(path, ".nhdr")) return ImageFormat::nrrd;
  if (ends_with(path, ".mha") || ends_with(path, ".mhd")) return ImageFormat::mha;
  throw UsageError(path + ": unknown image format (use .nii, .nii.gz, .nrrd or .mha)");
}

void write_image(const Volume& v, const std::string& path, const WriteOptions& opt) {
  const ImageFormat f = format_from_path(path);
  if (f == ImageFormat::nrrd && ends_with(path, ".nhdr"))
    throw UsageError(path + ": detached NRRD headers are not written; use .nrrd");
  if (f == ImageFormat::mha && ends_with(path, ".mhd"))
    throw UsageError(path + ": detached MetaImage headers are not written; use .mha");
  if (v.data.size() != v.geom.voxels() * v.timepoints)
    throw Error(ExitCode::internal, path, "volume data size does not match its geometry");
  AtomicOutput out(path, opt.overwrite);
  try {
    if (f == ImageFormat::nifti || f == ImageFormat::nifti_gz) {
      write_nifti(v, out.temp_path(), f == ImageFormat::nifti_gz, opt);
    } else if (v.timepoints > 1) {
      write_itk<4>(v, out.temp_path(), f);
    } else {
      write_itk<3>(v, out.temp_path(), f);
    }
  } catch (const itk::ExceptionObject& e) {
    throw OutputError(path, std::string("cannot write image (") + e.GetDescription() + ")");
  }
  std::error_code ec;
  if (std::filesystem::file_size(out.temp_path(), ec) == 0 || ec)
    throw Error(ExitCode::internal, path, "image writer produced an empty file");
  out.commit();
}

namespace {

/// Run an ITK reader for `path`; ITK errors become one-line InputErrors.
template <class Img>
typename Img::Pointer read_itk(const std::string& path, ImageFormat f) {
  auto r = itk::ImageFileReader<Img>::New();
  r->SetImageIO(io_for(f));
  r->SetFileName(path);
  try {
    r->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(path, std::string("cannot read image (") + e.GetDescription() + ")");
  }
  return r->GetOutput();
}

void check_finite(const Volume& v, const std::string& path) {
  for (float x : v.data)
    if (!std::isfinite(x)) throw InputError(path, "image contains NaN or infinite values");
}

Volume read_vector_image(const std::string& path, ImageFormat f) {
  using VImage = itk::VectorImage<float, 3>;
  const VImage::Pointer img = read_itk<VImage>(path, f);
  Volume v;
  v.geom = geometry_from_itk(img.GetPointer());
  const unsigned nc = img->GetNumberOfComponentsPerPixel();
  v.timepoints = nc;
  const std::size_t n = v.geom.voxels();
  v.data.resize(n * nc);
  const float* src = img->GetBufferPointer();  // pixel-interleaved
  for (std::size_t i = 0; i < n; ++i)
    for (unsigned c = 0; c < nc; ++c) v.data[c * n + i] = src[i * nc + c];
  check_finite(v, path);
  return v;
}

}  // namespace

Volume read_image(const std::string& path) {
  const ImageFormat f = format_from_path(path);
  if (f == ImageFormat::nifti || f == ImageFormat::nifti_gz) {
    if (const std::size_t bad = nifti_nonfinite(path))
      throw InputError(path, "image contains " + std::to_string(bad) + " NaN or infinite voxels");
  }
  {
    auto io = io_for(f);
    io->SetFileName(path);
    try {
      io->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
      throw InputError(path, std::string("cannot read image (") + e.GetDescription() + ")");
    }
    // Vector images (displacement fields): components become the volumes.
    if (io->GetNumberOfComponents() > 1) return read_vector_image(path, f);
  }
  const Image4::Pointer img = read_itk<Image4>(path, f);
  Volume v;
  const auto size = img->GetLargestPossibleRegion().GetSize();
  v.geom = geometry_from_itk(img.GetPointer());
  v.timepoints = size[3];
  v.time_step_s = size[3] > 1 ? img->GetSpacing()[3] : 0.0;
  const std::size_t n = v.geom.voxels() * v.timepoints;
  v.data.assign(img->GetBufferPointer(), img->GetBufferPointer() + n);
  check_finite(v, path);
  return v;
}

}  // namespace io
}  // namespace mrivol
