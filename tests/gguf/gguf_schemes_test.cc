// Tests of src/gguf/gguf_schemes.cc: every scheme names a type pq writes,
// and rows a type cannot hold fall back as llama-quantize does.
#include "gguf/gguf_schemes.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pq::gguf {
namespace {

TEST(GgufSchemesTest, EveryRowNamesAWritableTypeAndIsFoundByName) {
  size_t count = 0;
  const GgufSchemeEntry* table = GgufSchemeTable(&count);
  ASSERT_EQ(count, 6u);
  std::set<std::string> names;
  for (size_t i = 0; i < count; ++i) {
    ASSERT_NE(TraitsOf(table[i].type), nullptr) << table[i].name;
    EXPECT_EQ(std::string(table[i].name), std::string("gguf-") + TraitsOf(table[i].type)->name);
    EXPECT_EQ(FindGgufScheme(table[i].name), &table[i]);
    names.insert(table[i].name);
  }
  EXPECT_EQ(names.size(), count);
  EXPECT_EQ(FindGgufScheme("nf4"), nullptr);
  EXPECT_EQ(FindGgufScheme("gguf-q4_1"), nullptr);
}

TEST(GgufSchemesTest, FileTypesAreLlamaCppsEnumValues) {
  EXPECT_EQ(FindGgufScheme("gguf-f32")->llama_ftype, 0u);
  EXPECT_EQ(FindGgufScheme("gguf-f16")->llama_ftype, 1u);
  EXPECT_EQ(FindGgufScheme("gguf-q4_0")->llama_ftype, 2u);
  EXPECT_EQ(FindGgufScheme("gguf-q8_0")->llama_ftype, 7u);
  EXPECT_EQ(FindGgufScheme("gguf-q4_k")->llama_ftype, 14u);
  EXPECT_EQ(FindGgufScheme("gguf-iq4_nl")->llama_ftype, 25u);
}

TEST(GgufSchemesTest, RowsThatFitKeepTheType) {
  EXPECT_EQ(TypeForRow(GgmlType::kQ4_K, 256), GgmlType::kQ4_K);
  EXPECT_EQ(TypeForRow(GgmlType::kQ4_K, 4096), GgmlType::kQ4_K);
  EXPECT_EQ(TypeForRow(GgmlType::kQ8_0, 96), GgmlType::kQ8_0);
  EXPECT_EQ(TypeForRow(GgmlType::kIq4Nl, 352), GgmlType::kIq4Nl);
  EXPECT_EQ(TypeForRow(GgmlType::kF32, 7), GgmlType::kF32);
  EXPECT_EQ(TypeForRow(GgmlType::kF16, 7), GgmlType::kF16);
}

TEST(GgufSchemesTest, RowsThatDoNotFitFallBackAsLlamaQuantize) {
  // q4_k -> q5_0 when the row is a multiple of 32 but not of 256.
  EXPECT_EQ(TypeForRow(GgmlType::kQ4_K, 128), GgmlType::kQ5_0);
  EXPECT_EQ(TypeForRow(GgmlType::kQ4_K, 352), GgmlType::kQ5_0);
  // ... and on to f16 when not even 32 divides it.
  EXPECT_EQ(TypeForRow(GgmlType::kQ4_K, 100), GgmlType::kF16);
  EXPECT_EQ(TypeForRow(GgmlType::kQ4_0, 100), GgmlType::kF16);
  EXPECT_EQ(TypeForRow(GgmlType::kQ8_0, 33), GgmlType::kF16);
  EXPECT_EQ(TypeForRow(GgmlType::kIq4Nl, 48), GgmlType::kF16);
}

}  // namespace
}  // namespace pq::gguf
