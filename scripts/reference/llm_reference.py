#!/usr/bin/env python3
"""Reference fixtures for Hark's LLM (tokenizer, chat template, dequantization, greedy decoding).

Run by hand from the package root (not in CI); the outputs are committed:

    pip install gguf numpy jinja2
    # llama.cpp through the llama-cpp-python source package (compiles offline with cmake):
    pip install cmake ninja scikit-build-core diskcache typing-extensions
    pip download --no-deps --no-binary llama-cpp-python --no-build-isolation llama-cpp-python
    CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DGGML_OPENMP=OFF" \
        pip install --no-deps --no-build-isolation ./llama_cpp_python-*.tar.gz
    python3 scripts/reference/llm_reference.py [--only dequant,tokenizer,chat,greedy]

Writes into Tests/Fixtures/llm/ (formats in Tests/Fixtures/llm/README.md):
  dequant_<model>.json     first blocks of one tensor per ggml type: raw bytes (base64) and the
                           floats `gguf.quants.dequantize` makes of them
  tokenizer_<model>.json   test strings, llama.cpp token ids (no BOS, special tokens parsed) and
                           llama.cpp's detokenized text
  chat_<model>.json        the GGUF's own chat template rendered with jinja2 for sample chats
  greedy_<model>.json      prompt ids and 32 greedy tokens from llama.cpp, plus first-step top-5 logits
Qwen2.5 outputs are written only when its file is in models/.
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "llm")
MODELS = {
    "smollm2": os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "qwen2.5": os.path.join(ROOT, "models", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
}
BLOCKS_PER_TYPE = 4          # quantized blocks kept per ggml type
FLOAT_ELEMENTS = 64          # elements kept for F32/F16/BF16 tensors
GREEDY_TOKENS = 32


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


# ---------------------------------------------------------------- dequantization
def dequant_fixture(key, path):
    reader = GGUFReader(path)
    seen = {}
    for t in reader.tensors:
        qtype = t.tensor_type
        if qtype.name in seen:
            continue
        from gguf.constants import GGML_QUANT_SIZES
        block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
        raw = np.asarray(t.data).reshape(-1).view(np.uint8)
        if block_elems == 1:  # plain float types: keep FLOAT_ELEMENTS elements
            count = min(FLOAT_ELEMENTS, int(t.n_elements))
            nbytes = count * block_bytes
        else:
            nblocks = min(BLOCKS_PER_TYPE, int(t.n_elements) // block_elems)
            count = nblocks * block_elems
            nbytes = nblocks * block_bytes
        chunk = raw[:nbytes].copy()
        values = dequantize(chunk, qtype).reshape(-1).astype(np.float32)
        assert values.size == count, (t.name, values.size, count)
        seen[qtype.name] = {
            "tensor": t.name,
            "type": qtype.name,
            "typeCode": int(qtype.value),
            "shape": [int(x) for x in t.shape],
            "blockElements": int(block_elems),
            "blockBytes": int(block_bytes),
            "elements": int(count),
            "raw": base64.b64encode(chunk.tobytes()).decode("ascii"),
            # float32 values written as their shortest decimal that reads back to the same float32
            "values": [float(np.format_float_positional(v, unique=True)) if np.isfinite(v) else str(v)
                       for v in values],
        }
    write(f"dequant_{key}.json", {"model": os.path.basename(path), "tensors": list(seen.values())})


# ---------------------------------------------------------------- tokenizer strings
def test_strings():
    s = [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "a", "A", " a", "a ", "Hello",
        "Hello world", " Hello world", "Hello, world!", "hello world.", "HELLO WORLD", "Hello  world",
        "Hello   world   ", "What is the capital of France?", "The quick brown fox jumps over the lazy dog.",
        "I'm here, you're there, they've gone, we'll see, he'd say, it's fine, don't.",
        "I'M HERE, YOU'RE THERE, THEY'VE GONE, WE'LL SEE", "'s 't 're 've 'm 'll 'd", "''''", "rock 'n' roll",
        "Set a timer for 5 minutes.", "Turn on the kitchen lights, please.", "What's the weather like tomorrow?",
        "Remind me to call mom at 6:30 pm.", "Play some jazz music.", "How many kilometers are in a mile?",
        "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678901234567890",
        "3.14159", "-42", "+1 (555) 123-4567", "1,000,000", "1e-10", "0x1F", "2024-06-01T12:34:56Z",
        "The year 1999 and 2000.", "He scored 100 points in 48 minutes.", "v1.2.3", "$19.99", "50%", "#1",
        "99 bottles", "a1b2c3", "42nd street", "100km/h", "3/4 cup", "1st 2nd 3rd 4th",
        "!", "?", ".", "...", "!!!", "?!", "--", "---", "—", "–", "(", ")", "[]", "{}", "<>", "@#$%^&*",
        "\"quoted\"", "'single'", "«guillemets»", "“smart quotes”", "‘single smart’", "a.b.c", "e.g., i.e.",
        "foo_bar_baz", "camelCaseName", "snake_case_name", "kebab-case-name", "SCREAMING_CASE",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
        "let x: [Int] = [1, 2, 3]", "import Foundation\n\nstruct A { var b = 1 }\n",
        "if x == 1 && y != 2 || !z { return }", "print(\"Hello, world!\")", "x += 1  # comment",
        "<div class=\"a\">text</div>", "SELECT * FROM users WHERE id = 42;", "https://example.com/path?q=1&r=2",
        "user@example.com", "C:\\Users\\name\\file.txt", "/usr/local/bin/hark", "~/.config/hark.yaml",
        "    indented", "\tindented with tab", "trailing spaces   ", "   leading spaces", "a  b   c    d",
        "line1\nline2\nline3", "para1\n\npara2", "a\n\n\nb", "a\r\nb", " \t \n \t ", "\n\n\n\n",
        "word\n", "\nword", "x \n y", "tabs\t\tand\tspaces  ", "    \n    ", "end with space ",
        "café", "naïve", "résumé", "Zürich", "São Paulo", "Ångström", "crème brûlée", "façade", "jalapeño",
        "straße", "Œuvre", "Ελληνικά", "Привет, мир!", "Здравствуйте", "مرحبا بالعالم", "שלום", "हिन्दी",
        "こんにちは世界", "你好，世界！", "我爱北京天安门", "中文和English混合", "한국어 텍스트", "ไทย",
        "日本語のテキストです。", "Tiếng Việt", "Türkçe çok güzel", "Polski: zażółć gęślą jaźń",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "I ❤️ Swift", "🎉🎉🎉", "emoji at end 🚀", "🙂 hi",
        "✓ done", "→ arrow", "∑ x² ≤ ∞", "½ ¼ ¾", "①②③", "Ⅻ", "°C", "µs", "€100", "£5", "¥1000",
        "\u00a0non-breaking\u00a0space", "zero\u200bwidth", "soft\u00adhyphen", "e\u0301 combining",
        "\u3000ideographic space", "tab\u000bvertical", "٣٤٥ arabic digits", "१२३ devanagari digits",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHello<|im_end|>\n",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "text<|im_end|>more", "<|im_start|><|im_end|>", " <|im_start|> ", "<|im_start", "im_start|>",
        "<|im_start|>assistant\nThe capital of France is Paris.<|im_end|>", "<tool_call>{}</tool_call>",
        "<|fim_prefix|>def<|fim_suffix|>", "<repo_name>hark<file_sep>", "<|endoftext|><|endoftext|>",
    ]
    # longer and mixed items
    s += [
        "Once upon a time, in a land far, far away, there lived a small robot who loved to listen.",
        "It was 3:45 PM on 12/25/2023 when 1,234 people arrived at gate 7B.",
        "The function `tokenize()` returns [101, 2023, 102] for \"this\".",
        "Mixed: ABC123def456GHI", "UPPERlower MiXeD", "don'tDon'tDON'T", "it'sIt'SIT'S",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababababab", "!!!???...,,,;;;",
        "     ", "          ten spaces", "\n\n\n\n\n\n\n\n", "1111111111111111111111111111111111111111",
        "3.141592653589793238462643383279502884197", "0.000001", "1/2/3/4/5", "a-b-c-d", "a_b_c_d",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }\n",
        "{\"key\": \"value\", \"n\": [1, 2.5, null, true]}", "key: value\nlist:\n  - a\n  - b\n",
        "$ ls -la | grep \"\\.swift$\" > out.txt", "`code` and **bold** and _italic_",
        "# Heading\n\n- item one\n- item two\n", "| a | b |\n|---|---|\n| 1 | 2 |",
        "Dr. Smith's appointment is at 10 a.m. on Mon., Jan. 5th.", "U.S.A. vs. U.K.",
        "Wait... what?! No way!!!", "(nested (parens (here)))", "semi;colon:separated,list",
        "tab\there", "CR\ronly", "mixed \r\n line \n endings \r", "space before newline \nnext",
        "emoji🙂inside", "數字123和文字", "Ünïcödé Çhäracters", "x²+y²=z²", "∀x∈ℝ: x²≥0",
        "I paid €12,50 for café au lait.", "Straße, Maße, Größe", "Ïñţérñåţîöñåļîžåţîöñ",
        "The 🐈 sat on the 🧶.", "Hi 👋, how are you? 😊", "OK👌", "🤖🤖 robots",
        "What's 2+2?", "What is 15% of 80?", "Convert 72°F to Celsius.", "Spell 'necessary'.",
        "Who wrote \"Pride and Prejudice\"?", "Tell me a joke.", "How far is the Moon?",
        "Translate 'good morning' into Spanish.", "What time is it in Tokyo?", "Stop.", "Cancel that.",
        "Volume up", "next song", "Good night!", "Thanks, that's all.",
    ]
    # generated variety: numbers of many lengths, whitespace runs of many lengths
    s += [str(10 ** k + 7 * k) for k in range(1, 25)]
    s += [" " * k + "x" for k in range(1, 12)]
    s += ["x" + " " * k for k in range(1, 8)]
    s += ["a" + "\n" * k + "b" for k in range(1, 6)]
    s += ["word " * k for k in range(1, 10)]
    s += [f"item {i}: {i * i}" for i in range(0, 40, 3)]
    seen, out = set(), []
    for x in s:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def tokenizer_fixture(key, path):
    import llama_cpp
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    reader = GGUFReader(path)
    pre = bytes(reader.fields["tokenizer.ggml.pre"].parts[-1]).decode()
    cases = []
    for text in test_strings():
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        detok = llm.detokenize(ids, special=True).decode("utf-8", errors="replace")
        cases.append({"text": text, "ids": [int(i) for i in ids], "decoded": detok})
    bos = llm.tokenize(b"Hello", add_bos=True, special=True)
    write(f"tokenizer_{key}.json", {
        "model": os.path.basename(path), "pre": pre, "llamaCppPython": llama_cpp.__version__,
        "helloWithBOS": [int(i) for i in bos], "cases": cases})


# ---------------------------------------------------------------- chat template
SAMPLE_CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are Hark, a voice assistant. Answer in one or two short spoken sentences."},
     {"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Be brief."},
     {"role": "user", "content": "Hi!"},
     {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Tell me a joke.\nA short one."}],
]


def chat_fixture(key, path):
    import jinja2
    reader = GGUFReader(path)
    template = bytes(reader.fields["tokenizer.chat_template"].parts[-1]).decode()
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    tpl = env.from_string(template)
    cases = []
    for messages in SAMPLE_CHATS:
        for agp in (True, False):
            cases.append({"messages": messages, "addGenerationPrompt": agp,
                          "rendered": tpl.render(messages=messages, add_generation_prompt=agp, tools=None)})
    write(f"chat_{key}.json", {"model": os.path.basename(path), "template": template, "cases": cases})


# ---------------------------------------------------------------- greedy continuation
def greedy_prompts(key):
    system = ("You are a helpful AI assistant named SmolLM, trained by Hugging Face" if key == "smollm2"
              else "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
    return [
        ("plain_story", "Once upon a time, in a small village,"),
        ("plain_fact", "The three primary colors are"),
        ("plain_code", "def fibonacci(n):\n"),
        ("chatml_capital", f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"
                           "What is the capital of France?<|im_end|>\n<|im_start|>assistant\n"),
    ]


def greedy_fixture(key, path):
    import llama_cpp
    llm = llama_cpp.Llama(model_path=path, n_ctx=512, n_threads=2, n_batch=512, logits_all=True,
                          seed=0, verbose=False)
    cases = []
    for name, prompt in greedy_prompts(key):
        prompt_ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(prompt_ids)
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        top = np.argsort(-logits)[:5]
        top5 = [[int(i), float(logits[i])] for i in top]
        generated = []
        for tok in llm.generate(prompt_ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0,
                                reset=True):
            generated.append(int(tok))
            if len(generated) == GREEDY_TOKENS:
                break
        text = llm.detokenize(generated, special=True).decode("utf-8", errors="replace")
        cases.append({"name": name, "prompt": prompt, "promptIDs": [int(i) for i in prompt_ids],
                      "generatedIDs": generated, "generatedText": text, "firstStepTop5": top5})
        print(name, repr(text))
    write(f"greedy_{key}.json", {"model": os.path.basename(path), "llamaCppPython": llama_cpp.__version__,
                                 "tokens": GREEDY_TOKENS, "cases": cases})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="dequant,tokenizer,chat,greedy")
    parts = set(ap.parse_args().only.split(","))
    os.makedirs(OUT, exist_ok=True)
    for key, path in MODELS.items():
        if not os.path.exists(path):
            print(f"skip {key}: {path} not found", file=sys.stderr)
            continue
        if "dequant" in parts:
            dequant_fixture(key, path)
        if "chat" in parts:
            chat_fixture(key, path)
        if "tokenizer" in parts:
            tokenizer_fixture(key, path)
        if "greedy" in parts:
            greedy_fixture(key, path)


if __name__ == "__main__":
    main()
