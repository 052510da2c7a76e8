// The backend registry: which backends exist in this build, which can run on this machine, and why
// not. Built lazily on first use (probing CUDA costs time), then immutable and shared by all threads.
#pragma once

#include <string_view>
#include <vector>

#include "kindred/backend/backend.h"

namespace kindred::backend {

// Every backend family this library knows, in priority order (cuda > blas > portable), with
// available = false and a reason for the ones that cannot run here.
const std::vector<BackendInfo>& list();

// The highest-priority available backend. Always succeeds: portable is always built.
Backend& best();

// The backend named `name` ("auto" means best()). Throws Code::kBackendUnavailable listing every
// reason when it is unknown or unavailable, and Code::kInvalidArgument for an unknown name.
Backend& by_name(std::string_view name);

}  // namespace kindred::backend
