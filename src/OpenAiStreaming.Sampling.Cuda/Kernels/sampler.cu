// GPU token sampler: one thread block per row of logits, no sort of the vocabulary.
//
// It reproduces CpuSampler (src/OpenAiStreaming.Sampling, docs/sampling.md) step for step: logit bias and penalties,
// greedy (temperature <= 1e-5), temperature, min_p, top_k, top_p, then the exponential race keyed by Philox4x32-10
// with counter (step, token, 0, 0) and key (seed low, seed high), ties to the lowest id, NaN counted as -infinity.
// Whatever the CPU computes in double is computed in double here, with the same operations in the same order where
// the result depends on it; compile with --fmad=false so that no multiply-add is fused (the CPU never fuses).
//
// The same file compiles as C++ (SAMPLER_EMULATION, see tests/OpenAiStreaming.Sampling.Cuda.Tests/Emulation) so that
// the logic is tested against CpuSampler on a machine without a GPU.
//
// Rows: a block per row; every pass reads the row with 16-byte loads when the row is aligned. Pass 1 finds the
// maximum and its first index (greedy ends there). min_p is a threshold on the logits. top_k and top_p are cuts in
// the ranking (logit descending, id ascending) found by a radix descent on the 32-bit rank word: a histogram of 2048
// buckets (counts for top_k, masses for top_p) per level, levels of 11, 11 and 10 bits, until the bucket that holds
// the cut has at most SAMPLER_CAPACITY elements, which are then gathered in shared memory, sorted and cut exactly as
// the CPU does. The race then runs over the survivors (in shared memory when top_k gathered them, else over the row).

#ifndef SAMPLER_THREADS
#define SAMPLER_THREADS 512
#endif

// The most candidates sorted in shared memory: the CPU's top_p sort limit, so top_k <= 4096 cuts exactly alike.
#define SAMPLER_CAPACITY 4096
#define SAMPLER_BINS 2048
#define SAMPLER_INT_MAX 0x7FFFFFFF

// Per-row parameters, packed by CudaRowParams.cs; keep both in step (offsets in bytes):
//   0 seed (u64) | 8 temperature | 12 top_p | 16 min_p | 20 repetition_penalty | 24 frequency_penalty
//   28 presence_penalty | 32 top_k | 36 step | 40 patch_offset | 44 patch_count | 48 flags | 52 top_logprobs | size 56
struct SamplerRowParams
{
    unsigned long long seed;
    float temperature;
    float top_p;
    float min_p;
    float repetition_penalty;
    float frequency_penalty;
    float presence_penalty;
    int top_k;
    int step;
    int patch_offset;
    int patch_count;
    int flags;
    int top_logprobs;
};

// flags of SamplerRowParams
#define SAMPLER_WANT_LOGPROB 1

// One changed token of a row (CudaPatch.cs): 0 token | 4 bias | 8 count | 12 flags | size 16.
// bias is added first (flag 1), then the repetition penalty (flag 2, the token was seen in the prompt or the output),
// then frequency * count + presence when count > 0. A token appears at most once per row.
struct SamplerPatch
{
    int token;
    float bias;
    int count;
    unsigned int flags;
};

#define SAMPLER_PATCH_BIAS 1
#define SAMPLER_PATCH_SEEN 2

// One entry of the top log-probabilities (TokenLogprob): 0 token | 4 logprob | size 8.
struct SamplerTopLogprob
{
    int token;
    float logprob;
};

static_assert(sizeof(SamplerRowParams) == 56, "SamplerRowParams must match CudaRowParams (56 bytes)");
static_assert(sizeof(SamplerPatch) == 16, "SamplerPatch must match CudaPatch (16 bytes)");
static_assert(sizeof(SamplerTopLogprob) == 8, "SamplerTopLogprob must match TokenLogprob (8 bytes)");

// 16-bit inputs, converted exactly to float on load (no header needed).
struct SamplerHalf
{
    unsigned short bits;
};

struct SamplerBFloat16
{
    unsigned short bits;
};

__device__ __forceinline__ float sampler_inf() { return __uint_as_float(0x7F800000u); }

__device__ __forceinline__ float to_float(float v) { return v; }

__device__ __forceinline__ float to_float(SamplerBFloat16 v) { return __uint_as_float((unsigned int)v.bits << 16); }

