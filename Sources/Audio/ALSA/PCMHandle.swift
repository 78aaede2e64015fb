import CALSA
import Foundation

/// The hardware parameters a PCM ended up with after negotiation.
public struct PCMFormat: Sendable, Equatable, CustomStringConvertible {
    /// ALSA's name of the sample format: "S16_LE", "S32_LE" or "FLOAT_LE".
    public var sampleFormat: String
    public var channels: Int
    public var sampleRate: Int
    /// Frames per period (the unit of one `snd_pcm_readi`).
    public var periodFrames: Int
    /// Frames the ring buffer holds.
    public var bufferFrames: Int

    public var description: String {
        "\(sampleFormat), \(channels) channel\(channels == 1 ? "" : "s"), \(sampleRate) Hz, "
            + "period \(periodFrames) frames, buffer \(bufferFrames) frames"
    }
}

/// Owner of one `snd_pcm_t` handle: opens it (`snd_pcm_open` / `snd_pcm_open_lconf`),
/// negotiates interleaved access, format, channels, rate, period and buffer
/// (`snd_pcm_hw_params_*`), and closes it (`snd_pcm_close`) in `deinit`.
/// Not thread-safe: its users (`AudioCapture`, `AudioPlayback`) serialise access.
final class PCMHandle {
    let pcm: OpaquePointer
    let device: String
    let format: PCMFormat
    let bytesPerSample: Int
    /// Kept alive for the handle's lifetime: plugins may refer to the tree they came from.
    let configuration: ALSAConfiguration?

    /// - Parameter sampleFormats: restricts the formats tried (names from `ALSA.formats`), for tests.
    init(device: String, stream: snd_pcm_stream_t, sampleRate: Int, channels: Int, periodFrames: Int,
         configuration: ALSAConfiguration?, sampleFormats: [String]? = nil) throws {
        _ = ALSA.setUp
        try PCMHandle.validate(sampleRate: sampleRate, channels: channels, periodFrames: periodFrames)
        self.device = device
        self.configuration = configuration
        var handle: OpaquePointer?
        ALSA.clearDiagnostic()
        let rc: Int32
        if let configuration {
            configuration.lock.lock()
            rc = snd_pcm_open_lconf(&handle, device, stream, 0, configuration.root)
            configuration.lock.unlock()
        } else {
            rc = snd_pcm_open(&handle, device, stream, 0)
        }
        guard rc >= 0, let handle else { throw ALSA.openError(rc, device: device) }
        pcm = handle
        do {
            let formats = ALSA.formats.filter { sampleFormats?.contains($0.name) ?? true }
            (format, bytesPerSample) = try PCMHandle.negotiate(handle, device: device, formats: formats, sampleRate: sampleRate,
                                                              channels: channels, periodFrames: periodFrames)
        } catch {
            snd_pcm_close(handle)
            throw error
        }
    }

    deinit { snd_pcm_close(pcm) }

    /// Rejects non-positive rates, channel counts and periods before any ALSA call.
    static func validate(sampleRate: Int, channels: Int, periodFrames: Int) throws {
        guard sampleRate > 0 else {
            throw AudioError.invalidArgument(name: "sample rate", value: String(sampleRate), reason: "it must be positive")
        }
        guard channels > 0 else {
            throw AudioError.invalidArgument(name: "channel count", value: String(channels), reason: "it must be positive")
        }
        guard periodFrames > 0 else {
            throw AudioError.invalidArgument(name: "period", value: "\(periodFrames) frames", reason: "it must be positive")
        }
    }

    private static func negotiate(_ pcm: OpaquePointer, device: String, formats: [(format: snd_pcm_format_t, name: String, bytes: Int)],
                                  sampleRate: Int, channels: Int, periodFrames: Int) throws -> (PCMFormat, Int) {
        var params: OpaquePointer?
        try ALSA.check(snd_pcm_hw_params_malloc(&params), "snd_pcm_hw_params_malloc", device: device)
        defer { snd_pcm_hw_params_free(params) }
        try ALSA.check(snd_pcm_hw_params_any(pcm, params), "snd_pcm_hw_params_any", device: device)
        try ALSA.check(snd_pcm_hw_params_set_access(pcm, params, SND_PCM_ACCESS_RW_INTERLEAVED),
                       "snd_pcm_hw_params_set_access", device: device)
        guard let chosen = formats.first(where: { snd_pcm_hw_params_test_format(pcm, params, $0.format) == 0 }) else {
            throw AudioError.deviceFormatUnsupported(
                device: device, detail: "none of \(formats.map(\.name).joined(separator: ", ")) (interleaved)")
        }
        try ALSA.check(snd_pcm_hw_params_set_format(pcm, params, chosen.format), "snd_pcm_hw_params_set_format", device: device)
        var channelCount = UInt32(channels)
        try ALSA.check(snd_pcm_hw_params_set_channels_near(pcm, params, &channelCount),
                       "snd_pcm_hw_params_set_channels_near", device: device)
        var rate = UInt32(sampleRate)
        var dir: Int32 = 0
        try ALSA.check(snd_pcm_hw_params_set_rate_near(pcm, params, &rate, &dir), "snd_pcm_hw_params_set_rate_near", device: device)
        // Keep the period's duration when the device runs at another rate.
        var period = snd_pcm_uframes_t(max(1, periodFrames * Int(rate) / sampleRate))
        dir = 0
        try ALSA.check(snd_pcm_hw_params_set_period_size_near(pcm, params, &period, &dir),
                       "snd_pcm_hw_params_set_period_size_near", device: device)
        var buffer = period * 4
        try ALSA.check(snd_pcm_hw_params_set_buffer_size_near(pcm, params, &buffer),
                       "snd_pcm_hw_params_set_buffer_size_near", device: device)
        try ALSA.check(snd_pcm_hw_params(pcm, params), "snd_pcm_hw_params", device: device)
        // Read back what the device settled on.
        dir = 0
        try ALSA.check(snd_pcm_hw_params_get_period_size(params, &period, &dir), "snd_pcm_hw_params_get_period_size", device: device)
        try ALSA.check(snd_pcm_hw_params_get_buffer_size(params, &buffer), "snd_pcm_hw_params_get_buffer_size", device: device)
        try ALSA.check(snd_pcm_hw_params_get_channels(params, &channelCount), "snd_pcm_hw_params_get_channels", device: device)
        dir = 0
        try ALSA.check(snd_pcm_hw_params_get_rate(params, &rate, &dir), "snd_pcm_hw_params_get_rate", device: device)
        guard rate > 0, channelCount > 0, period > 0 else {
            throw AudioError.deviceFormatUnsupported(device: device, detail: "it settled on \(rate) Hz, \(channelCount) channels")
        }
        let format = PCMFormat(sampleFormat: chosen.name, channels: Int(channelCount), sampleRate: Int(rate),
                               periodFrames: Int(period), bufferFrames: Int(buffer))
        return (format, chosen.bytes)
    }

