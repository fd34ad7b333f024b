//===- DiskCache.h - the size bound of the artifact cache directory -------===//
//
// The disk cache is a directory of `<key>.mixir` artifacts shared by every
// process that points at it. Its total size is bounded: a hit refreshes the
// entry's modification time, and after a new entry is written the oldest
// entries (least recently written or hit) are deleted until the directory is
// within the bound again. Other processes may write, hit and evict at the
// same time; a file that vanishes meanwhile is simply not counted.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_CAPI_DISKCACHE_H
#define MIXIR_CAPI_DISKCACHE_H

#include <cstdint>
#include <optional>
#include <string>

namespace mixir::capi {

/// The bound when neither the options nor $MIXIR_CACHE_MAX_BYTES give one.
constexpr int64_t kDefaultCacheMaxBytes = int64_t(1) << 30;

/// The bound a compiler uses: `fromOptions` when it is not 0 (negative: no
/// bound), else $MIXIR_CACHE_MAX_BYTES when set, else the default. An
/// environment value that is not a whole number of bytes (digits only, at
/// least 1) is an error: returns std::nullopt and sets `error`.
std::optional<int64_t> cacheMaxBytes(int64_t fromOptions, std::string &error);

/// Marks the entry at `path` as just used (its mtime becomes now).
void touchEntry(const std::string &path);

/// Deletes the least recently used `.mixir` files of `dir` until their total
/// size is at most `maxBytes` (negative: no bound), never the file named
/// `keepName` (the entry just written). Returns how many files it deleted.
/// Best effort: errors are ignored.
unsigned evictOldEntries(const std::string &dir, int64_t maxBytes,
                         const std::string &keepName);

} // namespace mixir::capi

#endif
