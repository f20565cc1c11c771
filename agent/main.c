// SPDX-License-Identifier: MIT
/*
 * treecast-agent: the static agent that runs in a node's initramfs. It reads
 * its configuration from the treecast.* keys of the kernel command line
 * (options override them), receives the signed image from the seeder named
 * there, writes it to the local disk and hands off. docs/agent.md documents
 * the keys, the exit codes, resume and the memory bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mbedtls/version.h>
#include <zlib.h>

#include "agent.h"
#include "lwip/init.h"
#include "treecast/exitcode.h"
#include "treecast/fileio.h"
#include "version.h"

/** Where the kernel command line is read from unless --cmdline says otherwise. */
#define AG_PROC_CMDLINE "/proc/cmdline"
/** Longest --stats path plus the temporary suffix, bytes. */
#define AG_STATS_PATH_MAX 4096u

volatile sig_atomic_t tc_ag_interrupted;

static const char ag_help[] =
    "usage: treecast-agent [--cmdline FILE] [--seeder ADDR[:PORT]] [--image NAME]\n"
    "                      [--min-version V] [--disk PATH|HINTS] [--target FILE] [--iface IF]\n"
    "                      [--handoff none|continue|reboot|poweroff|kexec|switch_root]\n"
    "                      [--log err|warn|notice|info|debug] [--trust DIR] [--stats FILE]\n"
    "                      [--help] [--version]\n"
    "\n"
    "Receive a signed disk image from a treecast seeder and write it to the local\n"
    "disk. Configuration comes from treecast.KEY=VALUE words on the kernel command\n"
    "line (/proc/cmdline, or FILE with --cmdline); an option overrides its key.\n"
    "\n"
    "  --seeder ADDR[:PORT]  treecast.seeder   seeder address (port 4711)\n"
    "  --image NAME          treecast.image    image to install\n"
    "  --min-version V       treecast.min_version  oldest acceptable version\n"
    "  --disk PATH|HINTS     treecast.disk     block device, or "
    "serial=..,size=..,model=..,path=..\n"
    "  --target FILE         treecast.target   write to a regular file (created if missing)\n"
    "  --iface IF            treecast.iface    network interface\n"
    "  --handoff H           treecast.handoff  after the image is complete (default continue)\n"
    "  --log LEVEL           treecast.log      log level on stderr (default info)\n"
    "  --trust DIR           treecast.trust    trusted public keys (default /etc/treecast/trust)\n"
    "  --stats FILE          write counters as JSON at exit\n"
    "\n"
    "Exit codes: 0 done, 1 internal or interrupted, 2 configuration, 3 network,\n"
    "4 trust, 5 disk, 6 image, 7 handoff (see docs/agent.md).\n";

/**
 * print_version - the agent's version, link time, compiled-in options and the
 * versions of the libraries linked into it (what an operator reading a serial
 * console needs to identify a build).
 */
static void print_version(void)
{
    printf("treecast-agent %s\n", TC_VERSION);
    printf("built: %s\n", tc_build_time);
    printf("options:\n");
    const char *opt = TC_AUTOCONF_OPTIONS;
    while (*opt != '\0') {
        const char *eol = strchr(opt, '\n');
        size_t len = eol != NULL ? (size_t)(eol - opt) : strlen(opt);
        printf("  %.*s\n", (int)len, opt);
        opt += len + (eol != NULL ? 1 : 0);
    }
    printf("network backend: kernel sockets; handoffs: none, continue, reboot, poweroff\n");
    printf("lwIP %s, mbed TLS %s, zlib %s\n", LWIP_VERSION_STRING, MBEDTLS_VERSION_STRING,
           ZLIB_VERSION);
}

/** SIGINT/SIGTERM: stop at the next loop turn. */
static void on_signal(int sig)
{
    (void)sig;
    tc_ag_interrupted = 1;
}

/** Options and where their values go. */
struct ag_opt {
    const char *key; /**< treecast.KEY, or NULL for options without one */
    const char *val; /**< the value given, or NULL */
};

/** Long options; the index in ag_keys is val - AG_OPT_KEY0. */
enum {
    AG_OPT_CMDLINE = 256,
    AG_OPT_STATS,
    AG_OPT_HELP,
    AG_OPT_VERSION,
    AG_OPT_KEY0,
};

/** treecast.* keys that are also options, in AG_OPT_KEY0 order. */
static const char *const ag_keys[] = {"seeder", "image",   "min_version", "disk", "target",
                                      "iface",  "handoff", "log",         "trust"};
/** Number of such keys. */
#define AG_KEYS (sizeof(ag_keys) / sizeof(ag_keys[0]))

/**
 * Read the kernel command line (or a file standing in for it).
 */
