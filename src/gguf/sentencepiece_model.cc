// ParseSentencePieceModel: sentencepiece's ModelProto decoded from its wire
// format (not through libsentencepiece, whose bundled descriptors clash with
// the libprotobuf pq links). The fields read, as sentencepiece_model.proto
// numbers them (checked against protoc --decode_raw of a trained model):
//   ModelProto    1 pieces (repeated SentencePiece), 2 trainer_spec
//   SentencePiece 1 piece (string), 2 score (float), 3 type (enum, NORMAL
//                 when absent)
//   TrainerSpec   3 model_type (1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR; UNIGRAM
//                 when absent), 40 unk_id (0), 41 bos_id (1), 42 eos_id (2),
//                 43 pad_id (-1); defaults in parentheses, -1 disables.
// Every other field, of any wire type, is skipped.
#include <cstring>
#include <string>
#include <string_view>

#include "gguf/protobuf_wire.h"
#include "gguf/tokenizer_meta.h"

namespace pq::gguf {
namespace {

enum class SpmModelType : int32_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

struct TrainerIds {
  int32_t model_type = static_cast<int32_t>(SpmModelType::kUnigram);
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
};

// Refuses a known field of the wrong wire type; `what` names it.
Status ExpectWireType(const WireField& f, WireType want, const std::string& what) {
  if (f.type == want) return Status::OK();
  return Status::InvalidInput(what + " (field " + std::to_string(f.number) + ") is " +
                              WireTypeName(f.type) + ", expected " + WireTypeName(want));
}

// Decodes one SentencePiece message (`index` names it in messages) and
// appends it to `meta`.
Status ReadPiece(const WireField& message, size_t index, TokenizerMeta* meta) {
  const std::string where = "piece " + std::to_string(index);
  std::string piece;
  float score = 0;
  int32_t type = static_cast<int32_t>(TokenType::kNormal);
  WireReader reader(message.bytes, message.offset);
  while (!reader.AtEnd()) {
    WireField f;
    PQ_RETURN_IF_ERROR(reader.Next(&f).WithPrefix(where));
    if (f.number == 1) {
      PQ_RETURN_IF_ERROR(ExpectWireType(f, WireType::kLengthDelimited, where + ": piece"));
      piece.assign(f.bytes.data(), f.bytes.size());
    } else if (f.number == 2) {
      PQ_RETURN_IF_ERROR(ExpectWireType(f, WireType::kFixed32, where + ": score"));
      const uint32_t bits = static_cast<uint32_t>(f.fixed);
      std::memcpy(&score, &bits, sizeof(score));
    } else if (f.number == 3) {
      PQ_RETURN_IF_ERROR(ExpectWireType(f, WireType::kVarint, where + ": type"));
      type = VarintToInt32(f.varint);
    }
  }
  if (type < static_cast<int32_t>(TokenType::kNormal) ||
      type > static_cast<int32_t>(TokenType::kByte)) {
    return Status::InvalidInput(where + ": type " + std::to_string(type) +
                                " is not one of 1..6 (NORMAL..BYTE)");
  }
  meta->tokens.push_back(std::move(piece));
  meta->scores.push_back(score);
  meta->types.push_back(static_cast<TokenType>(type));
  return Status::OK();
}

// Decodes the fields of one TrainerSpec message into `ids` (later
// occurrences override earlier ones, as protobuf merges them).
Status ReadTrainerSpec(const WireField& message, TrainerIds* ids) {
  WireReader reader(message.bytes, message.offset);
  while (!reader.AtEnd()) {
    WireField f;
    PQ_RETURN_IF_ERROR(reader.Next(&f).WithPrefix("trainer_spec"));
    int32_t* target = nullptr;
    const char* name = "";
    switch (f.number) {
      case 3: target = &ids->model_type; name = "trainer_spec.model_type"; break;
      case 40: target = &ids->unk_id; name = "trainer_spec.unk_id"; break;
      case 41: target = &ids->bos_id; name = "trainer_spec.bos_id"; break;
      case 42: target = &ids->eos_id; name = "trainer_spec.eos_id"; break;
      case 43: target = &ids->pad_id; name = "trainer_spec.pad_id"; break;
      default: continue;
    }
    PQ_RETURN_IF_ERROR(ExpectWireType(f, WireType::kVarint, name));
    *target = VarintToInt32(f.varint);
  }
  return Status::OK();
}

// Checks a special id against the vocabulary size: -1 (disabled) or an index.
Status CheckSpecialId(int32_t id, const char* name, size_t pieces, int64_t* out) {
  if (id == -1) {
    *out = -1;
    return Status::OK();
  }
  if (id < 0 || static_cast<size_t>(id) >= pieces) {
    return Status::InvalidInput(std::string("trainer_spec.") + name + " " + std::to_string(id) +
                                " is neither -1 nor one of the " + std::to_string(pieces) +
                                " pieces");
  }
  *out = id;
  return Status::OK();
}

Status ParseInto(std::string_view bytes, TokenizerMeta* meta) {
  TrainerIds ids;
  bool has_trainer_spec = false;
  WireReader reader(bytes);
  while (!reader.AtEnd()) {
    WireField f;
    PQ_RETURN_IF_ERROR(reader.Next(&f));
    if (f.number == 1) {
      PQ_RETURN_IF_ERROR(ExpectWireType(f, WireType::kLengthDelimited, "pieces"));
      PQ_RETURN_IF_ERROR(ReadPiece(f, meta->tokens.size(), meta));
    } else if (f.number == 2) {
      PQ_RETURN_IF_ERROR(ExpectWireType(f, WireType::kLengthDelimited, "trainer_spec"));
      PQ_RETURN_IF_ERROR(ReadTrainerSpec(f, &ids));
      has_trainer_spec = true;
    }
  }
  if (meta->tokens.empty()) {
    return Status::InvalidInput("no pieces (field 1): not a SentencePiece model");
  }
  // Real models always carry one; without it the pieces may have been cut
  // off anywhere, since they come first.
  if (!has_trainer_spec) {
    return Status::InvalidInput("no trainer_spec (field 2) after the " +
                                std::to_string(meta->tokens.size()) +
                                " pieces: truncated, or not a SentencePiece model");
  }
  switch (static_cast<SpmModelType>(ids.model_type)) {
    case SpmModelType::kUnigram:
    case SpmModelType::kBpe:
      break;
    case SpmModelType::kWord:
    case SpmModelType::kChar:
      return Status::NotSupported("trainer_spec.model_type " + std::to_string(ids.model_type) +
                                  " (WORD or CHAR): llama.cpp reads UNIGRAM and BPE models only");
    default:
      return Status::InvalidInput("trainer_spec.model_type " + std::to_string(ids.model_type) +
                                  " is not one of 1..4 (UNIGRAM, BPE, WORD, CHAR)");
  }
  const size_t n = meta->tokens.size();
  PQ_RETURN_IF_ERROR(CheckSpecialId(ids.unk_id, "unk_id", n, &meta->unk_id));
  PQ_RETURN_IF_ERROR(CheckSpecialId(ids.bos_id, "bos_id", n, &meta->bos_id));
  PQ_RETURN_IF_ERROR(CheckSpecialId(ids.eos_id, "eos_id", n, &meta->eos_id));
  PQ_RETURN_IF_ERROR(CheckSpecialId(ids.pad_id, "pad_id", n, &meta->pad_id));
  return Status::OK();
}

}  // namespace

Result<TokenizerMeta> ParseSentencePieceModel(const std::string& bytes,
                                              const std::string& origin) {
  TokenizerMeta meta;
  meta.model = "llama";
  meta.pre = "default";
  meta.add_bos = true;
  meta.add_eos = false;
  Status status = ParseInto(bytes, &meta);
  if (!status.ok()) return status.WithPrefix(origin + ": SentencePiece model");
  return meta;
}

}  // namespace pq::gguf
