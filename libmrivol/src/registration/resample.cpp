#include <itkAffineTransform.h>
#include <itkBSplineInterpolateImageFunction.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMultiThreaderBase.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include "../core/parallel.hpp"
#include "itk_bridge.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/registration/register.hpp"

namespace mrivol {
namespace registration {

Volume resample(const Volume& moving, const Geometry& grid, const Transform& t, Interpolation interp,
                unsigned threads) {
  if (moving.timepoints != 1) throw InputError("input", "resampling needs a 3D image");
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(resolve_threads(threads));
  using Filter = itk::ResampleImageFilter<ItkImage, ItkImage, double>;
  auto f = Filter::New();
  f->SetInput(to_itk(moving));
  auto a = itk::AffineTransform<double, 3>::New();
  itk::AffineTransform<double, 3>::MatrixType m;
  itk::AffineTransform<double, 3>::OutputVectorType off;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) m[r][c] = t.matrix[3 * r + c];
    off[r] = t.translation[r];
  }
  a->SetMatrix(m);
  a->SetOffset(off);
  f->SetTransform(a);
  if (interp == Interpolation::nearest)
    f->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<ItkImage, double>::New());
  else if (interp == Interpolation::bspline)
    f->SetInterpolator(itk::BSplineInterpolateImageFunction<ItkImage, double, double>::New());
  else
    f->SetInterpolator(itk::LinearInterpolateImageFunction<ItkImage, double>::New());
  ItkImage::SizeType size;
  ItkImage::SpacingType sp;
  ItkImage::PointType org;
  ItkImage::DirectionType dir;
  for (unsigned i = 0; i < 3; ++i) {
    size[i] = grid.size[i];
    sp[i] = grid.spacing[i];
    org[i] = grid.origin[i];
    for (unsigned j = 0; j < 3; ++j) dir[i][j] = grid.direction[3 * i + j];
  }
  f->SetSize(size);
  f->SetOutputSpacing(sp);
  f->SetOutputOrigin(org);
  f->SetOutputDirection(dir);
  f->SetDefaultPixelValue(0);
  try {
    f->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error(ExitCode::internal, "resample", e.GetDescription());
  }
  Volume out = from_itk(f->GetOutput());
  out.meta = moving.meta;
  return out;
}

}  // namespace registration
}  // namespace mrivol
