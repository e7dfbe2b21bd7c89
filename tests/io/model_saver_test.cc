#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

using testing::ReadFile;
using testing::TempDir;

std::unique_ptr<Model> MustLoad(const std::string& path) {
  Result<std::unique_ptr<Model>> model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

// A model with two large-enough weights, saved with external data by pq.
std::string MakeExternalModel(const TempDir& dir) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  *proto.mutable_graph()->mutable_initializer(0) = testing::RandomFloatTensor("W", {4, 3}, 3);
  testing::SaveProto(proto, dir.File("inline.onnx"));
  std::unique_ptr<Model> model = MustLoad(dir.File("inline.onnx"));
  SaveOptions options;
  options.external_data = true;
  options.external_threshold = 1;
  Result<SaveResult> saved = SaveModel(*model, dir.File("ext.onnx"), options);
  EXPECT_TRUE(saved.ok()) << saved.status().ToString();
  return dir.File("ext.onnx");
}

TEST(ModelSaverTest, SampleModelsRoundTripExactly) {
  int checked = 0;
  for (const char* name : {"fashion_cnn.onnx", "fashion_vit.onnx"}) {
    const std::string path = testing::ModelsDir() + "/" + name;
    if (!testing::Exists(path)) continue;
    ++checked;
    std::unique_ptr<Model> model = MustLoad(path);
    ASSERT_NE(model, nullptr);
    TempDir dir;
    ASSERT_TRUE(SaveModel(*model, dir.File("copy.onnx"), {}).ok());
    std::unique_ptr<Model> copy = MustLoad(dir.File("copy.onnx"));
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->proto().SerializeAsString(), model->proto().SerializeAsString()) << name;
    ASSERT_EQ(copy->constants().size(), model->constants().size());
  }
  EXPECT_EQ(checked, 2) << "the sample models are missing from models/";
}

TEST(ModelSaverTest, SavingTwiceGivesIdenticalBytes) {
  TempDir dir;
  testing::SaveProto(testing::TinyConstantNodeModel(), dir.File("in.onnx"));
  std::unique_ptr<Model> model = MustLoad(dir.File("in.onnx"));
  ASSERT_TRUE(SaveModel(*model, dir.File("a.onnx"), {}).ok());
  ASSERT_TRUE(SaveModel(*model, dir.File("b.onnx"), {}).ok());
  EXPECT_EQ(ReadFile(dir.File("a.onnx")), ReadFile(dir.File("b.onnx")));
  // Constant-node weights survive the round trip as Constant nodes.
  std::unique_ptr<Model> reloaded = MustLoad(dir.File("a.onnx"));
  EXPECT_EQ(reloaded->FindConstant("W")->source, ConstantSource::kConstantNode);
}

TEST(ModelSaverTest, ReportsTheDigestOfTheDataFileItWrote) {
  TempDir dir;
  std::unique_ptr<Model> model = MustLoad(MakeExternalModel(dir));
  ASSERT_NE(model, nullptr);
  SaveOptions options;
  options.external_data = true;
  options.external_threshold = 1;
  Result<SaveResult> saved = SaveModel(*model, dir.File("again.onnx"), options);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  Result<std::string> on_disk = Sha256File(saved->data_path);
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(saved->data_sha256, on_disk.value());
  // Inline saving writes no data file and reports no digest.
  Result<SaveResult> inline_saved = SaveModel(*model, dir.File("inline_again.onnx"), {});
  ASSERT_TRUE(inline_saved.ok());
  EXPECT_EQ(inline_saved->data_sha256, "");
}

