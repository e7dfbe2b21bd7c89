#include "pq/npz.h"

#include <unistd.h>
#include <zip.h>

#include <algorithm>

#include "util/file_util.h"

namespace pq {

struct NpzFile::Member {
  std::string name;
  std::string bytes;
  NpyHeader header;
};

NpzFile::~NpzFile() {
  if (zip_ != nullptr) zip_discard(static_cast<zip_t*>(zip_));
}

Result<std::unique_ptr<NpzFile>> NpzFile::Open(const std::string& path) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (zip == nullptr) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, error);
    std::string message = path + ": not a readable .npz (zip) archive: " + zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return Status::InvalidInput(message);
  }
  auto file = std::unique_ptr<NpzFile>(new NpzFile());
  file->path_ = path;
  file->zip_ = zip;
  const zip_int64_t entries = zip_get_num_entries(zip, 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(zip, static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr) continue;
    std::string member = name;
    if (member.size() > 4 && member.compare(member.size() - 4, 4, ".npy") == 0) {
      file->names_.push_back(member.substr(0, member.size() - 4));
    }
  }
  return file;
}

Result<const NpyHeader*> NpzFile::Load(const std::string& name) {
  for (const auto& m : members_) {
    if (m->name == name) return &m->header;
  }
  zip_t* zip = static_cast<zip_t*>(zip_);
  const std::string what = path_ + ": array '" + name + "'";
  const std::string member = name + ".npy";
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(zip, member.c_str(), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
    return Status::InvalidInput(what + " is not in the archive");
  }
  if (st.size > static_cast<zip_uint64_t>(kMaxNpzMemberBytes)) {
    return Status::InvalidInput(what + " is larger than " + std::to_string(kMaxNpzMemberBytes) +
                                " bytes");
  }
  zip_file_t* f = zip_fopen(zip, member.c_str(), 0);
  if (f == nullptr) return Status::InvalidInput(what + ": cannot open: " + zip_strerror(zip));
  auto m = std::make_unique<Member>();
  m->name = name;
  // The size comes from the archive's directory and may lie: grow the buffer
  // with the bytes that actually arrive, never by the declared size at once.
  constexpr zip_int64_t kChunk = zip_int64_t{1} << 20;
  zip_int64_t total = 0;
  while (total < static_cast<zip_int64_t>(st.size)) {
    const zip_int64_t want = std::min<zip_int64_t>(kChunk, static_cast<zip_int64_t>(st.size) - total);
    m->bytes.resize(static_cast<size_t>(total + want));
    const zip_int64_t n = zip_fread(f, m->bytes.data() + total, static_cast<zip_uint64_t>(want));
    if (n <= 0) break;
    total += n;
  }
  m->bytes.resize(static_cast<size_t>(total));
  const bool failed = total != static_cast<zip_int64_t>(st.size);
  std::string reason = failed ? zip_file_strerror(f) : "";
  zip_fclose(f);
  if (failed) return Status::InvalidInput(what + ": corrupt or truncated member: " + reason);
  Result<NpyHeader> header =
      ParseNpyHeader(reinterpret_cast<const uint8_t*>(m->bytes.data()),
                     static_cast<int64_t>(m->bytes.size()), what);
  if (!header.ok()) return header.status();
  m->header = std::move(header).value();
  members_.push_back(std::move(m));
  return &members_.back()->header;
}

Result<Tensor> NpzFile::Rows(const std::string& name, int64_t first, int64_t count) const {
  for (const auto& m : members_) {
    if (m->name == name) {
      return NpyRows(m->header, reinterpret_cast<const uint8_t*>(m->bytes.data()), first, count,
                     path_ + ": array '" + name + "'");
    }
  }
  return Status::Internal(path_ + ": array '" + name + "' was not loaded");
}

Status WriteNpz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays,
                bool force) {
  if (PathExists(path) && !force) {
    return Status::OutputError(path + ": already exists (pass --force to overwrite it)");
  }
  // Reserve a temporary name in the target folder; libzip writes its own
  // temporary beside it and renames on close, so write to ours, then rename.
  Result<std::unique_ptr<AtomicFile>> temp = AtomicFile::Create(path);
  if (!temp.ok()) return temp.status();
  std::vector<std::string> encoded;
  encoded.reserve(arrays.size());
  for (const auto& [name, tensor] : arrays) encoded.push_back(EncodeNpy(tensor));
  zip_error_t error;
  zip_error_init(&error);
  // Build the archive in memory, then write it through the AtomicFile.
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* zip = buffer ? zip_open_from_source(buffer, ZIP_TRUNCATE, &error) : nullptr;
  if (zip == nullptr) {
    std::string message = path + ": cannot create the archive: " + zip_error_strerror(&error);
    zip_error_fini(&error);
    if (buffer) zip_source_free(buffer);
    return Status::OutputError(message);
  }
  zip_source_keep(buffer);
  for (size_t i = 0; i < arrays.size(); ++i) {
    zip_source_t* src = zip_source_buffer(zip, encoded[i].data(), encoded[i].size(), 0);
    const std::string member = arrays[i].first + ".npy";
    const zip_int64_t index = src ? zip_file_add(zip, member.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (src) zip_source_free(src);
      std::string message = path + ": cannot add '" + member + "': " + zip_strerror(zip);
      zip_discard(zip);
      zip_source_free(buffer);
      return Status::OutputError(message);
    }
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    // Fixed timestamps keep the archive byte-identical across runs.
    zip_file_set_mtime(zip, static_cast<zip_uint64_t>(index), 315532800, 0);
  }
  if (zip_close(zip) != 0) {
    std::string message = path + ": cannot finish the archive: " + zip_strerror(zip);
    zip_discard(zip);
    zip_source_free(buffer);
    return Status::OutputError(message);
  }
  Status status;
  if (zip_source_open(buffer) == 0) {
    std::vector<char> chunk(1 << 20);
    zip_int64_t n;
    while (status.ok() && (n = zip_source_read(buffer, chunk.data(), chunk.size())) > 0) {
      status = temp.value()->Write(chunk.data(), static_cast<size_t>(n));
    }
    zip_source_close(buffer);
  } else {
    status = Status::OutputError(path + ": cannot read back the archive");
  }
  zip_source_free(buffer);
  PQ_RETURN_IF_ERROR(status);
  return temp.value()->Commit();
}

}  // namespace pq
