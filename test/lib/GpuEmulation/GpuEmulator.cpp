//===- GpuEmulator.cpp - run GPU kernels' IR on CPU threads (test only) ---===//
#include "GpuEmulator.h"

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

/// A reusable barrier for a fixed number of threads.
class Barrier {
public:
  explicit Barrier(int count) : count(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    uint64_t gen = generation;
    if (++arrived == count) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    cv.wait(lock, [&] { return generation != gen; });
  }

private:
  std::mutex mutex;
  std::condition_variable cv;
  int count, arrived = 0;
  uint64_t generation = 0;
};

/// What the lanes of one warp publish for a collective op.
struct Lane {
  const uint16_t *rowPtr = nullptr; // ldmatrix: this lane's row address
  uint16_t a[8] = {}, b[4] = {};    // mma operands
  float c[4] = {};
  float shuffle = 0; // gpu.shuffle
};

struct Warp {
  explicit Warp(int lanes) : sync(lanes), lanes(lanes) {}
  Barrier sync;
  Lane lane[32];
  int lanes;
};

struct Block {
  explicit Block(int threads) : sync(threads), threads(threads) {
    for (int w = 0; w * 32 < threads; ++w)
      warps.push_back(std::make_unique<Warp>(std::min(32, threads - w * 32)));
  }
  Barrier sync;
  int threads;
  std::vector<std::unique_ptr<Warp>> warps;
};

std::mutex launchMutex; // one emulated block at a time
std::unique_ptr<Block> block;
const unsigned char *sharedBase = nullptr; // the block's shared window
int64_t sharedBytes = 0;
std::mutex errorMutex;
std::string error;
thread_local int threadId = -1;

void setError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (error.empty())
    error = message;
}

float toFloat(uint16_t bits, bool bf16) {
  uint32_t w;
  if (bf16) {
    w = uint32_t(bits) << 16;
  } else {
    uint32_t sign = uint32_t(bits & 0x8000) << 16;
    uint32_t exp = (bits >> 10) & 0x1f, man = bits & 0x3ff;
    if (exp == 0x1f) {
      w = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
      if (man == 0) {
        w = sign;
      } else { // subnormal: normalise
        int e = -1;
        do {
          man <<= 1;
          ++e;
        } while (!(man & 0x400));
        w = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
      }
    } else {
      w = sign | (exp + 112) << 23 | man << 13;
    }
  }
  float f;
  std::memcpy(&f, &w, sizeof f);
  return f;
}

Warp &myWarp() { return *block->warps[threadId / 32]; }
int myLane() { return threadId % 32; }

uint16_t *at(MixEmuMemRef2D *m, int64_t i, int64_t j) {
  return static_cast<uint16_t *>(m->aligned) + m->offset + i * m->strides[0] +
         j * m->strides[1];
}
float *atF(MixEmuMemRef2D *m, int64_t i, int64_t j) {
  return static_cast<float *>(m->aligned) + m->offset + i * m->strides[0] +
         j * m->strides[1];
}

} // namespace

extern "C" {

void _mlir_ciface_mixEmuBeginBlock(int64_t threads) {
  launchMutex.lock();
  block = std::make_unique<Block>(static_cast<int>(threads));
}

int64_t _mlir_ciface_mixEmuBeginThread(int64_t thread, int64_t team) {
  if (team != block->threads || thread < 0 || thread >= team) {
    setError("GPU emulation: the OpenMP team has " + std::to_string(team) +
             " threads, the block " + std::to_string(block->threads) +
             " (nested parallelism or a thread limit?)");
    return 0;
  }
  threadId = static_cast<int>(thread);
  return 1;
}

void _mlir_ciface_mixEmuEndBlock() {
  block.reset();
  sharedBase = nullptr;
  sharedBytes = 0;
  launchMutex.unlock();
}

void _mlir_ciface_mixEmuBarrier() { block->sync.wait(); }

float _mlir_ciface_mixEmuShuffleXor(float value, int64_t offset) {
  Warp &w = myWarp();
  int lane = myLane();
  w.lane[lane].shuffle = value;
  w.sync.wait();
  int from = lane ^ static_cast<int>(offset);
  float got = from < w.lanes ? w.lane[from].shuffle : value;
  w.sync.wait();
  return got;
}

} // extern "C"

