#include <itkAffineTransform.h>
#include <itkBSplineInterpolateImageFunction.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMultiThreaderBase.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include "../core/itk_bridge.hpp"
#include "../core/parallel.hpp"
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
  f->SetTransform(to_itk_transform(t));
  if (interp == Interpolation::nearest)
    f->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<ItkImage, double>::New());
  else if (interp == Interpolation::bspline)
    f->SetInterpolator(itk::BSplineInterpolateImageFunction<ItkImage, double, double>::New());
  else
    f->SetInterpolator(itk::LinearInterpolateImageFunction<ItkImage, double>::New());
  auto ref = ItkImage::New();  // carries the output grid
  set_itk_geometry(ref.GetPointer(), grid);
  f->SetOutputParametersFromImage(ref);
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
