#!/usr/bin/env bash
# Builds lorakit's bundled world from nothing, deterministically (seeded): the corpus, the task
# suite, the pretrained base model, one LoRA per task, the mixed-rank set and their test scores.
#
# Usage: tools/build-examples.sh [--from STEP] [--only STEP] [-h|--help]
#   STEP is one of: corpus tasks pretrain base adapters mixed-rank eval
#   --from STEP   start at STEP (earlier steps must have produced their outputs)
#   --only STEP   run just STEP
#
# Every step skips work whose output exists, and the long ones resume from their checkpoints, so
# the script can be interrupted and rerun at any time. To rebuild something, delete its output.
# Outputs under build/ are scratch (not committed: .gitignore lists /build/); examples/ is committed.
#
#   1. corpus      tools/build-corpus.sh -> build/corpus/{train,validation}.txt (Debian's
#                  public-domain texts; checked against tools/corpus.sha256).
#   2. tasks       lorakit synth tasks --seed 0 --train 8000 --train-for word_after=40000 ->
#                  examples/tasks/ (9 tasks x train/dev/test = 8000/200/200; word_after, which
#                  needs far more data to learn its lookup, 40000 train examples), skipped when
#                  examples/tasks/tasks.json exists.
#   3. pretrain    lorakit synth model --preset base6m --init pretrain --dtype f32 --seed 0
#                  -> build/pretrain/init, then full-parameter training on build/corpus/train.txt
#                  (a 3-epoch schedule of 256-token windows, batch 16, AdamW lr 1e-3 betas 0.9/0.95,
#                  weight decay 0.1, 100 warm-up steps, cosine over 3927 steps, clipping at 1.0,
#                  seed 0), stopped at step 1400 (--stop-at 1400: 1.07 epochs, about 40 minutes
#                  on 2 cores alone; the lr is still 7.4e-4 there) -> build/pretrain/out,
#                  checkpointed every 100 steps and resumed (--resume) when a checkpoint exists.
#                  A finished run resumes to its end at once.
#   4. base        build/pretrain/out -> examples/base in float16 (12 MB instead of 24 MB in
#                  float32; float16 keeps 11 significant bits where bfloat16 keeps 8, so adapters
#                  folded into the weights by merged-mode evaluation lose little). The conversion
#                  is lorakit export with a zero-scaled adapter (W + 0 * BA = W exactly, then
#                  rounded once to float16), published with the pretraining's training_log.jsonl
#                  and loss.png. Skipped when examples/base/config.json exists.
#   5. adapters    for every task of examples/tasks but continuation (the control task, which measures
#                  the base model's own language knowledge; tasks.json order): lorakit train of a rank-8
#                  LoRA (alpha 16) on all seven projections of examples/base, on
#                  <task>/train.jsonl (8000 examples; word_after 40000) with <task>/dev.jsonl as evaluation data:
#                  batch 8, AdamW, cosine schedule, clipping at 1.0, seed 0, checkpoint every 100
#                  steps, with the per-task steps / lr / warm-up / LoRA dropout of recipe() below
#                  (the reorderings need a 4x higher lr and more steps; the others fail at that lr) ->
#                  build/adapters/<task>-s<steps>-lr<lr>-w<warmup>[-do<dropout>] (resumed; word_after
#                  then continues in a second run, <that>-then-s<steps2>-lr<lr2>, whose log is published). Published to examples/adapters/<task>/ (atomically: a temp directory
#                  renamed) in float16 (lorakit merge --method cat --dtype f16 of the one adapter:
#                  the same product with alpha folded into B, half the bytes), with every 10th line
#                  of training_log.jsonl, and loss.png. 4-9 minutes per task on 2 cores alone (word_after: 27 + 17). (The base
#                  model cannot copy text from its prompt; each LoRA has to learn that, which takes
#                  a few thousand examples before the loss drops.)
#   6. mixed-rank  the heterogeneous-rank set of `lorakit demo --scenario mixed-rank`:
#                  examples/adapters/mixed-rank/{count_words (rank 4), last_word (rank 8),
#                  rotate_words (rank 16)}, alpha = 2 x rank, trained and published like step 5
#                  (so lora_alpha = r in the published configs; the rank-8 one is a symlink to
#                  step 5's adapter).
#   7. eval        lorakit eval of every adapter on its task's test split (all 200 examples)
#                  -> build/eval/<name>.json, collected into examples/adapters/results.jsonl (one
#                  line per adapter: {"adapter", "task", "rank", "eval": <lorakit eval --json>}).
#
# Then: ./lorakit demo (see lorakit demo --help and examples/README.md).
# Environment: LORAKIT_THREADS (compute threads), LORAKIT_JAVA_OPTS (extra JVM options).
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
lorakit="$root/lorakit"
steps=(corpus tasks pretrain base adapters mixed-rank eval)
from=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="${2:-}"; shift 2 ;;
    --only) only="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-examples: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for s in "$from" "$only"; do
  if [ -n "$s" ] && [[ ! " ${steps[*]} " =~ " $s " ]]; then
    echo "build-examples: unknown step \"$s\"; expected one of: ${steps[*]}" >&2
    exit 2
  fi
