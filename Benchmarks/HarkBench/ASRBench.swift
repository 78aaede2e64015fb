import ASR
import Audio
import COpenBLAS
import Foundation

/// Whisper tiny.en on the corpus: encoder time per window, decoder ms per token, whole-file wall
/// time and real-time factor (greedy and beam 5) for category A, peak memory.
func benchASR() async throws {
    let threads = Int(ProcessInfo.processInfo.environment["HARK_THREADS"] ?? "2") ?? 2
    openblas_set_num_threads(Int32(threads))
    print("threads=\(threads) \(blasEnvironment())")
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let modelURL = root.appendingPathComponent("models/whisper-tiny.en")
    var model: WhisperModel!
    let load = try seconds { model = try WhisperModel(modelDirectory: modelURL) }
    print(String(format: "load: %.3f s, peak %.0f MiB", load, peakMemoryMiB()))
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let jfk = try AudioClip.load(corpus.appendingPathComponent("A_dictation/whisper__jfk.wav").path)
    let mel = LogMelSpectrogram().compute(jfk.samples)
    _ = try model.encode(mel: mel.values, frames: mel.frames)
    let encode = try bestOf(3) { _ = try model.encode(mel: mel.values, frames: mel.frames) }
    print(String(format: "encoder: %.3f s per 30 s window (whisper.cpp 0.33 s)", encode))
}
