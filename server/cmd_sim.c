// SPDX-License-Identifier: MIT
/*
 * `treecast sim`: one simulated session (sim/simrun.c: the real seeder and
 * agent cores on the simulated network), its timings against the floor,
 * and the invariant checks. Deterministic: the same options and seed replay
 * the same run. docs/tools.md and docs/simulator.md describe it.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "treecast/simnet.h"
#include "treecast/simrun.h"
#include "treecast/tree.h"

static const char sim_help[] =
    "Usage: treecast sim --nodes N --image-size SIZE --stored-ratio R --link RATE\n"
    "                    [--disk RATE] [--loss P] [--burst] [--fanout F] [--mtu M]\n"
    "                    [--seed S] [--json] [more options below]\n"
    "\n"
    "Simulate one session: the real seeder and agent protocol cores on a simulated\n"
    "switched Ethernet (one seeder, N agents, virtual time), and report when the\n"
    "agents finished against the floor (the time the image's wire bytes need on one\n"
    "link, or its raw bytes on one disk). Every agent's writes are checked: whole\n"
    "chunks, each once, the first chunk last, DONE acknowledged before release; with\n"
    "--real every byte is compared with the image. The same options and seed replay\n"
    "the same run exactly.\n"
    "\n"
    "Options:\n"
    "  --nodes N            agents (the seeder is extra), 1..65000\n"
    "  --image-size SIZE    raw image bytes; suffixes K, M, G, T are powers of 1024\n"
    "                       (\"10G\" = 10 GiB)\n"
    "  --stored-ratio R     stored / raw bytes of every chunk, 0 < R <= 1 (dataless\n"
    "                       runs; with --real the chunks are really compressed)\n"
    "  --link RATE          every link's rate, both ways, bit/s; suffixes k, M, G are\n"
    "                       powers of 1000 (\"1G\" = 1e9 bit/s)\n"
    "  --disk RATE          every agent's disk write rate in BYTES/s, suffixes k, M, G\n"
    "                       powers of 1000 (\"500M\" = 500 MB/s; default 500M; 0 = instant)\n"
    "  --loss P             loss probability on every agent's downlink, 0 <= P < 1\n"
    "  --burst              losses come in bursts (Gilbert-Elliott, mean burst 5\n"
    "                       packets, same mean loss)\n"
    "  --shared-loss P      loss on the seeder's uplink (every agent misses the packet)\n"
    "  --fanout F           repair tree fan-out, 1..32 (1 = a chain; default 16)\n"
    "  --root-fanout R      the seeder's own children in the tree, 1..32 and at most\n"
    "                       the fan-out (default 2, or the fan-out if smaller)\n"
    "  --mtu M              session MTU, 1280..9000 (default 1500)\n"
    "  --seed S             the run's seed (default 1); printed, and printed again with\n"
    "                       the replay command when the run fails\n"
    "  --json               one JSON object instead of text\n"
    "  --chunk-size SIZE    raw bytes per chunk, a power of two, 64K..4M (default 1M)\n"
    "  --seg-size BYTES     integrity segment (default: a full DATA block at the MTU,\n"
    "                       1432 at 1500)\n"
    "  --real               real bytes: generated image, compression, SHA-256, a signed\n"
    "                       manifest, the trust check (small images only: memory and\n"
    "                       time grow with image x nodes); else dataless\n"
    "  --per-packet         every DATA block its own simulated datagram (default: runs of\n"
    "                       blocks as packet trains, the same arithmetic, faster)\n"
    "  --late N@T           N agents start T seconds late (T a decimal, e.g. 16@1.5)\n"
    "  --held F             every agent starts holding a random share F of the chunks\n"
    "  --forge              an injector sends forged DATA and control all run (needs --real)\n"
    "  --rate-fraction F    multicast pace as a share of --link, up to 2 (default 0.95;\n"
    "                       above 1 the links' queues overflow: for --rate auto)\n"
    "  --latency US         one-way link latency, microseconds (default 50)\n"
    "  --time-limit S       give up after S simulated seconds (default 50 x floor + 60)\n"
    "  --queue SIZE         every link's drop-tail queue, bytes, K/M/G powers of 1024\n"
    "                       (default 256K)\n"
    "  --trace              print the cores' log lines with their virtual time (stderr)\n"
    "\n"
    "Faults and topology (times T are simulated seconds, decimals allowed):\n"
    "  --slow K:RATE        K agents picked at random have links of RATE bit/s both\n"
    "                       ways (e.g. 1:100M)\n"
    "  --crash K@T[-T2][:RESTART][/interior|/pair]\n"
    "                       K agents crash at T (each at a uniform time in T..T2),\n"
    "                       restarting RESTART seconds later from what they had written\n"
    "                       (none: down for good, left out of the completion); picked\n"
    "                       among the agents still running, or among the seeder's\n"
    "                       parents (/interior), or K parents each with one of its\n"
    "                       children (/pair); repeatable up to 8 times\n"
    "  --seeder-restart T[:DOWN]\n"
    "                       the seeder crashes at T and restarts DOWN seconds later\n"
    "                       (default 1) from its last persisted state\n"
    "  --tree-only          no multicast: parents stream to their children (default\n"
    "                       fan-out 2)\n"
    "  --rate auto          the seeder adapts its pace; --rate-fraction is then the\n"
    "                       highest rate\n"
    "  --racks R            agents in R racks (contiguous blocks), the seeder on the\n"
    "                       core switch; needs --uplink\n"
    "  --uplink RATE        each rack's uplink to the core, both ways, bit/s\n"
    "  --partition RACK@T:DURATION\n"
    "                       rack RACK is cut off from the rest at T for DURATION s\n"
    "  --join-spread S      agents send their first JOIN at a uniform time within S\n"
    "                       seconds (default: the protocol's)\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 when every agent finished byte-exact with no violation (agents\n"
    "crashed for good by --crash excepted), 1 otherwise (with the seed that replays\n"
    "it), 2 for a usage error.\n";

/** getopt_long codes of the long-only options. */
enum sim_opt {
    SIM_NODES = 0x100,
    SIM_IMAGE_SIZE,
    SIM_STORED_RATIO,
    SIM_LINK,
    SIM_DISK,
    SIM_LOSS,
    SIM_BURST,
    SIM_SHARED_LOSS,
    SIM_FANOUT,
    SIM_ROOT_FANOUT,
    SIM_MTU,
    SIM_SEED,
    SIM_JSON,
    SIM_CHUNK_SIZE,
    SIM_SEG_SIZE,
    SIM_REAL,
    SIM_PER_PACKET,
    SIM_LATE,
    SIM_HELD,
    SIM_FORGE,
    SIM_RATE_FRACTION,
    SIM_LATENCY,
    SIM_TIME_LIMIT,
    SIM_TRACE,
    SIM_QUEUE,
    SIM_SLOW,
    SIM_CRASH,
    SIM_SEEDER_RESTART,
    SIM_TREE_ONLY,
    SIM_RATE,
    SIM_RACKS,
    SIM_UPLINK,
    SIM_PARTITION,
    SIM_JOIN_SPREAD,
};

