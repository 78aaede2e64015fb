import ArgumentParser
import Audio

/// `hark devices`: the ALSA devices Hark can record from (and, with --playback, play to).
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the audio devices Hark can record from.",
        discussion: """
            Lists the capture devices ALSA advertises, by the name `hark record --device` \
            takes, with ALSA's description, followed by the sound cards the kernel knows. \
            ALSA's `null` device is always there: it records silence.

            Examples:
              hark devices              # capture devices and sound cards
              hark devices --playback   # also the devices `hark play --device` can use
            """
    )

    @Flag(help: "Also list playback devices.")
    var playback = false

    func run() throws {
        let devices = try AudioDevices.pcmDevices()
        let cards = try AudioDevices.soundCards()
        printSection("Capture devices", devices.filter(\.canCapture), none: "No capture devices: ALSA advertises none.")
        if playback {
            print("")
            printSection("Playback devices", devices.filter(\.canPlay), none: "No playback devices: ALSA advertises none.")
        }
        print("")
        if cards.isEmpty {
            print("Sound cards: none. This machine has no audio hardware ALSA can use, so there is no "
                + "microphone to record from; `null` only yields silence. Recording from a file works "
                + "through ALSA's file plugin (see `hark record --help`).")
        } else {
            print("Sound cards:")
            for card in cards {
                print("  hw:\(card.index)  \(card.name)\(card.longName.isEmpty || card.longName == card.name ? "" : " (\(card.longName))")")
            }
        }
    }

    private func printSection(_ title: String, _ devices: [AudioDeviceInfo], none: String) {
        guard !devices.isEmpty else {
            print(none)
            return
        }
        print("\(title):")
        let width = min(40, devices.map(\.name.count).max() ?? 0)
        for device in devices {
            let padded = device.name.padding(toLength: max(width, device.name.count), withPad: " ", startingAt: 0)
            print("  \(padded)  \(device.description)")
        }
    }
}
