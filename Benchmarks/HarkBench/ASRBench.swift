import ASR
import Audio
import CKernels
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
    let encode = try timings(5) { encoded = try model.encode(mel: mel.values, frames: mel.frames) }
    print("encoder: \(encode.summary) s per 30 s window, \(encode.ratio(to: 0.33)) x whisper.cpp's 0.33 s")
    print("matrix kernels: \(gemmPathName())")
    let shortFrames = 400
    let shortMel = (0..<mel.bins).flatMap { b in mel.values[(b * mel.frames)..<(b * mel.frames + shortFrames)] }
    let encodeShort = try timings(5) { _ = try model.encode(mel: shortMel, frames: shortFrames) }
    print("encoder: \(encodeShort.summary) s per 4 s shortened window")

    // Decoder: 100 greedy steps after [sot, notimestamps] (ms per token, one hypothesis and 5).
    let tokens = transcriber.specialTokens
    for batch in [1, 5] {
        let session = DecoderSession(model: model, encoderOutput: encoded)
        let steps = 100
        let perStep = try measured(3) {
            session.reset(batch: batch)
            _ = try session.forward([[Int]](repeating: [tokens.startOfTranscript, tokens.noTimestamps], count: batch))
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<steps { _ = try session.forward([[Int]](repeating: [440 + i], count: batch)) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps)
        }
        print("decoder: \(perStep.summary) ms per step with \(batch) hypotheses, \(perStep.ratio(to: 1.8)) x whisper.cpp's 1.8 ms/token")
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
        var walls: [Double] = []
        for _ in 0..<3 {
            walls.append(try await asyncSeconds { text = try await transcriber.transcribe(sentence.samples, options: options).text })
        }
        let wall = Timings(walls)
        let reference = beam == 1 ? 0.47 : 0.59
        print("3 s sentence, beam \(beam)\(short ? ", shortened window" : ""): \(wall.summary) s, \(wall.ratio(to: reference)) x whisper.cpp's \(reference) s -> \(text)")
    }
    print(String(format: "peak memory: %.0f MiB", peakMemoryMiB()))
}

private func asyncSeconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Several timings of one thing: min (the least disturbed run) and median, and the ratio of the
/// min to a reference time (below 1: faster than the reference).
private struct Timings {
    let sorted: [Double]
    init(_ values: [Double]) { sorted = values.sorted() }
    var min: Double { sorted.first ?? .nan }
    var median: Double { sorted.isEmpty ? .nan : sorted[sorted.count / 2] }
    var summary: String { String(format: "min %.3f median %.3f", min, median) }
    func ratio(to reference: Double) -> String { String(format: "%.2f", min / reference) }
}

private func timings(_ repeats: Int, _ body: () throws -> Void) rethrows -> Timings {
    var values: [Double] = []
    for _ in 0..<repeats { values.append(try seconds(body)) }
    return Timings(values)
}

/// Several values that `body` measures itself (for timing only part of it).
private func measured(_ repeats: Int, _ body: () throws -> Double) rethrows -> Timings {
    var values: [Double] = []
    for _ in 0..<repeats { values.append(try body()) }
    return Timings(values)
}

private func gemmPathName() -> String {
    switch Int(hark_gemm_path()) {
    case Int(HARK_GEMM_AVX512): return "AVX-512F"
    case Int(HARK_GEMM_AVX2): return "AVX2+FMA"
    default: return "portable C"
    }
}
