#!/usr/bin/python3
"""llama_reference.py: an independent float64 reference forward for Llama-family checkpoints.

Computes the logits [T, vocab] of a Hugging Face Llama / Mistral / Qwen2 model directory
(config.json + model.safetensors, or a sharded checkpoint with model.safetensors.index.json)
for a sequence of input ids, optionally with PEFT LoRA adapters applied UNMERGED, each with a
user scale. Everything is written here from the published math (no transformers, no peft, no
safetensors package), so it shares no code with lorakit: it is the "other opinion" that
lorakit's inference engine is checked against (see make_golden.py).

All arithmetic is float64, starting from the weights exactly as stored (F32, F16 or BF16 values
converted losslessly to float64).

Needs only PyTorch (Debian's python3-torch works: run with /usr/bin/python3).

Usage:
  /usr/bin/python3 tools/reference/llama_reference.py MODEL_DIR --ids 1,5,7 [--adapter DIR[:SCALE]]...
prints the logits (or writes them with --out FILE.safetensors).
"""

import argparse
import json
import math
import os
import re
import struct

import torch

DTYPE = torch.float64

# ---------------------------------------------------------------------------------------------
# safetensors (8-byte LE header length, JSON header, raw little-endian data)
# ---------------------------------------------------------------------------------------------

_ELEMENT_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def read_safetensors(path):
    """All tensors of a safetensors file as float64 torch tensors, keyed by name, plus metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = info["dtype"]
        shape = list(info["shape"])
        begin, end = info["data_offsets"]
        if dtype not in _ELEMENT_BYTES:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dtype}")
        count = math.prod(shape)
        if end - begin != count * _ELEMENT_BYTES[dtype]:
            raise ValueError(f"{path}: tensor {name}: {end - begin} bytes for shape {shape} {dtype}")
        raw = bytearray(data[begin:end])  # a writable copy for frombuffer
        if count == 0:
            tensors[name] = torch.zeros(shape, dtype=DTYPE)
            continue
        if dtype == "F64":
            t = torch.frombuffer(raw, dtype=torch.float64)
        elif dtype == "F32":
            t = torch.frombuffer(raw, dtype=torch.float32)
        elif dtype == "F16":
            t = torch.frombuffer(raw, dtype=torch.float16)
        else:  # BF16: the high 16 bits of a float32
            bits = torch.frombuffer(raw, dtype=torch.int16).to(torch.int32)
            t = ((bits & 0xFFFF) << 16).view(torch.float32)
        tensors[name] = t.to(DTYPE).reshape(shape).clone()
    return tensors, metadata


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """Writes {name: tensor} as F32 or F64 (header padded with spaces to a multiple of 8)."""
    torch_dtype = {"F32": torch.float32, "F64": torch.float64}[dtype]
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    chunks = []
    offset = 0
    for name, t in tensors.items():
        raw = t.detach().to(torch_dtype).contiguous().numpy().astype("<" + ("f4" if dtype == "F32" else "f8")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def read_checkpoint(model_dir):
    """The weights of a model directory: model.safetensors or the shards its index names."""
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)[0]
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for shard in sorted(set(index["weight_map"].values())):
        out.update(read_safetensors(os.path.join(model_dir, shard))[0])
    return out


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

PROJECTIONS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


class Config:
    """The config.json fields the forward pass uses, with Hugging Face defaults."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        self.raw = c
        self.architecture = c["architectures"][0]
        if self.architecture not in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"):
            raise ValueError(f"unsupported architecture {self.architecture}")
        if c.get("hidden_act", "silu") != "silu":
            raise ValueError("only hidden_act silu is implemented")
        self.hidden = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.theta = c.get("rope_theta", 10000.0)
        self.rope_scaling = c.get("rope_scaling")
        self.vocab = c["vocab_size"]
        self.tied = c.get("tie_word_embeddings", False)
        # Sliding window: Mistral applies sliding_window when set; Qwen2 only with use_sliding_window.
        window = c.get("sliding_window")
        if self.architecture == "Qwen2ForCausalLM" and not c.get("use_sliding_window", False):
            window = None
        if self.architecture == "LlamaForCausalLM":
            window = None
        self.sliding_window = window


