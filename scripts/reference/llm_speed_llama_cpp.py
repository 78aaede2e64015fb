#!/usr/bin/env python3
"""One llama.cpp speed round with the method of `hark-bench llm` (Benchmarks/HarkBench/LLMBench.swift).

Used by scripts/bench-vs-llama-cpp, which alternates it with Hark's bench; run by hand as

    python3 scripts/reference/llm_speed_llama_cpp.py MODEL.gguf THREADS [--gen-only]

and it prints one line:

    llama.cpp: threads=2: gen 68.1 tok/s, prompt 250.3 tok/s, 29.10 ms CPU/generated token

Method (the same steps and counts as Hark's bench):
  prompt   64 pseudo-random token ids from the same generator as LLMBench.swift, decoded as one
           batch (logits for the last token only); best of 3 runs, each after clearing the KV cache.
  gen      after clearing the cache and decoding the first 4 prompt tokens, 64 single-token
           decodes feeding back the argmax; best of 2 runs.
  warm-up  one 8-token decode first (pages, threads).
What is timed: only the llama_decode calls (time.perf_counter around each call; llama_decode
returns when the CPU work is done), so Python, ctypes and the argmax are outside the timed
region. Hark's bench times its whole loop (evaluate, which copies the logits out, plus a Swift
argmax), so any difference in overhead counts against Hark, not against llama.cpp.
CPU/generated token: process CPU time (all threads, spinning included) over the 64-step loop
of the faster gen run, divided by 64; it includes the loop's small Python overhead. Hark's bench
prints the same quantity. On a loaded machine wall time includes waiting for a core; CPU time
per token is the kernels' own cost (on 1 thread, 1000 / ms is the rate on an idle core).

Context: n_ctx 256, n_batch = n_ubatch = 64, n_threads = n_threads_batch = THREADS, other context
and model parameters at llama.cpp's defaults (repacked CPU weights and flash attention 'auto'
as llama.cpp chooses them; printed with --verbose).

Installing the reference (offline: the source package compiles with cmake, no downloads at run time):
    pip install cmake ninja scikit-build-core diskcache typing-extensions numpy
    pip download --no-deps --no-binary llama-cpp-python --no-build-isolation llama-cpp-python  # once, where there is network
    CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DGGML_OPENMP=OFF" \\
        pip install --no-deps --no-build-isolation ./llama_cpp_python-*.tar.gz
GGML_NATIVE=ON compiles for this CPU (AVX2/AVX-512/VNNI as present): check with --system-info.
"""
import argparse
import ctypes
import os
import sys
import time

PROMPT_TOKENS = 64
GEN_TOKENS = 64
PROMPT_RUNS = 3
GEN_RUNS = 2


def bench_prompt(vocab_size):
    """The 64 token ids of LLMBench.swift's fixed pseudo-random prompt."""
    state = 42
    ids = []
    for _ in range(PROMPT_TOKENS):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        ids.append((state >> 33) % min(vocab_size, 40000) + 100)
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="GGUF file")
    ap.add_argument("threads", nargs="?", type=int, help="threads for generation and prompt")
    ap.add_argument("--gen-only", action="store_true", help="skip the prompt measurement")
    ap.add_argument("--system-info", action="store_true", help="print what llama.cpp was compiled with and exit")
    ap.add_argument("--verbose", action="store_true", help="keep llama.cpp's own log on stderr")
    args = ap.parse_args()
    try:
        import llama_cpp as L
        import numpy as np
    except ImportError as e:
        sys.exit(f"llama.cpp reference missing ({e}); install it as described in {__file__}'s docstring")
    if args.system_info:
        print(f"llama_cpp_python {L.__version__}: {L.llama_print_system_info().decode().strip()}")
        return
    if args.model is None or args.threads is None:
        ap.error("MODEL and THREADS are required")
    if not os.path.isfile(args.model):
        sys.exit(f"model file not found: {args.model}")

    if not args.verbose:
        silence = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(lambda *a: None)
        L.llama_log_set(silence, None)
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    mparams.n_gpu_layers = 0
    model = L.llama_model_load_from_file(args.model.encode(), mparams)
    if not model:
        sys.exit(f"llama.cpp could not load {args.model}")
    cparams = L.llama_context_default_params()
    cparams.n_ctx = 256
    cparams.n_batch = PROMPT_TOKENS
    cparams.n_ubatch = PROMPT_TOKENS
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    ctx = L.llama_init_from_model(model, cparams)
    if not ctx:
        sys.exit("llama.cpp could not create a context")
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    memory = L.llama_get_memory(ctx)
    batch = L.llama_batch_init(PROMPT_TOKENS, 0, 1)

    def decode(tokens, start):
        """Decode `tokens` at positions start...; returns (seconds in llama_decode, argmax of the last logits)."""
        batch.n_tokens = len(tokens)
        for i, t in enumerate(tokens):
            batch.token[i] = t
            batch.pos[i] = start + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = 1 if i == len(tokens) - 1 else 0
        t0 = time.perf_counter()
        rc = L.llama_decode(ctx, batch)
        elapsed = time.perf_counter() - t0
        if rc != 0:
            sys.exit(f"llama_decode failed ({rc})")
        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
        return elapsed, int(np.argmax(logits))

    prompt = bench_prompt(n_vocab)
    decode(prompt[:8], 0)  # warm up pages and threads
    prompt_s = float("inf")
    if not args.gen_only:
        for _ in range(PROMPT_RUNS):
            L.llama_memory_clear(memory, True)
            prompt_s = min(prompt_s, decode(prompt, 0)[0])
    gen_s = gen_cpu = float("inf")
    for _ in range(GEN_RUNS):
        L.llama_memory_clear(memory, True)
        _, token = decode(prompt[:4], 0)
        total = 0.0
        cpu0 = time.process_time()
        for i in range(GEN_TOKENS):
            t, token = decode([token], 4 + i)
            total += t
        gen_cpu = min(gen_cpu, time.process_time() - cpu0)
        gen_s = min(gen_s, total)

    line = f"llama.cpp: threads={args.threads}: gen {GEN_TOKENS / gen_s:.1f} tok/s"
    if not args.gen_only:
        line += f", prompt {PROMPT_TOKENS / prompt_s:.1f} tok/s"
    line += f", {gen_cpu / GEN_TOKENS * 1000:.2f} ms CPU/generated token"
    print(line, flush=True)
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
