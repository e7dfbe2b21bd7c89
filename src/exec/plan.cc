#include "exec/plan.h"

#include <set>

#include "exec/value_types.h"

namespace pq::exec {

int PlanValues::Id(const std::string& name) {
  auto it = ids.find(name);
  if (it != ids.end()) return it->second;
  const int id = static_cast<int>(names.size());
  names.push_back(name);
  ids.emplace(name, id);
  constants.emplace_back();
  declared_dtypes.push_back(0);
  types.push_back(0);
  return id;
}

void SetReleases(const PlanValues& values, const std::vector<int>& keep,
                 std::vector<PlanStep>* steps) {
  std::vector<int> last_use(values.names.size(), -1);
  for (size_t s = 0; s < steps->size(); ++s) {
    (*steps)[s].release.clear();
    for (const std::vector<int>* ids : {&(*steps)[s].inputs, &(*steps)[s].captures}) {
      for (int id : *ids) {
        if (id >= 0) last_use[static_cast<size_t>(id)] = static_cast<int>(s);
      }
    }
  }
  const std::set<int> kept(keep.begin(), keep.end());
  for (size_t id = 0; id < last_use.size(); ++id) {
    if (last_use[id] < 0 || kept.count(static_cast<int>(id)) != 0 ||
        values.constants[id].defined()) {
      continue;
    }
    (*steps)[static_cast<size_t>(last_use[id])].release.push_back(static_cast<int>(id));
  }
}

void SetRounding(const PlanValues& values, const std::vector<bool>& rounded,
                 std::vector<PlanStep>* steps) {
  for (PlanStep& step : *steps) {
    step.input_types.clear();
    for (int id : step.inputs) {
      step.input_types.push_back(id >= 0 ? values.types[static_cast<size_t>(id)] : 0);
    }
    step.rounding.clear();
    bool any = false;
    for (int id : step.outputs) {
      const size_t v = static_cast<size_t>(id);
      const OutputRounding r = id >= 0 && v < rounded.size() && rounded[v]
                                   ? RoundingFor(values.types[v])
                                   : OutputRounding::kNone;
      step.rounding.push_back(r);
      any = any || r != OutputRounding::kNone;
    }
    if (!any) step.rounding.clear();
  }
}

}  // namespace pq::exec
