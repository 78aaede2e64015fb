import ArgumentParser
import Foundation

/// Finds the model files that `scripts/setup` installs. Search order: `$HARK_MODELS`, then
/// `./models` (a checkout), then the `models` folder of the checkout this binary was built in,
/// then `$XDG_DATA_HOME/hark/models` (default `~/.local/share/hark/models`).
enum ModelLocator {
    static let whisperTinyEn = "whisper-tiny.en"
    static let whisperBase = "whisper-base"
    static let smolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let qwenCoder = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    static let sileroVAD = "silero_vad_16k.safetensors"

    /// Candidate model folders, most specific first.
    static var searchPath: [URL] {
        var dirs: [URL] = []
        let env = ProcessInfo.processInfo.environment
        if let custom = env["HARK_MODELS"], !custom.isEmpty { dirs.append(URL(fileURLWithPath: custom)) }
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models"))
        // .build/<config>/hark -> checkout root: useful when running a built binary from elsewhere.
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                dirs.append(dir.appendingPathComponent("models"))
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        let dataHome = env["XDG_DATA_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        dirs.append(dataHome.appendingPathComponent("hark/models"))
        return dirs
    }

    /// The first existing `name` in the search path, or the path it would have in the first
    /// folder (so an error message can name where it was expected).
    static func locate(_ name: String) -> URL {
        for dir in searchPath {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return searchPath[0].appendingPathComponent(name)
    }

    /// The error text for a model that is not installed.
    static func missing(_ name: String) -> String {
        let places = searchPath.map { "  " + $0.path }.joined(separator: "\n")
        return "Model '\(name)' is not installed. Run scripts/setup to fetch it, or set HARK_MODELS. Looked in:\n\(places)"
    }

    /// The model named by an explicit option, or the installed default; an error that says
    /// where it was looked for when neither exists.
    static func resolve(_ explicitPath: String?, default name: String, kind: String = "Model") throws -> URL {
        if let explicitPath {
            let url = URL(fileURLWithPath: explicitPath)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ValidationError("\(kind) '\(url.path)' does not exist.")
            }
            return url
        }
        let url = locate(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw ValidationError(missing(name)) }
        return url
    }
}
