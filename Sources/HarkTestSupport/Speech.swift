import Foundation

/// Why `synthesizeSpeech` failed: a tool missing or exiting with an error.
public struct SpeechSynthesisError: Error, CustomStringConvertible {
    public var tool: String
    public var status: Int32
    public var output: String
    public var description: String {
        status == -1 ? "\(tool) is not installed (scripts/setup installs espeak-ng and sox)."
            : "\(tool) failed with status \(status): \(output)"
    }
}

/// Speaks `text` into `url` as a 16 kHz mono 16-bit WAV, for tests of the speech stages:
/// `espeak-ng -w` synthesises (22.05 kHz), `sox` converts. Deterministic for a given text,
/// voice and speed on one machine.
///
/// ```swift
/// let dir = try TemporaryDirectory()
/// try synthesizeSpeech("what time is it", to: dir.file("q.wav"))
/// ```
public func synthesizeSpeech(_ text: String, to url: URL, voice: String = "en-us", wordsPerMinute: Int = 160) throws {
    let raw = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).espeak-\(UUID().uuidString).wav")
    defer { try? FileManager.default.removeItem(at: raw) }
    try runTool("espeak-ng", ["-v", voice, "-s", String(wordsPerMinute), "-w", raw.path, "--", text])
    try runTool("sox", [raw.path, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", url.path])
}

/// Runs `tool` (looked up in PATH) and throws with its output when it fails.
private func runTool(_ tool: String, _ arguments: [String]) throws {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { "\($0)/\(tool)" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path else { throw SpeechSynthesisError(tool: tool, status: -1, output: "") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw SpeechSynthesisError(tool: tool, status: process.terminationStatus,
                                   output: String(decoding: output, as: UTF8.self))
    }
}