__device__ __forceinline__ float to_float(SamplerHalf v)
{
    unsigned int h = v.bits;
    unsigned int sign = (h & 0x8000u) << 16;
    unsigned int exponent = (h >> 10) & 0x1Fu;
    unsigned int mantissa = h & 0x3FFu;
    if (exponent == 0x1Fu)
    {
        return __uint_as_float(sign | 0x7F800000u | (mantissa << 13));
    }

    if (exponent == 0)
    {
        // Zero or subnormal: mantissa * 2^-24, exact in float.
        float f = (float)mantissa * 5.9604644775390625e-8f;
        return sign != 0 ? -f : f;
    }

    return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// Four consecutive elements in one load: float4 for fp32, uint2 for 16-bit types.
__device__ __forceinline__ void load4(const float* row, int j, float* out)
{
    float4 v = reinterpret_cast<const float4*>(row)[j];
    out[0] = v.x;
    out[1] = v.y;
    out[2] = v.z;
    out[3] = v.w;
}

template <typename T>
__device__ __forceinline__ void load4(const T* row, int j, float* out)
{
    uint2 v = reinterpret_cast<const uint2*>(row)[j];
    T a, b, c, d;
    a.bits = (unsigned short)(v.x & 0xFFFFu);
    b.bits = (unsigned short)(v.x >> 16);
    c.bits = (unsigned short)(v.y & 0xFFFFu);
    d.bits = (unsigned short)(v.y >> 16);
    out[0] = to_float(a);
    out[1] = to_float(b);
    out[2] = to_float(c);
    out[3] = to_float(d);
}

// Calls f(value, id) for every element of the row, each thread in increasing id order.
template <typename T, typename F>
__device__ __forceinline__ void for_each(const T* row, int vocab, F&& f)
{
    const int tid = (int)threadIdx.x;
    const int nt = (int)blockDim.x;
    int start = 0;
    if ((reinterpret_cast<unsigned long long>(row) & (unsigned long long)(4 * sizeof(T) - 1)) == 0)
    {
        int n4 = vocab >> 2;
        for (int j = tid; j < n4; j += nt)
        {
            float v[4];
            load4(row, j, v);
            f(v[0], 4 * j);
            f(v[1], 4 * j + 1);
            f(v[2], 4 * j + 2);
            f(v[3], 4 * j + 3);
        }

        start = n4 << 2;
    }

    for (int i = start + tid; i < vocab; i += nt)
    {
        f(to_float(row[i]), i);
    }
}

// ---- keys: CandidateKey.cs bit for bit ----

// The rank word: ascending means logit descending; -0 and +0 are equal. Not for NaN.
__device__ __forceinline__ unsigned int rank_word(float x)
{
    unsigned int bits = __float_as_uint(x);
    if ((bits & 0x7FFFFFFFu) == 0)
    {
        bits = 0;
    }

    unsigned int ordered = (bits & 0x80000000u) != 0 ? ~bits : (bits | 0x80000000u);
    return ~ordered;
}

__device__ __forceinline__ unsigned long long pack_key(float x, int id)
{
    return ((unsigned long long)rank_word(x) << 32) | (unsigned int)id;
}

__device__ __forceinline__ int key_id(unsigned long long key) { return (int)(unsigned int)key; }

__device__ __forceinline__ float key_logit(unsigned long long key)
{
    unsigned int ordered = ~(unsigned int)(key >> 32);
    unsigned int bits = (ordered & 0x80000000u) != 0 ? (ordered & 0x7FFFFFFFu) : ~ordered;
    return __uint_as_float(bits);
}

// ---- MathF.BitIncrement / BitDecrement and CpuSampler.StrictlyBelow ----

__device__ __forceinline__ float bit_increment(float x)
{
    unsigned int bits = __float_as_uint(x);
    if ((bits & 0x7F800000u) == 0x7F800000u)
    {
        return bits == 0xFF800000u ? -__uint_as_float(0x7F7FFFFFu) : x;
    }

    if (bits == 0x80000000u)
    {
        return __uint_as_float(1u);
    }

    bits += (int)bits < 0 ? 0xFFFFFFFFu : 1u;
    return __uint_as_float(bits);
}

__device__ __forceinline__ float bit_decrement(float x)
{
    unsigned int bits = __float_as_uint(x);
    if ((bits & 0x7F800000u) == 0x7F800000u)
    {
        return bits == 0x7F800000u ? __uint_as_float(0x7F7FFFFFu) : x;
    }

    if (bits == 0)
    {
        return -__uint_as_float(1u);
    }

    bits += (int)bits < 0 ? 1u : 0xFFFFFFFFu;
    return __uint_as_float(bits);
}

// The largest float f such that x > f is the same as x >= a for every float x.
__device__ __forceinline__ float strictly_below(double a)
{
    float c = (float)a;
    if ((double)c < a)
    {
        c = bit_increment(c);
    }

    return bit_decrement(c);
}

// ---- Philox4x32-10 (Philox.cs, Random123, cuRAND) ----

__device__ __forceinline__ void philox(unsigned int* c, unsigned int k0, unsigned int k1)
{
    for (int round = 0; round < 10; round++)
    {
        if (round > 0)
        {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }

        unsigned int hi0 = __umulhi(0xD2511F53u, c[0]);
        unsigned int lo0 = 0xD2511F53u * c[0];
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c[2]);
        unsigned int lo1 = 0xCD9E8D57u * c[2];
        unsigned int n0 = hi1 ^ c[1] ^ k0;
        unsigned int n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
}

__device__ __forceinline__ unsigned int philox_x0(int step, int id, unsigned long long seed)
{
    unsigned int c[4] = { (unsigned int)step, (unsigned int)id, 0u, 0u };
    philox(c, (unsigned int)seed, (unsigned int)(seed >> 32));
    return c[0];
}

// The exact race key, ExponentialRace.Consider: ((l - m) / T) - ln(-ln u), u = (X0 + 1) / 2^32, in double.
__device__ __forceinline__ double race_key(float logit, unsigned int x0, double m, double t)
{
    double u = ((double)x0 + 1.0) * (1.0 / 4294967296.0);
    return (((double)logit - m) / t) - log(-log(u));
}

// ---- block reductions (shared memory, fixed order: deterministic) ----

__shared__ double s_red_d[SAMPLER_THREADS];
__shared__ int s_red_i[SAMPLER_THREADS];

__device__ double block_sum(double v)
{
    const int tid = (int)threadIdx.x;
    s_red_d[tid] = v;
    __syncthreads();
    for (int s = (int)blockDim.x >> 1; s > 0; s >>= 1)
    {
        if (tid < s)
        {
            s_red_d[tid] += s_red_d[tid + s];
        }

        __syncthreads();
    }

    double r = s_red_d[0];
    __syncthreads();
    return r;
}

__device__ int block_min_int(int v)
{
    const int tid = (int)threadIdx.x;
    s_red_i[tid] = v;
    __syncthreads();
    for (int s = (int)blockDim.x >> 1; s > 0; s >>= 1)
    {
        if (tid < s && s_red_i[tid + s] < s_red_i[tid])
        {
            s_red_i[tid] = s_red_i[tid + s];
        }

        __syncthreads();
    }

    int r = s_red_i[0];
    __syncthreads();
    return r;
}

__device__ int block_sum_int(int v)
{
    const int tid = (int)threadIdx.x;
    s_red_i[tid] = v;
    __syncthreads();
    for (int s = (int)blockDim.x >> 1; s > 0; s >>= 1)
    {
        if (tid < s)
        {
            s_red_i[tid] += s_red_i[tid + s];
        }

        __syncthreads();
    }

    int r = s_red_i[0];
    __syncthreads();
    return r;
}

// The largest key, ties to the lowest id (ids compared unsigned, so -1 loses to any id). Keys are never NaN.
__device__ void block_argmax(double& key, int& id)
{
    const int tid = (int)threadIdx.x;
    s_red_d[tid] = key;
    s_red_i[tid] = id;
    __syncthreads();
    for (int s = (int)blockDim.x >> 1; s > 0; s >>= 1)
    {
        if (tid < s)
        {
            double k2 = s_red_d[tid + s];
            int i2 = s_red_i[tid + s];
            if (k2 > s_red_d[tid] || (k2 == s_red_d[tid] && (unsigned int)i2 < (unsigned int)s_red_i[tid]))
            {
                s_red_d[tid] = k2;
                s_red_i[tid] = i2;
            }
        }

        __syncthreads();
    }

    key = s_red_d[0];
    id = s_red_i[0];
    __syncthreads();
}

// ---- shared working set ----

// Histogram (counts and masses of the buckets of one level) or candidate keys, never both at once.
struct SamplerHistogram
{
    unsigned int count[SAMPLER_BINS];
    double mass[SAMPLER_BINS];
};

union SamplerShared
{
    unsigned long long keys[SAMPLER_CAPACITY];
    SamplerHistogram h;
};

__shared__ SamplerShared s_work;
__shared__ double s_scan_d[SAMPLER_THREADS];
__shared__ int s_cross;
__shared__ double s_above;
__shared__ int s_n;

// A cut in the ranking: keeps (rank < r) or (rank == r and id < id). Keep-all is (0xFFFFFFFF, INT_MAX).
struct Cut
{
    unsigned int rank;
    int id;
};

__device__ __forceinline__ Cut keep_all()
{
    Cut c;
    c.rank = 0xFFFFFFFFu;
    c.id = SAMPLER_INT_MAX;
    return c;
}

__device__ __forceinline__ bool before(unsigned int r, int id, Cut c) { return r < c.rank || (r == c.rank && id < c.id); }

__device__ __forceinline__ Cut cut_after(unsigned long long key)
{
    Cut c;
    c.rank = (unsigned int)(key >> 32);
    c.id = key_id(key) + 1;
    return c;
}

// Sorts s_work.keys[0, n) ascending (bitonic, padded to a power of two with the largest key).
__device__ void sort_keys(int n)
{
    const int tid = (int)threadIdx.x;
    const int nt = (int)blockDim.x;
    int size = 1;
    while (size < n)
    {
        size <<= 1;
    }

    for (int i = n + tid; i < size; i += nt)
    {
        s_work.keys[i] = ~0ULL;
    }

    __syncthreads();
    for (int k = 2; k <= size; k <<= 1)
    {
        for (int j = k >> 1; j > 0; j >>= 1)
        {
            for (int i = tid; i < size; i += nt)
            {
                int partner = i ^ j;
                if (partner > i)
                {
                    unsigned long long a = s_work.keys[i];
                    unsigned long long b = s_work.keys[partner];
                    bool ascending = (i & k) == 0;
                    if ((a > b) == ascending)
                    {
                        s_work.keys[i] = b;
                        s_work.keys[partner] = a;
                    }
                }
            }

            __syncthreads();
        }
    }
}

// The first bucket where the running total of values (in bucket order) reaches target, and the total before it,
// into s_cross and s_above; s_cross = bins when the total never reaches it. Values are counts or masses.
__device__ void find_crossing(int bins, bool by_mass, double target)
{
    const int tid = (int)threadIdx.x;
    const int nt = (int)blockDim.x;
    const int per = (bins + nt - 1) / nt;
    const int first = tid * per;
    double local = 0;
    for (int b = first; b < first + per && b < bins; b++)
    {
        local += by_mass ? s_work.h.mass[b] : (double)s_work.h.count[b];
    }

    // Exclusive scan of the per-thread totals (Hillis-Steele).
    s_scan_d[tid] = local;
    __syncthreads();
    for (int offset = 1; offset < nt; offset <<= 1)
    {
        double add = tid >= offset ? s_scan_d[tid - offset] : 0.0;
        __syncthreads();
        s_scan_d[tid] += add;
        __syncthreads();
    }

    double cumulative = s_scan_d[tid] - local;
    if (tid == 0)
    {
        s_cross = bins;
    }

    __syncthreads();
    int found = SAMPLER_INT_MAX;
    double found_above = 0;
    for (int b = first; b < first + per && b < bins; b++)
    {
        double value = by_mass ? s_work.h.mass[b] : (double)s_work.h.count[b];
        if (!(cumulative + value < target))
        {
            found = b;
            found_above = cumulative;
            break;
        }

        cumulative += value;
    }

    int cross = block_min_int(found);
    if (found == cross && cross != SAMPLER_INT_MAX)
    {
        s_cross = cross;
        s_above = found_above;
    }

    __syncthreads();
}

// Where a cut search stands: the elements it looks at are those above floor and before base.
struct CutSearch
{
    float floor;
    Cut base;
    bool by_mass;
    long long k;       // count mode: how many to keep
    double top_p;      // mass mode: the share of the mass to reach
    double m;          // the row maximum
    double t;          // the temperature
    bool divide_total; // mass mode: the total's weights divide by T (after top_k) or multiply by 1/T (whole row)
};

// The cut that keeps the first k elements (count mode) or the shortest prefix reaching top_p of the mass (mass mode),
// ranked by logit descending then id ascending. In count mode with k <= SAMPLER_CAPACITY the kept elements are left
// sorted in s_work.keys[0, *kept).
template <typename T>
__device__ Cut find_cut(const T* x, int vocab, const CutSearch& q, int* kept)
{
    const int tid = (int)threadIdx.x;
    const int nt = (int)blockDim.x;
    *kept = -1;
    double above = 0;      // count or mass of the elements ranked before the current bucket's range
    double above_count = 0;
    double target = (double)q.k;
    unsigned int prefix = 0;
    Cut result = keep_all();
    bool resolved = false;
    for (int level = 0; level < 3 && !resolved; level++)
    {
        const int shift = level == 0 ? 21 : level == 1 ? 10 : 0;
        const int bins = level == 2 ? 1024 : 2048;
        const int prefix_shift = level == 0 ? 32 : level == 1 ? 21 : 10;
        for (int b = tid; b < bins; b += nt)
        {
            s_work.h.count[b] = 0;
            s_work.h.mass[b] = 0;
        }

        __syncthreads();
        double local_total = 0;
        const double inverse_t = 1.0 / q.t;
        for_each(x, vocab, [&](float v, int i) {
            if (!(v > q.floor))
            {
                return;
            }

            unsigned int r = rank_word(v);
            if (!before(r, i, q.base) || (level > 0 && (r >> prefix_shift) != prefix))
            {
                return;
            }

            unsigned int b = (r >> shift) & (unsigned int)(bins - 1);
            atomicAdd(&s_work.h.count[b], 1u);
            if (q.by_mass)
            {
                double w = exp(((double)v - q.m) / q.t);
                atomicAdd(&s_work.h.mass[b], w);
                if (level == 0)
                {
                    local_total += q.divide_total ? w : exp(((double)v - q.m) * inverse_t);
                }
            }
        });
        __syncthreads();
        if (q.by_mass && level == 0)
        {
            target = q.top_p * block_sum(local_total);
        }

        find_crossing(bins, q.by_mass, target - (level == 0 ? 0.0 : above));
        int cross = s_cross;
        double cross_above = s_above;
        if (cross == bins)
        {
            // The target is never reached (count mode: at most k elements; mass mode: rounding): keep them all.
            result = keep_all();
            resolved = true;
            break;
        }

        unsigned int cross_count = s_work.h.count[cross];
        __syncthreads();
        above += cross_above;
        if (!q.by_mass)
        {
            above_count = above;
        }
        else
        {
            // Count of the elements ranked before the bucket: needed only to know whether they all fit.
            double before_count = 0;
            for (int b = tid; b < cross; b += nt)
            {
                before_count += (double)s_work.h.count[b];
            }

            __syncthreads();
            above_count += block_sum(before_count);
        }

        unsigned int bucket_prefix = level == 0 ? (unsigned int)cross : ((prefix << (prefix_shift - shift)) | (unsigned int)cross);
        unsigned int lo = shift == 0 ? bucket_prefix : bucket_prefix << shift;
        unsigned int hi = shift == 0 ? lo : lo | ((1u << shift) - 1u);

        // Gather the crossing bucket, and everything before it too when that fits (then the sums start at the top,
        // exactly as the CPU's sorted loop does).
        bool from_top = above_count + (double)cross_count <= (double)SAMPLER_CAPACITY;
        if (from_top || cross_count <= SAMPLER_CAPACITY)
        {
            if (tid == 0)
            {
                s_n = 0;
            }

            __syncthreads();
            unsigned int low_bound = from_top ? 0u : lo;
            for_each(x, vocab, [&](float v, int i) {
                if (!(v > q.floor))
                {
                    return;
                }

                unsigned int r = rank_word(v);
                if (r < low_bound || r > hi || !before(r, i, q.base))
                {
                    return;
                }

                int slot = atomicAdd(&s_n, 1);
                s_work.keys[slot] = pack_key(v, i);
            });
            __syncthreads();
            int n = s_n;
            sort_keys(n);
            if (tid == 0)
            {
                int take = n;
                if (!q.by_mass)
                {
                    long long need = q.k - (from_top ? 0LL : (long long)above_count);
                    take = need < (long long)n ? (int)need : n;
                    s_n = take;
                }
                else
                {
                    double cumulative = from_top ? 0.0 : above;
                    int j = 0;
                    for (; j < n; j++)
                    {
                        cumulative += exp(((double)key_logit(s_work.keys[j]) - q.m) / q.t);
                        if (cumulative >= target)
                        {
                            break;
                        }
                    }

                    // Rounding can leave the sum a hair below the target: from the top that keeps everything (as
                    // the CPU does), else the whole bucket.
                    s_n = j < n ? j + 1 : (from_top ? -1 : n);
                }
            }

            __syncthreads();
            int count = s_n;
            __syncthreads();
            if (count < 0)
            {
                result = keep_all();
            }
            else
            {
                result = cut_after(s_work.keys[count - 1]);
                if (!q.by_mass && from_top)
                {
                    *kept = count;
                }
            }

            // Everyone has read the cut before the keys are overwritten (by the next search's histogram, say).
            __syncthreads();
            resolved = true;
            break;
        }

        prefix = bucket_prefix;
        if (level == 2)
        {
            // One logit value, more than SAMPLER_CAPACITY times: equal weights, the lowest ids cross first.
            long long need;
            if (!q.by_mass)
            {
                need = q.k - (long long)above_count;
            }
            else
            {
                double w = exp(((double)key_logit((unsigned long long)lo << 32) - q.m) / q.t);
                double mass = above;
                long long take = 0;
                do
                {
                    mass += w;
                    take++;
                }
                while (mass < target && take < (long long)cross_count);
                need = take;
            }

            result.rank = lo;
            result.id = SAMPLER_INT_MAX;
            if (need < (long long)cross_count)
            {
                // Bisection on the id: the smallest c with need elements of this value below it.
                int low = 1;
                int high = vocab;
                while (low < high)
                {
                    int mid = low + ((high - low) >> 1);
                    int local = 0;
                    for_each(x, vocab, [&](float v, int i) {
                        if (i < mid && v > q.floor && rank_word(v) == lo && before(lo, i, q.base))
                        {
                            local++;
                        }
                    });
                    int c = block_sum_int(local);
                    if ((long long)c >= need)
                    {
                        high = mid;
                    }
                    else
                    {
                        low = mid + 1;
                    }
                }

                result.id = low;
            }

            resolved = true;
        }
    }

    if (!q.by_mass && q.k <= SAMPLER_CAPACITY && *kept < 0)
    {
        // Gather the kept elements (at most k) so that the race runs in shared memory.
        if (tid == 0)
        {
            s_n = 0;
        }

        __syncthreads();
        for_each(x, vocab, [&](float v, int i) {
            if (v > q.floor)
            {
                unsigned int r = rank_word(v);
                if (before(r, i, q.base) && before(r, i, result))
                {
                    s_work.keys[atomicAdd(&s_n, 1)] = pack_key(v, i);
                }
            }
        });
        __syncthreads();
        int n = s_n;
        sort_keys(n);
        *kept = n;
    }

    return result;
}

// The draw for a row whose maximum m is finite (not greedy).
template <typename T>
__device__ int draw(const T* x, int vocab, const SamplerRowParams& p, float max)
{
    const int tid = (int)threadIdx.x;
    const int nt = (int)blockDim.x;
    const double m = max;
    const double t = p.temperature;
    float floor = -sampler_inf();
    if (p.min_p > 0.0f)
    {
        floor = strictly_below(m + (t * log((double)p.min_p)));
    }

    const bool cut_top_p = p.top_p < 1.0f;
    Cut cut_k = keep_all();
    Cut cut_p = keep_all();
    int kept = -1;
    if (p.top_k > 0)
    {
        CutSearch q;
        q.floor = floor;
        q.base = keep_all();
        q.by_mass = false;
        q.k = p.top_k;
        q.top_p = 1.0;
        q.m = m;
        q.t = t;
        q.divide_total = true;
        cut_k = find_cut(x, vocab, q, &kept);
        if (kept >= 0 && cut_top_p && kept > 1)
        {
            // TopPFilter.Apply, sorted path: weights in rank order, total, threshold, first crossing.
            if (tid == 0)
            {
                double total = 0;
                for (int i = 0; i < kept; i++)
                {
                    total += exp(((double)key_logit(s_work.keys[i]) - m) / t);
                }

                double threshold = (double)p.top_p * total;
                double cumulative = 0;
                int n = kept;
                for (int i = 0; i < kept; i++)
                {
                    cumulative += exp(((double)key_logit(s_work.keys[i]) - m) / t);
                    if (cumulative >= threshold)
                    {
                        n = i + 1;
                        break;
                    }
                }

                s_n = n;
            }

            __syncthreads();
            kept = s_n;
            __syncthreads();
        }
    }

    if (cut_top_p && kept < 0)
    {
        CutSearch q;
        q.floor = floor;
        q.base = cut_k;
        q.by_mass = true;
        q.k = 0;
        q.top_p = (double)p.top_p;
        q.m = m;
        q.t = t;
        q.divide_total = p.top_k > 0;
        int unused;
        cut_p = find_cut(x, vocab, q, &unused);
    }

    const unsigned long long seed = p.seed;
    double best_key = -(double)sampler_inf();
    int best = -1;
    if (kept >= 0)
    {
        for (int j = tid; j < kept; j += nt)
        {
            unsigned long long key = s_work.keys[j];
            int id = key_id(key);
            double k = race_key(key_logit(key), philox_x0(p.step, id, seed), m, t);
            if (k > best_key || (k == best_key && (unsigned int)id < (unsigned int)best))
            {
                best_key = k;
                best = id;
            }
        }
    }
    else
    {
        // Over the row. Since -ln u >= 1 - u, key <= d + 32 ln 2 - ln g with g = 2^32 - 1 - X0: a token whose bound is
        // below this thread's best cannot win, and skips the two double logarithms. The bound is padded far beyond
        // the rounding of its float logarithm and double products.
        const double inverse_t = 1.0 / t;
        const bool cut = cut_k.rank != 0xFFFFFFFFu || cut_p.rank != 0xFFFFFFFFu;
        for_each(x, vocab, [&](float v, int i) {
            if (!(v > floor))
            {
                return;
            }

            if (cut)
            {
                unsigned int r = rank_word(v);
                if (!before(r, i, cut_k) || !before(r, i, cut_p))
                {
                    return;
                }
            }

            unsigned int x0 = philox_x0(p.step, i, seed);
            unsigned int g = 0xFFFFFFFFu - x0;
            if (g != 0 && best >= 0)
            {
                double d = ((double)v - m) * inverse_t;
                double bound = d + 22.18070977791825 - (double)logf((float)g) + 1e-3 + 1e-9 * fabs(d);
                if (bound < best_key)
                {
                    return;
                }
            }

            double k = race_key(v, x0, m, t);
            if (k > best_key || (k == best_key && (unsigned int)i < (unsigned int)best))
            {
                best_key = k;
                best = i;
            }
        });
    }

    block_argmax(best_key, best);
    return best;
}

// Bias and penalties of one row, into its scratch copy (CpuSampler.SampleRow and ApplyPenalties).
__device__ void apply_patch(float* row, int vocab, const SamplerPatch& patch, const SamplerRowParams& p)
{
    if (patch.token < 0 || patch.token >= vocab)
    {
        return;
    }

    float l = row[patch.token];
    if ((patch.flags & SAMPLER_PATCH_BIAS) != 0)
    {
        l += patch.bias;
    }

    if ((patch.flags & SAMPLER_PATCH_SEEN) != 0)
    {
        l = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
        if (patch.count != 0)
        {
            l = (float)((double)l - ((double)p.frequency_penalty * (double)patch.count) - (double)p.presence_penalty);
        }
    }

    row[patch.token] = l;
}

template <typename T>
__device__ void sample_row(
    const T* x, int vocab, int row, const SamplerRowParams& p,
    int* out_tokens, float* out_logprobs, SamplerTopLogprob* out_top, int* out_top_count, int top_stride)
{
    const int tid = (int)threadIdx.x;

    // Pass 1: the maximum (NaN never compares greater) and its first index.
    float local_max = -sampler_inf();
    int local_index = -1;
    for_each(x, vocab, [&](float v, int i) {
        if (v > local_max)
        {
            local_max = v;
            local_index = i;
        }
    });
    double max_key = (double)local_max;
    block_argmax(max_key, local_index);
    const float max = (float)max_key;

    int token;
    if (p.temperature <= 1e-5f || max == sampler_inf() || max == -sampler_inf())
    {
        // An infinite maximum means a +infinity logit (lowest such id) or nothing but -infinity and NaN (id 0).
        token = max == -sampler_inf() ? 0 : local_index;
    }
    else
    {
        token = draw(x, vocab, p, max);
    }

    const bool want = (p.flags & SAMPLER_WANT_LOGPROB) != 0 || p.top_logprobs > 0;
    if (!want)
    {
        if (tid == 0)
        {
            out_tokens[row] = token;
            if (out_logprobs != nullptr)
            {
                out_logprobs[row] = __uint_as_float(0x7FC00000u);
            }

            if (out_top_count != nullptr)
            {
                out_top_count[row] = 0;
            }
        }

        return;
    }

    // Log-probabilities at temperature 1 over the whole processed row (CpuSampler.Logprobs).
    double log_total = 0;
    if (max != -sampler_inf())
    {
        if (max == sampler_inf())
        {
            int local = 0;
            for_each(x, vocab, [&](float v, int) {
                if (v == max)
                {
                    local++;
                }
            });
            log_total = log((double)block_sum_int(local));
        }
        else
        {
            double local = 0;
            const double m = max;
            for_each(x, vocab, [&](float v, int) {
                if (v > -sampler_inf())
                {
                    local += exp((double)v - m);
                }
            });
            log_total = log(block_sum(local));
        }
    }

    int top_n = p.top_logprobs;
    if (out_top == nullptr || top_n > top_stride)
    {
        top_n = out_top == nullptr ? 0 : top_stride;
    }

    int written = 0;
    if (top_n > 0 && max != -sampler_inf())
    {
        CutSearch q;
        q.floor = -sampler_inf();
        q.base = keep_all();
        q.by_mass = false;
        q.k = top_n;
        q.top_p = 1.0;
        q.m = max;
        q.t = 1.0;
        q.divide_total = true;
        int kept;
        find_cut(x, vocab, q, &kept);
        written = kept;
    }

    if (tid == 0)
    {
        const bool infinite = max == sampler_inf();
        for (int j = 0; j < written; j++)
        {
            unsigned long long key = s_work.keys[j];
            float l = key_logit(key);
            float lp = infinite ? (l == max ? (float)-log_total : -sampler_inf())
                : (l > -sampler_inf() ? (float)((double)l - (double)max - log_total) : -sampler_inf());
            out_top[(long long)row * top_stride + j].token = key_id(key);
            out_top[(long long)row * top_stride + j].logprob = lp;
        }

        float l = to_float(x[token]);
        float lp = max == -sampler_inf() ? -sampler_inf()
            : infinite ? (l == max ? (float)-log_total : -sampler_inf())
            : (l > -sampler_inf() ? (float)((double)l - (double)max - log_total) : -sampler_inf());
        out_tokens[row] = token;
        if (out_logprobs != nullptr)
        {
            out_logprobs[row] = lp;
        }

        if (out_top_count != nullptr)
        {
            out_top_count[row] = written;
        }
    }
}

template <typename T>
__device__ void sample_kernel(
    const T* logits, long long row_stride, int vocab, const SamplerRowParams* params, const SamplerPatch* patches,
    float* scratch, int* out_tokens, float* out_logprobs, SamplerTopLogprob* out_top, int* out_top_count, int top_stride)
{
    const int row = (int)blockIdx.x;
    const SamplerRowParams p = params[row];
    const T* x = logits + row * row_stride;
    if (p.patch_count > 0 && scratch != nullptr)
    {
        // Bias and penalties change a few logits: work on a copy of the row so that the caller's logits stay intact.
        float* copy = scratch + (long long)row * vocab;
        for_each(x, vocab, [&](float v, int i) { copy[i] = v; });
        __syncthreads();
        for (int j = (int)threadIdx.x; j < p.patch_count; j += (int)blockDim.x)
        {
            apply_patch(copy, vocab, patches[p.patch_offset + j], p);
        }

        __syncthreads();
        sample_row(static_cast<const float*>(copy), vocab, row, p, out_tokens, out_logprobs, out_top, out_top_count, top_stride);
    }
    else
    {
        sample_row(x, vocab, row, p, out_tokens, out_logprobs, out_top, out_top_count, top_stride);
    }
}

// Entry points: grid (batch), block (SAMPLER_THREADS). logits[row * row_stride + i] for i < vocab; scratch holds
// batch * vocab floats (only rows with patches use it; may be null when no row has any); out_logprobs, out_top and
// out_top_count may be null.
extern "C" __global__ void __launch_bounds__(SAMPLER_THREADS) sampler_f32(
    const float* logits, long long row_stride, int vocab, const SamplerRowParams* params, const SamplerPatch* patches,
    float* scratch, int* out_tokens, float* out_logprobs, SamplerTopLogprob* out_top, int* out_top_count, int top_stride)
{
    sample_kernel(logits, row_stride, vocab, params, patches, scratch, out_tokens, out_logprobs, out_top, out_top_count, top_stride);
}

extern "C" __global__ void __launch_bounds__(SAMPLER_THREADS) sampler_f16(
    const SamplerHalf* logits, long long row_stride, int vocab, const SamplerRowParams* params, const SamplerPatch* patches,
    float* scratch, int* out_tokens, float* out_logprobs, SamplerTopLogprob* out_top, int* out_top_count, int top_stride)
{
    sample_kernel(logits, row_stride, vocab, params, patches, scratch, out_tokens, out_logprobs, out_top, out_top_count, top_stride);
}

extern "C" __global__ void __launch_bounds__(SAMPLER_THREADS) sampler_bf16(
    const SamplerBFloat16* logits, long long row_stride, int vocab, const SamplerRowParams* params, const SamplerPatch* patches,
    float* scratch, int* out_tokens, float* out_logprobs, SamplerTopLogprob* out_top, int* out_top_count, int top_stride)
{
    sample_kernel(logits, row_stride, vocab, params, patches, scratch, out_tokens, out_logprobs, out_top, out_top_count, top_stride);
}

// Philox4x32-10 for n counters (4 words each) under one key: lets the tests check the device's generator.
extern "C" __global__ void sampler_philox(const unsigned int* counters, unsigned int k0, unsigned int k1, unsigned int* out, int n)
{
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n)
    {
        unsigned int c[4] = { counters[4 * i], counters[4 * i + 1], counters[4 * i + 2], counters[4 * i + 3] };
        philox(c, k0, k1);
        out[4 * i] = c[0];
        out[4 * i + 1] = c[1];
        out[4 * i + 2] = c[2];
        out[4 * i + 3] = c[3];
    }
}
