#!/usr/bin/python3
"""lora_gradients.py: regenerates the golden-gradient fixtures that lorakit's LoRA trainer is
checked against: the loss of one training batch and its gradient with respect to every LoRA A
and B, computed by float64 torch autograd through the independent reference forward
llama_reference.py (beside this file; shares no code with lorakit).

The training objective (what lorakit's trainer must reproduce):
  - one PEFT LoRA adapter, user scale 1, LoRA dropout 0; the base weights are frozen, the
    trainable parameters are exactly the adapter's lora_A / lora_B tensors;
  - a batch of sequences right-padded to one length with input id 0 and label -100; attention
    is causal, so padding (always after the real tokens) never changes a real position;
  - Hugging Face's shift: the logits at position t predict labels[t + 1]; labels -100 are
    ignored; loss = (sum of the token cross-entropies of all non-ignored shifted positions of
    the whole batch) / (their count), i.e. one mean over the batch's tokens, not a mean of
    per-sequence means.

What it writes, under lorakit-core/src/test/resources/golden-grad/<case>/ (case list and
shapes: dev.lorakit.train.GoldenGradientFixtureWriter):
  config.json, generation_config.json, model.safetensors   the tiny model (Java: TinyModels)
  adapter/           the PEFT LoRA adapter (Java: TinyAdapters)
  batch.json         {"input_ids": [[...], ...], "labels": [[...], ...]}, padded (Java writer)
  grads.safetensors  F64 tensors: "loss" [1] and, for every tensor of adapter/ under the same
                     PEFT key (base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight,
                     ...) and shape, d loss / d that tensor (metadata: reference, computed_in)

How to regenerate (from the repository root; needs JDK 25 for step 1 and PyTorch for step 2 -
Debian's python3-torch is enough, hence /usr/bin/python3):
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
  /usr/bin/python3 tools/reference/lora_gradients.py
This runs step 1, the Java writer:
  ./mvnw -B -ntp -q -pl lorakit-core test -Dtest=GoldenGradientFixtureWriter \
      -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.grad.write=$PWD/lorakit-core/src/test/resources/golden-grad
then step 2 (alone: --skip-java), the loss and gradients of every case, with these checks:
  - the loss equals a cross-entropy computed by hand (plain Python log-sum-exp) from the
    reference logits, to 1e-12;
  - padding is inert: the unpadded sequences give the same loss and gradients (1e-12);
  - every gradient tensor is finite and non-trivial, and the adapter moves the loss;
  - autograd agrees with 4th-order central finite differences (step 1e-3) in float64 on at
    least one random entry of every gradient tensor, relative error < 1e-6;
  - for a case with rope scaling, dropping the scaling changes the gradients.

Usage as a library: batch_loss(model, input_ids, labels) with the LoRA tensors made trainable
by trainable_lora(model).
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GOLDEN_GRAD = os.path.join(REPO, "lorakit-core", "src", "test", "resources", "golden-grad")
IGNORE = -100
PAD_ID = 0
PEFT_PREFIX = "base_model.model."


def check(condition, message):
    if not condition:
        raise SystemExit("lora_gradients.py: check failed: " + message)


def trainable_lora(model):
    """Makes the (single) adapter's A and B float64 leaf tensors that require grad; returns
    {PEFT key: leaf tensor} in the adapter's module order."""
    check(len(model.loras) == 1, f"exactly one adapter expected, got {len(model.loras)}")
    lora = model.loras[0]
    params = {}
    for name, (a, b, s) in list(lora.modules.items()):
        a = a.detach().clone().requires_grad_(True)
        b = b.detach().clone().requires_grad_(True)
        lora.modules[name] = (a, b, s)
        params[PEFT_PREFIX + name + ".lora_A.weight"] = a
        params[PEFT_PREFIX + name + ".lora_B.weight"] = b
    return params


