import Foundation

/// ALSA configuration text for tests on a machine without a sound card: ALSA's `file` plugin
/// over a `null` slave runs the real `snd_pcm_readi` / `snd_pcm_writei` paths against files.
public enum ALSAFilePlugin {
    /// Defines `pcm.<device>` capturing the raw S16_LE samples of `infile` (what the `null`
    /// slave "records" is replaced by the file's bytes).
    public static func capture(device: String = "harkfile", infile: URL) -> String {
        """
        pcm.\(device) {
            type file
            slave.pcm null
            file "/dev/null"
            infile "\(infile.path)"
            format "raw"
        }
        """
    }

    /// Defines `pcm.<device>` writing what is played to `output` as raw samples.
    public static func playback(device: String = "harkout", output: URL) -> String {
        """
        pcm.\(device) {
            type file
            slave.pcm null
            file "\(output.path)"
            format "raw"
        }
        """
    }
}
