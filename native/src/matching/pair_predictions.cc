#include "kindred/matching/pair_predictions.h"

#include <cmath>
#include <cstddef>

namespace kindred::matching {
namespace {

double predicted(const std::vector<Head>& heads, std::size_t a, std::size_t b) {
  double sum = 0.0;
  for (const Head& h : heads) {
    const float* u = h.user.row(a);
    const float* p = h.peer.row(b);
    double s = 0.0;
    for (std::size_t k = 0; k < h.user.cols; ++k) s += static_cast<double>(u[k]) * static_cast<double>(p[k]);
    const double y = h.transform.kind == Transform::Kind::kExp
                         ? std::exp(static_cast<double>(h.transform.w) * s + static_cast<double>(h.transform.b))
                         : s;
    sum += static_cast<double>(h.weight) * y;
  }
  return sum;
}

}  // namespace

std::vector<double> pair_predictions(const std::vector<Head>& heads, const std::vector<std::int32_t>& mate) {
  std::vector<double> out;
  for (std::size_t i = 0; i < mate.size(); ++i) {
    if (mate[i] < 0 || static_cast<std::size_t>(mate[i]) <= i) continue;
    const std::size_t j = static_cast<std::size_t>(mate[i]);
    out.push_back(predicted(heads, i, j));
    out.push_back(predicted(heads, j, i));
  }
  return out;
}

}  // namespace kindred::matching
