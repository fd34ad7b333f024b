//===- DiskCache.cpp - the size bound of the artifact cache directory -----===//
#include "DiskCache.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mixir::capi {
namespace {

struct Entry {
  std::string name, path;
  int64_t size;
  struct timespec mtime;
};

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::char_traits<char>::length(suffix);
  return s.size() > n && s.compare(s.size() - n, n, suffix) == 0;
}

/// The `.mixir` regular files of `dir` with their sizes and mtimes; files
/// that vanish between the listing and the stat are left out.
std::vector<Entry> listEntries(const std::string &dir) {
  std::vector<Entry> entries;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return entries;
  while (struct dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (!endsWith(name, ".mixir"))
      continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    entries.push_back(
        {name, path, static_cast<int64_t>(st.st_size), st.st_mtim});
  }
  closedir(d);
  return entries;
}

bool older(const Entry &a, const Entry &b) {
  if (a.mtime.tv_sec != b.mtime.tv_sec)
    return a.mtime.tv_sec < b.mtime.tv_sec;
  if (a.mtime.tv_nsec != b.mtime.tv_nsec)
    return a.mtime.tv_nsec < b.mtime.tv_nsec;
  return a.path < b.path;
}

} // namespace

std::optional<int64_t> cacheMaxBytes(int64_t fromOptions, std::string &error) {
  if (fromOptions != 0)
    return fromOptions;
  const char *env = std::getenv("MIXIR_CACHE_MAX_BYTES");
  if (!env)
    return kDefaultCacheMaxBytes;
  std::string text = env;
  bool digits = !text.empty() && text.size() <= 18 &&
                std::all_of(text.begin(), text.end(),
                            [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!digits || std::strtoll(text.c_str(), nullptr, 10) == 0) {
    error = "MIXIR_CACHE_MAX_BYTES must be a whole number of bytes >= 1 "
            "(digits only), got '" +
            text + "'";
    return std::nullopt;
  }
  return std::strtoll(text.c_str(), nullptr, 10);
}

void touchEntry(const std::string &path) {
  (void)utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
}

unsigned evictOldEntries(const std::string &dir, int64_t maxBytes,
                         const std::string &keepName) {
  if (maxBytes < 0)
    return 0;
  std::vector<Entry> entries = listEntries(dir);
  int64_t total = 0;
  for (const Entry &e : entries)
    total += e.size;
  if (total <= maxBytes)
    return 0;
  std::sort(entries.begin(), entries.end(), older);
  unsigned deleted = 0;
  for (const Entry &e : entries) {
    if (total <= maxBytes)
      break;
    if (e.name == keepName)
      continue;
    // Gone already (another process evicted it) counts as deleted too.
    if (unlink(e.path.c_str()) == 0 || errno == ENOENT) {
      total -= e.size;
      ++deleted;
    }
  }
  return deleted;
}

} // namespace mixir::capi
