"""PyTorch's sort-based sampling (vLLM's fallback without FlashInfer), timed over the shapes of the .NET benchmark.

vLLM (vllm/v1/sample/ops/topk_topp_sampler.py, apply_top_k_top_p): sort the logits, mask below the k-th and outside
the top-p prefix (softmax + cumsum over the sorted row), scatter back, then draw argmax(probs / q) with q ~ Exp(1).
Output: CSV scenario,batch,vocab,us_per_call on stdout.
"""
import sys

import torch


def apply_top_k_top_p(logits, k, p):
    logits_sort, logits_idx = logits.sort(dim=-1, descending=False)
    if k is not None:
        top_k_mask = logits_sort.size(1) - k.to(torch.long)
        top_k_mask = logits_sort.gather(1, top_k_mask.unsqueeze(dim=1))
        logits_sort.masked_fill_(logits_sort < top_k_mask, -float("inf"))
    if p is not None:
        probs_sort = logits_sort.softmax(dim=-1)
        probs_sum = torch.cumsum(probs_sort, dim=-1, out=probs_sort)
        top_p_mask = probs_sum <= 1 - p.unsqueeze(dim=1)
        top_p_mask[:, -1] = False
        logits_sort.masked_fill_(top_p_mask, -float("inf"))
    return logits_sort.scatter(dim=-1, index=logits_idx, src=logits_sort)


def sample(logits, temperature, k, p):
    if temperature is None:
        return logits.argmax(dim=-1)
    logits = logits / temperature.unsqueeze(dim=1)
    logits = apply_top_k_top_p(logits, k, p)
    probs = logits.softmax(dim=-1, dtype=torch.float32)
    q = torch.empty_like(probs).exponential_()
    return probs.div_(q).argmax(dim=-1)


def main():
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    device = torch.device("cuda")
    print(f"# torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    print("scenario,batch,vocab,us_per_call")
    for vocab in (128_256, 256_000):
        for batch in (1, 16, 64, 256):
            logits = torch.randn(batch, vocab, device=device) * 2
            t = torch.full((batch,), 0.8, device=device)
            k = torch.full((batch,), 50, device=device, dtype=torch.long)
            p = torch.full((batch,), 0.9, device=device)
            # min_p has no place in the sort-based path; the combined case is otherwise the .NET one.
            scenarios = {
                "greedy": (None, None, None),
                "top_k50": (torch.ones_like(t), k, None),
                "top_p0.9": (torch.ones_like(t), None, p),
                "combined_T0.8_k50_p0.9_minp0.05": (t, k, p),
            }
            for name, (temperature, kk, pp) in scenarios.items():
                for _ in range(5):
                    sample(logits, temperature, kk, pp)
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(iterations):
                    sample(logits, temperature, kk, pp)
                end.record()
                torch.cuda.synchronize()
                print(f"{name},{batch},{vocab},{start.elapsed_time(end) * 1000 / iterations:.1f}")
            del logits


if __name__ == "__main__":
    main()
