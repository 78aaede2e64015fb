import Foundation
import Testing
import HarkTestSupport
import ASR

@Test func devEncoderMatchesCT2() throws {
    guard FileManager.default.fileExists(atPath: "/tmp/asrdev/mel.f32") else { return }
    let model = try WhisperModel(modelDirectory: ProjectPaths.whisperTinyEn)
    let mel = try Data(contentsOf: URL(fileURLWithPath: "/tmp/asrdev/mel.f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let ref = try Data(contentsOf: URL(fileURLWithPath: "/tmp/asrdev/enc.f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let start = Date()
    let out = try model.encode(mel: mel, frames: 3000)
    print("encode", Date().timeIntervalSince(start))
    var maxDiff: Float = 0
    for i in 0..<ref.count { maxDiff = max(maxDiff, abs(ref[i] - out.values[i])) }
    print("max abs diff", maxDiff, out.values[0..<5])
    let session = DecoderSession(model: model, encoderOutput: out)
    var tokens = [50257]
    var next = [50257]
    for _ in 0..<40 {
        let logits = try session.forward([next]).last[0]
        var best = 0
        for i in 0..<logits.count where logits[i] > logits[best] { best = i }
        if best == 50256 { break }
        tokens.append(best); next = [best]
    }
    print(tokens)
}