static int read_cmdline(const char *path, char *buf, size_t cap, size_t *len, struct tc_err *err)
{
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int rc = -errno;
        return tc_err_set(err, rc, "cannot read the kernel command line from %s: %s", path,
                          strerror(-rc));
    }
    n = tc_io_read_upto(fd, buf, cap);
    close(fd);
    if (n < 0)
        return tc_err_set(err, (int)n, "cannot read the kernel command line from %s: %s", path,
                          strerror((int)-n));
    *len = (size_t)n;
    return 0;
}

/**
 * A JSON string (or null) with the characters JSON needs escaped.
 */
static void json_str(FILE *f, const char *s)
{
    if (!s || !s[0]) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/**
 * --stats FILE: the run's counters as JSON, written to FILE.tmp and renamed.
 */
static void write_stats(const struct ag *g, const char *path, int code)
{
    const struct tc_agent_stats *s = &g->last;
    char tmp[AG_STATS_PATH_MAX];
    struct rusage ru;
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return;
    getrusage(RUSAGE_SELF, &ru);
    f = fopen(tmp, "we");
    if (!f) {
        tc_ag_log(g, TC_PROTO_LOG_WARN, "cannot write stats to %s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"state\": \"%s\",\n  \"exit_code\": %d,\n  \"error\": ",
            g->state ? tc_agent_state_name(g->state) : "starting", code);
    json_str(f, g->error);
    fprintf(f, ",\n  \"image\": ");
    json_str(f, g->cfg.image);
    fprintf(f, ",\n  \"target\": ");
    json_str(f, g->disk_path);
    fprintf(f,
            ",\n  \"chunks_total\": %u,\n  \"chunks_done\": %u,\n  \"chunks_held\": %u,\n"
            "  \"resume_s\": %.3f,\n  \"blocks_rx\": %llu,\n  \"blocks_dup\": %llu,\n"
            "  \"repair_blocks_rx\": %llu,\n  \"repair_reqs\": %llu,\n  \"rx_dgrams\": %llu,\n"
            "  \"rx_forged\": %llu,\n  \"rx_unknown\": %llu,\n  \"rx_bad\": %llu,\n"
            "  \"segs_bad\": %llu,\n"
            "  \"objects_bad\": %llu,\n  \"blocks_dropped\": %llu,\n  \"slots_evicted\": %llu,\n"
            "  \"reparent_reqs\": %llu,\n  \"behind\": %u,\n  \"loss_ppm\": %u,\n"
            "  \"served_blocks\": %llu,\n  \"served_bytes\": %llu,\n  \"readbacks\": %llu,\n"
            "  \"bytes_written\": %llu,\n  \"group_rejoins\": %llu,\n  \"core_restarts\": %u,\n"
            "  \"udp_rx_drops\": %llu,\n  \"elapsed_s\": %.3f,\n  \"max_rss_kib\": %ld\n}\n",
            s->chunk_count, s->chunks_done, g->chunks_held, g->resume_s,
            (unsigned long long)s->blocks_rx, (unsigned long long)s->blocks_dup,
            (unsigned long long)s->repair_blocks_rx, (unsigned long long)s->repair_reqs,
            (unsigned long long)s->rx_dgrams, (unsigned long long)s->rx_forged,
            (unsigned long long)s->rx_unknown, (unsigned long long)s->rx_bad,
            (unsigned long long)s->segs_bad, (unsigned long long)s->objects_bad,
            (unsigned long long)s->blocks_dropped, (unsigned long long)s->slots_evicted,
            (unsigned long long)s->reparent_reqs, s->behind, s->loss_ppm,
            (unsigned long long)s->served_blocks, (unsigned long long)s->served_bytes,
            (unsigned long long)s->readbacks, (unsigned long long)g->bytes_written,
            (unsigned long long)g->rejoins, g->restarts,
            (unsigned long long)(g->udp ? tc_udp_stats(g->udp)->rx_drops : 0),
            g->t0_ns ? (double)(tc_ag_now_ns() - g->t0_ns) / 1e9 : 0.0, ru.ru_maxrss);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        tc_ag_log(g, TC_PROTO_LOG_WARN, "cannot write stats to %s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

/**
 * After RELEASE: what the configuration says. reboot and poweroff are done
 * only when the configuration came from the real kernel command line, so that
 * a test run with --cmdline never restarts the machine it runs on.
 */
static int handoff(struct ag *g)
{
    enum tc_agentcfg_handoff h = g->cfg.handoff;
    const char *name = tc_agentcfg_handoff_name(h);

    switch (h) {
    case TC_HANDOFF_NONE:
    case TC_HANDOFF_CONTINUE:
        tc_ag_log(g, TC_PROTO_LOG_INFO, "image written to %s; handoff %s: exiting", g->disk_path,
                  name);
        return TC_EXIT_OK;
    case TC_HANDOFF_REBOOT:
    case TC_HANDOFF_POWEROFF:
        if (!g->cmdline_is_proc) {
            snprintf(g->error, sizeof(g->error),
                     "image written to %s, but handoff %s is refused: the configuration came "
                     "from --cmdline, not %s (a test must not restart its machine)",
                     g->disk_path, name, AG_PROC_CMDLINE);
            tc_ag_log(g, TC_PROTO_LOG_ERR, "%s", g->error);
            return TC_EXIT_HANDOFF;
        }
        tc_ag_log(g, TC_PROTO_LOG_INFO, "image written to %s; handoff %s", g->disk_path, name);
        sync();
        reboot(h == TC_HANDOFF_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF);
        snprintf(g->error, sizeof(g->error), "image written to %s, but %s failed: %s", g->disk_path,
                 name, strerror(errno));
        tc_ag_log(g, TC_PROTO_LOG_ERR, "%s", g->error);
        return TC_EXIT_HANDOFF;
    case TC_HANDOFF_KEXEC:
    case TC_HANDOFF_SWITCH_ROOT:
        break;
    }
    snprintf(g->error, sizeof(g->error),
             "image written to %s and complete, but handoff %s is not supported by this build "
             "(use continue, reboot or poweroff)",
             g->disk_path, name);
    tc_ag_log(g, TC_PROTO_LOG_ERR, "%s", g->error);
    return TC_EXIT_HANDOFF;
}

/**
 * Options, then the command line file, then the options again on top.
 */
static int configure(struct ag *g, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cmdline", required_argument, NULL, AG_OPT_CMDLINE},
        {"stats", required_argument, NULL, AG_OPT_STATS},
        {"help", no_argument, NULL, AG_OPT_HELP},
        {"version", no_argument, NULL, AG_OPT_VERSION},
        {"seeder", required_argument, NULL, AG_OPT_KEY0 + 0},
        {"image", required_argument, NULL, AG_OPT_KEY0 + 1},
        {"min-version", required_argument, NULL, AG_OPT_KEY0 + 2},
        {"disk", required_argument, NULL, AG_OPT_KEY0 + 3},
        {"target", required_argument, NULL, AG_OPT_KEY0 + 4},
        {"iface", required_argument, NULL, AG_OPT_KEY0 + 5},
        {"handoff", required_argument, NULL, AG_OPT_KEY0 + 6},
        {"log", required_argument, NULL, AG_OPT_KEY0 + 7},
        {"trust", required_argument, NULL, AG_OPT_KEY0 + 8},
        {NULL, 0, NULL, 0},
    };
    static char cmdline[TC_AGENTCFG_CMDLINE_MAX + 1];
    const char *vals[AG_KEYS] = {NULL};
    const char *cmdline_path = AG_PROC_CMDLINE;
    struct tc_err err;
    size_t len = 0, i;
    int c, rc;

    tc_err_clear(&err);
    tc_agentcfg_init(&g->cfg);
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case AG_OPT_CMDLINE:
            cmdline_path = optarg;
            break;
        case AG_OPT_STATS:
            g->stats_path = optarg;
            break;
        case AG_OPT_HELP:
            fputs(ag_help, stdout);
            return -1;
        case AG_OPT_VERSION:
            print_version();
            return -1;
        case ':':
            fprintf(stderr, "treecast-agent: option '%s' needs a value (see --help)\n",
                    argv[optind - 1]);
            return TC_EXIT_USAGE;
        case '?':
            fprintf(stderr, "treecast-agent: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return TC_EXIT_USAGE;
        default:
            vals[c - AG_OPT_KEY0] = optarg;
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "treecast-agent: unexpected argument '%s' (see --help)\n", argv[optind]);
        return TC_EXIT_USAGE;
    }
    g->cmdline_is_proc = strcmp(cmdline_path, AG_PROC_CMDLINE) == 0;
    rc = read_cmdline(cmdline_path, cmdline, sizeof(cmdline), &len, &err);
    if (rc == 0)
        rc = tc_agentcfg_parse_cmdline(&g->cfg, cmdline, len, &err);
    for (i = 0; rc == 0 && i < AG_KEYS; i++)
        if (vals[i])
            rc = tc_agentcfg_set(&g->cfg, ag_keys[i], vals[i], &err);
    if (rc == 0)
        rc = tc_agentcfg_check(&g->cfg, &err);
    if (rc < 0) {
        snprintf(g->error, sizeof(g->error), "%s", err.msg);
        fprintf(stderr, "treecast-agent: %s\n", err.msg);
        return TC_EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct ag g; /* large (write tracking, error text): not on the stack */
    struct sigaction sa;
    int code;

    code = configure(&g, argc, argv);
    if (code < 0)
        return TC_EXIT_OK;
    if (code > 0) {
        if (g.stats_path)
            write_stats(&g, g.stats_path, code);
        return code;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    code = tc_ag_run(&g);
    tc_ag_cleanup(&g);
    if (code == TC_EXIT_OK)
        code = handoff(&g);
    if (g.stats_path)
        write_stats(&g, g.stats_path, code);
    return code;
}
