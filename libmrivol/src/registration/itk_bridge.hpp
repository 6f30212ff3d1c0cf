// Internal: Volume <-> itk::Image<float, 3> (copies; geometry exact).
#pragma once

#include <itkImage.h>

#include "mrivol/core/volume.hpp"

namespace mrivol {

using ItkImage = itk::Image<float, 3>;

inline ItkImage::Pointer to_itk(const Volume& v, std::size_t t = 0) {
  auto img = ItkImage::New();
  ItkImage::SizeType size;
  ItkImage::SpacingType sp;
  ItkImage::PointType org;
  ItkImage::DirectionType dir;
  for (unsigned i = 0; i < 3; ++i) {
    size[i] = v.geom.size[i];
    sp[i] = v.geom.spacing[i];
    org[i] = v.geom.origin[i];
    for (unsigned j = 0; j < 3; ++j) dir[i][j] = v.geom.direction[3 * i + j];
  }
  img->SetRegions(ItkImage::RegionType(size));
  img->SetSpacing(sp);
  img->SetOrigin(org);
  img->SetDirection(dir);
  img->Allocate();
  const std::size_t n = v.geom.voxels();
  std::copy(v.data.begin() + static_cast<long>(t * n), v.data.begin() + static_cast<long>((t + 1) * n),
            img->GetBufferPointer());
  return img;
}

inline Volume from_itk(const ItkImage* img) {
  Volume v;
  const auto size = img->GetLargestPossibleRegion().GetSize();
  for (unsigned i = 0; i < 3; ++i) {
    v.geom.size[i] = size[i];
    v.geom.spacing[i] = img->GetSpacing()[i];
    v.geom.origin[i] = img->GetOrigin()[i];
    for (unsigned j = 0; j < 3; ++j) v.geom.direction[3 * i + j] = img->GetDirection()[i][j];
  }
  v.data.assign(img->GetBufferPointer(), img->GetBufferPointer() + v.geom.voxels());
  return v;
}

}  // namespace mrivol