    /// Decodes interleaved device samples to Float in -1..<1.
    func decode(_ bytes: UnsafeRawBufferPointer, samples count: Int) -> [Float] {
        switch format.sampleFormat {
        case "S16_LE":
            return (0..<count).map { Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) / 32768 }
        case "S32_LE":
            return (0..<count).map { Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) / 2_147_483_648 }
        default:
            return (0..<count).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// Encodes Float samples in the device's format.
    func encode(_ samples: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: samples.count * bytesPerSample)
        out.withUnsafeMutableBytes { raw in
            switch format.sampleFormat {
            case "S16_LE":
                for (i, s) in samples.enumerated() { raw.storeBytes(of: PCMConversion.int16(s).littleEndian, toByteOffset: 2 * i, as: Int16.self) }
            case "S32_LE":
                for (i, s) in samples.enumerated() {
                    let scaled = (Double(s) * 2_147_483_648).rounded()
                    let v: Int32 = scaled >= 2_147_483_647 ? .max : scaled <= -2_147_483_648 ? .min : (scaled == scaled ? Int32(scaled) : 0)
                    raw.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: Int32.self)
                }
            default:
                for (i, s) in samples.enumerated() { raw.storeBytes(of: s.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
        }
        return out
    }
}

/// Converts interleaved audio between channel counts and sample rates, streaming.
/// Channel mapping: equal counts pass through; to mono averages; from mono duplicates;
/// otherwise averages to mono and duplicates.
struct StreamConverter {
    let fromChannels: Int
    let toChannels: Int
    let resamplers: [Resampler]   // one per output channel, empty when the rates match

    init(fromRate: Int, fromChannels: Int, toRate: Int, toChannels: Int) throws {
        self.fromChannels = fromChannels
        self.toChannels = toChannels
        resamplers = fromRate == toRate ? [] : try (0..<toChannels).map { _ in try Resampler(inputRate: fromRate, outputRate: toRate) }
    }

    var isIdentity: Bool { fromChannels == toChannels && resamplers.isEmpty }

    func process(_ interleaved: [Float]) -> [Float] {
        let mapped = mapChannels(interleaved)
        if resamplers.isEmpty { return mapped }
        return resample(mapped) { $0.process($1) }
    }

    func finish() -> [Float] {
        if resamplers.isEmpty { return [] }
        return resample([]) { resampler, _ in resampler.finish() }
    }

    private func resample(_ mapped: [Float], _ body: (Resampler, [Float]) -> [Float]) -> [Float] {
        if toChannels == 1 { return body(resamplers[0], mapped) }
        let frames = mapped.count / toChannels
        let outs = (0..<toChannels).map { c in body(resamplers[c], (0..<frames).map { mapped[$0 * toChannels + c] }) }
        let count = outs.map(\.count).min() ?? 0
        var out = [Float](repeating: 0, count: count * toChannels)
        for c in 0..<toChannels { for i in 0..<count { out[i * toChannels + c] = outs[c][i] } }
        return out
    }

    private func mapChannels(_ x: [Float]) -> [Float] {
        if fromChannels == toChannels { return x }
        let frames = x.count / fromChannels
        var mono = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(fromChannels)
        for f in 0..<frames {
            var sum: Float = 0
            for c in 0..<fromChannels { sum += x[f * fromChannels + c] }
            mono[f] = fromChannels == 1 ? sum : sum * scale
        }
        if toChannels == 1 { return mono }
        var out = [Float](repeating: 0, count: frames * toChannels)
        for f in 0..<frames { for c in 0..<toChannels { out[f * toChannels + c] = mono[f] } }
        return out
    }
}
