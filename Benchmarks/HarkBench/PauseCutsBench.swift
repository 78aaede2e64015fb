import ASR
import Assistant
import Audio
import Foundation

/// How a fast pause decode (`ListenerConfig.fastPauseDecodeOptions`, after the wake phrase's
/// prompt) of "set a timer for ten seconds" (espeak-ng at 160 words per minute, as the pipeline
/// test synthesizes it) depends on where the utterance is cut: 0-512 ms of audio before the
/// speech, 0-768 ms after it, and on the shortened window (at least 6 s, and 4, 7, 8, 10 s).
/// Each line: the cut, the fast decode's text and lowest token log-probability, the other
/// windows' texts. It showed that the fast decode can hear another command ("Set a Tyler 410
/// seconds" with a 128 ms lead) more confidently than it hears the right one, that 4, 7 and
/// 8 s windows make the same mistake on the same cuts (so none of them can check it), and that
/// the 10 s window (the listener's check, `fastPauseCheckOptions`) read every cut right.
func benchPauseCuts() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let transcriber = try WhisperTranscriber(modelDirectory: root.appendingPathComponent("models/whisper-tiny.en"))
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID().uuidString).wav")
    let raw = tmp.appendingPathExtension("raw.wav")
    defer { try? FileManager.default.removeItem(at: tmp); try? FileManager.default.removeItem(at: raw) }
    for arguments in [["espeak-ng", "-v", "en-us", "-s", "160", "-w", raw.path, "--", "set a timer for ten seconds"],
                      ["sox", raw.path, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", tmp.path]] {
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tool.arguments = arguments
        try tool.run()
        tool.waitUntilExit()
    }
    let clip = try AudioClip.load(tmp.path, sampleRate: 16000).samples
    guard let first = clip.firstIndex(where: { abs($0) > 0.00316 }), let last = clip.lastIndex(where: { abs($0) > 0.00316 }) else { return }
    var fast = ListenerConfig.fastPauseDecodeOptions
    fast.initialPrompt = "Hey Hark."
    fast.maxNewTokens = 40
    let padded = [Float](repeating: 0, count: 16000) + clip + [Float](repeating: 0, count: 32000)
    for startBack in [0, 2048, 4096, 6144, 8192] {
        for k in stride(from: 0, through: 24, by: 4) {
            let s = 16000 + first - startBack, e = 16000 + last + k * 512
            let t = try transcriber.recognize(Array(padded[max(0, s)..<e]), options: fast)
            var line = String(format: "start -%4d end +%5d: %@ min %.2f", startBack, k * 512, t.text, t.segments.compactMap(\.minTokenLogProb).min() ?? 0)
            for window in [4, 7, 8, 10] {
                var other = fast
                other.shortenedWindowMinimumSeconds = window
                line += " | \(window) s: " + (try transcriber.recognize(Array(padded[max(0, s)..<e]), options: other).text)
            }
            print(line)
        }
    }
}
