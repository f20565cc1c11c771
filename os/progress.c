// SPDX-License-Identifier: MIT
/*
 * A progress line on stderr for long operations (pack, verify, unpack):
 * bar, percentage, rate and ETA, redrawn in place with \r. Silent when
 * stderr is not a terminal, so logs and scripts only see the summary.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "treecast/progress.h"

/** Width of the bar in characters. */
#define PROGRESS_BAR_WIDTH 30

/**
 * CLOCK_MONOTONIC in nanoseconds.
 */
uint64_t tc_progress_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * Start a line; enabled only when stderr is a terminal.
 */
void tc_progress_init(struct tc_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof(*p));
    p->enabled = isatty(STDERR_FILENO);
    snprintf(p->label, sizeof(p->label), "%s", label);
    p->total = total;
    p->start_ns = tc_progress_now_ns();
}

/**
 * Draw the line now.
 */
static void progress_draw(struct tc_progress *p, uint64_t now)
{
    char bar[PROGRESS_BAR_WIDTH + 1];
    double secs = (double)(now - p->start_ns) / 1e9;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    unsigned pct = p->total ? (unsigned)((p->done * 100) / p->total) : 0;
    unsigned fill = p->total ? (unsigned)((p->done * PROGRESS_BAR_WIDTH) / p->total) : 0;
    char eta[32] = "--:--";
    unsigned i;

    if (pct > 100)
        pct = 100;
    if (fill > PROGRESS_BAR_WIDTH)
        fill = PROGRESS_BAR_WIDTH;
    for (i = 0; i < PROGRESS_BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[PROGRESS_BAR_WIDTH] = '\0';
    if (rate > 0 && p->total >= p->done) {
        unsigned long left = (unsigned long)((double)(p->total - p->done) / rate + 0.5);
        snprintf(eta, sizeof(eta), "%lu:%02lu", left / 60, left % 60);
    }
    fprintf(stderr, "\r%s [%s] %3u%%  %8.1f MB/s  ETA %s  ", p->label, bar, pct, rate / 1e6, eta);
    fflush(stderr);
    p->drawn = 1;
    p->last_ns = now;
}

/**
 * Record progress; redraw at most every TC_PROGRESS_INTERVAL_MS.
 */
void tc_progress_update(struct tc_progress *p, uint64_t done)
{
    uint64_t now;

    p->done = done;
    if (!p->enabled)
        return;
    now = tc_progress_now_ns();
    if (p->drawn && now - p->last_ns < (uint64_t)TC_PROGRESS_INTERVAL_MS * 1000000u)
        return;
    progress_draw(p, now);
}

/**
 * Erase the line so that a message can be printed on a clean line.
 */
void tc_progress_clear(struct tc_progress *p)
{
    if (!p->enabled || !p->drawn)
        return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->drawn = 0;
}

/**
 * Final state: a full bar on success, nothing on failure; always ends the line.
 */
void tc_progress_finish(struct tc_progress *p, int ok)
{
    if (!p->enabled)
        return;
    if (ok) {
        p->done = p->total;
        progress_draw(p, tc_progress_now_ns());
        fputc('\n', stderr);
        p->drawn = 0;
    } else {
        tc_progress_clear(p);
    }
}
