#!/usr/bin/env python3
"""Reference per-frame speech probabilities for Hark's native Silero VAD.

Runs the ONNX export of Silero VAD v6 shipped in the PyPI package `silero-vad==6.2.3`
with `onnxruntime`, frame by frame exactly as the package's `OnnxWrapper` does: 512-sample
frames at 16 kHz, each prefixed with the last 64 samples of the previous input (zeros at
the start), the LSTM state carried across frames, the last partial frame padded with zeros.

Two sets of probabilities per clip:

- `probabilities`: the package's 16 kHz ONNX graph (`silero_vad_16k_op15.onnx`) with its 15
  initializers replaced by the tensors of `silero_vad_16k.safetensors` (the file Hark loads).
  This is what Hark's Swift port must reproduce (within 0.01 per frame).
- `stock_onnx_probabilities`: the package's own `silero_vad.onnx`, unchanged. In 6.2.3 the
  safetensors file does NOT hold the same checkpoint as the ONNX/JIT exports (every tensor but
  the STFT basis differs; conv1 weights correlate at 0.90), so these differ from the above by up
  to ~0.4 on transition frames. Kept for information and a coarse agreement check only.

Writes Tests/Fixtures/vad/<name>.json. Run by hand:

    pip install onnxruntime numpy
    pip download --no-deps silero-vad==6.2.3 -d /tmp/silero && cd /tmp/silero && unzip -o *.whl
    python3 scripts/reference/vad_reference.py --package /tmp/silero/silero_vad

The synthetic mix (speech + seeded white noise + silence) is written as a 16-bit WAV next
to the JSON so the Swift test reads exactly the samples the reference saw.
"""
import argparse
import json
import os
import subprocess
import tempfile
import wave

import struct

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "vad")
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")

FRAME = 512      # samples per frame at 16 kHz
CONTEXT = 64     # samples carried from the previous frame
RATE = 16000


def read_wav16(path):
    with wave.open(path, "rb") as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data


def write_wav16(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.astype("<i2").tobytes())


def probabilities(session, pcm16):
    x = pcm16.astype(np.float32) / 32768.0
    if len(x) % FRAME:
        x = np.concatenate([x, np.zeros(FRAME - len(x) % FRAME, dtype=np.float32)])
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros((1, CONTEXT), dtype=np.float32)
    out = []
    for start in range(0, len(x), FRAME):
        chunk = np.concatenate([context, x[None, start:start + FRAME]], axis=1)
        prob, state = session.run(None, {"input": chunk, "state": state, "sr": np.array(RATE, dtype=np.int64)})
        context = chunk[:, -CONTEXT:]
        out.append(float(prob[0, 0]))
    return out


# safetensors tensor name -> initializer name in silero_vad_16k_op15.onnx (both in PyTorch layout;
# the graph itself reorders the LSTM gates for ONNX's LSTM operator).
ONNX_NAMES = {
    "stft_conv.weight": "model.stft.forward_basis_buffer",
    "final_conv.weight": "model.decoder.decoder.2.weight",
    "final_conv.bias": "model.decoder.decoder.2.bias",
}
for _i in range(4):
    for _p in ("weight", "bias"):
        ONNX_NAMES[f"conv{_i + 1}.{_p}"] = f"model.encoder.{_i}.reparam_conv.{_p}"
for _p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
    ONNX_NAMES["lstm_cell." + _p] = "model.decoder.rnn." + _p


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def session_for(model_bytes):
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model_bytes, sess_options=opts, providers=["CPUExecutionProvider"])


ESPEAK_PHRASES = [
    ("espeak_lights", "Turn on the kitchen lights."),
    ("espeak_weather", "What is the weather like tomorrow in Paris?"),
    ("espeak_timer", "Set a timer for ten minutes."),
]


def write_espeak_clips():
    """Synthetic speech for the endpointing tests (espeak-ng 1.51 + sox, both from Debian)."""
    for name, text in ESPEAK_PHRASES:
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "raw.wav")
            subprocess.run(["espeak-ng", "-w", raw, text], check=True)
            subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16",
                            os.path.join(FIXTURES, name + ".wav")], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", default="/tmp/silero/silero_vad", help="unzipped silero_vad package folder")
    parser.add_argument("--weights", default=os.path.join(ROOT, "models", "silero_vad_16k.safetensors"))
    parser.add_argument("--skip-espeak", action="store_true", help="keep the committed espeak-ng clips")
    args = parser.parse_args()
    if not args.skip_espeak:
        write_espeak_clips()

    graph = onnx.load(os.path.join(args.package, "data", "silero_vad_16k_op15.onnx"))
    weights = read_safetensors(args.weights)
    by_onnx_name = {v: k for k, v in ONNX_NAMES.items()}
    replaced = 0
    for init in graph.graph.initializer:
        tensor = weights[by_onnx_name[init.name]]
        assert list(tensor.shape) == list(init.dims), init.name
        init.CopyFrom(numpy_helper.from_array(tensor, init.name))
        replaced += 1
    assert replaced == len(weights) == 15, replaced
    session = session_for(graph.SerializeToString())
    with open(os.path.join(args.package, "data", "silero_vad.onnx"), "rb") as f:
        stock = session_for(f.read())

    speech = read_wav16(os.path.join(CORPUS, "A_dictation/cmu_arctic_aew_a0001.wav"))
    noise = read_wav16(os.path.join(CORPUS, "C_nonspeech/picovoice_leopard__empty.wav"))

    # Synthetic mix: 0.5 s silence, a second speaker's sentence at half amplitude, 0.7 s
    # silence, all over white noise at about -40 dBFS (seeded).
    other = read_wav16(os.path.join(CORPUS, "A_dictation/cmu_arctic_axb_a0005.wav")).astype(np.float64)
    rng = np.random.default_rng(6)
    body = np.concatenate([np.zeros(8000), 0.5 * other, np.zeros(11200)])
    body += rng.normal(0.0, 0.01 * 32768, size=len(body))
    mix = np.clip(np.round(body), -32768, 32767).astype(np.int16)
    mix_name = "mix_speech_noise.wav"
    write_wav16(os.path.join(FIXTURES, mix_name), mix)

    clips = [
        ("speech_arctic_a0001", "corpus", "A_dictation/cmu_arctic_aew_a0001.wav", speech),
        ("noise_leopard_empty", "corpus", "C_nonspeech/picovoice_leopard__empty.wav", noise),
        ("mix_speech_noise", "fixtures", "vad/" + mix_name, mix),
    ]
    for name, base, rel, pcm in clips:
        probs = probabilities(session, pcm)
        stock_probs = probabilities(stock, pcm)
        doc = {
            "source": {"base": base, "path": rel},
            "samples": int(len(pcm)),
            "frame_samples": FRAME,
            "context_samples": CONTEXT,
            "model": "silero-vad 6.2.3 silero_vad_16k_op15.onnx graph with silero_vad_16k.safetensors weights, onnxruntime " + onnxruntime.__version__,
            "probabilities": [round(p, 6) for p in probs],
            "stock_onnx_probabilities": [round(p, 6) for p in stock_probs],
        }
        with open(os.path.join(FIXTURES, name + ".json"), "w") as f:
            json.dump(doc, f, indent=None)
            f.write("\n")
        gap = max(abs(a - b) for a, b in zip(probs, stock_probs))
        print(name, len(probs), "frames, max", max(probs), "mean", sum(probs) / len(probs), "max |safetensors - stock|", gap)


if __name__ == "__main__":
    main()
