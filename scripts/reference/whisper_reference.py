#!/usr/bin/env python3
"""Reference outputs for Hark's speech recognition, from faster-whisper / CTranslate2 run on the
very same weight files as Hark (`models/whisper-tiny.en`, `models/whisper-base`).

How to run (by hand, not in CI; the outputs are committed):

    pip install faster-whisper numpy tokenizers      # faster-whisper 1.2.1, ctranslate2 4.8.5 used
    python3 scripts/reference/whisper_reference.py   # from the package root; ~1-2 min on 2 cores
    # then the reference WER with Hark's own normaliser (needs a built `hark`):
    swift run -c release hark eval asr ../shared/corpus/manifest.tsv --category A \
        --hypotheses Tests/Fixtures/asr/reference_transcripts.tsv --json \
        > Tests/Fixtures/asr/reference_wer.json
    swift run -c release hark eval asr ../shared/corpus/manifest.tsv --category C \
        --hypotheses Tests/Fixtures/asr/reference_transcripts.tsv --json \
        > Tests/Fixtures/asr/reference_nonspeech.json
    # (re-run both whenever the normaliser in Sources/ASR/Evaluation changes)

Outputs in Tests/Fixtures/asr/ (formats in Tests/Fixtures/asr/README.md):
  mel_<name>.f32 + mel_reference.json   normalised log-mel (80 bins), float32 little-endian,
                                        bin-major [bins, frames] slice of the 30 s window
  encoder_reference.json                tiny.en encoder output statistics + sampled values
  decode_reference.json                 greedy token ids (no timestamps / timestamps), beam-5 text
  tokenizer_reference.json              token ids of sample texts (tiny.en and base)
  reference_transcripts.tsv             faster-whisper beam 5 on corpus categories A and C
  transcribe_reference.json             faster-whisper beam 5 segments (tokens) and word timestamps

The mel is openai-whisper's front end exactly: the audio is padded with zeros to 30 s FIRST
(`whisper.pad_or_trim(audio)`), then faster-whisper's numpy STFT/mel code runs with padding=0.
(faster-whisper's own `transcribe` instead pads the *features* of short audio with zeros in the
normalised log-mel domain; that is not Whisper's behaviour and not what Hark does.) The encoder
statistics and greedy tokens are computed by CTranslate2 from exactly these 30 s features.
"""

import json
import os
import sys
import wave

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.abspath(os.path.join(ROOT, "..", "shared", "corpus"))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "asr")
TINY = os.path.join(ROOT, "models", "whisper-tiny.en")
BASE = os.path.join(ROOT, "models", "whisper-base")

SAMPLE_RATE = 16000
N_SAMPLES = 30 * SAMPLE_RATE
HOP = 160


def read_wav(rel):
    """16 kHz mono 16-bit PCM WAV -> float32 in [-1, 1) (x / 32768, as Hark and ffmpeg do)."""
    with wave.open(os.path.join(CORPUS, rel), "rb") as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2, rel
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def synthetic_signal():
    """1.5 s test signal; Tests/ASRTests/FeaturesTests.swift builds the same samples in Double."""
    n = np.arange(24000, dtype=np.float64)
    t = n / SAMPLE_RATE
    envelope = np.minimum(1.0, n / 4000.0)
    x = envelope * (0.4 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 3150.0 * t)
                    + 0.1 * np.sin(2 * np.pi * 97.0 * t))
    return x.astype(np.float32)


def whisper_mel(audio, n_mels=80):
    """openai-whisper log_mel_spectrogram(pad_or_trim(audio)): [n_mels, 3000] float32."""
    from faster_whisper.feature_extractor import FeatureExtractor

    padded = np.zeros(N_SAMPLES, dtype=np.float32)
    padded[: min(len(audio), N_SAMPLES)] = audio[:N_SAMPLES]
    fe = FeatureExtractor(feature_size=n_mels)
    mel = fe(padded, padding=0)
    assert mel.shape == (n_mels, 3000), mel.shape
    return mel.astype(np.float32)


