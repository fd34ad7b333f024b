//===- NpyFuzzer.cpp - libFuzzer target for the .npy reader ---------------===//
//
// Feeds any bytes to mixrt::parseNpy (the parser behind readNpy, which
// mixir-run reads its inputs with). An accepted file must describe exactly
// the data it holds, and writing it again must give an array that reads
// back the same.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "mixrt/Npy.h"

#include <cstdint>

using mixir::fuzz::check;

MIXIR_FUZZ_TARGET(npy) {
  mixrt::HostArray array;
  mixrt::Status s = mixrt::parseNpy(data, size, array);
  if (!s) {
    check(!s.message().empty());
    return 0;
  }
  uint64_t elements = 1;
  for (int64_t d : array.shape) {
    check(d >= 0);
    elements *= uint64_t(d);
  }
  check(elements * mixrt::dtypeSize(array.dtype) == array.bytes.size());

  std::vector<uint8_t> again = mixrt::serializeNpy(array);
  check(!again.empty());
  mixrt::HostArray reread;
  check(bool(mixrt::parseNpy(again.data(), again.size(), reread)));
  check(reread.dtype == array.dtype && reread.shape == array.shape &&
        reread.bytes == array.bytes);
  return 0;
}
