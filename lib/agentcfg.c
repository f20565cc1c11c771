// SPDX-License-Identifier: MIT
/*
 * The agent's configuration parser (include/treecast/agentcfg.h): kernel
 * command line words and options into struct tc_agentcfg. No system calls,
 * no allocation: every value lands in a fixed-size field whose limit is
 * checked first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "treecast/agentcfg.h"

/** Names of the handoffs, by enum value. */
static const char *const handoff_names[] = {
    [TC_HANDOFF_CONTINUE] = "continue", [TC_HANDOFF_NONE] = "none",
    [TC_HANDOFF_REBOOT] = "reboot",     [TC_HANDOFF_POWEROFF] = "poweroff",
    [TC_HANDOFF_KEXEC] = "kexec",       [TC_HANDOFF_SWITCH_ROOT] = "switch_root",
};
/** Number of handoffs. */
#define HANDOFF_COUNT (sizeof(handoff_names) / sizeof(handoff_names[0]))

/** Log level names and their TC_PROTO_LOG_* values. */
static const struct {
    const char *name; /**< as written in the key */
    int level;        /**< TC_PROTO_LOG_* */
} log_names[] = {
    {"err", TC_PROTO_LOG_ERR},   {"warn", TC_PROTO_LOG_WARN},   {"notice", TC_PROTO_LOG_NOTICE},
    {"info", TC_PROTO_LOG_INFO}, {"debug", TC_PROTO_LOG_DEBUG},
};
/** Number of log level names. */
#define LOG_NAMES_COUNT (sizeof(log_names) / sizeof(log_names[0]))

/**
 * Defaults.
 */
void tc_agentcfg_init(struct tc_agentcfg *c)
{
    memset(c, 0, sizeof(*c));
    c->handoff = TC_HANDOFF_CONTINUE;
    c->log_level = TC_PROTO_LOG_INFO;
    snprintf(c->trust, sizeof(c->trust), "%s", TC_AGENTCFG_TRUST_DEFAULT);
}

/**
 * Name of a handoff ("?" out of range).
 */
const char *tc_agentcfg_handoff_name(enum tc_agentcfg_handoff h)
{
    if ((unsigned)h >= HANDOFF_COUNT)
        return "?";
    return handoff_names[h];
}

/**
 * Name of a log level ("?" for one that has none).
 */
const char *tc_agentcfg_log_name(int level)
{
    size_t i;

    for (i = 0; i < LOG_NAMES_COUNT; i++)
        if (log_names[i].level == level)
            return log_names[i].name;
    return "?";
}

/**
 * Parse a decimal number of at most max into *out; end is where it stopped.
 * At least one digit; no sign, no leading garbage.
 */
static int parse_uint(const char *s, uint32_t max, uint32_t *out, const char **end)
{
    uint32_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        v = v * 10u + (uint32_t)(*p - '0');
        if (v > max)
            return -EINVAL;
        p++;
    }
    *out = v;
    *end = p;
    return 0;
}

/**
 * "A.B.C.D[:PORT]" into a peer; written here because lib/ may not call the
 * C library's resolver functions.
 */
