import ArgumentParser
import Audio
import Foundation

/// `hark play`: play a WAV file through ALSA.
struct PlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play a WAV file through an ALSA playback device.",
        discussion: """
            Reads any WAV Hark reads (PCM 8/16/24/32-bit, float 32/64-bit, any rate and \
            channel count; `-` is standard input), mixes it to mono and plays it at its own \
            rate, or the nearest the device offers (Hark resamples and converts as needed). \
            Waits until the device has played everything.

            Examples:
              hark play reply.wav
              hark play --device plughw:1,0 reply.wav
              sox in.flac -t wav - | hark play -
              hark play --alsa-config out.conf --device harkout reply.wav   # e.g. a file plugin
            """
    )

    @Option(help: "ALSA device name (see `hark devices --playback`; default: the one PCM --alsa-config defines, else `default`).")
    var device: String?

    @Option(name: .customLong("alsa-config"), help: ArgumentHelp("An ALSA configuration file to load in-process.", valueName: "file"))
    var alsaConfig: String?

    @Argument(help: ArgumentHelp("The WAV file to play, or - for standard input.", valueName: "file.wav"))
    var input: String

    func run() throws {
        let clip = try AudioClip.load(input, sampleRate: nil)
        let config = try alsaConfig.map { try ALSAConfiguration(contentsOf: URL(fileURLWithPath: $0)) }
        let device = try chooseDevice(device, configuration: config)
        let playback = try explainingMissingHardware {
            try AudioPlayback(device: device, sampleRate: clip.sampleRate, channels: 1, configuration: config)
        }
        try playback.write(clip.samples)
        try playback.drain()
    }
}
