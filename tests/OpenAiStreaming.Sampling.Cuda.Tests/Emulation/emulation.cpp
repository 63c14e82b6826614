// Builds sampler.cu for the CPU: g++ -std=c++20 -O2 -shared -fPIC -pthread -I<dir of sampler.cu> emulation.cpp
// Each block (row) runs as SAMPLER_THREADS std::threads meeting at one barrier; blocks run one after the other.
#ifndef SAMPLER_THREADS
#define SAMPLER_THREADS 32
#endif
#include "cuda_emulation.h"
#include "sampler.cu"

static_assert(__builtin_offsetof(SamplerRowParams, seed) == 0);
static_assert(__builtin_offsetof(SamplerRowParams, temperature) == 8);
static_assert(__builtin_offsetof(SamplerRowParams, top_k) == 32);
static_assert(__builtin_offsetof(SamplerRowParams, top_logprobs) == 52);

template <typename Kernel>
static void run_grid(int blocks, Kernel kernel)
{
    blockDim = { SAMPLER_THREADS, 1, 1 };
    std::barrier<> barrier(SAMPLER_THREADS);
    emulation_barrier = &barrier;
    for (int b = 0; b < blocks; b++)
    {
        std::vector<std::thread> threads;
        threads.reserve(SAMPLER_THREADS);
        for (unsigned int t = 0; t < SAMPLER_THREADS; t++)
        {
            threads.emplace_back([=] {
                threadIdx = { t, 0, 0 };
                blockIdx = { (unsigned int)b, 0, 0 };
                kernel();
            });
        }

        for (auto& thread : threads)
        {
            thread.join();
        }
    }

    emulation_barrier = nullptr;
}

// Offsets of every field, for the layout test: the C# structs must match them.
extern "C" int emu_layout(int* out)
{
    int i = 0;
    out[i++] = (int)sizeof(SamplerRowParams);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, seed);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, temperature);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, top_p);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, min_p);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, repetition_penalty);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, frequency_penalty);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, presence_penalty);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, top_k);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, step);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, patch_offset);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, patch_count);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, flags);
    out[i++] = (int)__builtin_offsetof(SamplerRowParams, top_logprobs);
    out[i++] = (int)sizeof(SamplerPatch);
    out[i++] = (int)__builtin_offsetof(SamplerPatch, token);
    out[i++] = (int)__builtin_offsetof(SamplerPatch, bias);
    out[i++] = (int)__builtin_offsetof(SamplerPatch, count);
    out[i++] = (int)__builtin_offsetof(SamplerPatch, flags);
    out[i++] = (int)sizeof(SamplerTopLogprob);
    return i;
}

extern "C" void emu_sample(
    int type, const void* logits, long long row_stride, int vocab, int batch, const SamplerRowParams* params,
    const SamplerPatch* patches, float* scratch, int* tokens, float* logprobs, SamplerTopLogprob* top, int* top_count, int top_stride)
{
    run_grid(batch, [=] {
        if (type == 0)
        {
            sampler_f32((const float*)logits, row_stride, vocab, params, patches, scratch, tokens, logprobs, top, top_count, top_stride);
        }
        else if (type == 1)
        {
            sampler_f16((const SamplerHalf*)logits, row_stride, vocab, params, patches, scratch, tokens, logprobs, top, top_count, top_stride);
        }
        else
        {
            sampler_bf16((const SamplerBFloat16*)logits, row_stride, vocab, params, patches, scratch, tokens, logprobs, top, top_count, top_stride);
        }
    });
}

extern "C" void emu_philox(const unsigned int* counters, unsigned int k0, unsigned int k1, unsigned int* out, int n)
{
    for (int i = 0; i < n; i++)
    {
        unsigned int c[4] = { counters[4 * i], counters[4 * i + 1], counters[4 * i + 2], counters[4 * i + 3] };
        philox(c, k0, k1);
        std::memcpy(out + 4 * i, c, 16);
    }
}
