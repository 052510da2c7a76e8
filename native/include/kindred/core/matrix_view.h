// A non-owning row-major matrix view: the only way matrices cross between core, backends and addon.
#pragma once

#include <cstddef>

namespace kindred {

template <typename T>
struct MatrixView {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t stride = 0;  // elements between row starts; >= cols

  MatrixView() = default;
  MatrixView(T* d, std::size_t r, std::size_t c) : data(d), rows(r), cols(c), stride(c) {}
  MatrixView(T* d, std::size_t r, std::size_t c, std::size_t s) : data(d), rows(r), cols(c), stride(s) {}

  T* row(std::size_t i) const noexcept { return data + i * stride; }
  bool empty() const noexcept { return rows == 0 || cols == 0; }

  // Rows [begin, begin + count) as their own view.
  MatrixView row_block(std::size_t begin, std::size_t count) const noexcept {
    return MatrixView(data + begin * stride, count, cols, stride);
  }
};

using ConstMatrix = MatrixView<const float>;
using MutableMatrix = MatrixView<float>;

}  // namespace kindred