TEST(ModelSaverTest, ExternalDataLoadsAndResavesIdentically) {
  TempDir dir;
  const std::string ext = MakeExternalModel(dir);
  ASSERT_TRUE(testing::Exists(ext + ".data"));
  std::unique_ptr<Model> inline_model = MustLoad(dir.File("inline.onnx"));
  std::unique_ptr<Model> model = MustLoad(ext);
  ASSERT_NE(model, nullptr);
  const ConstantTensor* w = model->FindConstant("W");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->external);
  EXPECT_EQ(w->external_location, "ext.onnx.data");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w->data), 48),
            std::string(reinterpret_cast<const char*>(inline_model->FindConstant("W")->data), 48));
  ASSERT_EQ(model->ExternalFiles().size(), 1u);

  // Re-saving with external data in another folder gives the same bytes.
  TempDir other;
  SaveOptions options;
  options.external_data = true;
  options.external_threshold = 1;
  ASSERT_TRUE(SaveModel(*model, other.File("ext.onnx"), options).ok());
  EXPECT_EQ(ReadFile(other.File("ext.onnx")), ReadFile(ext));
  EXPECT_EQ(ReadFile(other.File("ext.onnx.data")), ReadFile(ext + ".data"));

  // Saving inline brings the data back into the model, byte for byte.
  ASSERT_TRUE(SaveModel(*model, other.File("back.onnx"), {}).ok());
  EXPECT_EQ(ReadFile(other.File("back.onnx")), ReadFile(dir.File("inline.onnx")));
}

TEST(ModelSaverTest, RefusesToOverwriteTheInput) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  const std::string before = ReadFile(dir.File("m.onnx"));
  std::unique_ptr<Model> model = MustLoad(dir.File("m.onnx"));
  SaveOptions force;
  force.force = true;
  Result<SaveResult> saved = SaveModel(*model, dir.File("./m.onnx"), force);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), Status::Code::kOutputError);
  EXPECT_NE(saved.status().message().find("is the input model"), std::string::npos);
  EXPECT_EQ(ReadFile(dir.File("m.onnx")), before);
  EXPECT_EQ(dir.List(), std::vector<std::string>{"m.onnx"});
}

TEST(ModelSaverTest, RefusesToOverwriteTheInputsExternalData) {
  TempDir dir;
  const std::string ext = MakeExternalModel(dir);
  std::unique_ptr<Model> model = MustLoad(ext);
  const std::string data_before = ReadFile(ext + ".data");
  SaveOptions force;
  force.force = true;
  Result<SaveResult> saved = SaveModel(*model, ext + ".data", force);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), Status::Code::kOutputError);
  EXPECT_EQ(ReadFile(ext + ".data"), data_before);
}

TEST(ModelSaverTest, RefusesExistingOutputUnlessForced) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  testing::WriteFile(dir.File("out.onnx"), "keep me");
  std::unique_ptr<Model> model = MustLoad(dir.File("m.onnx"));
  Result<SaveResult> saved = SaveModel(*model, dir.File("out.onnx"), {});
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), Status::Code::kOutputError);
  EXPECT_NE(saved.status().message().find("--force"), std::string::npos);
  EXPECT_EQ(ReadFile(dir.File("out.onnx")), "keep me");
  SaveOptions force;
  force.force = true;
  ASSERT_TRUE(SaveModel(*model, dir.File("out.onnx"), force).ok());
  EXPECT_EQ(ReadFile(dir.File("out.onnx")), ReadFile(dir.File("m.onnx")));
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"m.onnx", "out.onnx"}));
}

TEST(ModelSaverTest, MissingOrUnwritableFolderLeavesNothing) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  std::unique_ptr<Model> model = MustLoad(dir.File("m.onnx"));
  Result<SaveResult> saved = SaveModel(*model, dir.File("no/such/out.onnx"), {});
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), Status::Code::kOutputError);
  // /proc refuses new files even to root.
  saved = SaveModel(*model, "/proc/pq_out.onnx", {});
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().code(), Status::Code::kOutputError);
  EXPECT_EQ(dir.List(), std::vector<std::string>{"m.onnx"});
}

TEST(ModelSaverTest, SavedFilesHaveOrdinaryPermissions) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  std::unique_ptr<Model> model = MustLoad(dir.File("m.onnx"));
  ASSERT_TRUE(SaveModel(*model, dir.File("out.onnx"), {}).ok());
  struct stat st;
  ASSERT_EQ(stat(dir.File("out.onnx").c_str(), &st), 0);
  const mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

}  // namespace
}  // namespace pq
