/* SPDX-License-Identifier: MIT */
/*
 * sim/ event core: a deterministic discrete-event engine on a virtual clock.
 *
 * Time is a uint64 in nanoseconds from the start of the run. Events are
 * ordered by (time, sequence): the sequence number is assigned when the
 * event is scheduled, so two events at the same instant run in the order
 * they were scheduled. Nothing here reads a clock or a system random source:
 * the same seed and the same calls give the same run, bit for bit.
 *
 * Memory is allocated by tc_sim_init() only (the event pool and the heap,
 * sized by events_max); scheduling and running never allocate. When the pool
 * is exhausted, tc_sim_schedule() returns -ENOBUFS and the engine remembers
 * the error: tc_sim_run() returns it, so a run that lost an event never
 * passes for a good one.
 *
 * The randomness of a run comes from xoshiro256** streams (struct
 * tc_sim_rng), each seeded with splitmix64 from the run's seed and a stream
 * number, so that independent parts of a model (one stream per link) draw
 * in an order that does not depend on the others.
 */
#ifndef TREECAST_SIM_H
#define TREECAST_SIM_H

#include <stddef.h>
#include <stdint.h>

/** No time: an unarmed timer, "run to the end". */
#define TC_SIM_NEVER UINT64_MAX
/** Nanoseconds in a microsecond, a millisecond, a second. */
#define TC_SIM_US 1000ULL
#define TC_SIM_MS 1000000ULL
#define TC_SIM_S 1000000000ULL
/** Largest events_max tc_sim_init() accepts (indices are 32-bit). */
#define TC_SIM_EVENTS_MAX (1U << 30)

/** A xoshiro256** generator. Never all zero. */
struct tc_sim_rng {
    uint64_t s[4]; /**< state */
};

/* Seed r for stream number `stream` of a run with seed `seed` (splitmix64). */
void tc_sim_rng_seed(struct tc_sim_rng *r, uint64_t seed, uint64_t stream);
/* Next 64 random bits. */
uint64_t tc_sim_rng_next(struct tc_sim_rng *r);
/* A uniform double in [0, 1) (53 bits). */
double tc_sim_rng_double(struct tc_sim_rng *r);
/* A uniform integer in [0, n) (n > 0), without modulo bias. */
uint64_t tc_sim_rng_below(struct tc_sim_rng *r, uint64_t n);
/* A probability as a 64-bit threshold: draw < threshold happens with
 * probability p (p <= 0 gives 0: never; p >= 1 gives UINT64_MAX, which
 * tc_sim_rng_chance() treats as always). */
uint64_t tc_sim_prob(double p);
/* 1 with the probability that threshold stands for (tc_sim_prob()), else 0. */
int tc_sim_rng_chance(struct tc_sim_rng *r, uint64_t threshold);

struct tc_sim;
struct tc_sim_heap_ent;

/**
 * One event as the handler sees it. The engine does not interpret the
 * fields: the module that scheduled the event chooses their meaning.
 */
struct tc_sim_event {
    uint64_t at;   /**< time the event runs, ns */
    uint64_t seq;  /**< scheduling order: the tie-break at equal times */
    void *ptr;     /**< an object of the scheduling module (not owned by the engine) */
    uint64_t arg;  /**< a number of the scheduling module */
    uint32_t a;    /**< a number of the scheduling module (e.g. a node) */
    uint32_t b;    /**< a number of the scheduling module (e.g. a generation) */
    uint16_t kind; /**< what the event is, for the handler */
};

/**
 * Runs one event. ev points into the engine and is valid during the call
 * only; the handler may schedule further events (at >= the current time).
 */
typedef void (*tc_sim_handler_fn)(void *ctx, struct tc_sim *sim, const struct tc_sim_event *ev);

/** A stop condition for tc_sim_run(): nonzero = stop (checked after each event). */
typedef int (*tc_sim_pred_fn)(void *ctx, const struct tc_sim *sim);

/** Counters of the engine (read with tc_sim_counters()). */
struct tc_sim_counters {
    uint64_t scheduled;     /**< events scheduled since init */
    uint64_t dispatched;    /**< events run since init */
    uint64_t pending;       /**< events waiting now */
    uint64_t pending_peak;  /**< most events ever waiting at once */
    uint64_t pool_failures; /**< schedules refused: the event pool was full */
};

/**
 * The engine. The members are private to sim/sim.c (declared here so that a
 * caller can embed it); use the functions below.
 */
struct tc_sim {
    uint64_t now;                    /**< the virtual clock, ns */
    uint64_t next_seq;               /**< next sequence number */
    uint64_t seed;                   /**< the run's seed */
    uint64_t trace;                  /**< running hash of the events run (time, kind, a, b) */
    struct tc_sim_rng rng;           /**< stream 0: the scenario's own draws */
    struct tc_sim_event *pool;       /**< events_max events */
    uint32_t *free_list;             /**< indices of free pool slots (a stack) */
    uint32_t free_top;               /**< number of free slots */
    struct tc_sim_heap_ent *heap;    /**< the priority queue: a binary min-heap */
    uint32_t heap_len;               /**< events in the heap */
    uint32_t events_max;             /**< capacity of pool and heap */
    int error;                       /**< first error of the run (sticky), 0 if none */
    tc_sim_handler_fn handler;       /**< runs every event */
    void *handler_ctx;               /**< its context */
    struct tc_sim_counters counters; /**< statistics */
};

/*
 * Allocate an engine for at most events_max pending events (1..TC_SIM_EVENTS_MAX),
 * with its clock at 0, seeded with seed. handler runs every event.
 * 0, -EINVAL or -ENOMEM.
 */
int tc_sim_init(struct tc_sim *sim, uint32_t events_max, uint64_t seed, tc_sim_handler_fn handler,
                void *handler_ctx);
/* Free what tc_sim_init() allocated (sim may be zeroed or half made). */
void tc_sim_free(struct tc_sim *sim);

/*
 * Schedule an event at time `at` (>= now; earlier is a broken invariant and
 * asserts). kind, a, b, arg and ptr are copied into the event. 0 or
 * -ENOBUFS (pool full: also recorded as the run's error).
 */
int tc_sim_schedule(struct tc_sim *sim, uint64_t at, uint16_t kind, uint32_t a, uint32_t b,
                    uint64_t arg, void *ptr);

/*
 * Run events in (time, sequence) order while the next one is at or before
 * `until` and pred (if any) returns 0 after each event. When the queue runs
 * dry or the next event is later, the clock moves to `until` (unless until is
 * TC_SIM_NEVER). Returns the run's error (0, or the first negative code the
 * engine or a module recorded with tc_sim_fail()).
 */
int tc_sim_run(struct tc_sim *sim, uint64_t until, tc_sim_pred_fn pred, void *pred_ctx);

/* Time of the next pending event, TC_SIM_NEVER if none. */
uint64_t tc_sim_next_time(const struct tc_sim *sim);
/* The virtual clock, ns. */
uint64_t tc_sim_now(const struct tc_sim *sim);
/* Record an error of the run (the first one is kept); tc_sim_run() returns it. */
void tc_sim_fail(struct tc_sim *sim, int rc);
/* The scenario's random stream (stream 0 of the run's seed). */
struct tc_sim_rng *tc_sim_rng(struct tc_sim *sim);
/* Hash of every event run so far: (time, kind, a, b) in order. Same seed and
 * calls, same hash. */
uint64_t tc_sim_trace_hash(const struct tc_sim *sim);
/* The counters (pending is brought up to date). */
struct tc_sim_counters tc_sim_counters(const struct tc_sim *sim);

#endif /* TREECAST_SIM_H */
