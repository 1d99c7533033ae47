// EG_HD marks inline math compiled for both the CPU backend and CUDA device code.
#pragma once
#ifdef __CUDACC__
#define EG_HD __host__ __device__ __forceinline__
#else
#define EG_HD inline
#endif
