import CALSA
import Foundation

/// The one place ALSA return codes are checked. Every `snd_*` call that returns a status goes
/// through `ALSA.check`, which turns a negative code into an `AudioError` carrying the call's
/// name, the code, `snd_strerror` text and ALSA's own diagnostic when it printed one.
enum ALSA {
    /// Installs Hark's ALSA diagnostic handler once (see `hark_alsa_capture_errors` in CALSA).
    static let setUp: Void = { hark_alsa_capture_errors() }()

    /// `snd_strerror(code)` plus ALSA's last diagnostic on this thread, if any.
    static func message(_ code: Int32) -> String {
        let text = String(cString: snd_strerror(code))
        let detail = String(cString: hark_alsa_last_error())
        hark_alsa_clear_error()
        return detail.isEmpty || detail == text ? text : "\(detail) (\(text))"
    }

    /// Clears the diagnostic buffer before a call whose failure we may report.
    static func clearDiagnostic() { hark_alsa_clear_error() }

    /// Throws `deviceFailure` when `rc < 0`; returns `rc` otherwise.
    @discardableResult
    static func check(_ rc: Int32, _ call: String, device: String) throws -> Int32 {
        if rc < 0 { throw error(rc, call, device: device) }
        return rc
    }

    /// `check` for calls returning `snd_pcm_sframes_t` (a C long).
    @discardableResult
    static func check(_ rc: Int, _ call: String, device: String) throws -> Int {
        if rc < 0 { throw error(Int32(truncatingIfNeeded: rc), call, device: device) }
        return rc
    }

    /// The `AudioError` for a failed call: lost-device codes become `deviceLost`.
    static func error(_ rc: Int32, _ call: String, device: String) -> AudioError {
        switch -rc {
        case ENODEV, ENXIO, EBADFD, ESHUTDOWN:
            return .deviceLost(device: device, code: rc, message: message(rc))
        default:
            return .deviceFailure(device: device, call: call, code: rc, message: message(rc))
        }
    }

    /// The error for a failed `snd_pcm_open`, with a hint for the usual causes.
    static func openError(_ rc: Int32, device: String) -> AudioError {
        var text = message(rc)
        switch -rc {
        case ENOENT: text += "; ALSA knows no device by that name, or its sound card is missing"
        case EBUSY: text += "; another program is using the device"
        case EACCES, EPERM: text += "; no permission (is the user in the 'audio' group?)"
        default: break
        }
        return .deviceUnavailable(device: device, code: rc, message: text)
    }

    /// Sample formats Hark converts itself, in order of preference.
    static let formats: [(format: snd_pcm_format_t, name: String, bytes: Int)] = [
        (SND_PCM_FORMAT_S16_LE, "S16_LE", 2),
        (SND_PCM_FORMAT_S32_LE, "S32_LE", 4),
        (SND_PCM_FORMAT_FLOAT_LE, "FLOAT_LE", 4),
    ]
}

/// An ALSA configuration tree held in memory (`snd_config_t`): the system configuration
/// (`alsa.conf` and what it includes) with your text loaded on top, so names defined in the text
/// work with `AudioCapture`/`AudioPlayback` while `null`, `hw:...` and `default` keep working.
///
/// ```swift
/// let config = try ALSAConfiguration(text: """
///     pcm.harkfile { type file; slave.pcm null; file "/dev/null"; infile "/tmp/in.raw"; format "raw" }
///     """)
/// let capture = try AudioCapture(device: "harkfile", configuration: config)
/// ```
///
/// Calls `snd_config_update_ref`, `snd_config_copy`, `snd_input_buffer_open`,
/// `snd_config_load`; the tree is freed with `snd_config_delete` in `deinit`.
/// Threading: immutable after `init`; opens through it are serialised by an internal lock.
public final class ALSAConfiguration: @unchecked Sendable {
    let root: OpaquePointer
    /// Where the text came from, for messages.
    public let source: String
    let lock = NSLock()

    /// Parses `text` (ALSA configuration syntax) on top of the system configuration.
    /// - Parameter includeSystemConfiguration: false starts from an empty tree (then even `null`
    ///   must be defined in `text`).
    public init(text: String, source: String = "ALSA configuration text", includeSystemConfiguration: Bool = true) throws {
        _ = ALSA.setUp
        self.source = source
        ALSA.clearDiagnostic()
        var top: OpaquePointer?
        if includeSystemConfiguration {
            var system: OpaquePointer?
            let rc = snd_config_update_ref(&system)
            if rc >= 0, let system {
                let copied = snd_config_copy(&top, system)
                snd_config_unref(system)
                if copied < 0 { top = nil }
            }
        }
        if top == nil {
            let rc = snd_config_top(&top)
            guard rc >= 0, top != nil else {
                throw AudioError.invalidALSAConfiguration(source: source, code: rc, message: ALSA.message(rc))
            }
        }
        let rc = ALSAConfiguration.load(text, into: top!)
        if rc < 0 {
            snd_config_delete(top)
            throw AudioError.invalidALSAConfiguration(source: source, code: rc, message: ALSA.message(rc))
        }
        root = top!
        definedPCMNames = ALSAConfiguration.pcmNames(in: text)
    }

    /// The PCM names the text itself defines (`pcm.NAME ...`), in order; system ones excluded.
    public let definedPCMNames: [String]

    /// `snd_input_buffer_open` + `snd_config_load` of `text` into `top`.
    private static func load(_ text: String, into top: OpaquePointer) -> Int32 {
        var input: OpaquePointer?
        let utf8 = Array(text.utf8)
        var rc = utf8.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { chars in
                snd_input_buffer_open(&input, chars.baseAddress, chars.count)
            }
        }
        if rc >= 0, let input {
            rc = snd_config_load(top, input)
            snd_input_close(input)
        }
        return rc
    }

    /// Parses `text` alone into an empty tree and lists the children of its `pcm` node.
    private static func pcmNames(in text: String) -> [String] {
        var top: OpaquePointer?
        guard snd_config_top(&top) >= 0, let top else { return [] }
        defer { snd_config_delete(top) }
        guard load(text, into: top) >= 0 else { return [] }
        var pcm: OpaquePointer?
        guard snd_config_search(top, "pcm", &pcm) >= 0, let pcm else { return [] }
        var names: [String] = []
        var position = snd_config_iterator_first(pcm)
        while position != snd_config_iterator_end(pcm) {
            var id: UnsafePointer<CChar>?
            if let entry = snd_config_iterator_entry(position), snd_config_get_id(entry, &id) >= 0, let id {
                names.append(String(cString: id))
            }
            position = snd_config_iterator_next(position)
        }
        return names
    }

    /// Reads an ALSA configuration file (e.g. an `.asoundrc`-style file) on top of the system one.
    public convenience init(contentsOf url: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw AudioError.unreadable(file: url.path, reason: WAVReader.describe(error))
        }
        try self.init(text: text, source: url.path)
    }

    deinit { snd_config_delete(root) }

    /// The string at a dotted key such as `pcm.harkfile.infile`, if the tree has one.
    public func string(at key: String) -> String? {
        var node: OpaquePointer?
        guard snd_config_search(root, key, &node) >= 0, let node else { return nil }
        var value: UnsafePointer<CChar>?
        guard snd_config_get_string(node, &value) >= 0, let value else { return nil }
        return String(cString: value)
    }
}
