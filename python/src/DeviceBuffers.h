//===- DeviceBuffers.h - CUDA buffers and DLPack for `mixir._mixir` -*- C++
//-*-===//
#ifndef MIXIR_PYTHON_DEVICEBUFFERS_H
#define MIXIR_PYTHON_DEVICEBUFFERS_H

#include "mixir-c/Runtime.h"

#include <nanobind/nanobind.h>

#include <optional>
#include <string>

namespace mixir_python {

/// Raises ValueError with the status message (and frees the status).
void check(mixir_status_t status);

/// The runtime's element type called `name` ("f32", "bf16", "i1", ...).
std::optional<mixir_dtype_t> dtypeFromName(const std::string &name);

/// Defines DeviceBuffer and dlpack_view in `m`.
void defineDeviceBuffers(nanobind::module_ &m);

} // namespace mixir_python

#endif
