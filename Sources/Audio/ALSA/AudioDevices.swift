import CALSA
import Foundation

/// A PCM device ALSA advertises (`snd_device_name_hint`).
public struct AudioDeviceInfo: Sendable, Equatable {
    /// The name to open it by, e.g. `default`, `hw:CARD=PCH,DEV=0`, `null`.
    public var name: String
    /// ALSA's description, lines joined with " - ".
    public var description: String
    public var canCapture: Bool
    public var canPlay: Bool
}

/// A sound card the kernel knows (`snd_card_next`, `snd_card_get_name`).
public struct SoundCard: Sendable, Equatable {
    public var index: Int
    public var name: String
    public var longName: String
}

/// Enumerates ALSA devices and sound cards.
public enum AudioDevices {
    /// Every PCM ALSA advertises (`snd_device_name_hint(-1, "pcm")`; IOID says which way each
    /// one works, absent meaning both).
    public static func pcmDevices() throws -> [AudioDeviceInfo] {
        _ = ALSA.setUp
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ALSA.clearDiagnostic()
        try ALSA.check(snd_device_name_hint(-1, "pcm", &hints), "snd_device_name_hint", device: "(all)")
        guard let hints else { return [] }
        defer { snd_device_name_free_hint(hints) }
        var devices: [AudioDeviceInfo] = []
        var index = 0
        while let hint = hints[index] {
            index += 1
            guard let name = take(snd_device_name_get_hint(hint, "NAME")) else { continue }
            let description = take(snd_device_name_get_hint(hint, "DESC")) ?? ""
            let io = take(snd_device_name_get_hint(hint, "IOID"))
            devices.append(AudioDeviceInfo(
                name: name,
                description: description.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " - "),
                canCapture: io == nil || io == "Input",
                canPlay: io == nil || io == "Output"))
        }
        return devices
    }

    /// PCMs that can record.
    public static func captureDevices() throws -> [AudioDeviceInfo] {
        try pcmDevices().filter(\.canCapture)
    }

    /// PCMs that can play.
    public static func playbackDevices() throws -> [AudioDeviceInfo] {
        try pcmDevices().filter(\.canPlay)
    }

    /// The sound cards present (none on a machine without audio hardware).
    public static func soundCards() throws -> [SoundCard] {
        _ = ALSA.setUp
        var cards: [SoundCard] = []
        var card: Int32 = -1
        while true {
            try ALSA.check(snd_card_next(&card), "snd_card_next", device: "(cards)")
            if card < 0 { break }
            var name: UnsafeMutablePointer<CChar>?
            var longName: UnsafeMutablePointer<CChar>?
            _ = snd_card_get_name(card, &name)
            _ = snd_card_get_longname(card, &longName)
            cards.append(SoundCard(index: Int(card), name: take(name) ?? "card \(card)", longName: take(longName) ?? ""))
        }
        return cards
    }

    /// Converts an ALSA-allocated C string to a String and frees it.
    private static func take(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
