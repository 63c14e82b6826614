// Just enough of CUDA for sampler.cu to compile as C++ and run a block's threads as std::threads with a barrier:
// the kernel's logic is then tested against CpuSampler on a machine without a GPU (CudaEmulationTests).
#pragma once
#include <atomic>
#include <barrier>
#include <cmath>
#include <math.h>
#include <cstring>
#include <thread>
#include <vector>

#define SAMPLER_EMULATION 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static

struct uint3 { unsigned int x, y, z; };
struct float4 { float x, y, z, w; };
struct uint2 { unsigned int x, y; };

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline uint3 blockDim;
inline std::barrier<>* emulation_barrier;

inline void __syncthreads() { emulation_barrier->arrive_and_wait(); }

inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }

inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline double atomicAdd(double* p, double v)
{
    unsigned long long* bits = reinterpret_cast<unsigned long long*>(p);
    unsigned long long old = __atomic_load_n(bits, __ATOMIC_RELAXED);
    for (;;)
    {
        double current;
        std::memcpy(&current, &old, 8);
        double next = current + v;
        unsigned long long nextBits;
        std::memcpy(&nextBits, &next, 8);
        if (__atomic_compare_exchange_n(bits, &old, nextBits, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        {
            return current;
        }
    }
}

using std::exp;
using std::fabs;
using std::log;