namespace {
void ldmatrix(MixEmuMemRef2D *smem, int64_t row, int64_t col, int64_t transpose,
              int64_t tiles, MixEmuMemRef2D *out) {
  Warp &w = myWarp();
  int lane = myLane();
  if (row < 0 || col < 0 || row >= smem->sizes[0] || col + 8 > smem->sizes[1]) {
    setError("GPU emulation: ldmatrix row (" + std::to_string(row) + ", " +
             std::to_string(col) + ") outside the shared tile");
    row = 0, col = 0;
  }
  w.lane[lane].rowPtr = at(smem, row, col);
  w.sync.wait();
  // Matrix i takes its 8 row addresses from lanes 8i .. 8i+7; lane l holds
  // elements (l/4, 2(l%4) + {0,1}) of it, or of its transpose.
  for (int64_t i = 0; i < tiles; ++i)
    for (int e = 0; e < 2; ++e) {
      int r = lane / 4, c = 2 * (lane % 4) + e;
      const Lane &src = w.lane[8 * i + (transpose ? c : r)];
      *at(out, i, e) = src.rowPtr[transpose ? r : c];
    }
  w.sync.wait();
}

void mma(MixEmuMemRef2D *a, MixEmuMemRef2D *b, MixEmuMemRef2D *c,
         MixEmuMemRef2D *d, bool bf16) {
  Warp &w = myWarp();
  int lane = myLane();
  Lane &me = w.lane[lane];
  for (int i = 0; i < 4; ++i)
    for (int e = 0; e < 2; ++e)
      me.a[2 * i + e] = *at(a, i, e);
  for (int i = 0; i < 2; ++i)
    for (int e = 0; e < 2; ++e) {
      me.b[2 * i + e] = *at(b, i, e);
      me.c[2 * i + e] = *atF(c, i, e);
    }
  w.sync.wait();
  // A (16x16, row): register i of lane l holds row l/4 + 8 (i % 2), cols
  // 2 (l%4) + 8 (i / 2) + {0,1}. B (16x8, col): register i holds rows
  // 2 (l%4) + 8 i + {0,1}, col l/4. C/D (16x8): register i holds row
  // l/4 + 8 i, cols 2 (l%4) + {0,1}.
  float A[16][16], B[16][8];
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i)
      for (int e = 0; e < 2; ++e)
        A[l / 4 + 8 * (i % 2)][2 * (l % 4) + 8 * (i / 2) + e] =
            toFloat(w.lane[l].a[2 * i + e], bf16);
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 2; ++i)
      for (int e = 0; e < 2; ++e)
        B[2 * (l % 4) + 8 * i + e][l / 4] =
            toFloat(w.lane[l].b[2 * i + e], bf16);
  for (int i = 0; i < 2; ++i)
    for (int e = 0; e < 2; ++e) {
      int row = lane / 4 + 8 * i, col = 2 * (lane % 4) + e;
      float acc = me.c[2 * i + e];
      for (int k = 0; k < 16; ++k)
        acc += A[row][k] * B[k][col];
      *atF(d, i, e) = acc;
    }
  w.sync.wait();
}
} // namespace

extern "C" {
void _mlir_ciface_mixEmuLdmatrixBF16(MixEmuMemRef2D *smem, int64_t row,
                                     int64_t col, int64_t transpose,
                                     int64_t tiles, MixEmuMemRef2D *out) {
  ldmatrix(smem, row, col, transpose, tiles, out);
}
void _mlir_ciface_mixEmuLdmatrixF16(MixEmuMemRef2D *smem, int64_t row,
                                    int64_t col, int64_t transpose,
                                    int64_t tiles, MixEmuMemRef2D *out) {
  ldmatrix(smem, row, col, transpose, tiles, out);
}
void _mlir_ciface_mixEmuMmaBF16(MixEmuMemRef2D *a, MixEmuMemRef2D *b,
                                MixEmuMemRef2D *c, MixEmuMemRef2D *d) {
  mma(a, b, c, d, true);
}
void _mlir_ciface_mixEmuMmaF16(MixEmuMemRef2D *a, MixEmuMemRef2D *b,
                               MixEmuMemRef2D *c, MixEmuMemRef2D *d) {
  mma(a, b, c, d, false);
}
void _mlir_ciface_mixEmuSharedWindow(int64_t base, int64_t bytes) {
  sharedBase = reinterpret_cast<const unsigned char *>(base);
  sharedBytes = bytes;
}
} // extern "C"

