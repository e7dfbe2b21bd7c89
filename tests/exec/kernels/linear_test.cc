// Tests of src/exec/kernels/linear.cc (beyond ONNX's conformance cases).
#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"
