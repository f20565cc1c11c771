// SPDX-License-Identifier: MIT
/* Unit tests for lib/err.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "treecast/err.h"
#include "treecast/exitcode.h"

static int inner(struct tc_err *e)
{
    return tc_err_set(e, -EBADMSG, "chunk %u: bad", 17u);
}

static void test_first_message_wins(void **state)
{
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(inner(&e), -EBADMSG);
    assert_int_equal(tc_err_set(&e, -EIO, "outer"), -EIO);
    assert_string_equal(e.msg, "chunk 17: bad");
    assert_int_equal(e.rc, -EBADMSG);
    tc_err_clear(&e);
    assert_string_equal(e.msg, "");
    assert_int_equal(e.rc, 0);
    assert_int_equal(tc_err_set(&e, -EIO, "outer %d", 2), -EIO);
    assert_string_equal(e.msg, "outer 2");
    /* NULL err is allowed everywhere */
    assert_int_equal(tc_err_set(NULL, -EINVAL, "x"), -EINVAL);
    assert_int_equal(tc_err_prefix(NULL, -EINVAL, "x"), -EINVAL);
    tc_err_clear(NULL);
}

static void test_prefix(void **state)
{
    struct tc_err e = {0};
    char big[2 * TC_ERR_MSG_MAX];

    (void)state;
    inner(&e);
    assert_int_equal(tc_err_prefix(&e, -EILSEQ, "%s: ", "image.tcimg"), -EILSEQ);
    assert_string_equal(e.msg, "image.tcimg: chunk 17: bad");
    assert_int_equal(e.rc, -EILSEQ);
    /* no message yet: the prefix still yields a sentence */
    tc_err_clear(&e);
    tc_err_prefix(&e, -EIO, "disk: ");
    assert_string_equal(e.msg, "disk: error -5");
    /* truncation keeps a NUL-terminated message */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tc_err_clear(&e);
    inner(&e);
    tc_err_prefix(&e, -EIO, "%s", big);
    assert_int_equal(strlen(e.msg), TC_ERR_MSG_MAX - 1);
}

static void test_exit_class(void **state)
{
    (void)state;
    assert_int_equal(tc_exit_class(-EKEYEXPIRED), TC_EXIT_TRUST);
    assert_int_equal(tc_exit_class(-ETIME), TC_EXIT_TRUST);
    assert_int_equal(tc_exit_class(-ENOSPC), TC_EXIT_DISK);
    assert_int_equal(tc_exit_class(-EBUSY), TC_EXIT_DISK);
    assert_int_equal(tc_exit_class(-EILSEQ), TC_EXIT_IMAGE);
    assert_int_equal(tc_exit_class(-EBADMSG), TC_EXIT_IMAGE);
    assert_int_equal(tc_exit_class(-ENOMEM), TC_EXIT_INTERNAL);
    /* the caller's context decides the rest */
    assert_int_equal(tc_exit_class(-ENOENT), 0);
    assert_int_equal(tc_exit_class(-EIO), 0);
    assert_int_equal(tc_exit_class(0), 0);
}

static void test_hex(void **state)
{
    const uint8_t b[] = {0x00, 0x1a, 0xff, 0x80};
    char out[9];

    (void)state;
    assert_string_equal(tc_hex(out, b, 4), "001aff80");
    assert_string_equal(tc_hex(out, b, 0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_message_wins),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_exit_class),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