/** Longest value of a fault option (--crash and friends), bytes. */
#define SIM_FAULT_ARG_MAX 96
/** Largest time in a fault option, seconds. */
#define SIM_FAULT_TIME_MAX_S 1e6

/**
 * A rate with an optional k, M or G suffix (powers of 1000), decimals
 * allowed ("2.5G"). 0 or -EINVAL.
 */
static int sim_parse_rate(const char *s, uint64_t *out)
{
    double v, mul = 1;
    char *end;

    if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s)
        return -EINVAL;
    switch (*end) {
    case 'k':
    case 'K':
        mul = 1e3;
        end++;
        break;
    case 'M':
        mul = 1e6;
        end++;
        break;
    case 'G':
        mul = 1e9;
        end++;
        break;
    default:
        break;
    }
    if (*end || !(v >= 0) || v * mul > 1e15)
        return -EINVAL;
    *out = (uint64_t)(v * mul + 0.5);
    return 0;
}

/** A decimal in [min, max]. 0 or -EINVAL. */
static int sim_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !(v >= min && v <= max))
        return -EINVAL;
    *out = v;
    return 0;
}

/** Seconds (a decimal in [min_s, SIM_FAULT_TIME_MAX_S]) as ns. 0 or -EINVAL. */
static int sim_parse_secs(const char *s, double min_s, uint64_t *ns)
{
    double d;

    if (sim_parse_double(s, min_s, SIM_FAULT_TIME_MAX_S, &d) < 0)
        return -EINVAL;
    *ns = (uint64_t)(d * 1e9 + 0.5);
    return 0;
}

/**
 * Split a copy of s at the first `sep` (in buf, SIM_FAULT_ARG_MAX bytes):
 * *tail is what follows (NULL if no sep). -EINVAL if s is too long.
 */
static int sim_split(const char *s, char *buf, char sep, char **tail)
{
    char *p;

    if (strlen(s) >= SIM_FAULT_ARG_MAX)
        return -EINVAL;
    strcpy(buf, s);
    p = strchr(buf, sep);
    *tail = NULL;
    if (p) {
        *p = '\0';
        *tail = p + 1;
    }
    return 0;
}