def inverse_frequencies(cfg):
    """RoPE inverse frequencies [head_dim/2] (float64) and the position divisor (linear scaling)."""
    d = cfg.head_dim
    i = torch.arange(0, d, 2, dtype=DTYPE)
    inv_freq = 1.0 / (cfg.theta ** (i / d))
    position_divisor = 1.0
    s = cfg.rope_scaling
    if s:
        kind = s.get("rope_type", s.get("type"))
        if kind == "linear":
            position_divisor = float(s["factor"])
        elif kind == "llama3":
            factor = float(s["factor"])
            low = float(s["low_freq_factor"])
            high = float(s["high_freq_factor"])
            orig = float(s["original_max_position_embeddings"])
            out = []
            for f in inv_freq.tolist():
                wavelen = 2 * math.pi / f
                if wavelen > orig / low:  # low frequency: stretched by the factor
                    out.append(f / factor)
                elif wavelen < orig / high:  # high frequency: kept
                    out.append(f)
                else:  # in between: interpolated
                    smooth = (orig / wavelen - low) / (high - low)
                    out.append((1 - smooth) * f / factor + smooth * f)
            inv_freq = torch.tensor(out, dtype=DTYPE)
        elif kind == "default":
            pass
        else:
            raise ValueError(f"unsupported rope_scaling {kind}")
    return inv_freq, position_divisor


def apply_rope(x, cos, sin):
    """x [heads, T, d] rotated in the rotate_half convention: pairs (j, j + d/2)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    rotated = torch.cat([-x2, x1], dim=-1)
    return x * cos + rotated * sin


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w


def silu(x):
    return x / (1 + torch.exp(-x))


class Lora:
    """One PEFT LoRA adapter: per module (A [r, in], B [out, r], scaling), times a user scale."""

    def __init__(self, adapter_dir, user_scale):
        with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
            cfg = json.load(f)  # dicts keep the file's key order: pattern order matters
        if cfg.get("peft_type", "LORA") != "LORA":
            raise ValueError(f"{adapter_dir}: peft_type {cfg.get('peft_type')}")
        for flag in ("use_dora", "fan_in_fan_out", "lora_bias"):
            if cfg.get(flag):
                raise ValueError(f"{adapter_dir}: {flag} is not implemented by the reference")
        if cfg.get("bias", "none") != "none" or cfg.get("modules_to_save"):
            raise ValueError(f"{adapter_dir}: bias / modules_to_save are not implemented by the reference")
        tensors, _ = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
        prefix, suffix_a, suffix_b = "base_model.model.", ".lora_A.weight", ".lora_B.weight"
        self.modules = {}
        for key in tensors:
            if not key.startswith(prefix) or not (key.endswith(suffix_a) or key.endswith(suffix_b)):
                raise ValueError(f"{adapter_dir}: unexpected tensor {key}")
            if not key.endswith(suffix_a):
                continue
            name = key[len(prefix):-len(suffix_a)]
            a = tensors[key]
            b = tensors[prefix + name + suffix_b]
            if not _targeted(cfg.get("target_modules"), name):
                raise ValueError(f"{adapter_dir}: module {name} is not in target_modules")
            r = _pattern_value(cfg.get("rank_pattern") or {}, name, cfg.get("r", 8))
            alpha = _pattern_value(cfg.get("alpha_pattern") or {}, name, cfg.get("lora_alpha", 8))
            if a.shape[0] != r or b.shape[1] != r:
                raise ValueError(f"{adapter_dir}: {name}: rank {r} from the config, A {list(a.shape)}, B {list(b.shape)}")
            scaling = alpha / math.sqrt(r) if cfg.get("use_rslora", False) else alpha / r
            self.modules[name] = (a, b, user_scale * scaling)

    def delta(self, name, x):
        """user_scale * scaling * B (A x) for rows x [T, in], or None if the module has no LoRA."""
        m = self.modules.get(name)
        if m is None:
            return None
        a, b, s = m
        return s * ((x @ a.T) @ b.T)


def _pattern_value(pattern, name, default):
    """PEFT's rule: the first key k (in dict order) with re.match(rf"(.*\\.)?({k})$", name) wins."""
    for k, v in pattern.items():
        if re.match(rf"(.*\.)?({k})$", name):
            return v
    return default


