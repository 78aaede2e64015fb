import ArgumentParser
import Audio
import Foundation

/// `hark record`: capture from an ALSA device into a 16-bit WAV file.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record from an ALSA capture device into a 16-bit mono WAV file.",
        discussion: """
            Records until --seconds have been captured, the input ends (ALSA's file plugin \
            reading a raw infile) or you press Ctrl-C, then writes OUT.wav (16-bit PCM, mono, \
            --rate Hz). Hark asks the device for S16_LE mono at --rate and converts whatever it \
            gets instead.

            --alsa-config loads an ALSA configuration file into Hark itself (on top of the \
            system one), so devices defined there work without touching ~/.asoundrc. For \
            example, to "record" a raw 16-bit 16 kHz mono file through the real capture path:

              pcm.harkfile {
                  type file
                  slave.pcm null
                  file "/dev/null"
                  infile "/path/to/input.s16"
                  format "raw"
              }

            Examples:
              hark record --seconds 5 question.wav
              hark record --device plughw:1,0 --seconds 3 out.wav
              hark record --alsa-config harkfile.conf --seconds 2 out.wav
            """
    )

    @Option(help: "ALSA device name (see `hark devices`; default: the one PCM --alsa-config defines, else `default`).")
    var device: String?

    @Option(help: "Stop after this many seconds (default: until the input ends or Ctrl-C).")
    var seconds: Double?

    @Option(help: "Sample rate of the WAV file, in Hz.")
    var rate = 16000

    @Option(name: .customLong("alsa-config"), help: ArgumentHelp("An ALSA configuration file to load in-process.", valueName: "file"))
    var alsaConfig: String?

    @Argument(help: ArgumentHelp("The WAV file to write.", valueName: "out.wav"))
    var output: String

    func validate() throws {
        if let seconds, !(seconds > 0 && seconds.isFinite) { throw ValidationError("--seconds must be a positive number, got \(seconds).") }
        if rate <= 0 || rate > 768_000 { throw ValidationError("--rate must be between 1 and 768000 Hz, got \(rate).") }
    }

    func run() throws {
        let config = try alsaConfig.map { try ALSAConfiguration(contentsOf: URL(fileURLWithPath: $0)) }
        let device = try chooseDevice(device, configuration: config)
        let capture = try explainingMissingHardware {
            try AudioCapture(device: device, sampleRate: rate, configuration: config)
        }
        let limit = seconds.map { Int(($0 * Double(rate)).rounded()) }
        let interrupt = InterruptFlag()
        var samples: [Float] = []
        if let limit { samples.reserveCapacity(limit) }
        while !interrupt.isSet, limit.map({ samples.count < $0 }) ?? true, let chunk = try capture.read() {
            samples += chunk
        }
        if let limit, samples.count > limit { samples.removeLast(samples.count - limit) }
        let clip = AudioClip(samples: samples, sampleRate: rate)
        try WAVWriter.write(clip, to: URL(fileURLWithPath: output))
        let how = interrupt.isSet ? " (interrupted)" : ""
        let duration = String(format: "%.2f", clip.duration)
        FileHandle.standardError.write(Data(
            "Recorded \(duration) s\(how) from '\(device)' (\(capture.deviceFormat)) to \(output)\n".utf8))
    }
}

/// The device to open: `--device`, else the single PCM an `--alsa-config` file defines, else
/// `default`.
func chooseDevice(_ requested: String?, configuration: ALSAConfiguration?) throws -> String {
    if let requested { return requested }
    guard let configuration, !configuration.definedPCMNames.isEmpty else { return "default" }
    let names = configuration.definedPCMNames
    if names.count == 1 { return names[0] }
    if names.contains("default") { return "default" }
    throw AudioCommandError(description:
        "\(configuration.source) defines several devices (\(names.joined(separator: ", "))); choose one with --device.")
}

/// Runs `open`; when it fails with `deviceUnavailable` on a machine without sound cards, says so
/// (the usual reason `default` does not exist).
func explainingMissingHardware<T>(_ open: () throws -> T) throws -> T {
    do {
        return try open()
    } catch let error as AudioError {
        guard case .deviceUnavailable = error, (try? AudioDevices.soundCards().isEmpty) == true else { throw error }
        throw AudioCommandError(description: "\(error) (This machine has no sound card at all.)")
    }
}

/// A usage problem found after parsing (so ArgumentParser's usage text would not help).
struct AudioCommandError: Error, CustomStringConvertible {
    let description: String
}

/// Set when SIGINT arrives, so recording stops cleanly and still writes its file.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in self?.trip() }
        source.resume()
    }

    deinit {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }

    private func trip() { lock.lock(); set = true; lock.unlock() }

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
}
