import Foundation

/// Where the checkout, its models and the shared development corpus are, for tests.
public enum ProjectPaths {
    /// The package root (the folder holding Package.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `models/` as filled by `scripts/setup` (or `$HARK_MODELS`).
    public static var models: URL {
        if let custom = ProcessInfo.processInfo.environment["HARK_MODELS"], !custom.isEmpty {
            return URL(fileURLWithPath: custom)
        }
        return root.appendingPathComponent("models")
    }

    /// `../shared/corpus`: real recordings with references (see its README).
    public static var corpus: URL { root.deletingLastPathComponent().appendingPathComponent("shared/corpus") }

    /// Committed test fixtures: `Tests/Fixtures`.
    public static var fixtures: URL { root.appendingPathComponent("Tests/Fixtures") }

    public static var whisperTinyEn: URL { models.appendingPathComponent("whisper-tiny.en") }
    public static var smolLM2: URL { models.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf") }
    public static var sileroVAD: URL { models.appendingPathComponent("silero_vad_16k.safetensors") }
}

/// A fresh temporary folder, removed when the value is dropped.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("hark-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}
