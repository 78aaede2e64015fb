// A persistent worker pool for short parallel jobs (the decoder's per-token products and
// attention). See hark_workers.h. Synchronisation:
// - `generation` is even while a job is published and odd between jobs. The caller writes the
//   job fields, then makes `generation` even; when all tasks are done it makes it odd again and
//   waits until no worker is inside the job (`active` == 0) before it returns, so no worker ever
//   reads the fields of a job that is being replaced (a worker counts itself `active`, then
//   re-checks the generation: with sequentially consistent atomics either the caller sees the
//   worker active, or the worker sees the new generation and backs off).
// - Idle workers spin for SPIN_NS, then sleep on a condition variable; the caller signals it only
//   when some worker sleeps (`sleepers`, the same two-sided check).
// - While a hold is open (`holds` > 0: hark_workers_hold), idle workers keep spinning, yielding
//   their core to any other runnable thread, for HOLD_SPIN_NS instead, and opening a hold wakes
//   sleeping workers (`nudges`, the same check), so a burst of jobs with serial gaps between
//   them (an encoder pass) finds them awake: waking a sleeping thread takes far longer than a
//   short product on some machines (virtual CPUs that halt).
#include "hark_workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_WORKERS 15
#define SPIN_NS 100000 // 0.1 ms: longer than the gaps between the jobs of a decoder step
#define YIELD_NS 20000 // a caller waiting longer than this for a worker yields its core
// Spinning under a hold: longer than any serial gap between an encoder's products, short enough
// that a hold left open (or a long pause inside one) costs a core only for a few milliseconds.
#define HOLD_SPIN_NS 3000000

static pthread_mutex_t dispatch_lock = PTHREAD_MUTEX_INITIALIZER; // one caller at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static atomic_uint_fast64_t generation = 1;
static atomic_int sleepers = 0;
static atomic_int holds = 0;
static atomic_uint nudges = 0;
static atomic_int active = 0;
static atomic_size_t next_task = 0;
static atomic_size_t done_tasks = 0;
static size_t worker_count = 0; // guarded by dispatch_lock

// The published job (written by the caller only while no worker can read it).
static hark_workers_fn job_fn;
static void *job_context;
static size_t job_tasks;
static size_t job_workers; // workers with an index below this take part

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_tasks(void) {
    for (;;) {
        size_t task = atomic_fetch_add(&next_task, 1);
        if (task >= job_tasks) return;
        job_fn(job_context, task);
        atomic_fetch_add(&done_tasks, 1);
    }
}

static uint64_t spin_limit(void) { return atomic_load(&holds) > 0 ? HOLD_SPIN_NS : SPIN_NS; }

static void *worker_main(void *argument) {
    const size_t index = (size_t)(uintptr_t)argument;
    uint64_t seen = atomic_load(&generation);
    for (;;) {
        // Wait for a new even generation: spin, then sleep (until a job, or a hold's nudge).
        uint64_t g = atomic_load(&generation);
        if (g == seen || (g & 1)) {
            uint64_t start = now_ns();
            unsigned spins = 0, nudged = atomic_load(&nudges);
            for (;;) {
                g = atomic_load(&generation);
                if (g != seen && !(g & 1)) break;
                cpu_relax();
                if (++spins % 64 != 0) continue;
                const unsigned nudge = atomic_load(&nudges);
                if (nudge != nudged) { nudged = nudge; start = now_ns(); continue; } // a new hold
                const uint64_t idle = now_ns() - start;
                if (idle <= SPIN_NS) continue;
                if (idle <= spin_limit()) {
                    // Spinning under a hold: give the core to any other runnable thread (free
                    // when there is none), so a busy machine loses little to it, and this worker
                    // has not used up its share of the CPU when its next task comes.
                    sched_yield();
                    continue;
                }
                pthread_mutex_lock(&sleep_lock);
                atomic_fetch_add(&sleepers, 1);
                for (;;) {
                    g = atomic_load(&generation);
                    if ((g != seen && !(g & 1)) || atomic_load(&nudges) != nudged) break;
                    pthread_cond_wait(&wake, &sleep_lock);
                }
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&sleep_lock);
                if (g != seen && !(g & 1)) break;
                nudged = atomic_load(&nudges); // woken by a hold: spin again
                start = now_ns();
            }
        }
        seen = g;
        atomic_fetch_add(&active, 1);
        if (atomic_load(&generation) == g && index < job_workers) run_tasks();
        atomic_fetch_sub(&active, 1);
    }
    return NULL;
}

// Waits until `*counter` reaches `target`. Spins at first; when the wait is long (a worker was
// descheduled on a busy machine), yields the core so that the worker can run on it.
static void wait_until(atomic_size_t *counter, size_t target) {
    unsigned spins = 0;
    uint64_t start = 0;
    while (atomic_load(counter) < target) {
        cpu_relax();
        if (++spins % 64 == 0) {
            if (start == 0) start = now_ns();
            else if (now_ns() - start > YIELD_NS) sched_yield();
        }
    }
}

static void run_inline(size_t tasks, hark_workers_fn fn, void *context) {
    for (size_t t = 0; t < tasks; t++) fn(context, t);
}

// Creates workers until there are `wanted` (the caller holds dispatch_lock).
static void start_workers(size_t wanted) {
    while (worker_count < wanted) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(uintptr_t)worker_count);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        worker_count++;
    }
}

void hark_workers_run(size_t threads, size_t tasks, hark_workers_fn fn, void *context) {
    if (tasks == 0) return;
    if (threads <= 1 || tasks == 1 || pthread_mutex_trylock(&dispatch_lock) != 0) {
        run_inline(tasks, fn, context);
        return;
    }
    size_t wanted = threads - 1;
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    if (wanted > tasks - 1) wanted = tasks - 1;
    start_workers(wanted);
    if (worker_count == 0) {
        pthread_mutex_unlock(&dispatch_lock);
        run_inline(tasks, fn, context);
        return;
    }
    job_fn = fn;
    job_context = context;
    job_tasks = tasks;
    job_workers = wanted < worker_count ? wanted : worker_count;
    atomic_store(&next_task, 0);
    atomic_store(&done_tasks, 0);
    atomic_fetch_add(&generation, 1); // odd -> even: published
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_tasks();
    wait_until(&done_tasks, tasks);
    atomic_fetch_add(&generation, 1); // even -> odd: retired
    for (unsigned spins = 0; atomic_load(&active) > 0; spins++) {
        cpu_relax();
        if (spins > 4096) sched_yield();
    }
    pthread_mutex_unlock(&dispatch_lock);
}

void hark_workers_hold(size_t threads) {
    if (threads <= 1) return;
    atomic_fetch_add(&holds, 1);
    if (pthread_mutex_trylock(&dispatch_lock) == 0) {
        start_workers(threads - 1 < MAX_WORKERS ? threads - 1 : MAX_WORKERS);
        pthread_mutex_unlock(&dispatch_lock);
    }
    atomic_fetch_add(&nudges, 1);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
}

void hark_workers_release(size_t threads) {
    if (threads <= 1) return;
    atomic_fetch_sub(&holds, 1);
}

static _Thread_local int caller_threads = 0;

void hark_workers_set_caller_threads(int threads) { caller_threads = threads > 0 ? threads : 0; }

int hark_workers_caller_threads(void) { return caller_threads; }
