// SPDX-License-Identifier: MIT
/*
 * sim/ event core: event pool, binary heap keyed by (time, sequence), the
 * virtual clock and the xoshiro256** streams. See include/treecast/sim.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/sim.h"

/**
 * A heap entry: the key inline, so that sifting touches the heap array only
 * (the event body stays put in the pool).
 */
struct tc_sim_heap_ent {
    uint64_t at;  /**< event time, ns */
    uint64_t seq; /**< tie-break: scheduling order */
    uint32_t idx; /**< pool slot of the event */
};

/** splitmix64 step: the seeding generator recommended for xoshiro. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/**
 * Seed a stream. The seed and the stream number go through splitmix64 in
 * turn, so nearby seeds and nearby streams give unrelated states.
 */
void tc_sim_rng_seed(struct tc_sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    int i;

    x = splitmix64(&x) ^ (stream * 0xd1342543de82ef95ULL);
    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/** xoshiro256** (Blackman and Vigna). */
uint64_t tc_sim_rng_next(struct tc_sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/** The top 53 bits as a double in [0, 1). */
double tc_sim_rng_double(struct tc_sim_rng *r)
{
    return (double)(tc_sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/** Lemire's multiply-and-reject: uniform without modulo bias. */
uint64_t tc_sim_rng_below(struct tc_sim_rng *r, uint64_t n)
{
    unsigned __int128 m;
    uint64_t lo;

    assert(n > 0);
    m = (unsigned __int128)tc_sim_rng_next(r) * n;
    lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = -n % n;

        while (lo < t) {
            m = (unsigned __int128)tc_sim_rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/** p scaled to 2^64: an integer compare per draw in the hot path. */
uint64_t tc_sim_prob(double p)
{
    if (!(p > 0.0))
        return 0;
    if (p >= 1.0)
        return UINT64_MAX;
    return (uint64_t)(p * 18446744073709551616.0);
}

/** One Bernoulli draw. Always draws (even for 0 and 1), so that the stream
 * advances the same way whatever the probability. */
int tc_sim_rng_chance(struct tc_sim_rng *r, uint64_t threshold)
{
    uint64_t x = tc_sim_rng_next(r);

    return threshold == UINT64_MAX || x < threshold;
}

/** a before b in run order. */
static inline int ent_less(const struct tc_sim_heap_ent *a, const struct tc_sim_heap_ent *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/**
 * Allocate the pool, its free stack and the heap. The free stack is filled
 * so that slot 0 is used first (only for tidiness: slots never affect order).
 */
int tc_sim_init(struct tc_sim *sim, uint32_t events_max, uint64_t seed, tc_sim_handler_fn handler,
                void *handler_ctx)
{
    uint32_t i;

    memset(sim, 0, sizeof(*sim));
    if (events_max == 0 || events_max > TC_SIM_EVENTS_MAX || !handler)
        return -EINVAL;
    sim->pool = calloc(events_max, sizeof(*sim->pool));
    if (!sim->pool)
        goto err_pool;
    sim->free_list = calloc(events_max, sizeof(*sim->free_list));
    if (!sim->free_list)
        goto err_free_list;
    sim->heap = calloc(events_max, sizeof(*sim->heap));
    if (!sim->heap)
        goto err_heap;
    for (i = 0; i < events_max; i++)
        sim->free_list[i] = events_max - 1 - i;
    sim->free_top = events_max;
    sim->events_max = events_max;
    sim->seed = seed;
    sim->trace = 0xcbf29ce484222325ULL;
    sim->handler = handler;
    sim->handler_ctx = handler_ctx;
    tc_sim_rng_seed(&sim->rng, seed, 0);
    return 0;

err_heap:
    free(sim->free_list);
err_free_list:
    free(sim->pool);
err_pool:
    memset(sim, 0, sizeof(*sim));
    return -ENOMEM;
}

/** Free the arrays (safe on a zeroed engine). */
void tc_sim_free(struct tc_sim *sim)
{
    free(sim->heap);
    free(sim->free_list);
    free(sim->pool);
    memset(sim, 0, sizeof(*sim));
}

/** Keep the first error: later ones are usually its consequences. */
void tc_sim_fail(struct tc_sim *sim, int rc)
{
    if (!sim->error && rc < 0)
        sim->error = rc;
}

/** Take a pool slot, fill it, and sift its key up the heap. */
int tc_sim_schedule(struct tc_sim *sim, uint64_t at, uint16_t kind, uint32_t a, uint32_t b,
                    uint64_t arg, void *ptr)
{
    struct tc_sim_heap_ent ent;
    struct tc_sim_event *ev;
    uint32_t idx, pos;

    assert(at >= sim->now);
    if (sim->free_top == 0) {
        sim->counters.pool_failures++;
        tc_sim_fail(sim, -ENOBUFS);
        return -ENOBUFS;
    }
    idx = sim->free_list[--sim->free_top];
    ev = &sim->pool[idx];
    ev->at = at;
    ev->seq = sim->next_seq++;
    ev->ptr = ptr;
    ev->arg = arg;
    ev->a = a;
    ev->b = b;
    ev->kind = kind;
    ent.at = at;
    ent.seq = ev->seq;
    ent.idx = idx;
    pos = sim->heap_len++;
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;

        if (!ent_less(&ent, &sim->heap[parent]))
            break;
        sim->heap[pos] = sim->heap[parent];
        pos = parent;
    }
    sim->heap[pos] = ent;
    sim->counters.scheduled++;
    if (sim->heap_len > sim->counters.pending_peak)
        sim->counters.pending_peak = sim->heap_len;
    return 0;
}

/** Remove the root; the last entry sinks from the top (Floyd's bottom-up
 * variant would save compares, but this one is simpler and fast enough). */
static uint32_t heap_pop(struct tc_sim *sim)
{
    struct tc_sim_heap_ent *h = sim->heap;
    uint32_t top = h[0].idx;
    uint32_t n = --sim->heap_len;
    struct tc_sim_heap_ent last = h[n];
    uint32_t pos = 0;

    for (;;) {
        uint32_t c = 2 * pos + 1;

        if (c >= n)
            break;
        if (c + 1 < n && ent_less(&h[c + 1], &h[c]))
            c++;
        if (!ent_less(&h[c], &last))
            break;
        h[pos] = h[c];
        pos = c;
    }
    if (n > 0)
        h[pos] = last;
    return top;
}

/** Time of the heap's root. */
uint64_t tc_sim_next_time(const struct tc_sim *sim)
{
    return sim->heap_len ? sim->heap[0].at : TC_SIM_NEVER;
}

/**
 * The loop. The event is copied out of the pool and its slot freed before
 * the handler runs, so the handler can schedule into it at once.
 */
int tc_sim_run(struct tc_sim *sim, uint64_t until, tc_sim_pred_fn pred, void *pred_ctx)
{
    while (!sim->error && sim->heap_len && sim->heap[0].at <= until) {
        struct tc_sim_event ev;
        uint32_t idx = heap_pop(sim);
        uint64_t h = sim->trace;

        ev = sim->pool[idx];
        sim->free_list[sim->free_top++] = idx;
        sim->now = ev.at;
        sim->counters.dispatched++;
        /* FNV-1a-like mix of what makes the run: when, what, to whom. */
        h = (h ^ ev.at) * 0x100000001b3ULL;
        h = (h ^ ((uint64_t)ev.kind << 48 ^ (uint64_t)ev.a << 16 ^ ev.b)) * 0x100000001b3ULL;
        sim->trace = h;
        sim->handler(sim->handler_ctx, sim, &ev);
        if (pred && pred(pred_ctx, sim))
            return sim->error;
    }
    if (!sim->error && until != TC_SIM_NEVER && sim->now < until)
        sim->now = until;
    return sim->error;
}

uint64_t tc_sim_now(const struct tc_sim *sim)
{
    return sim->now;
}

struct tc_sim_rng *tc_sim_rng(struct tc_sim *sim)
{
    return &sim->rng;
}

uint64_t tc_sim_trace_hash(const struct tc_sim *sim)
{
    return sim->trace;
}

struct tc_sim_counters tc_sim_counters(const struct tc_sim *sim)
{
    struct tc_sim_counters c = sim->counters;

    c.pending = sim->heap_len;
    return c;
}