def batch_loss(model, input_ids, labels):
    """Mean token cross-entropy over every non-ignored shifted position of the batch (see the top)."""
    total = torch.zeros((), dtype=torch.float64)
    count = 0
    for ids, lab in zip(input_ids, labels):
        check(len(ids) == len(lab), "input_ids and labels rows differ in length")
        logits = model.logits(ids)  # [T, vocab]
        target = torch.tensor(lab[1:], dtype=torch.long)
        keep = target != IGNORE
        log_probs = torch.log_softmax(logits[:-1], dim=-1)
        total = total - log_probs[keep, target[keep]].sum()
        count += int(keep.sum())
    check(count > 0, "the batch has no label to predict")
    return total / count


def hand_cross_entropy(model, input_ids, labels):
    """The same loss from the logits with plain Python arithmetic (max-shifted log-sum-exp)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for ids, lab in zip(input_ids, labels):
            logits = model.logits(ids).tolist()
            for t in range(len(ids) - 1):
                y = lab[t + 1]
                if y == IGNORE:
                    continue
                row = logits[t]
                m = max(row)
                lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
                total += lse - row[y]
                count += 1
    return total / count


def unpadded(input_ids, labels):
    """The rows without their right padding (trailing id 0 with label -100)."""
    ids_out, labels_out = [], []
    for ids, lab in zip(input_ids, labels):
        n = len(ids)
        while n > 0 and ids[n - 1] == PAD_ID and lab[n - 1] == IGNORE:
            n -= 1
        ids_out.append(ids[:n])
        labels_out.append(lab[:n])
    return ids_out, labels_out


def gradients(case_dir, input_ids, labels, rope_scaling=True):
    """(loss, {PEFT key: gradient}, model, params) of a case's batch."""
    model = ref.LlamaReference(case_dir, [(os.path.join(case_dir, "adapter"), 1.0)])
    if not rope_scaling:
        model.cfg.rope_scaling = None
    params = trainable_lora(model)
    loss = batch_loss(model, input_ids, labels)
    grads = torch.autograd.grad(loss, list(params.values()))
    return loss.detach(), dict(zip(params.keys(), grads)), model, params


def relative_difference(a, b):
    return float((a - b).abs().max() / b.abs().max())


def finite_difference(model, param, index, input_ids, labels, h=1e-3):
    """d loss / d param[index] by the 4th-order central stencil (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h."""
    original = float(param[index])
    values = {}
    with torch.no_grad():
        for k in (-2, -1, 1, 2):
            param[index] = original + k * h
            values[k] = float(batch_loss(model, input_ids, labels))
        param[index] = original
    return (values[-2] - 8 * values[-1] + 8 * values[1] - values[2]) / (12 * h)


