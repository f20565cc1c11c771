// SPDX-License-Identifier: MIT
/* Unit tests for lib/agentcfg.c: the agent's kernel command line and keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "treecast/agentcfg.h"

/** Parse a NUL-terminated command line into c. */
static int parse(struct tc_agentcfg *c, const char *line, struct tc_err *e)
{
    tc_agentcfg_init(c);
    tc_err_clear(e);
    return tc_agentcfg_parse_cmdline(c, line, strlen(line), e);
}

static void test_full_cmdline(void **state)
{
    struct tc_agentcfg c;
    struct tc_err e;

    (void)state;
    assert_int_equal(parse(&c,
                           "BOOT_IMAGE=/vmlinuz quiet treecast.seeder=198.18.0.1:4000 "
                           "treecast.image=rocky9 treecast.min_version=9.2 "
                           "treecast.disk=\"model=Samsung SSD,size=500G\" treecast.iface=eth0 "
                           "treecast.handoff=reboot treecast.log=debug treecast.trust=/keys\n",
                           &e),
                     0);
    assert_int_equal(c.have_seeder, 1);
    assert_int_equal(c.seeder.addr, 0xC6120001u);
    assert_int_equal(c.seeder.port, 4000);
    assert_string_equal(c.image, "rocky9");
    assert_string_equal(c.min_version, "9.2");
    assert_string_equal(c.disk, "model=Samsung SSD,size=500G");
    assert_string_equal(c.iface, "eth0");
    assert_int_equal(c.handoff, TC_HANDOFF_REBOOT);
    assert_int_equal(c.log_level, TC_PROTO_LOG_DEBUG);
    assert_string_equal(c.trust, "/keys");
    assert_int_equal(tc_agentcfg_check(&c, &e), 0);
}

static void test_defaults_and_override(void **state)
{
    struct tc_agentcfg c;
    struct tc_err e;

    (void)state;
    assert_int_equal(parse(&c, "treecast.seeder=10.0.0.1 treecast.seeder=10.0.0.2", &e), 0);
    assert_int_equal(c.seeder.addr, 0x0A000002u);
    assert_int_equal(c.seeder.port, TC_PROTO_PORT_DEFAULT);
    assert_int_equal(c.handoff, TC_HANDOFF_CONTINUE);
    assert_int_equal(c.log_level, TC_PROTO_LOG_INFO);
    assert_string_equal(c.trust, TC_AGENTCFG_TRUST_DEFAULT);
    /* an option applied afterwards wins */
    assert_int_equal(tc_agentcfg_set(&c, "seeder", "10.0.0.3:99", &e), 0);
    assert_int_equal(c.seeder.addr, 0x0A000003u);
    assert_int_equal(c.seeder.port, 99);
    /* words without the prefix are ignored, so is an empty line */
    assert_int_equal(parse(&c, "image=foo root=/dev/sda1 treecastimage=x", &e), 0);
    assert_string_equal(c.image, "");
    assert_int_equal(parse(&c, "", &e), 0);
}

static void test_bad_values(void **state)
{
    struct tc_agentcfg c;
    struct tc_err e;

    (void)state;
    assert_int_equal(parse(&c, "treecast.seeder=300.1.1.1", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "treecast.seeder: '300.1.1.1'"));
    assert_int_equal(parse(&c, "treecast.seeder=1.2.3.4:0", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.seeder=1.2.3.4:65536", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.seeder=1.2.3", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.seeder=0.0.0.0", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.image=-bad", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.handoff=halt", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "'halt' is not one of"));
    assert_int_equal(parse(&c, "treecast.log=loud", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.iface=a/b", &e), -EINVAL);
    assert_int_equal(parse(&c, "treecast.iface=0123456789abcdef", &e), -E2BIG);
    assert_int_equal(parse(&c, "treecast.colour=blue", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "unknown key treecast.colour"));
    assert_int_equal(parse(&c, "treecast.image", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "has no '=VALUE'"));
    assert_int_equal(parse(&c, "treecast.disk=\"model=x", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "unterminated quote"));
}

static void test_limits(void **state)
{
    static char line[TC_AGENTCFG_CMDLINE_MAX + 2];
    struct tc_agentcfg c;
    struct tc_err e;
    size_t n;

    (void)state;
    memset(line, 'x', sizeof(line));
    tc_agentcfg_init(&c);
    assert_int_equal(tc_agentcfg_parse_cmdline(&c, line, TC_AGENTCFG_CMDLINE_MAX + 1, &e), -E2BIG);
    /* a value one byte over its field */
    n = (size_t)snprintf(line, sizeof(line), "treecast.disk=");
    memset(line + n, 'd', TC_AGENTCFG_VALUE_MAX);
    line[n + TC_AGENTCFG_VALUE_MAX] = '\0';
    assert_int_equal(parse(&c, line, &e), -E2BIG);
    line[n + TC_AGENTCFG_VALUE_MAX - 1] = '\0';
    assert_int_equal(parse(&c, line, &e), 0);
    assert_int_equal(strlen(c.disk), TC_AGENTCFG_VALUE_MAX - 1);
    /* a command line of exactly the limit, without a terminating NUL */
    memset(line, ' ', TC_AGENTCFG_CMDLINE_MAX);
    memcpy(line + TC_AGENTCFG_CMDLINE_MAX - 16, "treecast.log=err", 16);
    tc_agentcfg_init(&c);
    assert_int_equal(tc_agentcfg_parse_cmdline(&c, line, TC_AGENTCFG_CMDLINE_MAX, &e), 0);
    assert_int_equal(c.log_level, TC_PROTO_LOG_ERR);
}

static void test_check(void **state)
{
    struct tc_agentcfg c;
    struct tc_err e;

    (void)state;
    assert_int_equal(parse(&c, "treecast.image=x treecast.iface=eth0 treecast.target=/t", &e), 0);
    assert_int_equal(tc_agentcfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "no seeder"));
    tc_err_clear(&e);
    assert_int_equal(tc_agentcfg_set(&c, "seeder", "1.2.3.4", &e), 0);
    assert_int_equal(tc_agentcfg_check(&c, &e), 0);
    assert_int_equal(tc_agentcfg_set(&c, "disk", "/dev/sda", &e), 0);
    assert_int_equal(tc_agentcfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "both a disk (/dev/sda) and a target file (/t)"));
    assert_int_equal(parse(&c, "treecast.seeder=1.2.3.4 treecast.iface=eth0 treecast.disk=/d", &e),
                     0);
    assert_int_equal(tc_agentcfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "no image name"));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(tc_agentcfg_handoff_name(TC_HANDOFF_SWITCH_ROOT), "switch_root");
    assert_string_equal(tc_agentcfg_handoff_name((enum tc_agentcfg_handoff)99), "?");
    assert_string_equal(tc_agentcfg_log_name(TC_PROTO_LOG_WARN), "warn");
    assert_string_equal(tc_agentcfg_log_name(0), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_cmdline), cmocka_unit_test(test_defaults_and_override),
        cmocka_unit_test(test_bad_values),   cmocka_unit_test(test_limits),
        cmocka_unit_test(test_check),        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
