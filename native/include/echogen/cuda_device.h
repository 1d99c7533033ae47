// The CUDA runtime as the rest of the package sees it: memory, copies and the addon's stream.
// Only compiled with ECHOGEN_WITH_CUDA; every function throws std::runtime_error carrying
// the CUDA runtime's own message on failure. Streams are passed as void* so this header
// needs no CUDA headers.
#pragma once
#include <cstddef>
#include <string>

namespace echogen::cuda {

// True when a usable device is present; otherwise *why holds the runtime's reason.
bool probe(std::string* why);
std::string device_name();
void* create_stream();
void destroy_stream(void* stream);
void synchronize(void* stream);
void* malloc_device(size_t bytes);
void free_device(void* ptr);
void copy_h2d(void* dst, const void* src, size_t bytes, void* stream);
void copy_d2h(void* dst, const void* src, size_t bytes, void* stream);  // waits for the stream
void copy_d2d(void* dst, const void* src, size_t bytes, void* stream);
void fill_zero(void* dst, size_t bytes, void* stream);

}  // namespace echogen::cuda