/** --crash K@T[-T2][:RESTART][/interior|/pair]. 0 or -EINVAL. */
static int sim_parse_crash(const char *s, struct tc_simrun_crash *k)
{
    char buf[SIM_FAULT_ARG_MAX], *pick, *restart, *at, *hi;
    uint64_t u;

    if (strlen(s) >= SIM_FAULT_ARG_MAX)
        return -EINVAL;
    strcpy(buf, s);
    memset(k, 0, sizeof(*k));
    k->pick = TC_SIMRUN_PICK_ANY;
    pick = strchr(buf, '/');
    if (pick) {
        *pick++ = '\0';
        if (strcmp(pick, "interior") == 0)
            k->pick = TC_SIMRUN_PICK_INTERIOR;
        else if (strcmp(pick, "pair") == 0)
            k->pick = TC_SIMRUN_PICK_PAIR;
        else
            return -EINVAL;
    }
    k->restart_after_ns = TC_PROTO_NEVER;
    restart = strchr(buf, ':');
    if (restart) {
        *restart++ = '\0';
        if (sim_parse_secs(restart, 1e-9, &k->restart_after_ns) < 0)
            return -EINVAL;
    }
    at = strchr(buf, '@');
    if (!at || at == buf)
        return -EINVAL;
    *at++ = '\0';
    if (tc_opts_uint(buf, 1, TC_SIMRUN_NODES_MAX, &u) < 0)
        return -EINVAL;
    k->count = (uint32_t)u;
    hi = strchr(at, '-');
    if (hi)
        *hi++ = '\0';
    if (sim_parse_secs(at, 0, &k->at_ns) < 0)
        return -EINVAL;
    k->at_hi_ns = k->at_ns;
    if (hi && (sim_parse_secs(hi, 0, &k->at_hi_ns) < 0 || k->at_hi_ns < k->at_ns))
        return -EINVAL;
    return 0;
}

/**
 * Agents the --crash options take down for good: they cannot finish, so the
 * run succeeds when all the others do (at most nodes).
 */
static uint32_t sim_down_for_good(const struct tc_simrun_cfg *c)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < c->ncrash; i++)
        if (c->crash[i].restart_after_ns == TC_PROTO_NEVER)
            n += (uint64_t)c->crash[i].count * (c->crash[i].pick == TC_SIMRUN_PICK_PAIR ? 2 : 1);
    return n > c->nodes ? c->nodes : (uint32_t)n;
}

/** Trace sink: one line to stderr. */
static void sim_trace(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

/** The replay command of this run (the options that matter, then the seed). */
static void sim_replay(FILE *f, int argc, char **argv, uint64_t seed)
{
    int i;

    fprintf(f, "replay: treecast sim");
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--seed=", 7) == 0 || strcmp(argv[i], "--json") == 0)
            continue;
        fprintf(f, " %s", argv[i]);
    }
    fprintf(f, " --seed %llu\n", (unsigned long long)seed);
}

/** Seconds from ns. */
static double sim_s(uint64_t ns)
{
    return (double)ns / 1e9;
}

