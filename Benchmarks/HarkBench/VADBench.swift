import CKernels
import Foundation
import VAD

/// Voice activity detection cost per 512-sample frame (32 ms at 16 kHz) and what it means for
/// idle listening: percent of one core = seconds per frame x 31.25 frames/s x 100.
/// Also the largest per-frame difference from the onnxruntime reference fixtures.
func benchVAD() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let env = ProcessInfo.processInfo.environment
    let models = env["HARK_MODELS"].map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent("models")
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let modelURL = models.appendingPathComponent("silero_vad_16k.safetensors")

    var model: SileroVADModel?
    print("cpu: avx2+fma+f16c kernels \(hark_cpu_has_avx2_fma_f16c() == 1 ? "on" : "off"); load average \(loadAverage())")
    let loadSeconds = try seconds { model = try SileroVADModel(contentsOf: modelURL) }
    guard let model else { return }
    print(String(format: "silero load: %.1f ms", loadSeconds * 1000))

    let speech = try readMono16(corpus.appendingPathComponent("A_dictation/whisper__jfk.wav"))
    let idle = try readMono16(corpus.appendingPathComponent("C_nonspeech/gen_dither_-80dBFS_10s.wav"))
    let speechFrames = frames512(speech)
    let idleFrames = frames512(idle)
    let framesPerSecond = 16000.0 / 512.0

    func report(_ name: String, _ frames: [[Float]], _ makeSession: () -> any VoiceActivitySession) {
        var sink: Float = 0
        let best = bestOf(5) {
            var session = makeSession()
            for frame in frames { sink += session.probability(of: frame) }
        }
        let perFrame = best / Double(frames.count)
        print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
              + String(format: "%8.2f us/frame  %6.3f %% of one core at real time  (%d frames, checksum %.3f)",
                     perFrame * 1e6, perFrame * framesPerSecond * 100, frames.count, sink))
    }
    report("silero (speech, ungated)", speechFrames) { model.makeSession() }
    report("silero (idle -80 dBFS, ungated)", idleFrames) { model.makeSession() }
    report("energy detector (speech)", speechFrames) { EnergyVoiceActivityDetector().makeSession() }
    report("gated silero (speech)", speechFrames) { GatedVoiceActivityDetector(inner: model).makeSession() }
    report("gated silero (idle -80 dBFS)", idleFrames) { GatedVoiceActivityDetector(inner: model).makeSession() }

    // Endpointer on top (streaming in 10 ms chunks, as a capture loop would).
    let chunks = stride(from: 0, to: speech.count, by: 160).map { Array(speech[$0..<min($0 + 160, speech.count)]) }
    let endpointing = try bestOf(5) {
        var endpointer = try Endpointer(session: GatedVoiceActivityDetector(inner: model).makeSession())
        for chunk in chunks { _ = endpointer.process(chunk) }
        _ = endpointer.flush()
    }
    let audioSeconds = Double(speech.count) / 16000
    print(String(format: "endpointer + gated silero, 10 ms chunks: %.2f ms for %.1f s of speech (%.3f %% of one core)",
                 endpointing * 1000, audioSeconds, endpointing / audioSeconds * 100))

    // Agreement with the onnxruntime reference (scripts/reference/vad_reference.py).
    let fixtures = root.appendingPathComponent("Tests/Fixtures/vad")
    for name in ["speech_arctic_a0001", "noise_leopard_empty", "mix_speech_noise"] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent(name + ".json"))) as! [String: Any]
        let source = json["source"] as! [String: String]
        let base = source["base"] == "corpus" ? corpus : root.appendingPathComponent("Tests/Fixtures")
        let audio = try readMono16(base.appendingPathComponent(source["path"]!))
        let reference = (json["probabilities"] as! [NSNumber]).map(\.floatValue)
        let stock = (json["stock_onnx_probabilities"] as! [NSNumber]).map(\.floatValue)
        var session = model.makeSession()
        let ours = frames512(audio).map { session.probability(of: $0) }
        let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? .nan
        let worstStock = zip(ours, stock).map { abs($0 - $1) }.max() ?? .nan
        print(name.padding(toLength: 22, withPad: " ", startingAt: 0)
              + String(format: "max |swift - onnxruntime(same weights)| = %.2e   max |swift - stock onnx checkpoint| = %.3f",
                       worst, worstStock))
    }
}

/// 16-bit mono PCM WAV samples as floats (sample / 32768).
private func readMono16(_ url: URL) throws -> [Float] {
    let data = try Data(contentsOf: url)
    var offset = 12
    while offset + 8 <= data.count {
        let id = String(decoding: data[offset..<offset + 4], as: UTF8.self)
        let size = data.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))) }
        if id == "data" {
            let count = min(size, data.count - offset - 8) / 2
            return data.withUnsafeBytes { raw in
                (0..<count).map { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8 + 2 * $0, as: Int16.self))) / 32768 }
            }
        }
        offset += 8 + size + (size & 1)
    }
    throw CocoaError(.fileReadCorruptFile)
}

private func frames512(_ samples: [Float]) -> [[Float]] {
    stride(from: 0, to: samples.count, by: 512).map { start in
        var frame = Array(samples[start..<min(start + 512, samples.count)])
        frame += [Float](repeating: 0, count: 512 - frame.count)
        return frame
    }
}

/// The 1-minute load average: timings on a shared machine mean little without it.
private func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
}
