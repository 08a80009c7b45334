#!/usr/bin/python3
"""make_golden.py: regenerates the golden-logits fixtures that GoldenLogitsTest checks lorakit's
inference engine against.

Why: the expected logits must come from an implementation that shares nothing with lorakit's.
llama_reference.py (beside this file) is a float64 PyTorch forward written from the published
Llama / Mistral / Qwen2 and PEFT LoRA math; the fixture models and adapters are the realistic HF
and PEFT files lorakit's own test generators (TinyModels, TinyAdapters) write.

What it writes, under lorakit-core/src/test/resources/golden/<case>/ (case list and shapes:
dev.lorakit.model.GoldenFixtureWriter):
  config.json, generation_config.json, model.safetensors   the tiny model (Java: TinyModels)
  adapter1/, adapter2/                                       PEFT LoRA adapters (Java: TinyAdapters)
  inputs.json        {"input_ids": [...], "adapters": [{"path": "adapter1", "scale": 1.0}, ...]}
  logits.safetensors one F32 tensor "logits" [T, vocab]: the float64 reference rounded to float32
                     (metadata: reference = llama_reference.py, computed_in = float64)

How to regenerate (from the repository root; needs JDK 25 for step 1 and PyTorch for step 2 -
Debian's python3-torch is enough, hence /usr/bin/python3):
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
  /usr/bin/python3 tools/reference/make_golden.py
This runs step 1, the Java writer:
  ./mvnw -B -ntp -q -pl lorakit-core test -Dtest=GoldenFixtureWriter \
      -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.write=$PWD/lorakit-core/src/test/resources/golden
then step 2, the reference logits for every case (alone: make_golden.py --skip-java), and
cross-checks: a second, loop-based float64 forward with the LoRA merged into the weights must
agree to 1e-9; every prefix of the input must give the same rows (causality); each adapter must
move the logits visibly; rope scaling must change them.
Then: ./mvnw -B -ntp -q -pl lorakit-core test -Dtest=GoldenLogitsTest
To add a case: add it to GoldenFixtureWriter.CASES and its switch, then regenerate.
"""

import argparse
import json
import math
import os
import subprocess
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GOLDEN = os.path.join(REPO, "lorakit-core", "src", "test", "resources", "golden")

# ---------------------------------------------------------------------------------------------
# A second forward pass, formulated differently, to catch slips in the first one: LoRA merged
# into W, RoPE as explicit 2x2 rotations of (j, j + d/2) pairs with a vectorised llama3 rule,
# attention as loops over heads and positions with an explicit stable softmax.
# ---------------------------------------------------------------------------------------------