def make_case(case_dir):
    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "batch.json")) as f:
        batch = json.load(f)
    input_ids, labels = batch["input_ids"], batch["labels"]
    check(len(input_ids) == len(labels) and len({len(r) for r in input_ids + labels}) == 1,
          f"{name}: batch.json rows must all have one length")

    loss, grads, model, params = gradients(case_dir, input_ids, labels)
    adapter_keys = list(ref.read_safetensors(os.path.join(case_dir, "adapter", "adapter_model.safetensors"))[0])
    check(sorted(grads) == sorted(adapter_keys), f"{name}: gradient keys differ from the adapter's tensors")
    notes = []

    hand = hand_cross_entropy(model, input_ids, labels)
    check(abs(hand - float(loss)) <= 1e-12 * abs(hand), f"{name}: loss {float(loss)!r} vs hand-computed {hand!r}")

    short_ids, short_labels = unpadded(input_ids, labels)
    check(short_ids != input_ids, f"{name}: the batch has no padding")
    loss2, grads2, _, _ = gradients(case_dir, short_ids, short_labels)
    check(abs(float(loss2) - float(loss)) <= 1e-12 * float(loss), f"{name}: padding changes the loss")
    for key, g in grads.items():
        check(relative_difference(grads2[key], g) < 1e-12, f"{name}: padding changes the gradient of {key}")

    for key, g in grads.items():
        check(list(g.shape) == list(params[key].shape), f"{name}: {key}: gradient shape")
        check(bool(torch.isfinite(g).all()), f"{name}: {key}: non-finite gradient")
        check(float(g.abs().max()) > 1e-5, f"{name}: {key}: trivial gradient (max {float(g.abs().max()):.2e})")
    with torch.no_grad():
        base = ref.LlamaReference(case_dir, [])
        base_loss = float(batch_loss(base, input_ids, labels))
    check(abs(base_loss - float(loss)) > 1e-3, f"{name}: the adapter moves the loss by only {base_loss - float(loss):.2e}")

    # finite differences: one entry of every tensor (among its larger entries, so that the
    # relative error is meaningful), plus a few anywhere
    rng = random.Random(name)
    worst = 0.0
    picks = []
    for key, g in grads.items():
        flat = g.reshape(-1)
        large = [i for i in range(flat.numel()) if abs(float(flat[i])) >= 0.1 * float(flat.abs().max())]
        picks.append((key, rng.choice(large)))
    for _ in range(4):
        key = rng.choice(sorted(grads))
        flat = grads[key].reshape(-1)
        big = [i for i in range(flat.numel()) if abs(float(flat[i])) >= 1e-3 * float(flat.abs().max())]
        picks.append((key, rng.choice(big)))
    for key, flat_index in picks:
        index = _unravel(flat_index, grads[key].shape)
        analytic = float(grads[key][index])
        numeric = finite_difference(model, params[key], index, input_ids, labels)
        error = abs(numeric - analytic) / abs(analytic)
        check(error < 1e-6, f"{name}: {key}{list(index)}: autograd {analytic!r}, finite difference {numeric!r}"
                            f" (relative error {error:.2e})")
        worst = max(worst, error)
    notes.append(f"finite differences on {len(picks)} entries, worst relative error {worst:.1e}")

    if model.cfg.rope_scaling:
        _, unscaled, _, _ = gradients(case_dir, input_ids, labels, rope_scaling=False)
        moved = max(relative_difference(unscaled[k], g) for k, g in grads.items())
        check(moved > 1e-3, f"{name}: rope scaling moves the gradients by only {moved:.3g}")
        notes.append(f"rope scaling moves gradients {moved:.2f}")

    out = {"loss": loss.reshape(1)}
    for key in adapter_keys:
        out[key] = grads[key]
    ref.write_safetensors(os.path.join(case_dir, "grads.safetensors"), out, "F64",
                          {"reference": "tools/reference/lora_gradients.py", "computed_in": "float64",
                           "loss": "mean token cross-entropy over non-ignored shifted labels of the batch"})
    counted = sum(1 for lab in labels for y in lab[1:] if y != IGNORE)
    gmax = max(float(g.abs().max()) for g in grads.values())
    gmin = min(float(g.abs().max()) for g in grads.values())
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(case_dir) for f in fs)
    print(f"{name}: batch {len(input_ids)}x{len(input_ids[0])}, {counted} label tokens, loss {float(loss):.6f} "
          f"(base model {base_loss:.6f}), {len(grads)} gradient tensors, max|grad| per tensor "
          f"{gmin:.2e}..{gmax:.2e}; {'; '.join(notes)}; {size / 1024:.0f} KiB")


def _unravel(flat_index, shape):
    index = []
    for dim in reversed(shape):
        index.append(flat_index % dim)
        flat_index //= dim
    return tuple(reversed(index))


def main():
    ap = argparse.ArgumentParser(description="Regenerates the golden-gradient fixtures (see the top of this file).")
    ap.add_argument("--skip-java", action="store_true", help="keep the model/adapter/batch files; only recompute")
    ap.add_argument("--golden", default=GOLDEN_GRAD, help="fixture root (default: %(default)s)")
    args = ap.parse_args()
    if not args.skip_java:
        subprocess.run([os.path.join(REPO, "mvnw"), "-B", "-ntp", "-q", "-pl", "lorakit-core", "test",
                        "-Dtest=GoldenGradientFixtureWriter", "-Dsurefire.failIfNoSpecifiedTests=false",
                        "-Dgolden.grad.write=" + os.path.abspath(args.golden)], cwd=REPO, check=True)
    cases = sorted(c for c in os.listdir(args.golden) if os.path.exists(os.path.join(args.golden, c, "batch.json")))
    check(cases, f"no cases under {args.golden}")
    for case in cases:
        make_case(os.path.join(args.golden, case))


if __name__ == "__main__":
    main()
