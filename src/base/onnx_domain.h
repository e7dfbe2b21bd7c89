// The default ONNX operator-set domain, which models name either "" or
// "ai.onnx".
#ifndef PQ_BASE_ONNX_DOMAIN_H_
#define PQ_BASE_ONNX_DOMAIN_H_

#include <string>

namespace pq {

// The name of the default domain as pq reports it.
inline constexpr const char* kDefaultDomain = "ai.onnx";

// Returns true if `domain` names the default domain ("" or "ai.onnx").
inline bool IsDefaultDomain(const std::string& domain) {
  return domain.empty() || domain == kDefaultDomain;
}

// Returns "ai.onnx" for the default domain, `domain` itself otherwise.
inline std::string DomainName(const std::string& domain) {
  return IsDefaultDomain(domain) ? kDefaultDomain : domain;
}

}  // namespace pq

#endif  // PQ_BASE_ONNX_DOMAIN_H_
