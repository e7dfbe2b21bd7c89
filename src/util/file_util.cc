#include "util/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pq {

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool IsFile(const std::string& path, uint64_t device, uint64_t inode) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  return static_cast<uint64_t>(st.st_dev) == device && static_cast<uint64_t>(st.st_ino) == inode;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& target) {
  const std::string dir = DirName(target);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::OutputError(target + ": the folder '" + dir + "' does not exist");
  }
  std::string pattern = dir + "/." + BaseName(target) + ".tmp.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const int fd = mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) {
    return Status::OutputError(target + ": cannot create a file in '" + dir +
                               "': " + std::strerror(errno));
  }
  // mkostemp creates 0600; give the file the mode a plain create would.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  return std::unique_ptr<AtomicFile>(new AtomicFile(target, buffer.data(), fd));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(temp_.c_str());
}

Status AtomicFile::Write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::OutputError(target_ + ": write failed: " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
    size_ += n;
  }
  return Status::OK();
}

Status AtomicFile::Commit() {
  if (fsync(fd_) != 0) {
    return Status::OutputError(target_ + ": flush failed: " + std::strerror(errno));
  }
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) {
    return Status::OutputError(target_ + ": close failed: " + std::strerror(errno));
  }
  if (rename(temp_.c_str(), target_.c_str()) != 0) {
    return Status::OutputError(target_ + ": cannot rename the finished file into place: " +
                               std::strerror(errno));
  }
  committed_ = true;
  const int dir = open(DirName(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return Status::OK();
}

}  // namespace pq
