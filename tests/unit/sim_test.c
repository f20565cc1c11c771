// SPDX-License-Identifier: MIT
/* Unit tests for sim/sim.c: PRNG streams, event order, run limits, pool limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "treecast/sim.h"

static void test_rng_streams(void **state)
{
    struct tc_sim_rng a, b, c;
    int i, same = 0;

    (void)state;
    tc_sim_rng_seed(&a, 42, 7);
    tc_sim_rng_seed(&b, 42, 7);
    tc_sim_rng_seed(&c, 42, 8);
    for (i = 0; i < 1000; i++) {
        uint64_t x = tc_sim_rng_next(&a);

        assert_true(x == tc_sim_rng_next(&b));
        same += x == tc_sim_rng_next(&c);
    }
    assert_int_equal(same, 0);
    /* xoshiro256** reference: state {1, 2, 3, 4} gives 11520 then 0. */
    a.s[0] = 1;
    a.s[1] = 2;
    a.s[2] = 3;
    a.s[3] = 4;
    assert_true(tc_sim_rng_next(&a) == 11520);
    assert_true(tc_sim_rng_next(&a) == 0);
    assert_true(tc_sim_rng_next(&a) == 1509978240);
}

static void test_rng_ranges(void **state)
{
    struct tc_sim_rng r;
    uint32_t hist[10] = {0};
    int i, hits = 0;

    (void)state;
    tc_sim_rng_seed(&r, 1, 0);
    for (i = 0; i < 100000; i++) {
        double d = tc_sim_rng_double(&r);
        uint64_t k = tc_sim_rng_below(&r, 10);

        assert_true(d >= 0.0 && d < 1.0);
        assert_true(k < 10);
        hist[k]++;
        hits += tc_sim_rng_chance(&r, tc_sim_prob(0.25));
    }
    for (i = 0; i < 10; i++) /* 10000 expected, sd ~95 */
        assert_true(hist[i] > 9500 && hist[i] < 10500);
    assert_true(hits > 24400 && hits < 25600); /* sd ~137 */
    assert_true(tc_sim_prob(0.0) == 0);
    assert_true(tc_sim_prob(-1.0) == 0);
    assert_true(tc_sim_prob(1.0) == UINT64_MAX);
    for (i = 0; i < 100; i++) {
        assert_int_equal(tc_sim_rng_chance(&r, 0), 0);
        assert_int_equal(tc_sim_rng_chance(&r, UINT64_MAX), 1);
    }
}

/** What the handler saw. */
struct order_log {
    uint64_t at[64]; /**< event times */
    uint32_t a[64];  /**< event tags */
    int n;           /**< events seen */
    int reschedule;  /**< schedule one more event at now from the handler */
};

static void order_handler(void *ctx, struct tc_sim *sim, const struct tc_sim_event *ev)
{
    struct order_log *log = ctx;

    assert_true(log->n < 64);
    assert_true(ev->at == tc_sim_now(sim));
    log->at[log->n] = ev->at;
    log->a[log->n] = ev->a;
    log->n++;
    if (log->reschedule && ev->a == 100) {
        log->reschedule = 0;
        assert_int_equal(tc_sim_schedule(sim, ev->at, 1, 101, 0, 0, NULL), 0);
    }
}

static void test_event_order(void **state)
{
    static const uint64_t times[] = {50, 10, 30, 10, 20, 50, 10, 0, 40, 30};
    struct order_log log = {0};
    struct tc_sim sim;
    int i;

    (void)state;
    assert_int_equal(tc_sim_init(&sim, 32, 1, order_handler, &log), 0);
    for (i = 0; i < 10; i++)
        assert_int_equal(tc_sim_schedule(&sim, times[i], 1, (uint32_t)i, 0, 0, NULL), 0);
    assert_int_equal(tc_sim_schedule(&sim, 20, 1, 100, 0, 0, NULL), 0);
    log.reschedule = 1;
    assert_true(tc_sim_next_time(&sim) == 0);
    assert_int_equal(tc_sim_run(&sim, TC_SIM_NEVER, NULL, NULL), 0);
    assert_int_equal(log.n, 12);
    /* by time, then by scheduling order; 101 was scheduled last (at 20) */
    {
        static const uint32_t want[] = {7, 1, 3, 6, 4, 100, 101, 2, 9, 8, 0, 5};

        for (i = 0; i < 12; i++)
            assert_int_equal(log.a[i], want[i]);
    }
    assert_true(tc_sim_now(&sim) == 50);
    assert_true(tc_sim_next_time(&sim) == TC_SIM_NEVER);
    tc_sim_free(&sim);
}

