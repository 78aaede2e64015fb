import CALSA
import Foundation

/// Plays audio through an ALSA playback device.
///
/// ```swift
/// let clip = try AudioClip.load("reply.wav", sampleRate: nil)
/// try AudioPlayback.play(clip, device: "default")
/// ```
///
/// Opening negotiates interleaved S16_LE (else S32_LE, else FLOAT_LE) at the clip's rate and
/// channel count or the nearest the device offers; `write(_:)` converts (channel mapping,
/// windowed-sinc resampling, sample format) and writes with `snd_pcm_writei` until every frame
/// is accepted, recovering from underruns (`-EPIPE`) and suspends (`-ESTRPIPE`) with
/// `snd_pcm_recover`. `drain()` flushes the converter and waits (`snd_pcm_drain`) until the
/// device has played everything.
///
/// Threading: all methods lock an internal mutex; `write` blocks while the device's buffer is
/// full. The handle is closed (`snd_pcm_close`) when the object is released; with the `file`
/// plugin that is when the output file is complete.
public final class AudioPlayback: @unchecked Sendable {
    public let device: String
    /// Rate of the samples `write(_:)` takes, in Hz.
    public let sampleRate: Int
    /// Interleaved channels of the samples `write(_:)` takes.
    public let channels: Int
    /// What the device negotiated.
    public let deviceFormat: PCMFormat

    private let handle: PCMHandle
    private let converter: StreamConverter
    private let lock = NSLock()
    private var underrunCount = 0

    /// Opens `device` for playback of `channels`-channel audio at `sampleRate`.
    /// - Throws: `AudioError.deviceUnavailable` for an unknown or busy device,
    ///   `.deviceFormatUnsupported`, `.invalidArgument`.
    public convenience init(device: String = "default", sampleRate: Int = 16000, channels: Int = 1, periodFrames: Int = 1600,
                            configuration: ALSAConfiguration? = nil) throws {
        try self.init(device: device, sampleRate: sampleRate, channels: channels, periodFrames: periodFrames,
                      configuration: configuration, deviceRate: nil, deviceChannels: nil)
    }

    /// `deviceRate`/`deviceChannels` ask the device for something other than what the caller
    /// writes (tests use them to exercise the conversion path through the file plugin).
    init(device: String, sampleRate: Int, channels: Int, periodFrames: Int, configuration: ALSAConfiguration?,
         deviceRate: Int?, deviceChannels: Int?) throws {
        try PCMHandle.validate(sampleRate: sampleRate, channels: channels, periodFrames: periodFrames)
        let rate = deviceRate ?? sampleRate
        let handle = try PCMHandle(device: device, stream: SND_PCM_STREAM_PLAYBACK, sampleRate: rate,
                                   channels: deviceChannels ?? channels,
                                   periodFrames: max(1, periodFrames * rate / max(1, sampleRate)),
                                   configuration: configuration)
        self.handle = handle
        self.device = device
        self.sampleRate = sampleRate
        self.channels = channels
        deviceFormat = handle.format
        converter = try StreamConverter(fromRate: sampleRate, fromChannels: channels,
                                        toRate: handle.format.sampleRate, toChannels: handle.format.channels)
    }

    /// Underruns and suspends recovered from so far.
    public var underruns: Int { lock.withLock { underrunCount } }

    /// Queues interleaved samples (`channels` per frame, at `sampleRate`) for playback; blocks
    /// until the device has taken them all.
    public func write(_ samples: [Float]) throws {
        try lock.withLock { try writeDevice(converter.process(samples)) }
    }

    /// Plays out what is queued and waits until the device is done (`snd_pcm_drain`).
    public func drain() throws {
        try lock.withLock {
            try writeDevice(converter.finish())
            ALSA.clearDiagnostic()
            let rc = snd_pcm_drain(handle.pcm)
            if rc < 0, -rc != EPIPE { try ALSA.check(rc, "snd_pcm_drain", device: device) }
            // Ready for more writes after the drain.
            try ALSA.check(snd_pcm_prepare(handle.pcm), "snd_pcm_prepare", device: device)
        }
    }

    /// Plays a whole clip on `device` and waits until it has been played.
    public static func play(_ clip: AudioClip, device: String = "default", configuration: ALSAConfiguration? = nil) throws {
        let playback = try AudioPlayback(device: device, sampleRate: clip.sampleRate, channels: 1, configuration: configuration)
        try playback.write(clip.samples)
        try playback.drain()
    }

    private func writeDevice(_ samples: [Float]) throws {
        let frameCount = samples.count / deviceFormat.channels
        guard frameCount > 0 else { return }
        let bytes = handle.encode(samples)
        let bytesPerFrame = deviceFormat.channels * handle.bytesPerSample
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < frameCount {
                // One period per call keeps each write within the file plugin's buffer.
                let chunk = min(deviceFormat.periodFrames, frameCount - done)
                ALSA.clearDiagnostic()
                let rc = snd_pcm_writei(handle.pcm, raw.baseAddress! + done * bytesPerFrame, snd_pcm_uframes_t(chunk))
                if rc >= 0 {
                    done += rc
                    continue
                }
                let code = Int32(truncatingIfNeeded: rc)
                switch -code {
                case EPIPE, ESTRPIPE, EINTR:
                    if -code != EINTR { underrunCount += 1 }
                    try ALSA.check(snd_pcm_recover(handle.pcm, code, 1), "snd_pcm_recover", device: device)
                case EAGAIN:
                    continue
                default:
                    throw ALSA.error(code, "snd_pcm_writei", device: device)
                }
            }
        }
    }
}