done

# wanted STEP: whether --from/--only select STEP.
started=0
wanted() {
  if [ -n "$only" ]; then [ "$1" = "$only" ]; return; fi
  if [ -z "$from" ] || [ "$1" = "$from" ]; then started=1; fi
  [ "$started" = 1 ]
}
say() { echo "build-examples: $*" >&2; }

# publish SRC_DIR DEST_DIR FILE...: copies FILEs of SRC_DIR into DEST_DIR atomically (temp + rename).
publish() {
  local src="$1" dest="$2"
  shift 2
  local tmp
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp -d "$(dirname "$dest")/.$(basename "$dest").XXXXXX")"
  for f in "$@"; do
    cp "$src/$f" "$tmp/$f"
  done
  chmod 755 "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

# Task names in tasks.json order (the "name" fields).
task_names() {
  sed -n 's/^ *"name" *: *"\([^"]*\)".*/\1/p' examples/tasks/tasks.json
}

# recipe TASK RANK: "STEPS LR WARMUP DROPOUT [STEPS2 LR2]" of that adapter's training, chosen per
# task on dev loss (sessions 4 and 6); STEPS2 LR2: a second run that starts from the first one's
# adapter. The tasks that copy text in place or in reverse order learn at lr 4e-3; the
# letter-level and counting tasks fail there (initials never leaves loss 3.0) and learn at 1e-3,
# where the copying tasks stall (reverse_words 8 %, uppercase 60 %).
recipe() {
  case "$1:$2" in
    reverse_words:8 | rotate_words:8) echo "4000 4e-3 100 0" ;;
    rotate_words:16) echo "3000 4e-3 100 0" ;;
    uppercase:* | last_word:*) echo "2000 4e-3 100 0" ;;
    remove_vowels:*) echo "4500 1e-3 300 0" ;;
    initials:*) echo "3000 1e-3 300 0" ;;
    # 40000 examples; dropout against memorising them; then a second run from the first one's
    # adapter (8000 steps, lr 1e-3, 100 warm-up steps, seed 1), where the lookup is learned
    word_after:*) echo "12000 2e-3 300 0.1 8000 1e-3" ;;
    *) echo "2000 1e-3 300 0" ;; # count_words (ranks 4 and 8)
  esac
}

