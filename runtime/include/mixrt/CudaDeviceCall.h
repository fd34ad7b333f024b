//===- CudaDeviceCall.h - target cuda calls on device buffers ---*- C++ -*-===//
//
// The host code of a cuda function takes host buffers: it allocates device
// twins of its arguments and results, copies the arguments up, launches,
// copies the results down and waits. A call on buffers that already live on
// the device runs that host code twice:
//
//   1. a dry run, in which nothing reaches the driver: allocations get
//      addresses that no memory has, and the allocations, copies and result
//      buffers are recorded;
//   2. the real run, in which an allocation that was filled by a full copy
//      of an argument is that argument, one that was copied whole into a
//      result is the caller's output, the copies between them are skipped,
//      and nothing waits on the host. Other allocations (device-only scratch
//      of some kernels) are made on the call's stream.
//
// The host code still allocates host memory for its results (never
// touched, freed after each run). The arguments the host code reads itself
// (FunctionSignature::hostReadArgs: packed sequences' offsets, state pools'
// indices) are the exception: those may be host buffers, and device ones
// are downloaded first, which waits for the work queued on the stream. A
// function whose host code copies device data to the host or host data to the
// device (an op that runs on the CPU between two kernels, mix.recurrence's
// copies of its outputs) is refused with a status naming the copy, before
// anything runs on the device.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_CUDADEVICECALL_H
#define MIXRT_CUDADEVICECALL_H

#include "mixrt/Call.h"

#include <functional>

namespace mixrt {

/// Calls `fn` (compiled for target cuda) on dense row-major device buffers:
/// `args` and `outputs` hold device pointers of the default device's
/// primary context, except the arguments flagged in `onHost` (empty: none),
/// host buffers the host code reads. Its work is queued on `stream` (a
/// CUstream; null: the legacy default stream) and the call returns without
/// waiting for it, unless it downloads a host-read argument first.
Status callOnDevice(PackedFunction fn, const FunctionSignature &sig,
                    const std::vector<ArrayView> &args,
                    const std::vector<bool> &onHost,
                    const std::vector<ArrayView> &outputs, void *stream);

/// Makes the outputs of a call once its dry run knows the result shapes
/// (one per result, in order).
using OutputAllocator =
    std::function<Status(const std::vector<std::vector<int64_t>> &shapes,
                         std::vector<ArrayView> &outputs)>;

/// callOnDevice with outputs that `allocate` makes after the dry run: the
/// host code runs twice (dry, then for real) and the host-read arguments
/// are downloaded once, where result shapes then a call would run it three
/// times.
Status callOnDevice(PackedFunction fn, const FunctionSignature &sig,
                    const std::vector<ArrayView> &args,
                    const std::vector<bool> &onHost,
                    const OutputAllocator &allocate, void *stream);

/// The result shapes of `fn` on those buffers (a dry run: nothing reaches
/// the device but the downloads of host-read arguments, on `stream`).
Status deviceResultShapes(PackedFunction fn, const FunctionSignature &sig,
                          const std::vector<ArrayView> &args,
                          const std::vector<bool> &onHost, void *stream,
                          std::vector<std::vector<int64_t>> &shapes);

} // namespace mixrt

#endif