def write_mel_fixtures():
    entries = []
    clips = [
        ("librivox_0880", "A_dictation/pocketsphinx__librivox_sense_and_sensibility_0880.wav", None),
        ("synthetic", None, synthetic_signal()),
    ]
    for name, rel, samples in clips:
        audio = read_wav(rel) if rel else samples
        mel = whisper_mel(audio)
        audio_frames = len(audio) // HOP
        stored = min(3000, audio_frames + 20)  # the audio and 20 frames into the padding
        fname = f"mel_{name}.f32"
        np.ascontiguousarray(mel[:, :stored]).astype("<f4").tofile(os.path.join(OUT, fname))
        entries.append({"name": name, "file": fname, "source": rel or "synthetic (see FeaturesTests.swift)",
                        "samples": int(len(audio)), "bins": 80, "frames": stored, "totalFrames": 3000,
                        "audioFrames": audio_frames})
    # The filter bank itself (librosa-equivalent Slaney mel, as whisper's mel_filters.npz).
    from faster_whisper.feature_extractor import FeatureExtractor
    filters = FeatureExtractor.get_mel_filters(16000, 400, n_mels=80).astype(np.float32)
    rows = {str(m): [float(v) for v in filters[m]] for m in (0, 1, 10, 40, 79)}
    with open(os.path.join(OUT, "mel_reference.json"), "w") as f:
        json.dump({"clips": entries, "filterRows80": rows, "filterSums80": [float(s) for s in filters.sum(axis=1)]},
                  f, indent=1)


def ct2_model(path):
    import ctranslate2

    return ctranslate2.models.Whisper(path, device="cpu", compute_type="float32", inter_threads=1, intra_threads=2)


def storage(mel):
    import ctranslate2

    return ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))


ENCODER_CLIPS = [
    "A_dictation/whisper__jfk.wav",
    "A_dictation/pocketsphinx__librivox_sense_and_sensibility_0880.wav",
    "B_commands/pocketsphinx__goforward.wav",
]
DECODE_CLIPS = [
    "A_dictation/whisper__jfk.wav",
    "A_dictation/pocketsphinx__librivox_sense_and_sensibility_0880.wav",
    "A_dictation/cmu_arctic_aew_a0001.wav",
    "B_commands/pocketsphinx__goforward.wav",
    "B_commands/pocketsphinx__cards_005.wav",
]
SAMPLED_VALUES = 300


