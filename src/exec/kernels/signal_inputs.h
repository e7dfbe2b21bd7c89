// Inputs and attributes the signal kernels share: window generators
// (signal.cc), DFT/STFT (dft.cc) and MelWeightMatrix (mel_weight_matrix.cc).
#ifndef PQ_EXEC_KERNELS_SIGNAL_INPUTS_H_
#define PQ_EXEC_KERNELS_SIGNAL_INPUTS_H_

#include <cstdint>

#include "exec/kernel.h"

namespace pq::exec::signal {

// Reads input `i`, one int32 or int64 value of rank 0 or 1, into `*value`.
// Errors (naming `what`, its type and shape): any other input.
Status ScalarInt(const KernelContext& ctx, int i, const char* what, int64_t* value);

// The executor type of the output_datatype attribute (default float).
// Errors: a value that is no tensor type; kNotSupported for a type the
// kernels cannot store.
Status OutputDatatype(const KernelContext& ctx, int32_t* dtype);

}  // namespace pq::exec::signal

#endif  // PQ_EXEC_KERNELS_SIGNAL_INPUTS_H_