def _alt_inverse_frequencies(cfg):
    d = cfg.head_dim
    inv = torch.tensor([cfg.theta ** (-(2.0 * j) / d) for j in range(d // 2)], dtype=torch.float64)
    s = cfg.rope_scaling or {}
    kind = s.get("rope_type", s.get("type", "default"))
    if kind == "llama3":
        factor, low, high = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
        orig = s["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        smooth = ((orig / wavelen - low) / (high - low)).clamp(0.0, 1.0)
        inv = torch.where(wavelen > orig / low, inv / factor,
                          torch.where(wavelen < orig / high, inv, (1 - smooth) * inv / factor + smooth * inv))
    elif kind == "linear":
        inv = inv / s["factor"]
    return inv


def alternative_logits(model_dir, adapters, ids):
    cfg = ref.Config(model_dir)
    w = dict(ref.read_checkpoint(model_dir))
    for adapter_dir, scale in adapters:
        for name, (a, b, s) in ref.Lora(adapter_dir, scale).modules.items():
            w[name + ".weight"] = w[name + ".weight"] + s * (b @ a)  # merged: W + s B A
    d, half, T = cfg.head_dim, cfg.head_dim // 2, len(ids)
    inv = _alt_inverse_frequencies(cfg)
    group = cfg.heads // cfg.kv_heads

    def lin(name, x):
        y = torch.einsum("oi,ti->to", w[name + ".weight"], x)
        return y + w[name + ".bias"] if name + ".bias" in w else y

    def norm(x, weight):
        return weight * x / torch.sqrt((x ** 2).sum(-1, keepdim=True) / x.shape[-1] + cfg.eps)

    def rotate(v, t):  # v [n, d] at position t
        out = v.clone()
        for j in range(half):
            a = t * inv[j]
            c, s = math.cos(a), math.sin(a)
            out[:, j] = v[:, j] * c - v[:, j + half] * s
            out[:, j + half] = v[:, j + half] * c + v[:, j] * s
        return out

    x = torch.stack([w["model.embed_tokens.weight"][i] for i in ids])
    for l in range(cfg.layers):
        p = f"model.layers.{l}."
        h = norm(x, w[p + "input_layernorm.weight"])
        q = lin(p + "self_attn.q_proj", h).reshape(T, cfg.heads, d)
        k = lin(p + "self_attn.k_proj", h).reshape(T, cfg.kv_heads, d)
        v = lin(p + "self_attn.v_proj", h).reshape(T, cfg.kv_heads, d)
        q = torch.stack([rotate(q[t], t) for t in range(T)])
        k = torch.stack([rotate(k[t], t) for t in range(T)])
        out = torch.zeros(T, cfg.heads, d, dtype=torch.float64)
        for head in range(cfg.heads):
            kv = head // group
            for i in range(T):
                first = 0 if cfg.sliding_window is None else max(0, i - cfg.sliding_window + 1)
                scores = [float(q[i, head] @ k[j, kv]) / math.sqrt(d) for j in range(first, i + 1)]
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                z = sum(e)
                for j, ej in zip(range(first, i + 1), e):
                    out[i, head] += (ej / z) * v[j, kv]
        x = x + lin(p + "self_attn.o_proj", out.reshape(T, cfg.heads * d))
        h = norm(x, w[p + "post_attention_layernorm.weight"])
        g = lin(p + "mlp.gate_proj", h)
        x = x + lin(p + "mlp.down_proj", g * torch.sigmoid(g) * lin(p + "mlp.up_proj", h))
    x = norm(x, w["model.norm.weight"])
    head = w["model.embed_tokens.weight"] if cfg.tied else w["lm_head.weight"]
    return torch.einsum("vh,th->tv", head, x)


# ---------------------------------------------------------------------------------------------


def relative_difference(a, b):
    return float((a - b).abs().max() / b.abs().max())


def check(condition, message):
    if not condition:
        raise SystemExit("make_golden.py: check failed: " + message)


def make_case(case_dir):
    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "inputs.json")) as f:
        inputs = json.load(f)
    ids = inputs["input_ids"]
    adapters = [(os.path.join(case_dir, a["path"]), float(a["scale"])) for a in inputs["adapters"]]
    model = ref.LlamaReference(case_dir, adapters)
    logits = model.logits(ids)
    cfg = model.cfg
    check(list(logits.shape) == [len(ids), cfg.vocab], f"{name}: logits shape {list(logits.shape)}")
    check(bool(torch.isfinite(logits).all()), f"{name}: non-finite logits")

    notes = []
    alt = alternative_logits(case_dir, adapters, ids)
    d_alt = relative_difference(alt, logits)
    check(d_alt < 1e-9, f"{name}: the two float64 formulations differ by {d_alt:.3g} (relative)")
    notes.append(f"alt {d_alt:.1e}")

    for t in range(1, len(ids)):  # causality: a prefix gives the same rows
        prefix = model.logits(ids[:t])
        check(relative_difference(prefix, logits[:t]) < 1e-12, f"{name}: prefix {t} changes earlier rows")

    if adapters:
        base = ref.LlamaReference(case_dir, []).logits(ids)
        moved = relative_difference(logits, base)
        check(moved > 1e-2, f"{name}: the adapters move the logits by only {moved:.3g} (relative)")
        notes.append(f"adapters move {moved:.2f}")
        if len(adapters) > 1:
            for a in adapters:
                alone = ref.LlamaReference(case_dir, [a]).logits(ids)
                m = relative_difference(logits, alone)
                check(m > 1e-2, f"{name}: without the others, adapter {a[0]} changes only {m:.3g}")
    if cfg.rope_scaling:
        unscaled_model = ref.LlamaReference(case_dir, adapters)
        unscaled_model.cfg.rope_scaling = None
        moved = relative_difference(logits, unscaled_model.logits(ids))
        check(moved > 1e-3, f"{name}: rope scaling moves the logits by only {moved:.3g}")
        notes.append(f"rope scaling moves {moved:.3f}")

    ref.write_safetensors(os.path.join(case_dir, "logits.safetensors"), {"logits": logits}, "F32",
                          {"reference": "tools/reference/llama_reference.py", "computed_in": "float64"})
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(case_dir) for f in fs)
    print(f"{name}: T={len(ids)} vocab={cfg.vocab} max|logit|={float(logits.abs().max()):.2f} "
          f"{', '.join(notes)}; {size / 1024:.0f} KiB")


def main():
    ap = argparse.ArgumentParser(description="Regenerates the golden-logits fixtures (see the top of this file).")
    ap.add_argument("--skip-java", action="store_true", help="keep the model/adapter files; only recompute logits")
    ap.add_argument("--golden", default=GOLDEN, help="fixture root (default: %(default)s)")
    args = ap.parse_args()
    if not args.skip_java:
        subprocess.run([os.path.join(REPO, "mvnw"), "-B", "-ntp", "-q", "-pl", "lorakit-core", "test",
                        "-Dtest=GoldenFixtureWriter", "-Dsurefire.failIfNoSpecifiedTests=false",
                        "-Dgolden.write=" + os.path.abspath(args.golden)], cwd=REPO, check=True)
    cases = sorted(c for c in os.listdir(args.golden) if os.path.exists(os.path.join(args.golden, c, "inputs.json")))
    check(cases, f"no cases under {args.golden}")
    for case in cases:
        make_case(os.path.join(args.golden, case))


if __name__ == "__main__":
    main()
