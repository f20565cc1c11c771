/* SPDX-License-Identifier: MIT */
/*
 * os/ progress line: "label [#####     ]  42%  812.3 MB/s  ETA 0:07" redrawn
 * on stderr at most TC_PROGRESS_INTERVAL_MS apart, and silent when stderr is
 * not a terminal (logs and scripts see only the final summary).
 */
#ifndef TREECAST_PROGRESS_H
#define TREECAST_PROGRESS_H

#include <stdint.h>

/** Shortest time between two redraws, milliseconds. */
#define TC_PROGRESS_INTERVAL_MS 200
/** Longest label shown, bytes. */
#define TC_PROGRESS_LABEL_MAX 32

/** One progress line. */
struct tc_progress {
    int enabled;                           /**< stderr is a terminal */
    char label[TC_PROGRESS_LABEL_MAX + 1]; /**< what is in progress ("unpack") */
    uint64_t total;                        /**< bytes when done (0 = unknown) */
    uint64_t done;                         /**< bytes so far */
    uint64_t start_ns;                     /**< CLOCK_MONOTONIC at init */
    uint64_t last_ns;                      /**< last redraw */
    int drawn;                             /**< a line is on screen */
};

/* Start a progress line for total bytes (enabled only if stderr is a TTY). */
void tc_progress_init(struct tc_progress *p, const char *label, uint64_t total);

/* Record done bytes so far; redraws when the interval has passed. */
void tc_progress_update(struct tc_progress *p, uint64_t done);

/* Erase the line (before printing a message or the summary). */
void tc_progress_clear(struct tc_progress *p);

/* Draw 100% (or clear on failure, ok = 0) and end the line. */
void tc_progress_finish(struct tc_progress *p, int ok);

/* Monotonic clock, nanoseconds. */
uint64_t tc_progress_now_ns(void);

#endif /* TREECAST_PROGRESS_H */
