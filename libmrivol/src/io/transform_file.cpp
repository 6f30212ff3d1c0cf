#include "mrivol/io/transform_file.hpp"

#include <itkAffineTransform.h>
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
  });
}
}  // namespace

void write_transform(const Transform& t, const std::string& path, bool overwrite) {
  register_transform_io();
  AtomicOutput out(path, overwrite);
  auto a = to_itk_affine(t);
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
  if (!list || list->size() != 1)
    throw InputError(path, "expected exactly one transform (composite files are not supported yet)");
  using Base = itk::MatrixOffsetTransformBase<double, 3, 3>;
  const auto* mo = dynamic_cast<const Base*>(list->front().GetPointer());
  if (!mo)
    throw InputError(path, std::string("unsupported transform type ") + list->front()->GetNameOfClass());
  Transform t;
  t.kind = "affine";
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