def write_encoder_and_decode_fixtures():
    model = ct2_model(TINY)
    enc = []
    for rel in ENCODER_CLIPS:
        out = np.array(model.encode(storage(whisper_mel(read_wav(rel))), to_cpu=True))[0]  # [1500, 384]
        flat = out.reshape(-1)
        # Fixed, spread-out flat indices (frame-major: index = frame * 384 + channel).
        idx = [(i * 7919 + 13) % flat.size for i in range(SAMPLED_VALUES)]
        enc.append({"file": rel, "shape": list(out.shape), "mean": float(flat.mean(dtype=np.float64)),
                    "std": float(flat.std(dtype=np.float64)), "maxAbs": float(np.abs(flat).max()),
                    "indices": idx, "values": [float(flat[i]) for i in idx]})
    with open(os.path.join(OUT, "encoder_reference.json"), "w") as f:
        json.dump({"model": "whisper-tiny.en", "computeType": "float32", "features": "whisper_mel (30 s)",
                   "clips": enc}, f, indent=1)

    from faster_whisper import WhisperModel

    fw = WhisperModel(TINY, device="cpu", compute_type="float32", cpu_threads=2)
    manifest = read_manifest()
    sot, notimestamps = 50257, 50362  # tiny.en (checked against tokenizer.json below)
    tok = json.load(open(os.path.join(TINY, "tokenizer.json")))
    ids = {t["content"]: t["id"] for t in tok["added_tokens"]}
    assert ids["<|startoftranscript|>"] == sot and ids["<|notimestamps|>"] == notimestamps
    dec = []
    for rel in DECODE_CLIPS:
        features = storage(whisper_mel(read_wav(rel)))
        row = {"file": rel, "category": manifest[rel]["category"], "reference": manifest[rel]["transcript"]}
        for key, prompt in (("greedyNoTimestamps", [sot, notimestamps]), ("greedyTimestamps", [sot])):
            r = model.generate(features, [prompt], beam_size=1, max_length=448, return_scores=True,
                               return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
            row[key] = {"prompt": prompt, "tokens": list(r.sequences_ids[0]), "score": float(r.scores[0]),
                        "noSpeechProb": float(r.no_speech_prob)}
        segs, _ = fw.transcribe(os.path.join(CORPUS, rel), beam_size=5, language="en")
        row["beam5Text"] = "".join(s.text for s in segs).strip()
        dec.append(row)
    with open(os.path.join(OUT, "decode_reference.json"), "w") as f:
        json.dump({"model": "whisper-tiny.en", "computeType": "float32",
                   "generate": "ctranslate2 Whisper.generate(beam_size=1, max_length=448, suppress_blank=True, "
                               "suppress_tokens=[-1] (config suppress_ids), max_initial_timestamp_index=50)",
                   "features": "whisper_mel (30 s)", "clips": dec}, f, indent=1)


def read_manifest():
    rows = {}
    with open(os.path.join(CORPUS, "manifest.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            r = dict(zip(header, cols))
            rows[r["file"]] = r
    return rows


def write_reference_transcripts():
    """faster-whisper with its defaults (beam 5, temperature fallback, VAD off) on A and C clips."""
    from faster_whisper import WhisperModel

    fw = WhisperModel(TINY, device="cpu", compute_type="float32", cpu_threads=2)
    manifest = read_manifest()
    with open(os.path.join(OUT, "reference_transcripts.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tcategory\ttranscript\n")
        for rel, r in manifest.items():
            if r["category"] not in ("A", "C"):
                continue
            segs, _ = fw.transcribe(os.path.join(CORPUS, rel), beam_size=5, language="en")
            text = " ".join(s.text.strip() for s in segs).strip().replace("\t", " ")
            f.write(f"{rel}\t{r['category']}\t{text}\n")
            print(r["category"], rel, "->", text, file=sys.stderr)


TOKENIZER_TEXTS = [
    "Hello world",
    " Hello world",
    " And so, my fellow Americans, ask not what your country can do for you.",
    " It's 25 degrees; don't you think?",
    " Héllo, naïve café — 東京 ünïcödé 🎉",
    "   multiple   spaces\tand\nnewlines  ",
    " Turn on the kitchen lights at 7:30pm",
    " I'll, we've, they're, she'd, you'll",
    "",
]


def write_tokenizer_fixture():
    from tokenizers import Tokenizer

    out = {}
    for name, path in (("whisper-tiny.en", TINY), ("whisper-base", BASE)):
        tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        out[name] = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TOKENIZER_TEXTS]
    with open(os.path.join(OUT, "tokenizer_reference.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)


TRANSCRIBE_CLIPS = [
    "A_dictation/whisper__jfk.wav",
    "A_dictation/pocketsphinx__librivox_sense_and_sensibility_0870.wav",
    "A_dictation/cmu_arctic_aew_a0001.wav",
    "B_commands/pocketsphinx__goforward.wav",
]


def write_transcribe_fixture():
    """faster-whisper `transcribe` (beam 5, language en, its defaults otherwise) on a few clips:
    the segments with their token ids, then again with `word_timestamps=True` for the words."""
    from faster_whisper import WhisperModel

    fw = WhisperModel(TINY, device="cpu", compute_type="float32", cpu_threads=2)
    clips = []
    for rel in TRANSCRIBE_CLIPS:
        path = os.path.join(CORPUS, rel)
        segs, _ = fw.transcribe(path, beam_size=5, language="en")
        plain = [{"start": s.start, "end": s.end, "text": s.text, "tokens": list(s.tokens)} for s in segs]
        segs, _ = fw.transcribe(path, beam_size=5, language="en", word_timestamps=True)
        timed = [{"start": s.start, "end": s.end, "text": s.text,
                  "words": [{"start": w.start, "end": w.end, "word": w.word, "probability": w.probability}
                            for w in s.words]} for s in segs]
        clips.append({"file": rel, "beam5Segments": plain, "wordTimestampSegments": timed})
        print(rel, "->", " ".join(w["word"] for s in timed for w in s["words"]), file=sys.stderr)
    with open(os.path.join(OUT, "transcribe_reference.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "whisper-tiny.en", "computeType": "float32",
                   "transcribe": "faster_whisper.WhisperModel.transcribe(beam_size=5, language='en'[, word_timestamps=True])",
                   "clips": clips}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    steps = sys.argv[1:] or ["mel", "tokenizer", "encoder", "transcripts", "transcribe"]
    if "mel" in steps:
        write_mel_fixtures()
    if "tokenizer" in steps:
        write_tokenizer_fixture()
    if "encoder" in steps:
        write_encoder_and_decode_fixtures()
    if "transcripts" in steps:
        write_reference_transcripts()
    if "transcribe" in steps:
        write_transcribe_fixture()
