// JSON numbers for validation figures: JSON has no infinity, so ±inf become
// the strings "+inf"/"-inf" and NaN becomes null.
#ifndef PQ_SRC_VALIDATE_JSON_NUMBER_H_
#define PQ_SRC_VALIDATE_JSON_NUMBER_H_

#include <cmath>

#include <nlohmann/json.hpp>

namespace pq::validate {

inline nlohmann::ordered_json JsonNumber(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  return v;
}

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_JSON_NUMBER_H_
