import CALSA
import Foundation

/// A playback volume control.
public protocol VolumeControlling: Sendable {
    /// Current volume, 0...100 percent.
    func volume() throws -> Int
    func setVolume(_ percent: Int) throws
    func setMuted(_ muted: Bool) throws
}

/// The ALSA simple mixer (`snd_mixer_*`): owns one `snd_mixer_t`, closed in `deinit`.
///
/// Threading: calls are serialised by an internal lock; one instance may be shared.
public final class ALSAMixer: VolumeControlling, @unchecked Sendable {
    /// Controls tried in order; the first present with a playback volume is used.
    public static let defaultControls = ["Master", "PCM", "Speaker", "Headphone", "Digital"]

    public let device: String
    public let controlName: String
    private let handle: OpaquePointer
    private let element: OpaquePointer
    private let range: (min: Int, max: Int)
    private let lock = NSLock()

    /// Opens `device` (an ALSA control name such as "default" or "hw:0") and finds a control.
    /// Calls `snd_mixer_open`, `snd_mixer_attach`, `snd_mixer_selem_register`, `snd_mixer_load`,
    /// `snd_mixer_find_selem`.
    public init(device: String = "default", controls: [String] = ALSAMixer.defaultControls) throws {
        self.device = device
        var mixer: OpaquePointer?
        try Self.check(snd_mixer_open(&mixer, 0), "snd_mixer_open", device)
        guard let mixer else { throw IntentError.mixer(device: device, function: "snd_mixer_open", code: -1, message: "no handle") }
        // From here on the handle is closed on every failure path.
        do {
            try Self.check(snd_mixer_attach(mixer, device), "snd_mixer_attach", device)
            try Self.check(snd_mixer_selem_register(mixer, nil, nil), "snd_mixer_selem_register", device)
            try Self.check(snd_mixer_load(mixer), "snd_mixer_load", device)
            var sid: OpaquePointer?
            try Self.check(snd_mixer_selem_id_malloc(&sid), "snd_mixer_selem_id_malloc", device)
            defer { snd_mixer_selem_id_free(sid) }
            var found: (OpaquePointer, String)? = nil
            for name in controls {
                snd_mixer_selem_id_set_index(sid, 0)
                snd_mixer_selem_id_set_name(sid, name)
                if let elem = snd_mixer_find_selem(mixer, sid), snd_mixer_selem_has_playback_volume(elem) != 0 {
                    found = (elem, name); break
                }
            }
            guard let (elem, name) = found else { throw IntentError.mixerControlMissing(device: device, tried: controls) }
            var lo = 0, hi = 0
            try Self.check(snd_mixer_selem_get_playback_volume_range(elem, &lo, &hi), "snd_mixer_selem_get_playback_volume_range", device)
            guard hi > lo else { throw IntentError.mixer(device: device, function: "snd_mixer_selem_get_playback_volume_range", code: 0, message: "empty range \(lo)...\(hi)") }
            self.handle = mixer
            self.element = elem
            self.controlName = name
            self.range = (lo, hi)
        } catch {
            snd_mixer_close(mixer)
            throw error
        }
    }

    deinit { snd_mixer_close(handle) }

    /// Every ALSA return code goes through here.
    static func check(_ rc: Int32, _ function: String, _ device: String) throws {
        if rc < 0 { throw IntentError.mixer(device: device, function: function, code: rc, message: String(cString: snd_strerror(rc))) }
    }

    /// `snd_mixer_selem_get_playback_volume` (front left), as percent of the control's range.
    public func volume() throws -> Int {
        try lock.withLock {
            var raw = 0
            try Self.check(snd_mixer_selem_get_playback_volume(element, SND_MIXER_SCHN_FRONT_LEFT, &raw), "snd_mixer_selem_get_playback_volume", device)
            return Int((Double(raw - range.min) * 100 / Double(range.max - range.min)).rounded())
        }
    }

    /// `snd_mixer_selem_set_playback_volume_all`.
    public func setVolume(_ percent: Int) throws {
        try lock.withLock {
            let p = Double(min(100, max(0, percent)))
            let raw = range.min + Int((p / 100 * Double(range.max - range.min)).rounded())
            try Self.check(snd_mixer_selem_set_playback_volume_all(element, raw), "snd_mixer_selem_set_playback_volume_all", device)
        }
    }

    /// `snd_mixer_selem_set_playback_switch_all` (switch off = muted); controls without a
    /// switch are muted by setting volume 0.
    public func setMuted(_ muted: Bool) throws {
        try lock.withLock {
            if snd_mixer_selem_has_playback_switch(element) != 0 {
                try Self.check(snd_mixer_selem_set_playback_switch_all(element, muted ? 0 : 1), "snd_mixer_selem_set_playback_switch_all", device)
            } else if muted {
                try Self.check(snd_mixer_selem_set_playback_volume_all(element, range.min), "snd_mixer_selem_set_playback_volume_all", device)
            }
        }
    }
}

/// Volume up, down, set, mute, unmute.
public struct VolumeSkill: Skill {
    /// Percentage points per "louder"/"quieter".
    public var step: Int
    public init(step: Int = 10) { self.step = step }
    public var intentNames: Set<String> { ["VolumeUp", "VolumeDown", "SetVolume", "Mute", "Unmute"] }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        do {
            let mixer = try context.openMixer()
            switch intent.name {
            case "VolumeUp", "VolumeDown":
                let target = min(100, max(0, try mixer.volume() + (intent.name == "VolumeUp" ? step : -step)))
                try mixer.setVolume(target)
                if intent.name == "VolumeUp" { try mixer.setMuted(false) }
                return SkillReply("Volume \(intent.name == "VolumeUp" ? "up" : "down") to \(target) percent.", data: ["volume": String(target)])
            case "SetVolume":
                guard let level = intent.slots["level"]?.number else { return .failure("What volume should I set?", error: "missing_level") }
                let target = min(100, max(0, Int(level)))
                try mixer.setVolume(target)
                try mixer.setMuted(false)
                return SkillReply("Volume set to \(target) percent.", data: ["volume": String(target)])
            case "Mute":
                try mixer.setMuted(true)
                return SkillReply("Muted.", data: ["muted": "true"])
            default:
                try mixer.setMuted(false)
                return SkillReply("Sound is back on.", data: ["muted": "false"])
            }
        } catch let error as IntentError {
            switch error {
            case .mixerControlMissing:
                return .failure("I can't change the volume: this machine's mixer has no volume control I can use.", error: "no_mixer_control", data: ["detail": error.description])
            default:
                return .failure("I can't change the volume: no sound mixer is available.", error: "no_mixer", data: ["detail": error.description])
            }
        } catch {
            return .failure("I can't change the volume: \(error).", error: "no_mixer")
        }
    }
}
