// The BLAS backend: cblas_sgemm from a CBLAS (OpenBLAS on Debian), opened with dlopen at run time so
// the addon itself links no BLAS: a machine without one still loads it and reports why blas is off.
#pragma once

#include <memory>

#include "kindred/backend/backend.h"

namespace kindred::backend::blas {

// Opens the CBLAS library and returns the backend, or nullptr with info.reason set.
// Libraries tried in order: $KINDRED_BLAS_LIBRARY, the library CMake found at build time, then the
// usual sonames (libopenblas.so.0, libblas.so.3, libcblas.so.3, libmkl_rt.so).
std::unique_ptr<Backend> probe(BackendInfo& info);

}  // namespace kindred::backend::blas
