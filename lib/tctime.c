// SPDX-License-Identifier: MIT
/*
 * RFC 3339 dates and durations on int64 seconds since the epoch, with the
 * proleptic Gregorian calendar computed here (no libc time zone code).
 */
#include <stdio.h>
#include <string.h>

#include "treecast/tctime.h"

#define SECS_PER_DAY 86400
/** First and last instants tc_time_format() can show: 1970-01-01 .. 9999-12-31. */
#define TIME_MIN 0
#define TIME_MAX 253402300799LL

/**
 * Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31).
 * Shifts the year to start in March so that the leap day is the last day of
 * the shifted year, then counts whole 400-year eras.
 */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/** Inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/** Gregorian leap year. */
static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/** Days in month m (1..12) of year y. */
static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/** Write v as exactly n decimal digits (v < 10^n). */
static void put_digits(char *out, int n, unsigned v)
{
    while (n--) {
        out[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/**
 * Format t as "YYYY-MM-DDTHH:MM:SSZ". Outside 1970..9999 the text is
 * "out-of-range" and -ERANGE is returned, so out is always a usable string.
 */
int tc_time_format(int64_t t, char out[TC_RFC3339_LEN])
{
    int64_t days, secs, y;
    unsigned m, d;

    if (t < TIME_MIN || t > TIME_MAX) {
        snprintf(out, TC_RFC3339_LEN, "out-of-range");
        return -ERANGE;
    }
    days = t / SECS_PER_DAY;
    secs = t % SECS_PER_DAY;
    civil_from_days(days, &y, &m, &d);
    put_digits(out, 4, (unsigned)y);
    out[4] = '-';
    put_digits(out + 5, 2, m);
    out[7] = '-';
    put_digits(out + 8, 2, d);
    out[10] = 'T';
    put_digits(out + 11, 2, (unsigned)(secs / 3600));
    out[13] = ':';
    put_digits(out + 14, 2, (unsigned)(secs / 60 % 60));
    out[16] = ':';
    put_digits(out + 17, 2, (unsigned)(secs % 60));
    out[19] = 'Z';
    out[20] = '\0';
    return 0;
}

/** Read exactly n decimal digits at s into *v; 0 or -1. */
static int digits(const char *s, int n, unsigned *v)
{
    unsigned x = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return 0;
}

/** Check one field against [lo, hi] and name it in the message. */
static int field(const char *s, const char *name, unsigned v, unsigned lo, unsigned hi,
                 struct tc_err *err)
{
    if (v < lo || v > hi)
        return tc_err_set(err, -EINVAL, "date \"%s\": %s %u out of range %02u..%02u", s, name, v,
                          lo, hi);
    return 0;
}

/**
 * Parse an RFC 3339 date-time or a bare date; see tctime.h. Years before 1970
 * and leap seconds are refused.
 */
int tc_time_parse(const char *s, int64_t *t, struct tc_err *err)
{
    unsigned year, mon, day, hh = 0, mm = 0, ss = 0, oh = 0, om = 0;
    int64_t v;
    size_t len, i;
    int sign = 0, rc;

    if (!s)
        return tc_err_set(err, -EINVAL, "date: missing");
    len = strlen(s);
    if (len < 10 || digits(s, 4, &year) || s[4] != '-' || digits(s + 5, 2, &mon) || s[7] != '-' ||
        digits(s + 8, 2, &day))
        return tc_err_set(err, -EINVAL,
                          "date \"%.40s\": expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", s);
    if (year < 1970)
        return tc_err_set(err, -EINVAL, "date \"%s\": year %u is before 1970", s, year);
    rc = field(s, "month", mon, 1, 12, err);
    if (rc)
        return rc;
    rc = field(s, "day", day, 1, days_in_month(year, mon), err);
    if (rc)
        return rc;
    i = 10;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't') || len < 19 || digits(s + 11, 2, &hh) || s[13] != ':' ||
            digits(s + 14, 2, &mm) || s[16] != ':' || digits(s + 17, 2, &ss))
            return tc_err_set(err, -EINVAL,
                              "date \"%.40s\": expected YYYY-MM-DDTHH:MM:SS after the date", s);
        rc = field(s, "hour", hh, 0, 23, err);
        if (!rc)
            rc = field(s, "minute", mm, 0, 59, err);
        if (!rc && ss == 60)
            rc = tc_err_set(err, -EINVAL, "date \"%s\": leap second 60 is not supported", s);
        if (!rc)
            rc = field(s, "second", ss, 0, 59, err);
        if (rc)
            return rc;
        i = 19;
        if (s[i] == '.') {
            size_t start = ++i;

            while (s[i] >= '0' && s[i] <= '9' && i - start < 9)
                i++;
            if (i == start || (s[i] >= '0' && s[i] <= '9'))
                return tc_err_set(err, -EINVAL,
                                  "date \"%s\": fraction must be 1 to 9 digits after '.'", s);
        }
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            sign = s[i] == '-' ? -1 : 1;
            if (digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om))
                return tc_err_set(err, -EINVAL, "date \"%s\": bad UTC offset, expected +hh:mm", s);
            rc = field(s, "offset hour", oh, 0, 23, err);
            if (!rc)
                rc = field(s, "offset minute", om, 0, 59, err);
            if (rc)
                return rc;
            i += 6;
        } else {
            return tc_err_set(err, -EINVAL, "date \"%s\": missing time zone, expected Z or +hh:mm",
                              s);
        }
    }
    if (s[i] != '\0')
        return tc_err_set(err, -EINVAL, "date \"%s\": trailing characters \"%s\"", s, s + i);
    v = days_from_civil(year, mon, day) * SECS_PER_DAY + hh * 3600 + mm * 60 + ss;
    v -= sign * (int64_t)(oh * 3600 + om * 60);
    if (v < TIME_MIN || v > TIME_MAX)
        return tc_err_set(err, -EINVAL,
                          "date \"%s\": outside 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z", s);
    *t = v;
    return 0;
}

/** Parse "90s", "15m", "12h", "30d", "2w" or a bare number of seconds. */
int tc_duration_parse(const char *s, int64_t *seconds, struct tc_err *err)
{
    int64_t v = 0, unit = 1;
    const char *p = s;

    if (!s || *s < '0' || *s > '9')
        return tc_err_set(err, -EINVAL,
                          "duration \"%s\": expected a number with an optional unit s, m, h, d "
                          "or w",
                          s ? s : "");
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > TC_DURATION_MAX)
            return tc_err_set(err, -EINVAL, "duration \"%s\": longer than %lld seconds", s,
                              (long long)TC_DURATION_MAX);
        p++;
    }
    switch (*p) {
    case '\0':
        break;
    case 's':
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = SECS_PER_DAY;
        break;
    case 'w':
        unit = 7 * SECS_PER_DAY;
        break;
    default:
        return tc_err_set(err, -EINVAL, "duration \"%s\": unknown unit '%c' (s, m, h, d, w)", s,
                          *p);
    }
    if (*p != '\0' && p[1] != '\0')
        return tc_err_set(err, -EINVAL, "duration \"%s\": trailing characters after the unit", s);
    if (v > TC_DURATION_MAX / unit)
        return tc_err_set(err, -EINVAL, "duration \"%s\": longer than %lld seconds", s,
                          (long long)TC_DURATION_MAX);
    *seconds = v * unit;
    return 0;
}
