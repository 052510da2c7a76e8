// The portable backend: plain C++ loops, always built. It is the fallback when no BLAS was found
// and the reference the other backends are tested against.
#pragma once

#include <memory>

#include "kindred/backend/backend.h"

namespace kindred::backend::portable {

std::unique_ptr<Backend> create();

}  // namespace kindred::backend::portable
