import ASR
import ArgumentParser
import Assistant
import Audio
import Foundation
import VAD

/// `hark listen`: live transcription from the microphone (or a WAV file played in real time).
struct ListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Transcribe speech live from an ALSA device or a WAV file.",
        discussion: """
            Captures 16 kHz mono audio, finds utterances with voice activity detection (Silero VAD, \
            or an energy detector when its model is not installed), shows a partial transcript \
            while someone speaks and prints the final transcript of each utterance with its start \
            and end time in seconds. Partials rewrite one terminal line when standard output is a \
            terminal; --json prints one JSON object per event instead (speechStart, partial, pause: \
            the text so far when the speaker pauses, final, speechEnd, warning). Stop with Ctrl-C.

            Examples:
              hark listen                                  # default ALSA capture device
              hark listen --device plughw:1,0 --json
              hark listen --input dictation.wav            # played in real time, like a device
              hark listen --dictation                      # long-form speech: 1.2 s pauses end utterances
              hark listen --input dictation.wav --no-realtime --json   # as fast as possible
              hark listen --alsa-config file.conf --device harkfile    # a device from a config
              hark listen --trailing-silence-ms 400 --model models/whisper-base
            """)

    @Option(help: "ALSA capture device (default, hw:1,0, plughw:1,0, or a name from --alsa-config).")
    var device: String = "default"

    @Option(help: "Listen to this WAV file instead of a device.")
    var input: String?

    @Flag(inversion: .prefixedNo, help: "Pace --input (and devices from --alsa-config) in real time.")
    var realtime = true

    @Flag(help: "Print one JSON object per event.")
    var json = false

    @Option(help: "Whisper model folder (CTranslate2). Default: the installed whisper-tiny.en.")
    var model: String?

    @Option(help: "Silero VAD safetensors file. Default: the installed one; without it, an energy detector.")
    var vadModel: String?

    @Option(help: "ALSA configuration file defining --device (e.g. the file plugin).")
    var alsaConfig: String?

    @Option(help: "Silence that ends an utterance, in milliseconds (default \(EndpointerConfig.default.trailingSilenceMs), with --dictation \(ListenerConfig.dictationTrailingSilenceMs)).")
    var trailingSilenceMs: Int?

    @Flag(help: "Long-form speech: an utterance ends after a longer silence, so phrases separated by a breath are transcribed together (more accurate, finals come later).")
    var dictation = false

    @Option(help: "Beam width of the final transcripts (1 = greedy).")
    var beamSize: Int = ListenerConfig.defaultFinalOptions.beamSize

    @Flag(help: "Do not show partial transcripts.")
    var noPartials = false

    func validate() throws {
        if let trailingSilenceMs, trailingSilenceMs < 0 { throw ValidationError("--trailing-silence-ms must be >= 0") }
        if beamSize < 1 { throw ValidationError("--beam-size must be at least 1") }
        if input != nil && alsaConfig != nil { throw ValidationError("--input and --alsa-config exclude each other") }
    }

    var listenerConfig: ListenerConfig {
        var config = dictation ? ListenerConfig.dictation : ListenerConfig.default
        if let trailingSilenceMs { config.endpointer.trailingSilenceMs = trailingSilenceMs }
        config.finalOptions.beamSize = beamSize
        config.partials = !noPartials
        return config
    }

    func run() async throws {
        let modelURL = try ModelLocator.resolve(model, default: ModelLocator.whisperTinyEn, kind: "Whisper model folder")
        let vadURL = vadModel.map { URL(fileURLWithPath: $0) } ?? ModelLocator.locate(ModelLocator.sileroVAD)
        if vadModel != nil, !FileManager.default.fileExists(atPath: vadURL.path) {
            throw ValidationError("VAD model '\(vadURL.path)' does not exist.")
        }
        let detector = try VoiceActivityDetectors.makeDefault(sileroModel: vadURL)
        if !FileManager.default.fileExists(atPath: vadURL.path) {
            FileHandle.standardError.write(Data("hark: \(ModelLocator.sileroVAD) not installed; using the energy detector\n".utf8))
        }

        var source: any AudioSourcing
        var paced = false
        if let input {
            source = try SamplesAudioSource(wavPath: input)
            paced = realtime
        } else if let alsaConfig {
            source = try CaptureAudioSource(device: device, configuration: try ALSAConfiguration(contentsOf: URL(fileURLWithPath: alsaConfig)))
            paced = realtime
        } else {
            source = try CaptureAudioSource(device: device)
        }
        if paced { source = PacedAudioSource(source) }

        let listener = Listener(recognizer: try WhisperTranscriber(modelDirectory: modelURL), detector: detector,
                                config: listenerConfig)
        let terminal = isatty(STDOUT_FILENO) != 0 && !json
        var partialShown = false
        let statistics = ListenStatistics()
        defer {
            // Falling behind and dropped audio were each reported as they happened; sum them up.
            if statistics.warnings > 0 {
                FileHandle.standardError.write(Data("hark: listening summary: \(statistics.summary)\n".utf8))
            }
        }
        for try await event in listener.events(from: source, lossless: !paced && (input != nil || alsaConfig != nil),
                                               statistics: statistics) {
            if json {
                write(event.json + "\n")
                continue
            }
            switch event {
            case let .partial(text, _):
                guard terminal else { continue }
                write("\r\u{1B}[K… \(text)")
                partialShown = true
            case let .final(text, start, end):
                if partialShown { write("\r\u{1B}[K"); partialShown = false }
                write(String(format: "[%7.2f -> %7.2f] ", start, end) + text + "\n")
            case .speechEnd:
                if partialShown { write("\r\u{1B}[K"); partialShown = false }
            case let .warning(message):
                FileHandle.standardError.write(Data("hark: warning: \(message)\n".utf8))
            case .speechStart, .pause:
                continue
            }
        }
    }

    /// Unbuffered, so partials appear at once.
    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