int tc_agentcfg_parse_peer(const char *s, uint16_t default_port, struct tc_proto_peer *out)
{
    uint32_t addr = 0, v, port = default_port;
    const char *p = s;
    int i;

    for (i = 0; i < 4; i++) {
        if (parse_uint(p, 255, &v, &p) < 0)
            return -EINVAL;
        addr = addr << 8 | v;
        if (i < 3) {
            if (*p != '.')
                return -EINVAL;
            p++;
        }
    }
    if (*p == ':') {
        if (parse_uint(p + 1, 65535, &port, &p) < 0 || port == 0)
            return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    out->addr = addr;
    out->port = (uint16_t)port;
    return 0;
}

/**
 * Copy value into a fixed field of cap bytes, refusing what does not fit.
 */
static int set_str(char *dst, size_t cap, const char *key, const char *value, struct tc_err *err)
{
    size_t n = strlen(value);

    if (n >= cap)
        return tc_err_set(err, -E2BIG, "treecast.%s: value of %zu bytes is over the %zu-byte limit",
                          key, n, cap - 1);
    memcpy(dst, value, n + 1);
    return 0;
}

/**
 * Set one key.
 */
int tc_agentcfg_set(struct tc_agentcfg *c, const char *key, const char *value, struct tc_err *err)
{
    size_t i;

    if (strcmp(key, "seeder") == 0) {
        if (tc_agentcfg_parse_peer(value, TC_PROTO_PORT_DEFAULT, &c->seeder) < 0 ||
            c->seeder.addr == 0)
            return tc_err_set(err, -EINVAL,
                              "treecast.seeder: '%s' is not an IPv4 address (A.B.C.D or "
                              "A.B.C.D:PORT)",
                              value);
        c->have_seeder = 1;
        return 0;
    }
    if (strcmp(key, "image") == 0) {
        if (strlen(value) > TC_NAME_MAX || tc_manifest_check_name(value, NULL) < 0)
            return tc_err_set(err, -EINVAL,
                              "treecast.image: '%.80s' is not a valid image name (1 to %u of "
                              "A-Z a-z 0-9 . _ + -, starting with a letter or digit)",
                              value, TC_NAME_MAX);
        return set_str(c->image, sizeof(c->image), key, value, err);
    }
    if (strcmp(key, "min_version") == 0) {
        if (strlen(value) > TC_VERSION_MAX || tc_manifest_check_version(value, NULL) < 0)
            return tc_err_set(err, -EINVAL, "treecast.min_version: '%.80s' is not a valid version",
                              value);
        return set_str(c->min_version, sizeof(c->min_version), key, value, err);
    }
    if (strcmp(key, "disk") == 0)
        return set_str(c->disk, sizeof(c->disk), key, value, err);
    if (strcmp(key, "target") == 0)
        return set_str(c->target, sizeof(c->target), key, value, err);
    if (strcmp(key, "trust") == 0)
        return set_str(c->trust, sizeof(c->trust), key, value, err);
    if (strcmp(key, "iface") == 0) {
        if (value[0] == '\0' || strchr(value, '/') != NULL)
            return tc_err_set(err, -EINVAL, "treecast.iface: '%.80s' is not an interface name",
                              value);
        return set_str(c->iface, sizeof(c->iface), key, value, err);
    }
    if (strcmp(key, "handoff") == 0) {
        for (i = 0; i < HANDOFF_COUNT; i++) {
            if (strcmp(value, handoff_names[i]) == 0) {
                c->handoff = (enum tc_agentcfg_handoff)i;
                return 0;
            }
        }
        return tc_err_set(err, -EINVAL,
                          "treecast.handoff: '%.80s' is not one of none, continue, reboot, "
                          "poweroff, kexec, switch_root",
                          value);
    }
    if (strcmp(key, "log") == 0) {
        for (i = 0; i < LOG_NAMES_COUNT; i++) {
            if (strcmp(value, log_names[i].name) == 0) {
                c->log_level = log_names[i].level;
                return 0;
            }
        }
        return tc_err_set(err, -EINVAL,
                          "treecast.log: '%.80s' is not one of err, warn, notice, info, debug",
                          value);
    }
    return tc_err_set(err, -EINVAL,
                      "unknown key treecast.%.80s (known: seeder, image, min_version, disk, "
                      "target, iface, handoff, log, trust)",
                      key);
}

/**
 * One word of the command line (quotes already removed, NUL-terminated):
 * set it if it is a treecast key.
 */
static int cmdline_word(struct tc_agentcfg *c, char *word, struct tc_err *err)
{
    const size_t plen = sizeof(TC_AGENTCFG_KEY_PREFIX) - 1;
    char *eq;

    if (strncmp(word, TC_AGENTCFG_KEY_PREFIX, plen) != 0)
        return 0;
    eq = strchr(word, '=');
    if (!eq)
        return tc_err_set(err, -EINVAL, "kernel command line: '%.80s' has no '=VALUE'", word);
    *eq = '\0';
    return tc_agentcfg_set(c, word + plen, eq + 1, err);
}

/**
 * Split the command line into words as the kernel does (spaces outside
 * double quotes separate; the quotes themselves are dropped).
 */
int tc_agentcfg_parse_cmdline(struct tc_agentcfg *c, const char *buf, size_t len,
                              struct tc_err *err)
{
    char word[TC_AGENTCFG_CMDLINE_MAX + 1];
    size_t i, n = 0;
    int quoted = 0, in_word = 0, rc;

    if (len > TC_AGENTCFG_CMDLINE_MAX)
        return tc_err_set(err, -E2BIG, "kernel command line of %zu bytes is over the %u-byte limit",
                          len, TC_AGENTCFG_CMDLINE_MAX);
    for (i = 0; i <= len; i++) {
        char ch = i < len ? buf[i] : ' ';
        int space = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\0';

        if (i == len && quoted) {
            word[n] = '\0'; /* buf is not NUL-terminated: name the word gathered so far */
            return tc_err_set(err, -EINVAL, "kernel command line: unterminated quote in '%.80s'",
                              word);
        }
        if (ch == '"') {
            quoted = !quoted;
            in_word = 1;
            continue;
        }
        if (space && !quoted) {
            if (in_word) {
                word[n] = '\0';
                rc = cmdline_word(c, word, err);
                if (rc < 0)
                    return rc;
            }
            n = 0;
            in_word = 0;
            continue;
        }
        /* n < len <= TC_AGENTCFG_CMDLINE_MAX: word always has room. */
        word[n++] = ch;
        in_word = 1;
    }
    return 0;
}

/**
 * Required keys.
 */
int tc_agentcfg_check(const struct tc_agentcfg *c, struct tc_err *err)
{
    if (!c->have_seeder)
        return tc_err_set(err, -EINVAL,
                          "no seeder: set treecast.seeder=A.B.C.D[:PORT] on the kernel command "
                          "line or --seeder");
    if (c->image[0] == '\0')
        return tc_err_set(err, -EINVAL,
                          "no image name: set treecast.image=NAME on the kernel command line or "
                          "--image");
    if (c->iface[0] == '\0')
        return tc_err_set(err, -EINVAL,
                          "no interface: set treecast.iface=IF on the kernel command line or "
                          "--iface");
    if (c->disk[0] == '\0' && c->target[0] == '\0')
        return tc_err_set(err, -EINVAL,
                          "no target: set treecast.disk=PATH|HINTS or treecast.target=FILE on the "
                          "kernel command line, or --disk / --target");
    if (c->disk[0] != '\0' && c->target[0] != '\0')
        return tc_err_set(err, -EINVAL,
                          "both a disk (%s) and a target file (%s) are set: give only one", c->disk,
                          c->target);
    if (c->trust[0] == '\0')
        return tc_err_set(err, -EINVAL, "no trust directory: set treecast.trust=DIR or --trust");
    return 0;
}
