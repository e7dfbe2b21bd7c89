// The [quantize.overrides] section of a --config file: per-tensor scheme
// overrides by name pattern, which CLI11's config reader cannot map to
// flags (it ignores the section), read here in file order:
//
//   [quantize.overrides]
//   "*down_proj*" = "int8-sym"   # fnmatch glob = a scheme name or "keep"
//   'lm_head*' = "keep"
//
// Keys are TOML basic ("…") or literal ('…') strings or bare keys; values
// are strings. `#` starts a comment outside quotes.
#ifndef PQ_TOOLS_CONFIG_OVERRIDES_H_
#define PQ_TOOLS_CONFIG_OVERRIDES_H_

#include <string>
#include <vector>

#include "pq/quantize.h"
#include "pq/status.h"

namespace pq::cli {

// The overrides of `path`'s [quantize.overrides] section (empty when it has
// none). Errors (kInvalidArgument): a file that cannot be read, a line of
// the section that is not `KEY = "VALUE"` (naming the file and line).
Result<std::vector<WeightOverride>> ReadConfigOverrides(const std::string& path);

// The same from the text of a config file; `origin` names it in errors.
Result<std::vector<WeightOverride>> ParseConfigOverrides(const std::string& text, const std::string& origin);

}  // namespace pq::cli

#endif  // PQ_TOOLS_CONFIG_OVERRIDES_H_
