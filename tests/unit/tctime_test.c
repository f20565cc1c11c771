// SPDX-License-Identifier: MIT
/* Unit tests for lib/tctime.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "treecast/tctime.h"

static void check_format(int64_t t, const char *want)
{
    char out[TC_RFC3339_LEN];
    int64_t back = -1;
    struct tc_err e = {0};

    assert_int_equal(tc_time_format(t, out), 0);
    assert_string_equal(out, want);
    assert_int_equal(tc_time_parse(out, &back, &e), 0);
    assert_true(back == t);
}

static void test_format_known(void **state)
{
    (void)state;
    check_format(0, "1970-01-01T00:00:00Z");
    check_format(59, "1970-01-01T00:00:59Z");
    check_format(951782400, "2000-02-29T00:00:00Z"); /* leap year divisible by 400 */
    check_format(951868800, "2000-03-01T00:00:00Z");
    check_format(1709164800, "2024-02-29T00:00:00Z");
    check_format(2147483647, "2038-01-19T03:14:07Z"); /* 32-bit time_t limit */
    check_format(2147483648LL, "2038-01-19T03:14:08Z");
    check_format(4107542400LL, "2100-03-01T00:00:00Z"); /* 2100 is not a leap year */
    check_format(TU_CREATED, "2026-01-01T00:00:00Z");
    check_format(253402300799LL, "9999-12-31T23:59:59Z");
}

static void test_format_range(void **state)
{
    char out[TC_RFC3339_LEN];

    (void)state;
    assert_int_equal(tc_time_format(-1, out), -ERANGE);
    assert_string_equal(out, "out-of-range");
    assert_int_equal(tc_time_format(253402300800LL, out), -ERANGE);
    assert_int_equal(tc_time_format(INT64_MAX, out), -ERANGE);
}

static void test_roundtrip_sweep(void **state)
{
    int64_t t;

    (void)state;
    /* every ~3.7 days over 1970..2300, with a moving time of day */
    for (t = 0; t < 10413792000LL; t += 320000 + 7) {
        char out[TC_RFC3339_LEN];
        int64_t back;

        assert_int_equal(tc_time_format(t, out), 0);
        assert_int_equal(tc_time_parse(out, &back, NULL), 0);
        assert_true(back == t);
    }
}

static void test_parse_forms(void **state)
{
    int64_t t;
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(tc_time_parse("2026-01-01", &t, &e), 0);
    assert_true(t == TU_CREATED);
    assert_int_equal(tc_time_parse("2026-01-01T01:30:00+01:30", &t, &e), 0);
    assert_true(t == TU_CREATED);
    assert_int_equal(tc_time_parse("2025-12-31T22:00:00-02:00", &t, &e), 0);
    assert_true(t == TU_CREATED);
    assert_int_equal(tc_time_parse("2026-01-01T00:00:00.123456789Z", &t, &e), 0);
    assert_true(t == TU_CREATED);
    assert_int_equal(tc_time_parse("2026-01-01t00:00:00z", &t, &e), 0);
    assert_true(t == TU_CREATED);
    assert_int_equal(tc_time_parse("2024-02-29T12:00:00Z", &t, &e), 0);
    assert_true(t == 1709208000);
}

static void bad(const char *s, const char *sub)
{
    struct tc_err e = {0};
    int64_t t = 42;

    TU_EXPECT_ERR(tc_time_parse(s, &t, &e), -EINVAL, &e, sub);
    assert_true(t == 42);
}

static void test_parse_bad(void **state)
{
    (void)state;
    bad("2023-02-29T00:00:00Z", "day 29 out of range 01..28");
    bad("2100-02-29", "day 29");
    bad("2026-13-01", "month 13");
    bad("2026-00-10", "month 0");
    bad("2026-04-31", "day 31 out of range 01..30");
    bad("2026-01-01T24:00:00Z", "hour 24");
    bad("2026-01-01T23:60:00Z", "minute 60");
    bad("2026-12-31T23:59:60Z", "leap second");
    bad("2026-01-01T00:00:00", "missing time zone");
    bad("2026-01-01T00:00:00Zjunk", "trailing characters");
    bad("2026-01-01T00:00:00+1:00", "bad UTC offset");
    bad("2026-01-01T00:00:00+24:00", "offset hour 24");
    bad("2026-01-01T00:00:00.Z", "fraction");
    bad("2026-01-01T00:00:00.1234567890Z", "fraction");
    bad("1969-12-31T23:59:59Z", "before 1970");
    bad("1970-01-01T00:00:00+01:00", "outside 1970");
    bad("2026-1-01", "expected YYYY-MM-DD");
    bad("", "expected YYYY-MM-DD");
    bad("2026-01-01 00:00:00Z", "expected YYYY-MM-DDTHH:MM:SS");
    bad("2026-01-01T00:00Z", "expected YYYY-MM-DDTHH:MM:SS");
}

static void test_duration(void **state)
{
    int64_t s;
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(tc_duration_parse("90s", &s, &e), 0);
    assert_true(s == 90);
    assert_int_equal(tc_duration_parse("15m", &s, &e), 0);
    assert_true(s == 900);
    assert_int_equal(tc_duration_parse("12h", &s, &e), 0);
    assert_true(s == 43200);
    assert_int_equal(tc_duration_parse("30d", &s, &e), 0);
    assert_true(s == 2592000);
    assert_int_equal(tc_duration_parse("2w", &s, &e), 0);
    assert_true(s == 1209600);
    assert_int_equal(tc_duration_parse("45", &s, &e), 0);
    assert_true(s == 45);
    assert_int_equal(tc_duration_parse("0", &s, &e), 0);
    assert_true(s == 0);
    TU_EXPECT_ERR(tc_duration_parse("", &s, &e), -EINVAL, &e, "expected a number");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_duration_parse("-5s", &s, &e), -EINVAL, &e, "expected a number");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_duration_parse("5x", &s, &e), -EINVAL, &e, "unknown unit 'x'");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_duration_parse("5mm", &s, &e), -EINVAL, &e, "trailing");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_duration_parse("99999999999999999999", &s, &e), -EINVAL, &e, "longer than");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_duration_parse("6000w", &s, &e), -EINVAL, &e, "longer than");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known),    cmocka_unit_test(test_format_range),
        cmocka_unit_test(test_roundtrip_sweep), cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_bad),       cmocka_unit_test(test_duration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
