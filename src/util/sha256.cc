#include "util/sha256.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

namespace pq {
namespace {

std::string Hex(const unsigned char* digest, unsigned int length) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace

Result<std::string> Sha256File(const std::string& path, const std::atomic<bool>* cancel) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) return Status::InvalidInput(path + ": cannot open to hash");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Status::Internal("cannot initialise SHA-256");
  }
  std::vector<unsigned char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    EVP_DigestUpdate(ctx.get(), buffer.data(), n);
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return Status::Internal(path + ": hashing stopped");
    }
  }
  if (std::ferror(file.get())) return Status::InvalidInput(path + ": read error while hashing");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return Hex(digest, length);
}

std::string Sha256Bytes(const void* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  return Hex(digest, length);
}

Result<std::string> Sha256IfRegularFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::string();
  return Sha256File(path);
}

struct Sha256Stream::Digest {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  std::string hex;
};

Sha256Stream::Sha256Stream() : digest_(new Digest) {
  EVP_DigestInit_ex(digest_->ctx.get(), EVP_sha256(), nullptr);
  filling_.reserve(kBufferBytes);
  worker_ = std::thread([this] { Work(); });
}

Sha256Stream::~Sha256Stream() {
  if (worker_.joinable()) Finish();
}

void Sha256Stream::Update(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const size_t n = std::min(size, kBufferBytes - filling_.size());
    filling_.insert(filling_.end(), p, p + n);
    p += n;
    size -= n;
    if (filling_.size() == kBufferBytes) Hand(false);
  }
}

void Sha256Stream::Hand(bool last) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return queue_.size() < kQueuedBuffers; });
  if (!filling_.empty()) queue_.push_back(std::move(filling_));
  done_ = last;
  filling_ = std::vector<unsigned char>();
  if (!last) filling_.reserve(kBufferBytes);
  changed_.notify_all();
}

void Sha256Stream::Work() {
  for (;;) {
    std::vector<unsigned char> buffer;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return !queue_.empty() || done_; });
      if (queue_.empty()) break;
      buffer = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();
    }
    EVP_DigestUpdate(digest_->ctx.get(), buffer.data(), buffer.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(digest_->ctx.get(), digest, &length);
  digest_->hex = Hex(digest, length);
}

std::string Sha256Stream::Finish() {
  Hand(true);
  worker_.join();
  return digest_->hex;
}

}  // namespace pq
