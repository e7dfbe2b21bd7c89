#include "io/external_data.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "onnx/onnx_pb.h"

namespace pq {
namespace {

// Parses a non-negative decimal int64; false on anything else.
bool ParseNonNegative(const std::string& text, int64_t* value) {
  if (text.empty() || text.size() > 19) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const int digit = c - '0';
    if (v > (INT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *value = v;
  return true;
}

std::vector<std::string> SplitPath(const std::string& location) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : location) {
    if (c == '/') {
      if (!current.empty() && current != ".") parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty() && current != ".") parts.push_back(current);
  return parts;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace

MappedFile::~MappedFile() {
  if (data_ != nullptr && size_ > 0) munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
}

Status CheckExternalLocation(const std::string& location) {
  if (location.empty()) return Status::InvalidInput("external data location is empty");
  if (location.find('\0') != std::string::npos) {
    return Status::InvalidInput("external data location contains a NUL byte");
  }
  if (location[0] == '/') {
    return Status::InvalidInput("external data location '" + location +
                                "' is an absolute path; it must be relative to the model folder");
  }
  if (location.find('\\') != std::string::npos) {
    return Status::InvalidInput("external data location '" + location +
                                "' contains a backslash; use '/' relative paths");
  }
  std::vector<std::string> parts = SplitPath(location);
  if (parts.empty()) {
    return Status::InvalidInput("external data location '" + location + "' names no file");
  }
  for (const std::string& part : parts) {
    if (part == "..") {
      return Status::InvalidInput("external data location '" + location +
                                  "' contains '..'; it must stay inside the model folder");
    }
  }
  return Status::OK();
}

Result<ExternalDataRef> ParseExternalDataRef(const onnx::TensorProto& tensor,
                                             const std::string& where) {
  ExternalDataRef ref;
  bool has_location = false;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") {
      ref.location = entry.value();
      has_location = true;
    } else if (entry.key() == "offset") {
      if (!ParseNonNegative(entry.value(), &ref.offset)) {
        return Status::InvalidInput(where + ": external data offset '" + entry.value() +
                                    "' is not a non-negative integer");
      }
    } else if (entry.key() == "length") {
      if (!ParseNonNegative(entry.value(), &ref.length)) {
        return Status::InvalidInput(where + ": external data length '" + entry.value() +
                                    "' is not a non-negative integer");
      }
    }
  }
  if (!has_location) {
    return Status::InvalidInput(where + ": external data has no 'location' entry");
  }
  Status status = CheckExternalLocation(ref.location);
  if (!status.ok()) return status.WithPrefix(where);
  return ref;
}

ExternalDataStore::ExternalDataStore(std::string base_dir, std::string origin)
    : base_dir_(std::move(base_dir)), origin_(std::move(origin)) {}

Result<std::shared_ptr<const MappedFile>> ExternalDataStore::Map(const std::string& location) {
  auto found = files_.find(location);
  if (found != files_.end()) return found->second;

  const std::string shown = "external data file '" + location + "'";
  FileDescriptor dir(open(base_dir_.empty() ? "." : base_dir_.c_str(),
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return Status::InvalidInput("cannot open model folder '" + base_dir_ +
                                "': " + std::strerror(errno));
  }
  std::vector<std::string> parts = SplitPath(location);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int next = openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      const int err = errno;
      if (err == ELOOP || err == ENOTDIR) {
        struct stat st;
        if (fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
          return Status::InvalidInput(shown + " goes through symbolic link '" + parts[i] +
                                      "'; links are refused");
        }
      }
      return Status::InvalidInput(shown + ": cannot open folder '" + parts[i] +
                                  "': " + std::strerror(err));
    }
    dir.reset(next);
  }
  FileDescriptor file(openat(dir.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (file.get() < 0) {
    const int err = errno;
    if (err == ELOOP) {
      return Status::InvalidInput(shown + " is a symbolic link; links are refused");
    }
    if (err == ENOENT) return Status::InvalidInput(shown + " does not exist beside the model");
    return Status::InvalidInput(shown + ": " + std::strerror(err));
  }
  struct stat st;
  if (fstat(file.get(), &st) != 0) {
    return Status::InvalidInput(shown + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidInput(shown + " is not a regular file");
  if (st.st_nlink > 1) {
    return Status::InvalidInput(shown + " has " + std::to_string(st.st_nlink) +
                                " hard links; hard-linked data files are refused");
  }
  auto mapped = std::shared_ptr<MappedFile>(new MappedFile());
  mapped->size_ = static_cast<int64_t>(st.st_size);
  mapped->device_ = static_cast<uint64_t>(st.st_dev);
  mapped->inode_ = static_cast<uint64_t>(st.st_ino);
  if (mapped->size_ > 0) {
    void* addr = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, file.get(), 0);
    if (addr == MAP_FAILED) {
      return Status::InvalidInput(shown + ": cannot map: " + std::strerror(errno));
    }
    mapped->data_ = static_cast<const uint8_t*>(addr);
  }
  files_.emplace(location, mapped);
  order_.push_back(location);
  return std::shared_ptr<const MappedFile>(mapped);
}

Result<const uint8_t*> ExternalDataStore::Resolve(const onnx::TensorProto& tensor,
                                                  const std::string& name,
                                                  int64_t expected_bytes) {
  const std::string where = origin_ + ": tensor '" + name + "'";
  Result<ExternalDataRef> ref = ParseExternalDataRef(tensor, where);
  if (!ref.ok()) return ref.status();
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::shared_ptr<const MappedFile>> file = Map(ref->location);
  if (!file.ok()) return file.status().WithPrefix(where);
  const int64_t file_size = file.value()->size();
  if (ref->offset > file_size) {
    return Status::InvalidInput(where + ": external data offset " + std::to_string(ref->offset) +
                                " is past the end of '" + ref->location + "' (" +
                                std::to_string(file_size) + " bytes)");
  }
  const int64_t length = ref->length < 0 ? file_size - ref->offset : ref->length;
  if (length > file_size - ref->offset) {  // overflow-safe form of offset+length > size
    return Status::InvalidInput(where + ": external data offset " + std::to_string(ref->offset) +
                                " + length " + std::to_string(length) + " is past the end of '" +
                                ref->location + "' (" + std::to_string(file_size) + " bytes)");
  }
  if (length != expected_bytes) {
    return Status::InvalidInput(where + ": external data length " + std::to_string(length) +
                                " does not match its dims and type (" +
                                std::to_string(expected_bytes) + " bytes expected)");
  }
  if (length == 0) return static_cast<const uint8_t*>(nullptr);
  return file.value()->data() + ref->offset;
}

void ExternalDataStore::ReleasePages(const uint8_t* data, int64_t size) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + static_cast<uintptr_t>(size)) / page * page;
  // Whole pages inside the range only: neighbours may still be in use.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::vector<ExternalFile> ExternalDataStore::Files() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ExternalFile> out;
  for (const std::string& location : order_) {
    out.push_back({location, files_.at(location)->size()});
  }
  return out;
}

std::vector<std::shared_ptr<const MappedFile>> ExternalDataStore::MappedFiles() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const MappedFile>> out;
  for (const std::string& location : order_) out.push_back(files_.at(location));
  return out;
}

void ReleaseConstantPages(const ConstantTensor& constant) {
  if (constant.external) ExternalDataStore::ReleasePages(constant.data, constant.byte_size);
}

}  // namespace pq
