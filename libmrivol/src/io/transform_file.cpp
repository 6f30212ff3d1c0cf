#include "mrivol/io/transform_file.hpp"

#include <itkAffineTransform.h>
#include <itkBSplineTransform.h>
#include <itkCompositeTransform.h>
#include <itkMatrixOffsetTransformBase.h>
#include <itkTransformFactory.h>
#include <itkTransformFileReader.h>
#include <itkTransformFileWriter.h>
#include <itkTxtTransformIOFactory.h>

#include <mutex>

#include <cctype>
#include <cmath>
#include <fstream>
#include <string>

#include "../core/itk_bridge.hpp"
#include "mrivol/core/error.hpp"
#include "mrivol/io/atomic.hpp"

namespace mrivol {
namespace io {
namespace {
void register_transform_io() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::TxtTransformIOFactory::RegisterOneFactory();  // .tfm / .txt
    itk::TransformFactoryBase::RegisterDefaultTransforms();
    itk::TransformFactory<itk::BSplineTransform<double, 3, 3>>::RegisterTransform();
    itk::TransformFactory<itk::CompositeTransform<double, 3>>::RegisterTransform();
  });
}
}  // namespace

void write_transform(const Transform& t, const std::string& path, bool overwrite) {
  register_transform_io();
  AtomicOutput out(path, overwrite);
  auto a = to_itk_transform(t);
  auto w = itk::TransformFileWriterTemplate<double>::New();
  w->SetInput(a);
  w->SetFileName(out.temp_path());
  try {
    w->Update();
  } catch (const itk::ExceptionObject& e) {
    throw OutputError(path, std::string("cannot write transform (") + e.GetDescription() + ")");
  }
  out.commit();
}

Transform read_transform(const std::string& path) {
  register_transform_io();
  // ITK's text reader turns "nan"/"inf" into 0 silently: look at the text first.
  if (std::ifstream in(path); in) {
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Parameters:", 0) != 0 && line.rfind("FixedParameters:", 0) != 0) continue;
      std::string low;
      for (char ch : line) low += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (low.find("nan") != std::string::npos || low.find("inf") != std::string::npos)
        throw InputError(path, "transform contains NaN or infinite values");
    }
  }
  auto r = itk::TransformFileReaderTemplate<double>::New();
  r->SetFileName(path);
  try {
    r->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(path, std::string("cannot read transform (") + e.GetDescription() + ")");
  }
  const auto* list = r->GetTransformList();
  if (!list || list->size() != 1) throw InputError(path, "expected exactly one transform");
  using Base = itk::MatrixOffsetTransformBase<double, 3, 3>;
  using BSpline = itk::BSplineTransform<double, 3, 3>;
  const itk::TransformBaseTemplate<double>* first = list->front().GetPointer();
  const BSpline* bs = nullptr;
  // A composite [affine, B-spline] as mrivol-register writes it.
  if (const auto* comp = dynamic_cast<const itk::CompositeTransform<double, 3>*>(first)) {
    const auto n = comp->GetNumberOfTransforms();
    if (n < 1 || n > 2)
      throw InputError(path, "composite transform: expected an affine and optionally a B-spline");
    first = comp->GetNthTransformConstPointer(0);
    if (n == 2) {
      bs = dynamic_cast<const BSpline*>(comp->GetNthTransformConstPointer(1));
      if (!bs)
        throw InputError(path, std::string("composite transform: unsupported second transform ") +
                                   comp->GetNthTransformConstPointer(1)->GetNameOfClass());
    }
  }
  const auto* mo = dynamic_cast<const Base*>(first);
  if (!mo) throw InputError(path, std::string("unsupported transform type ") + first->GetNameOfClass());
  Transform t;
  t.kind = "affine";
  if (bs) {
    auto field = std::make_shared<BSplineField>();
    field->grid = geometry_from_itk(bs->GetCoefficientImages()[0].GetPointer());
    const auto& p = bs->GetParameters();
    field->coefficients.assign(p.begin(), p.end());
    for (double v : field->coefficients)
      if (!std::isfinite(v)) throw InputError(path, "transform contains NaN or infinite values");
    t.kind = "bspline";
    t.deformation = field;
  }
  for (int rr = 0; rr < 3; ++rr) {
    for (int c = 0; c < 3; ++c) t.matrix[3 * rr + c] = mo->GetMatrix()[rr][c];
    t.translation[rr] = mo->GetOffset()[rr];
  }
  for (double v : t.matrix)
    if (!std::isfinite(v)) throw InputError(path, "transform contains NaN or infinite values");
  for (double v : t.translation)
    if (!std::isfinite(v)) throw InputError(path, "transform contains NaN or infinite values");
  return t;
}

}  // namespace io
}  // namespace mrivol
