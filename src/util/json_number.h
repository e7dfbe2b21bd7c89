// Numbers in JSON and in messages: JSON has no infinity or NaN, so report
// and validation figures write ±inf as the strings "+inf"/"-inf" and NaN as
// null (exact round trips, e.g. identical outputs, have an infinite SQNR).
#ifndef PQ_UTIL_JSON_NUMBER_H_
#define PQ_UTIL_JSON_NUMBER_H_

#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace pq {

// Returns "+inf" or "-inf". REQUIRES: std::isinf(v).
inline const char* InfinityName(double v) { return v > 0 ? "+inf" : "-inf"; }

// Returns `v` as a JSON number, "+inf"/"-inf" for infinities, null for NaN.
inline nlohmann::ordered_json JsonNumber(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return InfinityName(v);
  return v;
}

// Returns `v` with 6 significant digits ("%.6g"), as messages quote figures.
inline std::string MessageNumber(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

}  // namespace pq

#endif  // PQ_UTIL_JSON_NUMBER_H_