/** The JSON form: stable keys (docs/tools.md). */
static void sim_json(const struct tc_simrun_cfg *c, const struct tc_simrun_result *r, int rc)
{
    printf("{\n  \"seed\": %llu,\n", (unsigned long long)c->seed);
    printf("  \"nodes\": %u,\n  \"nodes_done\": %u,\n  \"nodes_failed\": %u,\n", r->nodes,
           r->nodes_done, r->nodes_failed);
    printf("  \"first_done_s\": %.6f,\n  \"median_done_s\": %.6f,\n  \"last_done_s\": %.6f,\n",
           sim_s(r->first_done_ns), sim_s(r->median_done_ns), sim_s(r->last_done_ns));
    printf("  \"floor_s\": %.6f,\n  \"ratio\": %.4f,\n", sim_s(r->floor_ns), r->ratio);
    printf("  \"nodes_healthy\": %u,\n  \"nodes_crashed\": %u,\n  \"nodes_slow\": %u,\n",
           r->nodes_healthy, r->nodes_crashed, r->nodes_slow);
    printf("  \"healthy_last_done_s\": %.6f,\n  \"healthy_ratio\": %.4f,\n",
           sim_s(r->healthy_last_done_ns), r->healthy_ratio);
    printf("  \"stored_bytes\": %llu,\n  \"seeder_egress_bytes\": %llu,\n",
           (unsigned long long)r->stored_bytes, (unsigned long long)r->seeder_egress_bytes);
    printf("  \"seeder_egress_ratio\": %.4f,\n  \"repair_bytes\": %llu,\n", r->seeder_egress_ratio,
           (unsigned long long)r->repair_bytes);
    printf("  \"reports_interval_max\": %llu,\n  \"segs_bad\": %llu,\n  \"forged_sent\": %llu,\n",
           (unsigned long long)r->reports_interval_max, (unsigned long long)r->segs_bad,
           (unsigned long long)r->forged_sent);
    printf("  \"violations\": %llu,\n  \"violation\": ", (unsigned long long)r->violations);
    tc_cli_json_string(stdout, r->violation);
    printf(",\n  \"failure\": ");
    tc_cli_json_string(stdout, r->failure);
    printf(",\n  \"timed_out\": %s,\n", rc == -ETIMEDOUT ? "true" : "false");
    printf("  \"timers_fired\": %llu,\n", (unsigned long long)r->timers_fired);
    printf("  \"end_s\": %.6f,\n  \"events\": %llu,\n  \"trace_hash\": \"%016llx\",\n",
           sim_s(r->end_ns), (unsigned long long)r->events, (unsigned long long)r->trace_hash);
    printf("  \"seeder\": {\"rounds\": %llu, \"mcast_blocks\": %llu, \"remcast_blocks\": %llu, "
           "\"repair_blocks\": %llu, \"repair_reqs\": %llu, \"rx_forged\": %llu, "
           "\"rx_bad\": %llu, \"rejects\": %llu, \"rate_bps\": %llu, "
           "\"rate_min_seen_bps\": %llu, \"rate_changes\": %llu, \"stragglers\": %llu, "
           "\"reparent_reqs\": %llu, \"nodes_dead\": %llu, \"persists\": %llu, "
           "\"epochs_sent\": %llu, \"stream_bytes\": %llu},\n",
           (unsigned long long)r->seeder.rounds, (unsigned long long)r->seeder.mcast_blocks,
           (unsigned long long)r->seeder.remcast_blocks,
           (unsigned long long)r->seeder.repair_blocks, (unsigned long long)r->seeder.repair_reqs,
           (unsigned long long)r->seeder.rx_forged, (unsigned long long)r->seeder.rx_bad,
           (unsigned long long)r->seeder.rejects, (unsigned long long)r->seeder.rate_bps,
           (unsigned long long)r->seeder.rate_min_seen_bps,
           (unsigned long long)r->seeder.rate_changes, (unsigned long long)r->seeder.stragglers,
           (unsigned long long)r->seeder.reparent_reqs, (unsigned long long)r->seeder.nodes_dead,
           (unsigned long long)r->seeder.persists, (unsigned long long)r->seeder.epochs_sent,
           (unsigned long long)r->seeder.stream_bytes);
    printf("  \"agents\": {\"blocks_rx\": %llu, \"blocks_dup\": %llu, \"blocks_dropped\": %llu, "
           "\"slots_evicted\": %llu, \"repair_reqs\": %llu, \"repair_blocks_rx\": %llu, "
           "\"served_blocks\": %llu, "
           "\"readbacks\": %llu, \"objects_bad\": %llu, \"rx_forged\": %llu, "
           "\"rx_bad\": %llu, \"reports_tx\": %llu, \"reparent_reqs\": %llu, "
           "\"rejoins\": %llu, \"acks_tx\": %llu, \"stream_bytes\": %llu, \"behind\": %u},\n",
           (unsigned long long)r->agents.blocks_rx, (unsigned long long)r->agents.blocks_dup,
           (unsigned long long)r->agents.blocks_dropped,
           (unsigned long long)r->agents.slots_evicted, (unsigned long long)r->agents.repair_reqs,
           (unsigned long long)r->agents.repair_blocks_rx,
           (unsigned long long)r->agents.served_blocks, (unsigned long long)r->agents.readbacks,
           (unsigned long long)r->agents.objects_bad, (unsigned long long)r->agents.rx_forged,
           (unsigned long long)r->agents.rx_bad, (unsigned long long)r->agents.reports_tx,
           (unsigned long long)r->agents.reparent_reqs, (unsigned long long)r->agents.rejoins,
           (unsigned long long)r->agents.acks_tx, (unsigned long long)r->agents.stream_bytes,
           r->agents.behind);
    printf("  \"sim_wall_s\": %.3f\n}\n", r->sim_wall_s);
}

