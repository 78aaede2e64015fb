#!/usr/bin/env python3
"""Per-step logits of llama.cpp along its own greedy path, for diagnosing greedy divergences.

Run by hand from the package root (not in CI), with llama-cpp-python installed as described in
llm_reference.py:

    python3 scripts/reference/llm_logits_dump.py smollm2 OUT.npz

For every greedy prompt of llm_reference.py, evaluates the prompt as one batch (as the greedy
fixture does), then feeds llama.cpp's greedy tokens one at a time, and stores the logits of every
step (`<name>_logits`, steps x vocabulary) and the tokens (`<name>_prompt`, `<name>_generated`).
The output is large: keep it out of the repository.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_reference import GREEDY_TOKENS, MODELS, greedy_prompts  # noqa: E402


def main():
    key, out = sys.argv[1], sys.argv[2]
    import llama_cpp
    llm = llama_cpp.Llama(model_path=MODELS[key], n_ctx=512, n_threads=2, n_batch=512, logits_all=True,
                          seed=0, verbose=False)
    arrays = {}
    for name, prompt in greedy_prompts(key):
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        steps = [np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)]
        generated = []
        for _ in range(GREEDY_TOKENS):
            tok = int(np.argmax(steps[-1]))
            generated.append(tok)
            llm.eval([tok])
            steps.append(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32))
        arrays[f"{name}_prompt"] = np.array(ids)
        arrays[f"{name}_generated"] = np.array(generated)
        arrays[f"{name}_logits"] = np.stack(steps[:GREEDY_TOKENS])
        print(name, generated)
    np.savez(out, **arrays)


if __name__ == "__main__":
    main()
