// SPDX-License-Identifier: MIT
/*
 * The image policy of verify and unpack, in one place so that the two can
 * never disagree about what is acceptable: the options, the trust store, the
 * revocation list, and the tc_trust_check() call with the clock and the
 * binary's build time.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treecast/revlist.h"
#include "treecast/trustdir.h"

/**
 * Defaults: one trusted signature, no other constraint.
 */
void tc_cli_policy_init(struct tc_cli_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->min_signatures = 1;
}

/**
 * Take one policy option; the values are checked here so that a typo is a
 * usage error (exit 2), not a trust failure.
 */
int tc_cli_policy_option(struct tc_cli_policy *p, const char *cmd, int c, const char *arg)
{
    uint64_t v;

    switch (c) {
    case TC_OPT_TRUST:
        p->trust_dir = arg;
        return 1;
    case TC_OPT_MIN_SIGNATURES:
        if (tc_opts_uint(arg, 1, TC_SIGS_MAX, &v) < 0)
            return -tc_cli_usage(cmd, "--min-signatures must be a number from 1 to %u, not '%s'",
                                 TC_SIGS_MAX, arg);
        p->min_signatures = (unsigned)v;
        return 1;
    case TC_OPT_REVOCATIONS:
        p->revocations = arg;
        return 1;
    case TC_OPT_NAME:
        if (tc_manifest_check_name(arg, NULL) < 0)
            return -tc_cli_usage(cmd, "--name '%s' is not a valid image name", arg);
        p->name = arg;
        return 1;
    case TC_OPT_MIN_VERSION:
        if (tc_manifest_check_version(arg, NULL) < 0)
            return -tc_cli_usage(cmd, "--min-version '%s' is not a valid version", arg);
        p->min_version = arg;
        return 1;
    case TC_OPT_PIN:
        if (tc_opts_pin(arg, p->pin_name, p->pin_digest) < 0)
            return -tc_cli_usage(cmd, "--pin must look like NAME@sha256:<64 hex digits>, not '%s'",
                                 arg);
        p->pin = arg;
        return 1;
    default:
        return 0;
    }
}

/**
 * Required and consistent options.
 */
int tc_cli_policy_ready(const struct tc_cli_policy *p, const char *cmd)
{
    if (!p->trust_dir)
        return tc_cli_usage(cmd, "--trust DIR is required (the directory of trusted public keys)");
    if (p->pin && p->name && strcmp(p->pin_name, p->name) != 0)
        return tc_cli_usage(cmd, "--name %s contradicts --pin %s", p->name, p->pin);
    return 0;
}

/**
 * Load and check the revocation list against the trust store: a list that
 * is not signed by a trusted key, or is stale, is refused outright (an
 * operator who asked for revocations must not silently get none).
 */
static int policy_load_revlist(const struct tc_cli_policy *p, const struct tc_trust *t, int64_t now,
                               struct tc_revlist **out, struct tc_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc;

    rc = tc_cli_read_file(p->revocations, TC_REVLIST_LEN_MAX, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = tc_revlist_parse(buf, len, out, err);
    free(buf);
    if (rc < 0)
        return tc_err_prefix(err, rc, "revocation list %s: ", p->revocations);
    rc = tc_revlist_check(*out, t, 1, now, 0, err);
    if (rc < 0) {
        tc_revlist_free(*out);
        *out = NULL;
        return tc_err_prefix(err, rc, "revocation list %s: ", p->revocations);
    }
    return 0;
}

/**
 * The policy decision shared by verify and unpack.
 */
int tc_cli_policy_check(const struct tc_cli_policy *p, const char *cmd, const struct tc_imgfile *f,
                        struct tc_verdict *v)
{
    struct tc_revlist *rl = NULL;
    struct tc_policy pol;
    struct tc_trust t;
    struct tc_err err;
    int64_t now = tc_cli_now();
    int rc;

    tc_err_clear(&err);
    memset(v, 0, sizeof(*v));
    tc_trust_init(&t);
    rc = tc_trustdir_load(&t, p->trust_dir, &err);
    if (rc < 0)
        goto err_trust;
    if (p->revocations) {
        rc = policy_load_revlist(p, &t, now, &rl, &err);
        if (rc < 0)
            goto err_trust;
    }

    memset(&pol, 0, sizeof(pol));
    pol.min_signatures = p->min_signatures;
    pol.now = now;
    pol.build_time = TC_BUILD_TIME;
    pol.revocations = rl;
    pol.want_name = p->pin ? p->pin_name : p->name;
    pol.min_version = p->min_version;
    pol.want_digest = p->pin ? p->pin_digest : NULL;
    rc = tc_trust_check(&t, &pol, f->manifest, &f->sigs, v, &err);
    if (rc < 0) {
        tc_err_prefix(&err, rc, "%s: ", f->path);
        goto err_trust;
    }
    tc_revlist_free(rl);
    tc_trust_free(&t);
    return 0;

err_trust:
    rc = tc_cli_fail(cmd, rc, TC_PHASE_TRUST, &err);
    tc_revlist_free(rl);
    tc_trust_free(&t);
    return rc;
}
