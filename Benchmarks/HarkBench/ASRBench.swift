import ASR
import Audio
import COpenBLAS
import Foundation

/// Whisper tiny.en on the corpus: encoder time per 30 s window (and per shortened window),
/// decoder ms per token, whole-file wall time and real-time factor (greedy and beam 5) for the
/// category A files, and peak memory. `HARK_THREADS` sets the BLAS threads (default 2).
func benchASR() async throws {
    let threads = Int(ProcessInfo.processInfo.environment["HARK_THREADS"] ?? "2") ?? 2
    openblas_set_num_threads(Int32(threads))
    print("threads=\(threads) \(blasEnvironment())")
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let modelURL = root.appendingPathComponent("models/whisper-tiny.en")
    var transcriber: WhisperTranscriber!
    let load = try seconds { transcriber = try WhisperTranscriber(modelDirectory: modelURL) }
    let model = transcriber.model
    print(String(format: "load: %.3f s, peak %.0f MiB", load, peakMemoryMiB()))

    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let jfk = try AudioClip.load(corpus.appendingPathComponent("A_dictation/whisper__jfk.wav").path)
    let mel = LogMelSpectrogram().compute(jfk.samples)
    var encoded = try model.encode(mel: mel.values, frames: mel.frames)
    let encode = try bestOf(3) { encoded = try model.encode(mel: mel.values, frames: mel.frames) }
    print(String(format: "encoder: %.3f s per 30 s window (whisper.cpp 0.33 s)", encode))
    let shortFrames = 400
    let shortMel = Array(mel.values.prefix(0)) + (0..<mel.bins).flatMap { b in mel.values[(b * mel.frames)..<(b * mel.frames + shortFrames)] }
    let encodeShort = try bestOf(3) { _ = try model.encode(mel: shortMel, frames: shortFrames) }
    print(String(format: "encoder: %.3f s per 4 s shortened window", encodeShort))

    // Decoder: 100 greedy steps after [sot, notimestamps] (ms per token, one hypothesis and 5).
    let tokens = transcriber.specialTokens
    for batch in [1, 5] {
        let session = DecoderSession(model: model, encoderOutput: encoded)
        let steps = 100
        let time = try seconds {
            session.reset(batch: batch)
            _ = try session.forward([[Int]](repeating: [tokens.startOfTranscript, tokens.noTimestamps], count: batch))
            for i in 0..<steps { _ = try session.forward([[Int]](repeating: [440 + i], count: batch)) }
        }
        let perStep: Double = time / Double(steps) * 1000
        print("decoder: " + String(format: "%.2f", perStep) + " ms per step with \(batch) hypotheses (whisper.cpp 1.8 ms/token)")
    }

    // Whole files, category A.
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    var files: [String] = []
    for line in manifest.split(separator: "\n").dropFirst() {
        let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
        if columns.count > 5 && columns[5] == "A" { files.append(String(columns[0])) }
    }
    let clips = try files.map { try AudioClip.load(corpus.appendingPathComponent($0).path) }
    let audioSeconds: Double = clips.map { Double($0.samples.count) / 16000 }.reduce(0, +)
    for beam in [1, 5] {
        var options = TranscriptionOptions.default
        options.beamSize = beam
        let wall = try await asyncSeconds { for clip in clips { _ = try await transcriber.transcribe(clip.samples, options: options) } }
        print(String(format: "category A (%d files, %.1f s audio), beam %d: %.2f s wall, real-time factor %.3f",
                     clips.count, audioSeconds, beam, wall, wall / audioSeconds))
    }
    // The 3 s sentence (whisper.cpp: 0.47 s greedy, 0.59 s beam 5 end to end).
    let sentence = try AudioClip.load(corpus.appendingPathComponent("A_dictation/pocketsphinx__librivox_sense_and_sensibility_0880.wav").path)
    for (beam, short) in [(1, false), (5, false), (1, true), (5, true)] {
        var options = TranscriptionOptions.default
        options.beamSize = beam
        options.shortenedEncoderWindow = short
        var text = ""
        let wall = try await asyncSeconds { text = try await transcriber.transcribe(sentence.samples, options: options).text }
        print(String(format: "3 s sentence, beam %d%@: %.3f s -> %@", beam, short ? ", shortened window" : "", wall, text))
    }
    print(String(format: "peak memory: %.0f MiB", peakMemoryMiB()))
}

private func asyncSeconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
