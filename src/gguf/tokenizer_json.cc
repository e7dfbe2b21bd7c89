// ParseTokenizerJson: a Hugging Face tokenizer.json with a BPE model, read
// with nlohmann::json. Shape read:
//   {"added_tokens": [{"id": 0, "content": "<s>", "special": true}, ...],
//    "post_processor": {"type": "TemplateProcessing",
//                       "single": [{"SpecialToken": {"id": "<s>"}},
//                                  {"Sequence": {"id": "A"}}], ...},
//    "model": {"type": "BPE", "vocab": {"token": id, ...},
//              "merges": ["a b", ...] or [["a", "b"], ...],
//              "unk_token": "<unk>", "byte_fallback": false}}
// Every type is checked before use, so no nlohmann exception escapes.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/tokenizer_meta.h"

namespace pq::gguf {
namespace {

using Json = nlohmann::json;

// Contents that name the special tokens, in order of preference.
const char* const kBosContents[] = {"<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>",
                                    "[BOS]"};
const char* const kEosContents[] = {"</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>",
                                    "[EOS]"};
const char* const kUnkContents[] = {"<unk>", "<|unk|>", "[UNK]"};
const char* const kPadContents[] = {"<pad>", "<|pad|>", "[PAD]", "<|padding|>"};
// GPT-2's only special token is both its bos and its eos.
constexpr char kEndOfText[] = "<|endoftext|>";

// A token id and where it came from, before the ids are checked.
struct Entry {
  std::string content;
  TokenType type = TokenType::kNormal;
};

// `value` as one short line of JSON for a message: control characters
// escaped, at most kQuoteBytes bytes (cut at a character boundary) and "...".
constexpr size_t kQuoteBytes = 40;
std::string Quote(const Json& value) {
  std::string s = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() <= kQuoteBytes) return s;
  size_t cut = kQuoteBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

// Reads a token id: a JSON integer in 0..2^31-1.
Status ReadId(const Json& value, const std::string& what, int64_t* id) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v <= INT32_MAX) {
      *id = static_cast<int64_t>(v);
      return Status::OK();
    }
  } else if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    *id = value.get<int64_t>();
    if (*id <= INT32_MAX) return Status::OK();
  }
  return Status::InvalidInput(what + ": id " + Quote(value) +
                              " is not an integer in 0..2147483647");
}

// Puts `content` at `id`; an id already holding other content is refused.
Status Place(std::map<int64_t, Entry>* ids, int64_t id, const std::string& content, TokenType type,
             const std::string& what) {
  auto [it, inserted] = ids->emplace(id, Entry{content, type});
  if (inserted) return Status::OK();
  if (it->second.content != content) {
    return Status::InvalidInput(what + ": id " + std::to_string(id) + " given to both " +
                                Quote(it->second.content) + " and " + Quote(content));
  }
  it->second.type = type;  // an added token restates a vocabulary entry
  return Status::OK();
}

// True for a byte-fallback piece: "<0x" two upper-case hex digits ">".
bool IsBytePiece(const std::string& s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

Status ReadVocab(const Json& model, std::map<int64_t, Entry>* ids) {
  auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) {
    return Status::InvalidInput("model.vocab is missing or not an object {token: id}");
  }
  const bool byte_fallback = model.value("byte_fallback", Json(false)) == Json(true);
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const std::string what = "model.vocab[" + Quote(it.key()) + "]";
    int64_t id = 0;
    PQ_RETURN_IF_ERROR(ReadId(it.value(), what, &id));
    const TokenType type =
        byte_fallback && IsBytePiece(it.key()) ? TokenType::kByte : TokenType::kNormal;
    PQ_RETURN_IF_ERROR(Place(ids, id, it.key(), type, what));
  }
  return Status::OK();
}

Status ReadAddedTokens(const Json& root, std::map<int64_t, Entry>* ids,
                       std::map<std::string, int64_t>* added) {
  auto list = root.find("added_tokens");
  if (list == root.end() || list->is_null()) return Status::OK();
  if (!list->is_array()) return Status::InvalidInput("added_tokens is not an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& token = (*list)[i];
    const std::string what = "added_tokens[" + std::to_string(i) + "]";
    if (!token.is_object() || !token.contains("id") || !token.contains("content") ||
        !token["content"].is_string()) {
      return Status::InvalidInput(what + " is not an object with an id and a string content");
    }
    int64_t id = 0;
    PQ_RETURN_IF_ERROR(ReadId(token["id"], what, &id));
    const std::string content = token["content"].get<std::string>();
    const bool special = token.value("special", Json(false)) == Json(true);
    PQ_RETURN_IF_ERROR(Place(ids, id, content, special ? TokenType::kControl
                                                       : TokenType::kUserDefined, what));
    added->emplace(content, id);
  }
  return Status::OK();
}

// Moves the entries into `meta` in id order. REQUIRES: ids are 0..n-1.
Status FillTokens(const std::map<int64_t, Entry>& ids, TokenizerMeta* meta) {
  if (ids.empty()) return Status::InvalidInput("no tokens in model.vocab or added_tokens");
  const int64_t n = static_cast<int64_t>(ids.size());
  int64_t expected = 0;
  for (const auto& [id, entry] : ids) {
    if (id != expected) {
      return Status::InvalidInput("token ids are not 0.." + std::to_string(n - 1) +
                                  " without gaps: id " + std::to_string(expected) +
                                  " is missing (" + Quote(entry.content) + " has id " +
                                  std::to_string(id) + ")");
    }
    meta->tokens.push_back(entry.content);
    meta->types.push_back(entry.type);
    ++expected;
  }
  return Status::OK();
}

