// Tests of pq::Status (src/util/status.cc): a message stays on one line
// whatever it quotes, and prefixes keep the code.
#include "pq/status.h"

#include <gtest/gtest.h>

#include <string>

namespace pq {
namespace {

TEST(StatusTest, ControlCharactersInAMessageBecomeEscapes) {
  const Status s = Status::InvalidInput(std::string("bad key 'f \n\rx\t\x01\x7f' in a.npy"));
  EXPECT_EQ(s.message(), "bad key 'f \\n\\rx\\t\\x01\\x7f' in a.npy");
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
}

TEST(StatusTest, PlainAndUtf8MessagesAreKeptAsWritten) {
  const std::string text = "tensor 'w\xc3\xa9ight' of 'm.onnx': expected float32";
  EXPECT_EQ(Status::NotSupported(text).message(), text);
}

TEST(StatusTest, PrefixedMessageStaysOneLineAndKeepsTheCode) {
  const Status s = Status::GateFailed("drop\n2 points").WithPrefix("model\n.onnx");
  EXPECT_EQ(s.message(), "model\\n.onnx: drop\\n2 points");
  EXPECT_EQ(s.code(), Status::Code::kGateFailed);
  EXPECT_TRUE(Status::OK().WithPrefix("x").ok());
}

}  // namespace
}  // namespace pq
