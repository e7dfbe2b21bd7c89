// Tests of src/data/dataset.cc and src/data/npz.cc: every data layout, and
// shape/dtype checks against the model's inputs before anything runs.
#include "pq/dataset.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "exec/kernel_test_util.h"
#include "onnx/onnx_pb.h"
#include "pq/npy.h"
#include "pq/npz.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

TensorInfo Input(const std::string& name, int32_t dtype, std::vector<int64_t> dims) {
  TensorInfo info;
  info.name = name;
  info.dtype = dtype;
  info.has_shape = true;
  info.dims = dims;
  info.dim_names.assign(dims.size(), "");
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) info.dim_names[i] = "batch";
  }
  return info;
}

Tensor Sequence(std::vector<int64_t> shape) {
  Tensor t = Tensor::Allocate(kFloat, shape).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

TEST(DatasetTest, NpySamplesAlongTheBatchAxis) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(Sequence({5, 1, 2, 2})));
  auto data = Dataset::Open({dir.File("x.npy")}, {Input("input", kFloat, {-1, 1, 2, 2})});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data.value()->num_samples(), 5);
  auto batch = data.value()->Batch(1, 3);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  const Tensor& t = batch.value().at("input");
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{3, 1, 2, 2}));
  EXPECT_EQ(t.data<float>()[0], 4.0f);  // sample 1 starts at element 4
}

TEST(DatasetTest, NpyRowsThatAreWholeFeeds) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(Sequence({4, 1, 3})));
  auto data = Dataset::Open({dir.File("x.npy")}, {Input("x", kFloat, {1, 3})});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  auto batch = data.value()->Batch(2, 1);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch.value().at("x").shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(batch.value().at("x").data<float>()[0], 6.0f);
  // A fixed batch dim of 1 cannot take two samples at once.
  EXPECT_FALSE(data.value()->Batch(0, 2).ok());
}

TEST(DatasetTest, RefusesShapeMismatchBeforeRunning) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(Sequence({5, 1, 3, 3})));
  auto data = Dataset::Open({dir.File("x.npy")}, {Input("input", kFloat, {-1, 1, 2, 2})});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kInvalidInput);
  const std::string& m = data.status().message();
  EXPECT_NE(m.find("x.npy"), std::string::npos) << m;
  EXPECT_NE(m.find("[5, 1, 3, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[batch, 1, 2, 2]"), std::string::npos) << m;
}

TEST(DatasetTest, RefusesDtypeMismatch) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(testing::Int64s({2, 2}, {1, 2, 3, 4})));
  auto data = Dataset::Open({dir.File("x.npy")}, {Input("x", kFloat, {-1, 2})});
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("is int64, input 'x' needs float"), std::string::npos)
      << data.status().message();
}

TEST(DatasetTest, NpzKeyedByInputName) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteNpz(dir.File("d.npz"),
                       {{"a", Sequence({3, 2})}, {"b", testing::Int64s({3, 1}, {7, 8, 9})}}, false)
                  .ok());
  auto data = Dataset::Open({dir.File("d.npz")},
                            {Input("a", kFloat, {-1, 2}), Input("b", kInt64, {-1, 1})});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  auto batch = data.value()->Batch(2, 1);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch.value().at("b").data<int64_t>()[0], 9);
  EXPECT_EQ(batch.value().at("a").data<float>()[1], 5.0f);
}

TEST(DatasetTest, NpzRefusesMissingInputAndUnequalCounts) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteNpz(dir.File("d.npz"), {{"a", Sequence({3, 2})}}, false).ok());
  auto missing = Dataset::Open({dir.File("d.npz")},
                               {Input("a", kFloat, {-1, 2}), Input("b", kFloat, {-1, 2})});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no array for input 'b'"), std::string::npos);
  ASSERT_TRUE(WriteNpz(dir.File("e.npz"), {{"a", Sequence({3, 2})}, {"b", Sequence({4, 2})}}, false)
                  .ok());
  auto unequal = Dataset::Open({dir.File("e.npz")},
                               {Input("a", kFloat, {-1, 2}), Input("b", kFloat, {-1, 2})});
  ASSERT_FALSE(unequal.ok());
  EXPECT_NE(unequal.status().message().find("has 4 samples"), std::string::npos)
      << unequal.status().message();
}

TEST(DatasetTest, NpzThatIsNotAZip) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("d.npz"), "definitely not a zip archive");
  auto data = Dataset::Open({dir.File("d.npz")}, {Input("a", kFloat, {-1, 2})});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(data.status().message().find("d.npz"), std::string::npos);
}

TEST(DatasetTest, FolderInSortedOrder) {
  testing::TempDir dir;
  Tensor first = Sequence({2, 2});
  Tensor second = testing::Floats({1, 2}, {100, 101});
  testing::WriteFile(dir.File("b.npy"), EncodeNpy(second));
  testing::WriteFile(dir.File("a.npy"), EncodeNpy(first));
  testing::WriteFile(dir.File("notes.txt"), "ignored");
  auto data = Dataset::Open({dir.path()}, {Input("x", kFloat, {-1, 2})});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data.value()->num_samples(), 3);
  EXPECT_EQ(data.value()->Batch(2, 1).value().at("x").data<float>()[0], 100.0f);
  EXPECT_EQ(data.value()->files()[0].path, dir.File("a.npy"));
}

TEST(DatasetTest, OnnxTestDataLayout) {
  testing::TempDir dir;
  for (int set = 0; set < 2; ++set) {
    const std::string set_dir = dir.File("test_data_set_" + std::to_string(set));
    ASSERT_EQ(mkdir(set_dir.c_str(), 0755), 0);
    onnx::TensorProto proto;
    proto.set_name("x");
    proto.set_data_type(onnx::TensorProto::FLOAT);
    proto.add_dims(1);
    proto.add_dims(2);
    proto.add_float_data(static_cast<float>(set));
    proto.add_float_data(0.5f);
    testing::WriteFile(set_dir + "/input_0.pb", proto.SerializeAsString());
  }
  auto data = Dataset::Open({dir.path()}, {Input("x", kFloat, {-1, 2})});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data.value()->num_samples(), 2);
  auto both = data.value()->Batch(0, 2);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(testing::Values(both.value().at("x")), (std::vector<double>{0, 0.5, 1, 0.5}));
}

TEST(DatasetTest, MultiInputModelRefusesPlainNpy) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(Sequence({2, 2})));
  auto data = Dataset::Open({dir.File("x.npy")},
                            {Input("a", kFloat, {-1, 2}), Input("b", kFloat, {-1, 2})});
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("single-input"), std::string::npos);
}

TEST(NpzTest, WritesDeterministicArchives) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, Tensor>> arrays = {{"y", Sequence({2, 3})}};
  ASSERT_TRUE(WriteNpz(dir.File("a.npz"), arrays, false).ok());
  ASSERT_TRUE(WriteNpz(dir.File("b.npz"), arrays, false).ok());
  EXPECT_EQ(testing::ReadFile(dir.File("a.npz")), testing::ReadFile(dir.File("b.npz")));
  Status again = WriteNpz(dir.File("a.npz"), arrays, false);
  EXPECT_EQ(again.code(), Status::Code::kOutputError);
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"a.npz", "b.npz"}));
}

}  // namespace
}  // namespace pq