# train_adapter TASK RANK OUT: a LoRA for TASK in build/adapters/OUT (resumed), published to
# examples/adapters/OUT in float16; skipped when the published adapter exists.
train_adapter() {
  local task="$1" rank="$2" name="$3"
  local dest="examples/adapters/$name"
  if [ -f "$dest/adapter_config.json" ]; then
    say "adapter $name: $dest exists, skipping"
    return
  fi
  local steps lr warmup dropout steps2 lr2
  read -r steps lr warmup dropout steps2 lr2 <<< "$(recipe "$task" "$rank")"
  # the recipe is part of the work directory's name, so a checkpoint of another recipe is never resumed
  local work="build/adapters/$name-s$steps-lr$lr-w$warmup"
  [ "$dropout" = 0 ] || work="$work-do$dropout"
  # what both runs of a recipe share
  local common=(--model examples/base --data "examples/tasks/$task/train.jsonl" --eval "examples/tasks/$task/dev.jsonl"
    --rank "$rank" --alpha "$((2 * rank))" --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
    --batch-size 8 --seq-len 128 --schedule cosine --lora-dropout "$dropout" --max-grad-norm 1.0 --quiet)
  local resume=()
  [ -d "$work/checkpoint" ] && resume=(--resume)
  say "adapter $name: training rank $rank on examples/tasks/$task/train.jsonl ($steps steps, lr $lr) -> $work ${resume[*]}"
  "$lorakit" train "${common[@]}" --steps "$steps" --lr "$lr" --warmup "$warmup" --save-every 100 --seed 0 \
    "${resume[@]}" -o "$work"
  if [ -n "$steps2" ]; then
    local first="$work"
    work="$first-then-s$steps2-lr$lr2"
    resume=()
    [ -d "$work/checkpoint" ] && resume=(--resume)
    say "adapter $name: continuing from $first ($steps2 steps, lr $lr2) -> $work ${resume[*]}"
    "$lorakit" train "${common[@]}" --init-adapter "$first" --steps "$steps2" --lr "$lr2" --warmup 100 \
      --save-every 500 --seed 1 "${resume[@]}" -o "$work"
  fi
  rm -rf "$work.f16"
  "$lorakit" merge --method cat --dtype f16 --quiet -o "$work.f16" "$work"
  awk 'NR % 10 == 1' "$work/training_log.jsonl" > "$work.f16/training_log.jsonl"
  tail -n 1 "$work/training_log.jsonl" | cmp -s - <(tail -n 1 "$work.f16/training_log.jsonl") \
    || tail -n 1 "$work/training_log.jsonl" >> "$work.f16/training_log.jsonl"
  local files=(adapter_config.json adapter_model.safetensors training_log.jsonl)
  if [ -f "$work/loss.png" ]; then
    cp "$work/loss.png" "$work.f16/loss.png"
    files+=(loss.png)
  fi
  publish "$work.f16" "$dest" "${files[@]}"
  say "adapter $name: published $dest"
}

if wanted corpus; then
  if [ -f build/corpus/train.txt ] && [ -f build/corpus/validation.txt ]; then
    say "corpus: build/corpus exists, skipping"
  else
    tools/build-corpus.sh build/corpus
  fi
fi

if wanted tasks; then
  if [ -f examples/tasks/tasks.json ]; then
    say "tasks: examples/tasks/tasks.json exists, skipping"
  else
    "$lorakit" synth tasks --corpus build/corpus -o examples/tasks --seed 0 --train 8000 --train-for word_after=40000
  fi
fi

if wanted pretrain; then
  if [ -f examples/base/config.json ]; then
    say "pretrain: examples/base exists, skipping"
  else
    if [ ! -f build/pretrain/init/config.json ]; then
      "$lorakit" synth model --preset base6m --init pretrain --dtype f32 --seed 0 -o build/pretrain/init
    fi
    resume=()
    [ -d build/pretrain/out/checkpoint ] && resume=(--resume)
    say "pretrain: training build/pretrain/init on build/corpus/train.txt -> build/pretrain/out ${resume[*]}"
    "$lorakit" train --full --model build/pretrain/init --data build/corpus/train.txt \
      --eval build/corpus/validation.txt --seq-len 256 --batch-size 16 --epochs 3 --lr 1e-3 --warmup 100 \
      --schedule cosine --weight-decay 0.1 --betas 0.9,0.95 --max-grad-norm 1.0 --eval-every 500 \
      --save-every 100 --stop-at 1400 --seed 0 --quiet "${resume[@]}" -o build/pretrain/out
  fi
