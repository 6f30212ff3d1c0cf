// Internal: Volume/Transform <-> ITK (copies; geometry exact). The one place
// where mrivol's LPS geometry meets ITK's image and transform types.
#pragma once

#include <itkAffineTransform.h>
#include <itkBSplineTransform.h>
#include <itkCompositeTransform.h>
#include <itkImage.h>

#include <memory>

#include "mrivol/core/transform.hpp"
#include "mrivol/core/volume.hpp"

namespace mrivol {

using ItkImage = itk::Image<float, 3>;

/// Set size, spacing, origin and direction of an ITK image (3 spatial axes;
/// extra axes of a 4D image get size `extra`, spacing `extra_spacing`).
template <class Img>
void set_itk_geometry(Img* img, const Geometry& g, std::size_t extra = 1, double extra_spacing = 1.0) {
  typename Img::SizeType size;
  typename Img::SpacingType sp;
  typename Img::PointType org;
  typename Img::DirectionType dir;
  dir.SetIdentity();
  for (unsigned i = 0; i < 3; ++i) {
    size[i] = g.size[i];
    sp[i] = g.spacing[i];
    org[i] = g.origin[i];
    for (unsigned j = 0; j < 3; ++j) dir[i][j] = g.direction[3 * i + j];
  }
  for (unsigned i = 3; i < Img::ImageDimension; ++i) {
    size[i] = extra;
    sp[i] = extra_spacing;
    org[i] = 0;
  }
  img->SetRegions(typename Img::RegionType(size));
  img->SetSpacing(sp);
  img->SetOrigin(org);
  img->SetDirection(dir);
}

/// The spatial geometry of an ITK image (first three axes).
template <class Img>
Geometry geometry_from_itk(const Img* img) {
  Geometry g;
  const auto size = img->GetLargestPossibleRegion().GetSize();
  for (unsigned i = 0; i < 3; ++i) {
    g.size[i] = size[i];
    g.spacing[i] = img->GetSpacing()[i];
    g.origin[i] = img->GetOrigin()[i];
    for (unsigned j = 0; j < 3; ++j) g.direction[3 * i + j] = img->GetDirection()[i][j];
  }
  return g;
}

inline ItkImage::Pointer to_itk(const Volume& v, std::size_t t = 0) {
  auto img = ItkImage::New();
  set_itk_geometry(img.GetPointer(), v.geom);
  img->Allocate();
  const std::size_t n = v.geom.voxels();
  std::copy(v.data.begin() + static_cast<long>(t * n), v.data.begin() + static_cast<long>((t + 1) * n),
            img->GetBufferPointer());
  return img;
}

inline Volume from_itk(const ItkImage* img) {
  Volume v;
  v.geom = geometry_from_itk(img);
  v.data.assign(img->GetBufferPointer(), img->GetBufferPointer() + v.geom.voxels());
  return v;
}

inline itk::AffineTransform<double, 3>::Pointer to_itk_affine(const Transform& t) {
  auto a = itk::AffineTransform<double, 3>::New();
  itk::AffineTransform<double, 3>::MatrixType m;
  itk::AffineTransform<double, 3>::OutputVectorType off;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) m[r][c] = t.matrix[3 * r + c];
    off[r] = t.translation[r];
  }
  a->SetMatrix(m);
  a->SetOffset(off);
  return a;
}

/// ITK's cubic B-spline transform holding `f` (its coefficient images).
inline itk::BSplineTransform<double, 3, 3>::Pointer to_itk_bspline(const BSplineField& f) {
  using B = itk::BSplineTransform<double, 3, 3>;
  auto b = B::New();
  B::CoefficientImageArray images;
  const std::size_t n = f.grid.voxels();
  for (unsigned a = 0; a < 3; ++a) {
    images[a] = B::ImageType::New();
    set_itk_geometry(images[a].GetPointer(), f.grid);
    images[a]->Allocate();
    std::copy(f.coefficients.begin() + static_cast<long>(a * n),
              f.coefficients.begin() + static_cast<long>((a + 1) * n), images[a]->GetBufferPointer());
  }
  b->SetCoefficientImages(images);
  return b;
}

/// The whole transform for ITK: the affine alone, or a composite
/// [affine, B-spline] (ITK applies the B-spline first).
inline itk::Transform<double, 3, 3>::Pointer to_itk_transform(const Transform& t) {
  auto a = to_itk_affine(t);
  if (!t.deformation) return a.GetPointer();
  auto c = itk::CompositeTransform<double, 3>::New();
  c->AddTransform(a);
  c->AddTransform(to_itk_bspline(*t.deformation));
  return c.GetPointer();
}

}  // namespace mrivol