Status ReadMerges(const Json& model, TokenizerMeta* meta) {
  auto merges = model.find("merges");
  if (merges == model.end() || merges->is_null()) return Status::OK();
  if (!merges->is_array()) return Status::InvalidInput("model.merges is not an array");
  for (size_t i = 0; i < merges->size(); ++i) {
    const Json& m = (*merges)[i];
    const std::string what = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == 0 || space == std::string::npos || space + 1 == s.size() ||
          s.find(' ', space + 1) != std::string::npos) {
        return Status::InvalidInput(what + " " + Quote(s) + " is not two tokens and one space");
      }
      meta->merges.push_back(s);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      // gguf-py's convention: a space inside a part becomes U+0120 ("Ġ").
      auto part = [](std::string s) {
        std::string out;
        for (char c : s) out += c == ' ' ? std::string("\xC4\xA0") : std::string(1, c);
        return out;
      };
      meta->merges.push_back(part(m[0].get<std::string>()) + " " + part(m[1].get<std::string>()));
    } else {
      return Status::InvalidInput(what + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return Status::OK();
}

// The id of the first of `contents` among the added tokens, or -1.
template <size_t N>
int64_t FindSpecial(const std::map<std::string, int64_t>& added, const char* const (&contents)[N]) {
  for (const char* c : contents) {
    auto it = added.find(c);
    if (it != added.end()) return it->second;
  }
  return -1;
}

// The "single" template of a TemplateProcessing post_processor, directly or
// inside a Sequence; nullptr when there is none.
const Json* SingleTemplate(const Json& root) {
  auto pp = root.find("post_processor");
  if (pp == root.end() || !pp->is_object()) return nullptr;
  std::vector<const Json*> candidates = {&*pp};
  auto list = pp->find("processors");
  if (list != pp->end() && list->is_array()) {
    for (const Json& p : *list) candidates.push_back(&p);
  }
  for (const Json* p : candidates) {
    if (!p->is_object() || p->value("type", Json()) != Json("TemplateProcessing")) continue;
    auto single = p->find("single");
    if (single != p->end() && single->is_array()) return &*single;
  }
  return nullptr;
}

// True when template element `piece` is {"SpecialToken": {"id": <token id>}}
// naming the token at `id`.
bool IsSpecialTokenPiece(const Json& piece, int64_t id, const TokenizerMeta& meta) {
  if (id < 0 || !piece.is_object()) return false;
  auto special = piece.find("SpecialToken");
  if (special == piece.end() || !special->is_object()) return false;
  return special->value("id", Json()) == Json(meta.tokens[static_cast<size_t>(id)]);
}

void FindSpecialIds(const Json& root, const Json& model,
                    const std::map<std::string, int64_t>& added, TokenizerMeta* meta) {
  meta->bos_id = FindSpecial(added, kBosContents);
  meta->eos_id = FindSpecial(added, kEosContents);
  meta->unk_id = FindSpecial(added, kUnkContents);
  meta->pad_id = FindSpecial(added, kPadContents);
  if (meta->bos_id < 0) {
    auto eot = added.find(kEndOfText);
    if (eot != added.end()) meta->bos_id = eot->second;
  }
  auto unk = model.find("unk_token");
  if (meta->unk_id < 0 && unk != model.end() && unk->is_string()) {
    for (size_t i = 0; i < meta->tokens.size(); ++i) {
      if (meta->tokens[i] == unk->get<std::string>()) meta->unk_id = static_cast<int64_t>(i);
    }
  }
  const Json* single = SingleTemplate(root);
  if (single != nullptr && !single->empty()) {
    meta->add_bos = IsSpecialTokenPiece(single->front(), meta->bos_id, *meta);
    meta->add_eos = IsSpecialTokenPiece(single->back(), meta->eos_id, *meta);
  }
}

Status ParseInto(const std::string& text, TokenizerMeta* meta) {
  const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidInput("not valid JSON");
  if (!root.is_object()) return Status::InvalidInput("not a JSON object");
  auto model = root.find("model");
  if (model == root.end() || !model->is_object()) {
    return Status::InvalidInput("no \"model\" object");
  }
  auto type = model->find("type");
  if (type == model->end() || *type != Json("BPE")) {
    return Status::InvalidInput("model.type is " +
                                (type == model->end() ? "missing" : Quote(*type)) +
                                ", expected \"BPE\"");
  }
  std::map<int64_t, Entry> ids;
  std::map<std::string, int64_t> added;
  PQ_RETURN_IF_ERROR(ReadVocab(*model, &ids));
  PQ_RETURN_IF_ERROR(ReadAddedTokens(root, &ids, &added));
  PQ_RETURN_IF_ERROR(FillTokens(ids, meta));
  PQ_RETURN_IF_ERROR(ReadMerges(*model, meta));
  FindSpecialIds(root, *model, added, meta);
  return Status::OK();
}

}  // namespace

Result<TokenizerMeta> ParseTokenizerJson(const std::string& text, const std::string& origin) {
  TokenizerMeta meta;
  meta.model = "gpt2";
  meta.pre = "default";
  Status status;
  try {
    status = ParseInto(text, &meta);
  } catch (const nlohmann::json::exception& e) {  // not expected: types are checked first
    status = Status::InvalidInput(e.what());
  }
  if (!status.ok()) return status.WithPrefix(origin + ": tokenizer.json");
  return meta;
}

}  // namespace pq::gguf
