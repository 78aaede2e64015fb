#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdio.h>

// ALSA reports details ("Unknown PCM foo", "cannot find card '0'") through an error handler that
// prints to stderr by default. Hark keeps the last message of each thread instead and puts it
// into its own error values. Variadic C functions cannot be written in Swift, hence this shim.
// (The buffer lives inside a function: Swift's importer emits functions, not header variables.)
static inline char *hark_alsa_message_buffer(void) {
    static __thread char message[512];
    return message;
}

static void hark_alsa_error_handler(const char *file, int line, const char *function, int err,
                                    const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hark_alsa_message_buffer(), 512, fmt, ap);
    va_end(ap);
}

/// Routes ALSA's diagnostics to `hark_alsa_last_error()` instead of stderr (process-wide).
static inline void hark_alsa_capture_errors(void) { snd_lib_error_set_handler(hark_alsa_error_handler); }
/// The last diagnostic ALSA reported on this thread ("" when none since the last clear).
static inline const char *hark_alsa_last_error(void) { return hark_alsa_message_buffer(); }
static inline void hark_alsa_clear_error(void) { hark_alsa_message_buffer()[0] = 0; }