/** The text form. */
static void sim_text(const struct tc_simrun_cfg *c, const struct tc_simrun_result *r)
{
    char stored[32], egress[32], repair[32];

    (void)c;
    printf("nodes done: %u/%u", r->nodes_done, r->nodes);
    if (r->nodes_failed)
        printf(" (%u failed)", r->nodes_failed);
    printf("\n");
    printf("done: first %.3f s, median %.3f s, last %.3f s\n", sim_s(r->first_done_ns),
           sim_s(r->median_done_ns), sim_s(r->last_done_ns));
    printf("floor: %.3f s; ratio last/floor %.3f\n", sim_s(r->floor_ns), r->ratio);
    if (r->nodes_slow || r->nodes_crashed)
        printf("healthy (neither slowed nor crashed): %u agents, last %.3f s, ratio %.3f "
               "(%u slow, %u crashed)\n",
               r->nodes_healthy, sim_s(r->healthy_last_done_ns), r->healthy_ratio, r->nodes_slow,
               r->nodes_crashed);
    printf("seeder egress: %s for %s stored (ratio %.3f)\n",
           tc_opts_human(r->seeder_egress_bytes, egress, sizeof(egress)),
           tc_opts_human(r->stored_bytes, stored, sizeof(stored)), r->seeder_egress_ratio);
    printf("repair bytes: %s\n", tc_opts_human(r->repair_bytes, repair, sizeof(repair)));
    printf("reports per interval at the seeder: %llu max; bad segments: %llu",
           (unsigned long long)r->reports_interval_max, (unsigned long long)r->segs_bad);
    if (c->forge)
        printf("; forged datagrams: %llu", (unsigned long long)r->forged_sent);
    printf("\n");
    printf("simulated: %.3f s, %llu events, trace %016llx; wall time %.3f s\n", sim_s(r->end_ns),
           (unsigned long long)r->events, (unsigned long long)r->trace_hash, r->sim_wall_s);
}

/**
 * `treecast sim`.
 */
