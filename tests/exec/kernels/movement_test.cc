// Tests of src/exec/kernels/movement.cc (beyond ONNX's conformance cases).
#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"
