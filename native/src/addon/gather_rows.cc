#include "addon/gather_rows.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/errors.h"

namespace kindred::addon {
namespace {

// Rows asked for ahead of the one being copied: enough to cover a memory latency with copies.
constexpr std::size_t kPrefetchRows = 8;

Napi::Float32Array float32_at(const Napi::Array& array, uint32_t index, const char* name) {
  Napi::Env env = array.Env();
  const Napi::Value value = array.Get(index);
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array,
                                   env, std::string(name) + "[" + std::to_string(index) + "] must be a Float32Array");
  return value.As<Napi::Float32Array>();
}

}  // namespace

Napi::Value gather_rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() != 4, env, "gatherRows expects 4 arguments: pages, width, slots, targets");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[0].IsArray(), env, "pages must be an array of Float32Array");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[1].IsNumber(), env, "width must be a number");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array,
                                   env, "slots must be an Int32Array");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[3].IsArray() || info[3].As<Napi::Array>().Length() == 0, env,
                                   "targets must be a non-empty array of Float32Array");
  const double width_value = info[1].As<Napi::Number>().DoubleValue();
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(!(width_value >= 1 && width_value <= (1 << 24)) || width_value != std::floor(width_value),
                                    env, "width must be an integer in [1, 2^24]");
  const std::size_t width = static_cast<std::size_t>(width_value);
  Napi::Array page_array = info[0].As<Napi::Array>();
  Napi::Int32Array slot_array = info[2].As<Napi::Int32Array>();
  Napi::Array target_array = info[3].As<Napi::Array>();
  const std::size_t rows = slot_array.ElementLength();
  const std::size_t parts = target_array.Length();
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(width % parts != 0, env,
                                    "width " + std::to_string(width) + " does not split into " + std::to_string(parts) + " targets");
  const std::size_t part = width / parts;

  std::vector<Napi::Float32Array> page_views;
  std::vector<const float*> pages(page_array.Length());
  std::size_t page_length = 0;
  for (uint32_t p = 0; p < page_array.Length(); ++p) {
    Napi::Float32Array page = float32_at(page_array, p, "pages");
    if (p == 0) page_length = page.ElementLength();
    KINDRED_NAPI_THROW_RANGE_ERROR_IF(page.ElementLength() != page_length || page_length % width != 0 || page_length == 0, env,
                                      "pages must all hold the same whole number of rows of width " + std::to_string(width));
    pages[p] = page.Data();
    page_views.push_back(page);
  }
  std::vector<float*> targets(parts);
  for (uint32_t t = 0; t < parts; ++t) {
    Napi::Float32Array target = float32_at(target_array, t, "targets");
    const std::string name = "targets[" + std::to_string(t) + "]";
    KINDRED_NAPI_THROW_RANGE_ERROR_IF(target.ElementLength() / part < rows, env,
                                      name + " must hold at least " + std::to_string(rows) + " rows of " +
                                          std::to_string(part) + " floats but holds " +
                                          std::to_string(target.ElementLength()) + " floats");
    // The copy reads pages while it writes targets: they must be separate memory.
    for (const Napi::Float32Array& page : page_views) {
      KINDRED_NAPI_THROW_RANGE_ERROR_IF(overlaps(target, page), env, name + " must not overlap the pages");
    }
    targets[t] = target.Data();
  }
  const std::size_t page_rows = pages.empty() ? 0 : page_length / width;
  const std::int32_t* slots = slot_array.Data();
  // Every slot is checked before anything is copied: a bad call changes nothing.
  for (std::size_t i = 0; i < rows; ++i) {
    const std::int32_t slot = slots[i];
    KINDRED_NAPI_THROW_RANGE_ERROR_IF(slot >= 0 && (pages.empty() || static_cast<std::size_t>(slot) / page_rows >= pages.size()), env,
                                      "slots[" + std::to_string(i) + "] = " + std::to_string(slot) + " is past the " +
                                          std::to_string(pages.size() * page_rows) + " stored rows");
  }
  auto row_of = [&](std::int32_t slot) {
    const std::size_t s = static_cast<std::size_t>(slot);
    return pages[s / page_rows] + (s % page_rows) * width;
  };
  for (std::size_t i = 0; i < rows; ++i) {
    if (i + kPrefetchRows < rows && slots[i + kPrefetchRows] >= 0) {
      const char* ahead = reinterpret_cast<const char*>(row_of(slots[i + kPrefetchRows]));
      for (std::size_t byte = 0; byte < width * sizeof(float); byte += 64) __builtin_prefetch(ahead + byte);
    }
    if (slots[i] < 0) continue;
    const float* row = row_of(slots[i]);
    for (std::size_t t = 0; t < parts; ++t) std::memcpy(targets[t] + i * part, row + t * part, part * sizeof(float));
  }
  return env.Undefined();
}

}  // namespace kindred::addon
