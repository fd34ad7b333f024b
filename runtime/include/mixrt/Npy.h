//===- Npy.h - NumPy .npy reading and writing -------------------*- C++ -*-===//
//
// Reads format versions 1.0, 2.0 and 3.0 of C-ordered, little-endian arrays
// of the element types in DType. bfloat16 is stored as the 2-byte void type
// '<V2', which is what numpy writes for ml_dtypes.bfloat16 arrays.
// The runtime assumes a little-endian host: data bytes are copied as they are.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_NPY_H
#define MIXRT_NPY_H

#include "mixrt/Types.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mixrt {

/// Parses a complete .npy file held in memory. On failure `out` is left in an
/// unspecified state and the message says what is wrong (without a path).
Status parseNpy(const uint8_t *data, size_t size, HostArray &out);

/// Reads a .npy file; error messages start with "PATH: ".
Status readNpy(const std::string &path, HostArray &out);

/// Serializes `array` exactly as numpy.save would: format 1.0 (2.0 when the
/// header does not fit in 65535 bytes), header padded to a multiple of 64.
/// Returns an empty vector when the array is inconsistent (a negative
/// dimension, or bytes.size() != numElements * dtypeSize).
std::vector<uint8_t> serializeNpy(const HostArray &array);

/// Writes `array` to `path`; error messages start with "PATH: ".
Status writeNpy(const std::string &path, const HostArray &array);

} // namespace mixrt

#endif
