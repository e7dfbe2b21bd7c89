// Direct tests of src/quant/scheme_registry.cc: the scheme table, MakeScheme
// and the shared 2-D MatMul/Gemm check of the blockwise schemes.
#include <gtest/gtest.h>

#include "pq/quantize.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

const std::vector<std::string> kSchemeNames = {"int8-sym", "int8-asym", "int8-dynamic",
                                               "nf4",      "int4-sym",  "int4-asym"};

TEST(SchemeRegistryTest, TableListsExactlyTheSchemesInOrder) {
  std::vector<std::string> names;
  for (const SchemeEntry& e : SchemeTable()) names.push_back(e.name);
  EXPECT_EQ(names, kSchemeNames);
  // Each row makes the scheme it is named after, with a summary.
  for (const SchemeEntry& e : SchemeTable()) {
    std::unique_ptr<Scheme> s = e.create(SchemeOptions{});
    ASSERT_NE(s, nullptr);
    EXPECT_STREQ(s->Name(), e.name);
    EXPECT_GT(std::string(s->Summary()).size(), 0u) << e.name;
  }
  // The public list (pq schemes, --help) reads the same table.
  std::vector<std::pair<std::string, std::string>> listed = pq::Schemes();
  ASSERT_EQ(listed.size(), kSchemeNames.size());
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].first, kSchemeNames[i]);
    EXPECT_EQ(listed[i].second, SchemeTable()[i].create({})->Summary());
  }
}

TEST(SchemeRegistryTest, MakeSchemeByNameAndRefusalListingAllNames) {
  for (const std::string& name : kSchemeNames) {
    auto s = MakeScheme(name);
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_EQ(s.value()->Name(), name);
  }
  auto bad = MakeScheme("nf5");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'nf5'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("int8-sym, int8-asym, int8-dynamic, nf4, int4-sym, int4-asym"),
            std::string::npos)
      << bad.status().message();
}

TEST(SchemeRegistryTest, BlockwiseMatMulWeightCheck) {
  std::string reason;
  EXPECT_TRUE(IsBlockwiseMatMulWeight({"MatMul", {8, 4}, false}, true, "x", &reason));
  EXPECT_TRUE(IsBlockwiseMatMulWeight({"Gemm", {8, 4}, true}, false, "x", &reason));
  EXPECT_FALSE(IsBlockwiseMatMulWeight({"Gemm", {8, 4}, true}, true, "x", &reason));
  EXPECT_EQ(reason.rfind("x:", 0), 0u) << "the reason names the scheme: " << reason;
  EXPECT_FALSE(IsBlockwiseMatMulWeight({"Conv", {8, 4}, false}, true, "x", &reason));
  EXPECT_NE(reason.find("--fallback"), std::string::npos) << reason;
}

}  // namespace
}  // namespace pq::quant
