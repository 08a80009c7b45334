#!/usr/bin/python3
"""torch_train.py: the PyTorch CPU baseline for lorakit's LoRA training benchmark (issue 5).

A plain float32 Llama (no transformers, no peft) with random frozen weights and PEFT-style LoRA
adapters (A Kaiming-uniform, B zero, scaling alpha / r, dropout 0) on all 7 projections of every
layer, trained with AdamW on random token batches; the loss is the mean next-token
cross-entropy (Hugging Face shift, every position a label). The model code follows
tools/reference/llama_reference.py (RMSNorm, rotate-half RoPE, causal GQA attention, SiLU MLP)
batched and in float32.

Default shape, the "~20M-parameter" class (25.3M in the linear layers, 25.6M in all; pick
--vocab 32000 for a realistic LM head, which then holds most parameters: +32.8M and
2 x 2048 x 512 x 32000 FLOPs per step forward):
  hidden 512, 8 layers, 8 heads of 64, 8 KV heads (--kv-heads 4 for GQA), FFN 1376,
  byte vocabulary 256 (untied LM head), sequence 256, batch 8 (2048 tokens a step),
  LoRA rank 16, alpha 32 on q/k/v/o/gate/up/down (1.25M trainable parameters),
  AdamW lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0 (Hugging Face Trainer's default),
  float32, torch.set_num_threads(2).

It prints tokens/s (batch x seq tokens per optimizer step, timed steps only), the step time,
the peak RSS (resource.getrusage ru_maxrss) and, from torch.profiler over a few extra steps, the
share of CPU time spent in matrix products (aten::mm / addmm / bmm / baddbmm, self time).

BLAS: Debian's python3-torch 1.13 calls sgemm through libblas.so.3, which is the reference
(netlib) BLAS unless an optimised one is installed: ~4 GFLOP/s, single-threaded, 50-80x slower
than OpenBLAS here. The script prints which library is loaded. For a fair baseline run it with
OpenBLAS's OpenMP build (it shares torch's OpenMP threads; the pthread build fights them for
the 2 cores and costs ~35 %), e.g. without installing anything:
  apt-get download libopenblas0-openmp && dpkg-deb -x libopenblas0-openmp_*.deb /tmp/openblas
  OPENBLAS_NUM_THREADS=2 LD_LIBRARY_PATH=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      /usr/bin/python3 tools/bench/torch_train.py
(or `apt-get install libopenblas0-openmp`, which switches the system's libblas.so.3 alternative).

Usage: /usr/bin/python3 tools/bench/torch_train.py [--warmup 2] [--steps 5] [--profile-steps 2] ...
"""

import argparse
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


class LoraLinear:
    """y = x W^T + scaling (x A^T) B^T with W frozen and A [r, in], B [out, r] trainable."""

    def __init__(self, gen, n_in, n_out, rank, alpha):
        self.weight = torch.randn(n_out, n_in, generator=gen) / math.sqrt(n_in)
        bound = 1 / math.sqrt(n_in)  # PEFT: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in))
        self.a = ((torch.rand(rank, n_in, generator=gen) * 2 - 1) * bound).requires_grad_(True)
        self.b = torch.zeros(n_out, rank).requires_grad_(True)
        self.scaling = alpha / rank

    def __call__(self, x):
        # the scaling is applied to the rank-r intermediate: the same math as PEFT's
        # base(x) + B(A(x)) * scaling, without a full-width multiply
        return F.linear(x, self.weight) + F.linear(F.linear(x, self.a) * self.scaling, self.b)


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * w


