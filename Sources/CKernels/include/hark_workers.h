#ifndef HARK_WORKERS_H
#define HARK_WORKERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One task of a parallel job: `task` is in 0..<tasks.
typedef void (*hark_workers_fn)(void *context, size_t task);

/// Runs fn(context, 0..<tasks) on up to `threads` threads (the caller's thread included) and
/// returns when every task has finished. The workers are created once and kept: between jobs
/// they spin for a short while (a decoder step issues ~30 jobs a few microseconds apart), then
/// sleep. Spawning or dispatching a thread per call would cost tens of microseconds each.
/// Tasks are claimed dynamically, so a busy or descheduled worker only slows its own tasks.
/// When the pool is in use by another thread (two sessions at once), or `threads` <= 1, or there
/// is one task, the tasks run on the caller's thread: results never depend on the thread count
/// as long as each task's arithmetic does not.
void hark_workers_run(size_t threads, size_t tasks, hark_workers_fn fn, void *context);

/// Opens a hold for a burst of jobs on `threads` threads (an encoder pass): until the matching
/// `hark_workers_release`, idle workers spin for a few milliseconds between jobs instead of a
/// fraction of one, and sleeping workers are woken now, so that each product of the burst
/// starts with every worker awake (waking a sleeping thread can take longer than a product).
/// They still sleep after a few idle milliseconds, so a hold never keeps a core busy for long.
/// Holds nest; `threads` <= 1 does nothing (pass the same count to both calls).
void hark_workers_hold(size_t threads);
void hark_workers_release(size_t threads);

/// A thread count that the calling thread's work asks for (0: none set), so that two decodes on
/// two threads can each take one core, whatever the process-wide setting is.
void hark_workers_set_caller_threads(int threads);
int hark_workers_caller_threads(void);

#ifdef __cplusplus
}
#endif

#endif
