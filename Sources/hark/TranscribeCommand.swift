import ASR
import ArgumentParser
import Audio
import Foundation

/// `hark transcribe`: WAV files to text, subtitles or JSON with Whisper.
struct TranscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe WAV files with Whisper, on this machine.",
        discussion: """
            Reads each FILE (WAV, any rate and channel count; '-' reads standard input), and writes \
            the transcript to standard output, or to OUTPUT-DIR/<name>.<format> with --output-dir. \
            Audio longer than 30 s is transcribed window by window; a progress bar goes to standard \
            error when it is a terminal.

            Examples:
              hark transcribe meeting.wav
              hark transcribe --format srt --output-dir subs/ talk1.wav talk2.wav
              hark transcribe --beam-size 1 --threads 2 -            # greedy, from stdin
              hark transcribe --model models/whisper-base --language de --task translate rede.wav
              hark transcribe --prompt "Hark, ALSA, OpenBLAS" --format json notes.wav
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case txt, srt, vtt, json }

    @Argument(help: "WAV files to transcribe ('-' for standard input).")
    var files: [String]

    @Option(help: "Whisper model folder (CTranslate2). Default: the installed whisper-tiny.en.")
    var model: String?

    @Option(help: "Output format: txt, srt, vtt or json.")
    var format: Format = .txt

    @Option(help: "Write each transcript to this folder instead of standard output.")
    var outputDir: String?

    @Option(help: "Threads for the matrix products.")
    var threads: Int?

    @Option(help: "Beam width (1 = greedy).")
    var beamSize: Int = TranscriptionOptions.default.beamSize

    @Option(help: "Language code of the speech (multilingual models); detected when omitted.")
    var language: String?

    @Option(help: "transcribe, or translate to English (multilingual models).")
    var task: String = TranscriptionTask.transcribe.rawValue

    @Option(help: "Text that sets vocabulary and style (names, spellings).")
    var prompt: String?

    @Flag(help: "Add per-word times (from cross-attention) to the JSON output.")
    var wordTimestamps = false

    @Flag(help: "With --word-timestamps, srt and vtt get one cue per word instead of one per segment.")
    var wordCues = false

    @Option(parsing: .upToNextOption, help: "Temperatures of the fallback ladder (default 0 0.2 0.4 0.6 0.8 1.0).")
    var temperature: [Float] = []

    @Flag(help: "Keep Whisper's text on windows Hark's silence gate would drop (faster-whisper behaviour).")
    var noSilenceGate = false

    @Flag(help: "Encode short audio on a window just long enough for it (faster; may change the text).")
    var shortWindow = false

    func validate() throws {
        if beamSize < 1 { throw ValidationError("--beam-size must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if TranscriptionTask(rawValue: task) == nil { throw ValidationError("--task must be 'transcribe' or 'translate'") }
        if temperature.contains(where: { $0 < 0 }) { throw ValidationError("--temperature values must be >= 0") }
        if wordCues && !wordTimestamps { throw ValidationError("--word-cues needs --word-timestamps") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("'-' (standard input) can be given once") }
    }

    var options: TranscriptionOptions {
        var options = TranscriptionOptions.default
        options.beamSize = beamSize
        options.language = language
        options.task = TranscriptionTask(rawValue: task) ?? .transcribe
        options.initialPrompt = prompt
        options.wordTimestamps = wordTimestamps
        options.threads = threads
        options.shortenedEncoderWindow = shortWindow
        if !temperature.isEmpty { options.temperatures = temperature }
        if noSilenceGate {
            options.minimumSpeechConfidence = nil
            options.gateNoSpeechThreshold = nil
        }
        return options
    }

    func run() async throws {
        let modelURL = try ModelLocator.resolve(model, default: ModelLocator.whisperTinyEn, kind: "Whisper model folder")
        let transcriber = try WhisperTranscriber(modelDirectory: modelURL)
        let options = self.options
        for file in files {
            let clip = try AudioClip.load(file, sampleRate: WhisperTranscriber.sampleRate)
            let bar = clip.duration > 30 && isatty(STDERR_FILENO) == 1 ? ProgressBar(label: file) : nil
            var progress: (@Sendable (Double) -> Void)? = nil
            if let bar { progress = { fraction in bar.update(fraction) } }
            let transcript = try await transcriber.transcribe(clip.samples, options: options, progress: progress)
            bar?.finish()
            let output = TranscriptFormatter.format(transcript, as: format, words: wordTimestamps, wordCues: wordCues)
            if let outputDir {
                let name = file == "-" ? "stdin" : URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
                let dir = URL(fileURLWithPath: outputDir)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                try output.write(to: dir.appendingPathComponent("\(name).\(format.rawValue)"), atomically: true, encoding: .utf8)
            } else {
                if files.count > 1 && format == .txt { print("==> \(file) <==") }
                print(output, terminator: output.hasSuffix("\n") ? "" : "\n")
            }
        }
    }
}

/// A one-line progress bar on standard error.
final class ProgressBar: @unchecked Sendable {
    // @unchecked: updates come from the transcribing task only, one at a time.
    let label: String
    init(label: String) { self.label = label }

    func update(_ fraction: Double) {
        let width = 30
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write("\r\(label) [\(bar)] \(Int(fraction * 100))%".data(using: .utf8)!)
    }

    func finish() { FileHandle.standardError.write("\n".data(using: .utf8)!) }
}

/// Transcript to txt, srt, vtt or json.
enum TranscriptFormatter {
    static func format(_ transcript: Transcript, as format: TranscribeCommand.Format, words: Bool,
                       wordCues: Bool = false) -> String {
        // Subtitle cues: one per segment, or one per word when asked.
        let cues: [(start: Double, end: Double, text: String)] = wordCues
            ? transcript.segments.flatMap { ($0.words ?? []).map { ($0.start, $0.end, $0.word) } }
            : transcript.segments.map { ($0.start, $0.end, $0.text) }
        switch format {
        case .txt:
            return transcript.text + "\n"
        case .srt:
            return cues.enumerated().map { index, cue in
                "\(index + 1)\n\(time(cue.start, ",")) --> \(time(cue.end, ","))\n\(cue.text.trimmingCharacters(in: .whitespaces))\n"
            }.joined(separator: "\n")
        case .vtt:
            return "WEBVTT\n\n" + cues.map { cue in
                "\(time(cue.start, ".")) --> \(time(cue.end, "."))\n\(cue.text.trimmingCharacters(in: .whitespaces))\n"
            }.joined(separator: "\n")
        case .json:
            struct Word: Encodable { let start: Double; let end: Double; let word: String; let probability: Float }
            struct Segment: Encodable {
                let start: Double; let end: Double; let text: String
                let avg_logprob: Float; let no_speech_prob: Float; let words: [Word]?
            }
            struct Output: Encodable { let text: String; let language: String; let segments: [Segment] }
            let output = Output(text: transcript.text, language: transcript.language, segments: transcript.segments.map {
                Segment(start: $0.start, end: $0.end, text: $0.text, avg_logprob: $0.avgLogProb, no_speech_prob: $0.noSpeechProb,
                        words: words ? ($0.words ?? []).map { Word(start: $0.start, end: $0.end, word: $0.word, probability: $0.probability) } : nil)
            })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(output)) ?? Data(), as: UTF8.self) + "\n"
        }
    }

    /// hh:mm:ss,mmm (srt) or hh:mm:ss.mmm (vtt).
    static func time(_ seconds: Double, _ separator: String) -> String {
        let ms = Int((seconds * 1000).rounded())
        return String(format: "%02d:%02d:%02d%@%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, separator, ms % 1000)
    }
}