def apply_rope(x, cos, sin):
    """x [B, heads, T, d]; rotate_half convention, pairs (j, j + d/2)."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


class TinyLlama:
    """Frozen random float32 Llama with LoRA on every projection."""

    def __init__(self, args):
        gen = torch.Generator().manual_seed(args.seed)
        h, f = args.hidden, args.ffn
        self.heads, self.kv_heads, self.d = args.heads, args.kv_heads, h // args.heads
        kv = self.kv_heads * self.d
        self.embed = torch.randn(args.vocab, h, generator=gen)
        self.lm_head = torch.randn(args.vocab, h, generator=gen) / math.sqrt(h)
        self.final_norm = torch.ones(h)
        shapes = {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h),
                  "gate_proj": (h, f), "up_proj": (h, f), "down_proj": (f, h)}
        self.layers = []
        for _ in range(args.layers):
            layer = {p: LoraLinear(gen, *shapes[p], args.rank, args.alpha) for p in PROJECTIONS}
            layer["input_norm"] = torch.ones(h)
            layer["post_norm"] = torch.ones(h)
            self.layers.append(layer)
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, self.d, 2, dtype=torch.float64) / self.d))
        angles = torch.arange(args.seq, dtype=torch.float64)[:, None] * inv_freq[None, :]
        angles = torch.cat([angles, angles], dim=-1)
        self.cos, self.sin = angles.cos().float(), angles.sin().float()  # [T, d]
        self.causal = torch.full((args.seq, args.seq), float("-inf")).triu(1)  # additive mask
        self.sdpa = hasattr(F, "scaled_dot_product_attention")  # torch >= 2.0

    def lora_parameters(self):
        return [t for layer in self.layers for p in PROJECTIONS for t in (layer[p].a, layer[p].b)]

    def parameter_counts(self):
        base = self.embed.numel() + self.lm_head.numel() + self.final_norm.numel()
        linear = 0
        trainable = 0
        for layer in self.layers:
            base += layer["input_norm"].numel() + layer["post_norm"].numel()
            for p in PROJECTIONS:
                linear += layer[p].weight.numel()
                trainable += layer[p].a.numel() + layer[p].b.numel()
        return base + linear, linear, trainable

    def loss(self, ids):
        B, T = ids.shape
        x = self.embed[ids]  # [B, T, h]
        cos, sin = self.cos[:T], self.sin[:T]
        group = self.heads // self.kv_heads
        for layer in self.layers:
            hn = rms_norm(x, layer["input_norm"])
            q = layer["q_proj"](hn).view(B, T, self.heads, self.d).transpose(1, 2)
            k = layer["k_proj"](hn).view(B, T, self.kv_heads, self.d).transpose(1, 2)
            v = layer["v_proj"](hn).view(B, T, self.kv_heads, self.d).transpose(1, 2)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            if group > 1:
                k = k.repeat_interleave(group, dim=1)
                v = v.repeat_interleave(group, dim=1)
            if self.sdpa:
                attn = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                scores = torch.matmul(q * (1 / math.sqrt(self.d)), k.transpose(-1, -2))
                scores += self.causal[:T, :T]  # in place: the product's backward needs q and k only
                attn = torch.matmul(torch.softmax(scores, dim=-1), v)
            x = x + layer["o_proj"](attn.transpose(1, 2).reshape(B, T, self.heads * self.d))
            hn = rms_norm(x, layer["post_norm"])
            x = x + layer["down_proj"](F.silu(layer["gate_proj"](hn)) * layer["up_proj"](hn))
        logits = F.linear(rms_norm(x, self.final_norm), self.lm_head)
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def loaded_blas():
    """The libblas / openblas / mkl shared objects mapped into this process."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "/" in line}
    return sorted(p for p in paths if any(s in p for s in ("libblas", "openblas", "mkl", "blis")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=1376)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--profile-steps", type=int, default=2, help="extra profiled steps (0: no profile)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = TinyLlama(args)
    total, linear, trainable = model.parameter_counts()
    opt = torch.optim.AdamW(model.lora_parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=args.weight_decay)
    gen = torch.Generator().manual_seed(args.seed + 1)
    n_batches = args.warmup + args.steps + args.profile_steps
    batches = [torch.randint(0, args.vocab, (args.batch, args.seq), generator=gen) for _ in range(n_batches)]

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS: {', '.join(loaded_blas()) or '?'}")
    print(f"model: hidden {args.hidden}, {args.layers} layers, {args.heads} heads / {args.kv_heads} KV heads, "
          f"FFN {args.ffn}, vocab {args.vocab}; {total / 1e6:.1f}M parameters ({linear / 1e6:.1f}M in linear layers), "
          f"LoRA rank {args.rank} on 7 projections: {trainable / 1e6:.2f}M trainable; "
          f"attention: {'F.scaled_dot_product_attention' if model.sdpa else 'manual (no SDPA in this torch)'}")

    def step(ids):
        opt.zero_grad(set_to_none=True)
        loss = model.loss(ids)
        loss.backward()
        opt.step()
        return float(loss)

    for i in range(args.warmup):
        t0 = time.perf_counter()
        loss = step(batches[i])
        print(f"warm-up step {i + 1}: {time.perf_counter() - t0:.3f} s, loss {loss:.4f}")
    times, losses = [], []
    for i in range(args.steps):
        t0 = time.perf_counter()
        losses.append(step(batches[args.warmup + i]))
        times.append(time.perf_counter() - t0)
    tokens = args.batch * args.seq
    mean = sum(times) / len(times)
    # FLOPs a step: forward 2 x linear params x tokens + LM head; backward the same again for the
    # input gradients (the base weights are frozen; LoRA's own products are not counted);
    # attention (full T x T scores, as computed) 4 B H T^2 d forward, twice that backward
    flops = 4 * (linear + model.lm_head.numel()) * tokens \
        + 3 * 4 * args.batch * args.heads * args.seq ** 2 * (args.hidden // args.heads) * args.layers
    print(f"timed: {args.steps} steps x {tokens} tokens, step mean {mean:.3f} s (median {statistics.median(times):.3f}, "
          f"min {min(times):.3f}, max {max(times):.3f}): {tokens / mean:.0f} tokens/s "
          f"(best step {tokens / min(times):.0f}), ~{flops / mean / 1e9:.0f} GFLOP/s (model FLOPs); losses {' '.join(f'{v:.4f}' for v in losses)}")

    if args.profile_steps:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            for i in range(args.profile_steps):
                step(batches[args.warmup + args.steps + i])
            wall = time.perf_counter() - t0
        events = prof.key_averages()
        self_total = sum(e.self_cpu_time_total for e in events)
        matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)
        top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
        print(f"profile ({args.profile_steps} steps, {wall / args.profile_steps:.3f} s a step under the profiler): "
              f"matmuls {100 * matmul / self_total:.0f}% of CPU self time; top ops: "
              + ", ".join(f"{e.key} {100 * e.self_cpu_time_total / self_total:.0f}%" for e in top))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak RSS {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
