/* SPDX-License-Identifier: MIT */
/*
 * Dates and durations. Dates are RFC 3339 UTC ("2026-11-24T17:00:00Z"); all
 * arithmetic is on int64 seconds since the epoch, computed without the C
 * library's time zone machinery (lib/ makes no system call).
 */
#ifndef TREECAST_TCTIME_H
#define TREECAST_TCTIME_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

/** Length of "YYYY-MM-DDTHH:MM:SSZ" plus NUL. */
#define TC_RFC3339_LEN 21
/** Longest duration tc_duration_parse() accepts: 100 years of 366 days, seconds. */
#define TC_DURATION_MAX (100LL * 366 * 86400)

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" (years 1970..9999). Outside that range
 * out reads "out-of-range" and -ERANGE is returned. */
int tc_time_format(int64_t t, char out[TC_RFC3339_LEN]);

/*
 * Parse an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS" with optional ".frac"
 * (ignored), then "Z" or "+hh:mm"/"-hh:mm"; also a bare "YYYY-MM-DD"
 * (midnight UTC). Strict: every field range-checked.
 */
int tc_time_parse(const char *s, int64_t *t, struct tc_err *err);

/* Parse a duration "90s", "15m", "12h", "30d", "2w" (bare number = seconds). */
int tc_duration_parse(const char *s, int64_t *seconds, struct tc_err *err);

#endif /* TREECAST_TCTIME_H */