static int stop_after_3(void *ctx, const struct tc_sim *sim)
{
    (void)sim;
    return ((struct order_log *)ctx)->n >= 3;
}

static void test_run_limits(void **state)
{
    struct order_log log = {0};
    struct tc_sim sim;
    struct tc_sim_counters c;
    int i;

    (void)state;
    assert_int_equal(tc_sim_init(&sim, 8, 1, order_handler, &log), 0);
    for (i = 0; i < 6; i++)
        assert_int_equal(tc_sim_schedule(&sim, 100 * (uint64_t)(i + 1), 1, (uint32_t)i, 0, 0, NULL),
                         0);
    /* until: the events at or before 250, then the clock at 250 */
    assert_int_equal(tc_sim_run(&sim, 250, NULL, NULL), 0);
    assert_int_equal(log.n, 2);
    assert_true(tc_sim_now(&sim) == 250);
    /* predicate: stops right after the third event */
    assert_int_equal(tc_sim_run(&sim, TC_SIM_NEVER, stop_after_3, &log), 0);
    assert_int_equal(log.n, 3);
    assert_true(tc_sim_now(&sim) == 300);
    c = tc_sim_counters(&sim);
    assert_true(c.scheduled == 6 && c.dispatched == 3 && c.pending == 3 && c.pending_peak == 6);
    /* pool full: -ENOBUFS, and the run reports it */
    for (i = 0; i < 5; i++)
        assert_int_equal(tc_sim_schedule(&sim, 1000, 1, 0, 0, 0, NULL), 0);
    assert_int_equal(tc_sim_schedule(&sim, 1000, 1, 0, 0, 0, NULL), -ENOBUFS);
    assert_int_equal(tc_sim_counters(&sim).pool_failures, 1);
    assert_int_equal(tc_sim_run(&sim, TC_SIM_NEVER, NULL, NULL), -ENOBUFS);
    tc_sim_free(&sim);
    assert_int_equal(tc_sim_init(&sim, 0, 1, order_handler, &log), -EINVAL);
}

/** Schedules two random follow-ups per event, drawn from the engine's stream. */
static void fanout_handler(void *ctx, struct tc_sim *sim, const struct tc_sim_event *ev)
{
    int k;

    (void)ctx;
    if (ev->b >= 12)
        return;
    for (k = 0; k < 2; k++) {
        uint64_t dt = tc_sim_rng_below(tc_sim_rng(sim), 1000);

        assert_int_equal(tc_sim_schedule(sim, ev->at + dt, 1, (uint32_t)k, ev->b + 1, 0, NULL), 0);
    }
}

static uint64_t fanout_run(uint64_t seed)
{
    struct tc_sim sim;
    uint64_t h;

    assert_int_equal(tc_sim_init(&sim, 1 << 14, seed, fanout_handler, NULL), 0);
    assert_int_equal(tc_sim_schedule(&sim, 0, 1, 0, 0, 0, NULL), 0);
    assert_int_equal(tc_sim_run(&sim, TC_SIM_NEVER, NULL, NULL), 0);
    assert_true(tc_sim_counters(&sim).dispatched == (1 << 13) - 1);
    h = tc_sim_trace_hash(&sim);
    tc_sim_free(&sim);
    return h;
}

static void test_trace_determinism(void **state)
{
    (void)state;
    assert_true(fanout_run(5) == fanout_run(5));
    assert_true(fanout_run(5) != fanout_run(6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_streams),       cmocka_unit_test(test_rng_ranges),
        cmocka_unit_test(test_event_order),       cmocka_unit_test(test_run_limits),
        cmocka_unit_test(test_trace_determinism),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