int tc_cmd_sim(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"nodes", required_argument, NULL, SIM_NODES},
        {"image-size", required_argument, NULL, SIM_IMAGE_SIZE},
        {"stored-ratio", required_argument, NULL, SIM_STORED_RATIO},
        {"link", required_argument, NULL, SIM_LINK},
        {"disk", required_argument, NULL, SIM_DISK},
        {"loss", required_argument, NULL, SIM_LOSS},
        {"burst", no_argument, NULL, SIM_BURST},
        {"shared-loss", required_argument, NULL, SIM_SHARED_LOSS},
        {"fanout", required_argument, NULL, SIM_FANOUT},
        {"root-fanout", required_argument, NULL, SIM_ROOT_FANOUT},
        {"mtu", required_argument, NULL, SIM_MTU},
        {"seed", required_argument, NULL, SIM_SEED},
        {"json", no_argument, NULL, SIM_JSON},
        {"chunk-size", required_argument, NULL, SIM_CHUNK_SIZE},
        {"seg-size", required_argument, NULL, SIM_SEG_SIZE},
        {"real", no_argument, NULL, SIM_REAL},
        {"per-packet", no_argument, NULL, SIM_PER_PACKET},
        {"late", required_argument, NULL, SIM_LATE},
        {"held", required_argument, NULL, SIM_HELD},
        {"forge", no_argument, NULL, SIM_FORGE},
        {"rate-fraction", required_argument, NULL, SIM_RATE_FRACTION},
        {"latency", required_argument, NULL, SIM_LATENCY},
        {"time-limit", required_argument, NULL, SIM_TIME_LIMIT},
        {"trace", no_argument, NULL, SIM_TRACE},
        {"queue", required_argument, NULL, SIM_QUEUE},
        {"slow", required_argument, NULL, SIM_SLOW},
        {"crash", required_argument, NULL, SIM_CRASH},
        {"seeder-restart", required_argument, NULL, SIM_SEEDER_RESTART},
        {"tree-only", no_argument, NULL, SIM_TREE_ONLY},
        {"rate", required_argument, NULL, SIM_RATE},
        {"racks", required_argument, NULL, SIM_RACKS},
        {"uplink", required_argument, NULL, SIM_UPLINK},
        {"partition", required_argument, NULL, SIM_PARTITION},
        {"join-spread", required_argument, NULL, SIM_JOIN_SPREAD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "sim";
    struct tc_simrun_cfg cfg;
    struct tc_simrun_result res;
    struct timespec t0, t1;
    struct tc_err err;
    uint64_t u;
    double d;
    int json = 0, have_nodes = 0, have_size = 0, have_ratio = 0, have_link = 0, c, rc, code;
    char *at, buf[SIM_FAULT_ARG_MAX], *tail;

    tc_simrun_cfg_default(&cfg);
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case SIM_NODES:
            if (tc_opts_uint(optarg, 1, TC_SIMRUN_NODES_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--nodes '%s': expected 1..%u agents", optarg,
                                    TC_SIMRUN_NODES_MAX);
            cfg.nodes = (uint32_t)u;
            have_nodes = 1;
            break;
        case SIM_IMAGE_SIZE:
            if (tc_opts_size(optarg, &cfg.image_size) < 0 || cfg.image_size == 0)
                return tc_cli_usage(cmd,
                                    "--image-size '%s': expected bytes with an optional "
                                    "K, M, G or T suffix (powers of 1024)",
                                    optarg);
            have_size = 1;
            break;
        case SIM_STORED_RATIO:
            if (sim_parse_double(optarg, 1e-6, 1, &cfg.stored_ratio) < 0)
                return tc_cli_usage(cmd, "--stored-ratio '%s': expected 0 < R <= 1", optarg);
            have_ratio = 1;
            break;
        case SIM_LINK:
            if (sim_parse_rate(optarg, &cfg.link_bps) < 0 || cfg.link_bps < 1000)
                return tc_cli_usage(cmd,
                                    "--link '%s': expected bit/s >= 1k with an optional "
                                    "k, M or G suffix (powers of 1000)",
                                    optarg);
            have_link = 1;
            break;
        case SIM_DISK:
            if (sim_parse_rate(optarg, &cfg.disk_Bps) < 0)
                return tc_cli_usage(cmd,
                                    "--disk '%s': expected bytes/s with an optional k, M "
                                    "or G suffix (powers of 1000), 0 = instant",
                                    optarg);
            break;
        case SIM_LOSS:
            if (sim_parse_double(optarg, 0, 0.999, &cfg.loss) < 0)
                return tc_cli_usage(cmd, "--loss '%s': expected a probability 0 <= P < 1", optarg);
            break;
        case SIM_BURST:
            cfg.burst = 1;
            break;
        case SIM_SHARED_LOSS:
            if (sim_parse_double(optarg, 0, 0.999, &cfg.shared_loss) < 0)
                return tc_cli_usage(cmd, "--shared-loss '%s': expected a probability 0 <= P < 1",
                                    optarg);
            break;
        case SIM_FANOUT:
            if (tc_opts_uint(optarg, 1, TC_TREE_FANOUT_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--fanout '%s': expected 1..%u", optarg,
                                    TC_TREE_FANOUT_MAX);
            cfg.fanout = (uint32_t)u;
            break;
        case SIM_ROOT_FANOUT:
            if (tc_opts_uint(optarg, 1, TC_TREE_FANOUT_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--root-fanout '%s': expected 1..%u", optarg,
                                    TC_TREE_FANOUT_MAX);
            cfg.root_fanout = (uint32_t)u;
            break;
        case SIM_MTU:
            if (tc_opts_uint(optarg, TC_WIRE_MTU_MIN, TC_WIRE_MTU_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--mtu '%s': expected %u..%u", optarg, TC_WIRE_MTU_MIN,
                                    TC_WIRE_MTU_MAX);
            cfg.mtu = (uint32_t)u;
            break;
        case SIM_SEED:
            if (tc_opts_uint(optarg, 0, UINT64_MAX, &cfg.seed) < 0)
                return tc_cli_usage(cmd, "--seed '%s': expected an unsigned decimal", optarg);
            break;
        case SIM_JSON:
            json = 1;
            break;
        case SIM_CHUNK_SIZE:
            if (tc_opts_size(optarg, &u) < 0 || u < TC_CHUNK_SIZE_MIN ||
                u > TC_CHUNK_SIZE_WIRE_MAX || (u & (u - 1)))
                return tc_cli_usage(cmd, "--chunk-size '%s': expected a power of two, 64K..4M",
                                    optarg);
            cfg.chunk_size = (uint32_t)u;
            break;
        case SIM_SEG_SIZE:
            if (tc_opts_uint(optarg, TC_WIRE_SEG_SIZE_MIN, TC_WIRE_SEG_SIZE_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--seg-size '%s': expected %u..%u bytes", optarg,
                                    TC_WIRE_SEG_SIZE_MIN, TC_WIRE_SEG_SIZE_MAX);
            cfg.seg_size = (uint32_t)u;
            break;
        case SIM_REAL:
            cfg.real = 1;
            break;
        case SIM_PER_PACKET:
            cfg.per_packet = 1;
            break;
        case SIM_LATE:
            at = strchr(optarg, '@');
            if (!at || at == optarg)
                return tc_cli_usage(cmd, "--late '%s': expected N@SECONDS (e.g. 16@1.5)", optarg);
            *at = '\0';
            rc = tc_opts_uint(optarg, 1, TC_SIMRUN_NODES_MAX, &u);
            *at = '@';
            if (rc < 0 || sim_parse_double(at + 1, 0, 1e6, &d) < 0)
                return tc_cli_usage(cmd, "--late '%s': expected N@SECONDS (e.g. 16@1.5)", optarg);
            cfg.late_nodes = (uint32_t)u;
            cfg.late_ns = (uint64_t)(d * 1e9);
            break;
        case SIM_HELD:
            if (sim_parse_double(optarg, 0, 0.999, &cfg.held_fraction) < 0)
                return tc_cli_usage(cmd, "--held '%s': expected a share 0 <= F < 1", optarg);
            break;
        case SIM_FORGE:
            cfg.forge = 1;
            break;
        case SIM_RATE_FRACTION:
            if (sim_parse_double(optarg, 0.001, 2, &cfg.rate_fraction) < 0)
                return tc_cli_usage(cmd, "--rate-fraction '%s': expected 0 < F <= 2", optarg);
            break;
        case SIM_LATENCY:
            if (sim_parse_double(optarg, 0, 1e7, &d) < 0)
                return tc_cli_usage(cmd, "--latency '%s': expected microseconds", optarg);
            cfg.latency_ns = (uint64_t)(d * 1e3);
            break;
        case SIM_TIME_LIMIT:
            if (sim_parse_double(optarg, 0.001, 1e9, &d) < 0)
                return tc_cli_usage(cmd, "--time-limit '%s': expected seconds > 0", optarg);
            cfg.time_limit_ns = (uint64_t)(d * 1e9);
            break;
        case SIM_QUEUE:
            if (tc_opts_size(optarg, &cfg.queue_bytes) < 0 || cfg.queue_bytes < 2048)
                return tc_cli_usage(cmd,
                                    "--queue '%s': expected bytes >= 2K with an optional "
                                    "K, M or G suffix (powers of 1024)",
                                    optarg);
            break;
        case SIM_SLOW:
            if (sim_split(optarg, buf, ':', &tail) < 0 || !tail ||
                tc_opts_uint(buf, 1, TC_SIMRUN_NODES_MAX, &u) < 0 ||
                sim_parse_rate(tail, &cfg.slow_bps) < 0 || cfg.slow_bps < 1000)
                return tc_cli_usage(cmd,
                                    "--slow '%s': expected K:RATE, K agents and a rate >= 1k "
                                    "bit/s with an optional k, M or G suffix (e.g. 1:100M)",
                                    optarg);
            cfg.slow_nodes = (uint32_t)u;
            break;
        case SIM_CRASH:
            if (cfg.ncrash == TC_SIMRUN_CRASHES_MAX)
                return tc_cli_usage(cmd, "--crash '%s': at most %u --crash options", optarg,
                                    TC_SIMRUN_CRASHES_MAX);
            if (sim_parse_crash(optarg, &cfg.crash[cfg.ncrash]) < 0)
                return tc_cli_usage(cmd,
                                    "--crash '%s': expected K@T[-T2][:RESTART][/interior|/pair] "
                                    "(K agents, times in seconds, T2 >= T, RESTART > 0; "
                                    "e.g. 3@2.5:1/interior)",
                                    optarg);
            cfg.ncrash++;
            break;
        case SIM_SEEDER_RESTART:
            if (sim_split(optarg, buf, ':', &tail) < 0 ||
                sim_parse_secs(buf, 1e-9, &cfg.seeder_restart_ns) < 0 ||
                (tail && sim_parse_secs(tail, 1e-9, &cfg.seeder_down_ns) < 0))
                return tc_cli_usage(cmd,
                                    "--seeder-restart '%s': expected T[:DOWN], seconds > 0 "
                                    "(e.g. 0.5:1)",
                                    optarg);
            break;
        case SIM_TREE_ONLY:
            cfg.tree_only = 1;
            break;
        case SIM_RATE:
            if (strcmp(optarg, "auto") != 0)
                return tc_cli_usage(cmd,
                                    "--rate '%s': expected auto (a fixed pace is "
                                    "--rate-fraction F)",
                                    optarg);
            cfg.rate_auto = 1;
            break;
        case SIM_RACKS:
            if (tc_opts_uint(optarg, 1, TC_SIM_RACKS_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--racks '%s': expected 1..%u racks", optarg,
                                    TC_SIM_RACKS_MAX);
            cfg.racks = (uint32_t)u;
            break;
        case SIM_UPLINK:
            if (sim_parse_rate(optarg, &cfg.uplink_bps) < 0 || cfg.uplink_bps < 1000)
                return tc_cli_usage(cmd,
                                    "--uplink '%s': expected bit/s >= 1k with an optional "
                                    "k, M or G suffix (powers of 1000)",
                                    optarg);
            break;
        case SIM_PARTITION:
            at = NULL;
            if (sim_split(optarg, buf, '@', &tail) == 0 && tail)
                at = strchr(tail, ':');
            if (at)
                *at = '\0';
            if (!at || tc_opts_uint(buf, 1, TC_SIM_RACKS_MAX, &u) < 0 ||
                sim_parse_secs(tail, 0, &cfg.partition_at_ns) < 0 ||
                sim_parse_secs(at + 1, 1e-9, &cfg.partition_ns) < 0)
                return tc_cli_usage(cmd,
                                    "--partition '%s': expected RACK@T:DURATION (seconds; e.g. "
                                    "2@1.5:5)",
                                    optarg);
            cfg.partition_rack = (uint32_t)u;
            break;
        case SIM_JOIN_SPREAD:
            if (sim_parse_secs(optarg, 1e-6, &cfg.join_spread_ns) < 0)
                return tc_cli_usage(cmd, "--join-spread '%s': expected seconds > 0", optarg);
            break;
        case SIM_TRACE:
            cfg.trace_log = 1;
            cfg.log = sim_trace;
            break;
        case 'h':
            fputs(sim_help, stdout);
            return TC_EXIT_OK;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if (optind < argc)
        return tc_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!have_nodes)
        return tc_cli_usage(cmd, "--nodes N is required");
    if (!have_size)
        return tc_cli_usage(cmd, "--image-size SIZE is required");
    if (!have_ratio && !cfg.real)
        return tc_cli_usage(cmd, "--stored-ratio R is required (or --real)");
    if (!have_link)
        return tc_cli_usage(cmd, "--link RATE is required");
    if (cfg.late_nodes >= cfg.nodes)
        return tc_cli_usage(cmd, "--late %u: must be fewer than --nodes %u", cfg.late_nodes,
                            cfg.nodes);
    if (cfg.root_fanout > (cfg.fanout ? cfg.fanout : TC_TREE_FANOUT_DEFAULT))
        return tc_cli_usage(cmd, "--root-fanout %u: must be at most the fan-out (%u)",
                            cfg.root_fanout, cfg.fanout ? cfg.fanout : TC_TREE_FANOUT_DEFAULT);
    if (cfg.forge && !cfg.real)
        return tc_cli_usage(cmd, "--forge needs --real (forged blocks are caught by real hashes)");
    if (cfg.slow_nodes > cfg.nodes)
        return tc_cli_usage(cmd, "--slow %u: more than --nodes %u", cfg.slow_nodes, cfg.nodes);
    if (cfg.racks && !cfg.uplink_bps)
        return tc_cli_usage(cmd, "--racks %u needs --uplink RATE", cfg.racks);
    if (cfg.uplink_bps && !cfg.racks)
        return tc_cli_usage(cmd, "--uplink needs --racks R");
    if (cfg.racks > cfg.nodes)
        return tc_cli_usage(cmd, "--racks %u: more racks than --nodes %u", cfg.racks, cfg.nodes);
    if (cfg.partition_rack > cfg.racks)
        return tc_cli_usage(cmd, "--partition %u: no such rack (--racks %u)", cfg.partition_rack,
                            cfg.racks);
    if (!json)
        printf("seed: %llu\n", (unsigned long long)cfg.seed);
    fflush(stdout);
    tc_err_clear(&err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = tc_simrun(&cfg, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res.sim_wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc == -EINVAL) {
        /* a configuration the checks above let through (the cores' own limits) */
        tc_simrun_result_free(&res);
        return tc_cli_usage(cmd, "%s", err.msg);
    }
    if (rc < 0 && res.events == 0) {
        tc_simrun_result_free(&res);
        return tc_cli_fail(cmd, rc, TC_PHASE_OTHER, &err);
    }
    if (json)
        sim_json(&cfg, &res, rc);
    else
        sim_text(&cfg, &res); /* after the seed line printed before the run */
    code = TC_EXIT_OK;
    if (rc < 0 || res.nodes_done < res.nodes - sim_down_for_good(&cfg) || res.violations != 0) {
        if (rc < 0)
            tc_cli_error(cmd, "%s", err.msg);
        if (res.violations)
            tc_cli_error(cmd, "%llu violation(s); first: %s", (unsigned long long)res.violations,
                         res.violation);
        if (res.failure[0])
            tc_cli_error(cmd, "%s", res.failure);
        tc_cli_error(cmd, "%u of %u agents finished byte-exact (seed %llu)", res.nodes_done,
                     res.nodes, (unsigned long long)cfg.seed);
        sim_replay(stderr, argc, argv, cfg.seed);
        code = TC_EXIT_INTERNAL;
    }
    tc_simrun_result_free(&res);
    return code;
}