def _targeted(target_modules, name):
    if target_modules is None:
        return True
    if isinstance(target_modules, str):
        return target_modules == "all-linear" or re.fullmatch(target_modules, name) is not None
    return any(name == t or name.endswith("." + t) for t in target_modules)


class LlamaReference:
    """The float64 forward pass of a model directory with optional LoRA adapters [(dir, scale)]."""

    def __init__(self, model_dir, adapters=()):
        self.cfg = Config(model_dir)
        self.w = read_checkpoint(model_dir)
        self.loras = [Lora(d, s) for d, s in adapters]
        known = {f"model.layers.{l}.{p}" for l in range(self.cfg.layers) for p in PROJECTIONS}
        for lora in self.loras:
            for name in lora.modules:
                if name not in known:
                    raise ValueError(f"adapter module {name} is not a projection of the model")

    def linear(self, name, x):
        """x [T, in] -> [T, out]: W x (+ b) + the LoRA deltas, for module name like model.layers.0.mlp.up_proj."""
        y = x @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")
        if bias is not None:
            y = y + bias
        for lora in self.loras:
            d = lora.delta(name, x)
            if d is not None:
                y = y + d
        return y

    def logits(self, input_ids):
        cfg, w = self.cfg, self.w
        ids = torch.tensor(list(input_ids), dtype=torch.long)
        T = ids.shape[0]
        x = w["model.embed_tokens.weight"][ids]  # [T, hidden]

        inv_freq, divisor = inverse_frequencies(cfg)
        positions = torch.arange(T, dtype=DTYPE) / divisor
        angles = positions[:, None] * inv_freq[None, :]  # [T, d/2]
        angles = torch.cat([angles, angles], dim=-1)  # [T, d]: the same angle for j and j + d/2
        cos, sin = torch.cos(angles), torch.sin(angles)

        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        allowed = j <= i
        if cfg.sliding_window is not None:
            allowed = allowed & (i - j < cfg.sliding_window)
        group = cfg.heads // cfg.kv_heads
        d = cfg.head_dim

        for l in range(cfg.layers):
            p = f"model.layers.{l}."
            h = rms_norm(x, w[p + "input_layernorm.weight"], cfg.eps)
            q = self.linear(p + "self_attn.q_proj", h).reshape(T, cfg.heads, d).transpose(0, 1)
            k = self.linear(p + "self_attn.k_proj", h).reshape(T, cfg.kv_heads, d).transpose(0, 1)
            v = self.linear(p + "self_attn.v_proj", h).reshape(T, cfg.kv_heads, d).transpose(0, 1)
            q = apply_rope(q, cos, sin)
            k = apply_rope(k, cos, sin)
            # query head n reads KV head n // group
            k = k.repeat_interleave(group, dim=0)
            v = v.repeat_interleave(group, dim=0)
            scores = (q @ k.transpose(1, 2)) / math.sqrt(d)  # [heads, T, T]
            scores = scores.masked_fill(~allowed, float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            attn = (probs @ v).transpose(0, 1).reshape(T, cfg.heads * d)
            x = x + self.linear(p + "self_attn.o_proj", attn)

            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg.eps)
            gate = self.linear(p + "mlp.gate_proj", h)
            up = self.linear(p + "mlp.up_proj", h)
            x = x + self.linear(p + "mlp.down_proj", silu(gate) * up)

        x = rms_norm(x, w["model.norm.weight"], cfg.eps)
        head = w["model.embed_tokens.weight"] if cfg.tied else w["lm_head.weight"]
        return x @ head.T  # [T, vocab]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--ids", required=True, help="comma-separated input ids")
    ap.add_argument("--adapter", action="append", default=[], help="DIR or DIR:SCALE")
    ap.add_argument("--out", help="write logits [T, vocab] as F32 safetensors here")
    args = ap.parse_args()
    adapters = []
    for spec in args.adapter:
        path, sep, scale = spec.rpartition(":")
        adapters.append((path, float(scale)) if sep else (spec, 1.0))
    logits = LlamaReference(args.model_dir, adapters).logits([int(t) for t in args.ids.split(",")])
    if args.out:
        write_safetensors(args.out, {"logits": logits})
    else:
        torch.set_printoptions(precision=6, linewidth=160)
        print(logits)


if __name__ == "__main__":
    main()