fi

if wanted base; then
  if [ -f examples/base/config.json ]; then
    say "base: examples/base exists, skipping"
  else
    [ -f build/pretrain/out/model.safetensors ] || { say "base: build/pretrain/out has no model; run the pretrain step"; exit 1; }
    if [ ! -f build/pretrain/zero-adapter/adapter_config.json ]; then
      "$lorakit" synth adapter --model build/pretrain/out --rank 1 --std-b 0 --targets q_proj --seed 0 \
        -o build/pretrain/zero-adapter --quiet
    fi
    "$lorakit" export --model build/pretrain/out --adapter build/pretrain/zero-adapter:0 --dtype f16 \
      -o build/pretrain/base-f16 --quiet
    cp build/pretrain/out/training_log.jsonl build/pretrain/base-f16/training_log.jsonl
    files=(config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json training_log.jsonl)
    if [ -f build/pretrain/out/loss.png ]; then
      cp build/pretrain/out/loss.png build/pretrain/base-f16/loss.png
      files+=(loss.png)
    fi
    publish build/pretrain/base-f16 examples/base "${files[@]}"
    say "base: wrote examples/base (float16, with the pretraining log)"
  fi
fi

if wanted adapters; then
  [ -f examples/base/config.json ] || { say "adapters: examples/base not found; run the pretrain and base steps"; exit 1; }
  for task in $(task_names); do
    # continuation is the control task (the base model's own language knowledge): no adapter
    [ "$task" = continuation ] && continue
    train_adapter "$task" 8 "$task"
  done
fi

if wanted mixed-rank; then
  train_adapter count_words 4 mixed-rank/count_words
  if [ -f examples/adapters/mixed-rank/last_word/adapter_config.json ]; then
    say "adapter mixed-rank/last_word: exists, skipping"
  else
    [ -f examples/adapters/last_word/adapter_config.json ] || train_adapter last_word 8 last_word
    # the rank-8 member is the task adapter itself: a relative symlink, not a 1.6 MB copy
    mkdir -p examples/adapters/mixed-rank
    ln -sfn ../last_word examples/adapters/mixed-rank/last_word
  fi
  train_adapter rotate_words 16 mixed-rank/rotate_words
fi

if wanted eval; then
  mkdir -p build/eval
  results="examples/adapters/results.jsonl"
  tmp="$(mktemp "examples/adapters/.results.XXXXXX")"
  for dir in examples/adapters/*/ examples/adapters/mixed-rank/*/; do
    dir="${dir%/}"
    [ -f "$dir/adapter_config.json" ] || continue
    name="${dir#examples/adapters/}"
    task="$(basename "$dir")"
    out="build/eval/${name//\//_}.json"
    if [ ! -f "$out" ]; then
      say "eval $name on examples/tasks/$task/test.jsonl"
      "$lorakit" eval --model examples/base --adapter "$dir" --data "examples/tasks/$task/test.jsonl" \
        --merge-adapters --batch-size 32 --json --quiet > "$out.tmp"
      mv "$out.tmp" "$out"
    fi
    rank="$(sed -n 's/^ *"r" *: *\([0-9]*\).*/\1/p' "$dir/adapter_config.json" | head -n 1)"
    printf '{"adapter": "%s", "task": "%s", "rank": %s, "eval": %s}\n' "$name" "$task" "$rank" \
      "$(tr -d '\n' < "$out" | tr -s ' ')" >> "$tmp"
  done
  chmod 644 "$tmp"
  mv "$tmp" "$results"
  say "eval: wrote $results"
fi
