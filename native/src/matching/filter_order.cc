#include "kindred/matching/filter_order.h"

#include <algorithm>

#include "kindred/core/check.h"

namespace kindred::matching {

FilterOrder::FilterOrder(const HardFilters& filters, std::size_t n) : filters_(filters) {
  if (filters.mutual.empty() || n < 2) return;
  // One 64-bit key per user and mutual filter, attr above accepts, user by user: the sort then
  // compares contiguous keys instead of reaching into every filter's arrays (2,000 users: 150 → 125 µs).
  const std::size_t count = filters.mutual.size();
  std::vector<std::uint64_t> keys(mul_or_throw(n, count, "filter order: keys"));
  for (std::size_t f = 0; f < count; ++f) {
    const MutualFilter& m = filters.mutual[f];
    for (std::size_t i = 0; i < n; ++i) keys[i * count + f] = (static_cast<std::uint64_t>(m.attr[i]) << 32) | m.accepts[i];
  }
  // Ties go to the lower pool index: the order is stable.
  auto before = [&](std::size_t a, std::size_t b) {
    const std::uint64_t* ka = keys.data() + a * count;
    const std::uint64_t* kb = keys.data() + b * count;
    for (std::size_t f = 0; f < count; ++f) {
      if (ka[f] != kb[f]) return ka[f] < kb[f];
    }
    return a < b;
  };
  bool sorted = true;
  for (std::size_t i = 1; i < n && sorted; ++i) sorted = before(i - 1, i);
  if (sorted) return;

  order_.resize(n);
  for (std::size_t i = 0; i < n; ++i) order_[i] = static_cast<std::int32_t>(i);
  std::sort(order_.begin(), order_.end(),
            [&](std::int32_t a, std::int32_t b) { return before(static_cast<std::size_t>(a), static_cast<std::size_t>(b)); });
  std::vector<std::int32_t> rank(n);  // rank[i]: user i's row in filter order
  for (std::size_t k = 0; k < n; ++k) rank[static_cast<std::size_t>(order_[k])] = static_cast<std::int32_t>(k);

  auto reordered = [&](const auto* values, auto& store) {
    auto& copy = store.emplace_back(n);
    for (std::size_t k = 0; k < n; ++k) copy[k] = values[order_[k]];
    return copy.data();
  };
  for (MutualFilter& m : filters_.mutual) {
    m.attr = reordered(m.attr, attr_);
    m.accepts = reordered(m.accepts, words_);
  }
  for (const std::uint32_t*& o : filters_.overlap) o = reordered(o, words_);
  if (filters.blocked_pairs > 0) {
    blocked_.resize(mul_or_throw(filters.blocked_pairs, 2, "filter order: blocked ids"));
    for (std::size_t k = 0; k < blocked_.size(); ++k) {
      const std::int32_t id = filters.blocked[k];
      KINDRED_CHECK(id >= 0 && static_cast<std::size_t>(id) < n, "filter order: blocked[", k, "] = ", id,
                    " is out of range [0, ", n, ")");
      blocked_[k] = rank[static_cast<std::size_t>(id)];
    }
    filters_.blocked = blocked_.data();
  }
}

ConstMatrix FilterOrder::rows(ConstMatrix m) {
  if (identity()) return m;
  KINDRED_CHECK(m.rows == order_.size(), "filter order: a matrix of ", m.rows, " rows for a pool of ", order_.size());
  auto& copy = matrices_.emplace_back(mul_or_throw(m.rows, m.cols, "filter order: rows"));
  for (std::size_t k = 0; k < m.rows; ++k) {
    std::copy_n(m.row(static_cast<std::size_t>(order_[k])), m.cols, copy.data() + k * m.cols);
  }
  return ConstMatrix(copy.data(), m.rows, m.cols);
}

void FilterOrder::to_pool_order(std::vector<std::int32_t>& mate) const {
  if (identity()) return;
  std::vector<std::int32_t> pool(mate.size(), -1);
  for (std::size_t k = 0; k < mate.size(); ++k) {
    if (mate[k] >= 0) pool[static_cast<std::size_t>(order_[k])] = order_[static_cast<std::size_t>(mate[k])];
  }
  mate.swap(pool);
}

}  // namespace kindred::matching