namespace {
/// An operand of wgmma as its matrix descriptor places it: element (r, k)
/// (r along M or N, k along K, K-major, no swizzle) at start + (r % 8) * 16
/// + (r / 8) * SBO + (k % 8) * 2 + (k / 8) * LBO of the shared window.
struct Operand {
  int64_t start = 0, leading = 0, stride = 0;
  bool ok = false;
  Operand(int64_t desc, int64_t rows) {
    auto field = [&](int shift) { return ((desc >> shift) & 0x3FFF) << 4; };
    start = field(0), leading = field(16), stride = field(32);
    if (((desc >> 62) & 3) != 0 || ((desc >> 49) & 7) != 0) {
      setError("GPU emulation: wgmma descriptors with a swizzle or a base "
               "offset are not emulated");
      return;
    }
    int64_t last = at(rows - 1, 15);
    if (!sharedBase || last + 2 > sharedBytes) {
      setError("GPU emulation: a wgmma operand reaches byte " +
               std::to_string(last + 2) + " of " + std::to_string(sharedBytes) +
               " bytes of shared memory");
      return;
    }
    ok = true;
  }
  int64_t at(int64_t r, int64_t k) const {
    return start + (r % 8) * 16 + (r / 8) * stride + (k % 8) * 2 +
           (k / 8) * leading;
  }
  float get(int64_t r, int64_t k, bool bf16) const {
    uint16_t bits;
    std::memcpy(&bits, sharedBase + at(r, k), sizeof bits);
    return toFloat(bits, bf16);
  }
};

void wgmma(int64_t descA, int64_t descB, MixEmuMemRef2D *acc, int64_t n,
           bool bf16) {
  if (block->threads != 128) {
    setError("GPU emulation: wgmma in a block of " +
             std::to_string(block->threads) + " threads, not one warpgroup");
    return;
  }
  Operand a(descA, 64), b(descB, n);
  if (!a.ok || !b.ok)
    return;
  // D (64 x n): warp w holds rows 16w .. 16w + 15; for each 8 columns j,
  // lane l holds rows l/4 and l/4 + 8, columns 2 (l%4) + {0,1}.
  int w = threadId / 32, lane = threadId % 32;
  for (int64_t i = 0; i < n / 2; ++i) {
    int64_t j = i / 4, r = (i / 2) % 2, e = i % 2;
    int64_t row = 16 * w + lane / 4 + 8 * r, col = 8 * j + 2 * (lane % 4) + e;
    float sum = 0;
    for (int64_t k = 0; k < 16; ++k)
      sum += a.get(row, k, bf16) * b.get(col, k, bf16);
    *atF(acc, 0, i) += sum;
  }
}
} // namespace

extern "C" {
void _mlir_ciface_mixEmuWgmmaBF16(int64_t descA, int64_t descB,
                                  MixEmuMemRef2D *acc, int64_t n) {
  wgmma(descA, descB, acc, n, true);
}
void _mlir_ciface_mixEmuWgmmaF16(int64_t descA, int64_t descB,
                                 MixEmuMemRef2D *acc, int64_t n) {
  wgmma(descA, descB, acc, n, false);
}
} // extern "C"

const char *mixir::test::takeGpuEmulationError() {
  static thread_local std::string taken;
  std::lock_guard<std::mutex> lock(errorMutex);
  taken.swap(error);
  error.clear();
  return taken.c_str();
}
