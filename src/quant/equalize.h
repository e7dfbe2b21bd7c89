// Cross-layer equalization's numbers (Nagel et al., 2019, "Data-Free
// Quantization Through Weight Equalization and Bias Correction"): for two
// Convs with only positive-homogeneous ops between them (f(s x) = s f(x) for
// s > 0, e.g. Relu), output channel i of the first and input channel i of
// the second can trade a factor s_i > 0 without changing what they compute:
//   W1[i] <- W1[i] / s_i,  b1[i] <- b1[i] / s_i,  W2[:, i] <- W2[:, i] * s_i.
// With r1_i = max|W1[i]| and r2_i = max|W2[:, i]|, s_i = sqrt(r1_i r2_i) / r2_i
// makes both ranges sqrt(r1_i r2_i): the two weights' channels are balanced.
// The graph side (which pairs, the exactness check) is equalize_stage.h.
#ifndef PQ_QUANT_EQUALIZE_H_
#define PQ_QUANT_EQUALIZE_H_

#include <cstdint>
#include <vector>

namespace pq::quant {

// A channel whose range on either side is below this keeps s_i = 1: its
// ratio says nothing, and a dead channel would get an absurd scale.
inline constexpr float kEqualizeMinRange = 1e-8f;

// A Conv weight [M, C / group, k...] as equalization sees it.
struct ConvWeight {
  std::vector<int64_t> dims;
  std::vector<float> values;
  int64_t group = 1;
};

// max |w| over each output channel (dims[0] rows). REQUIRES: dims not empty.
std::vector<float> OutputChannelRanges(const ConvWeight& w);

// max |w| over each input channel of the Conv's input (dims[1] * group of
// them): channel i lives in group i / dims[1], as local channel i % dims[1],
// and is read by that group's dims[0] / group output channels.
// REQUIRES: dims has at least 2 entries, dims[0] divisible by group.
std::vector<float> InputChannelRanges(const ConvWeight& w);

// s_i = sqrt(r1_i * r2_i) / r2_i, computed in double; 1 where either range is
// below kEqualizeMinRange or not finite. REQUIRES: equal sizes.
std::vector<float> EqualizationScales(const std::vector<float>& r1, const std::vector<float>& r2);

// Divides output channel i of `w` (and bias[i], when `bias` is not null and
// not empty) by s[i]. REQUIRES: s has dims[0] entries.
void DivideOutputChannels(const std::vector<float>& s, ConvWeight* w, std::vector<float>* bias);

// Multiplies input channel i of `w` (InputChannelRanges' numbering) by s[i].
// REQUIRES: s has dims[1] * group entries.
void MultiplyInputChannels(const std::vector<float>& s, ConvWeight* w);

// min_i r_i / max_i r_i: 1 when every channel uses the whole per-tensor
// range, near 0 when some channel uses almost none of it (0 for no channels
// or an all-zero weight).
double ChannelRangeRatio(const std::vector<float>& ranges);

}  // namespace pq::quant

#endif  // PQ_QUANT_EQUALIZE_H_
