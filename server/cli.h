/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the `treecast` operator CLI (server/): the commands,
 * and the helpers they share for messages, exit codes, options, files, the
 * trust policy and the ordered parallel pipeline.
 *
 * Messages go to stderr as "treecast: <command>: <message>"; exit codes are
 * those of include/treecast/exitcode.h, chosen in one place,
 * tc_cli_exit_code().
 */
#ifndef TREECAST_SERVER_CLI_H
#define TREECAST_SERVER_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "treecast/crypto.h"
#include "treecast/err.h"
#include "treecast/exitcode.h"
#include "treecast/imgfile.h"
#include "treecast/trust.h"

/*
 * The release and the build time: from the Makefile's generated version.h
 * (TC_VERSION, and tc_build_time_unix linked into every program); a hand
 * build without it may pass -DTC_BUILD_TIME=<seconds>.
 */
#if __has_include("version.h")
#include "version.h"
#endif
#ifndef TC_VERSION
#define TC_VERSION "0.1.0"
#endif
#ifndef TC_BUILD_TIME
#ifdef TC_GENERATED_VERSION_H
#define TC_BUILD_TIME ((int64_t)tc_build_time_unix)
#else
#define TC_BUILD_TIME 0
#endif
#endif

/** Longest file name built from a user's path plus a suffix (".tmp", ".key"). */
#define TC_CLI_PATH_MAX 4096
/** Worker threads at most (pack, verify, unpack). */
#define TC_CLI_THREADS_MAX 64
/** Longest "NAME@sha256:HEX" pin. */
#define TC_CLI_PIN_MAX (TC_NAME_MAX + 8 + 2 * TC_SHA256_LEN + 1)
/** Largest key or revocation-list file read, bytes. */
#define TC_CLI_SMALL_FILE_MAX (256u * 1024)

/* The commands: argv[0] is the command's name. Each returns an exit code. */
int tc_cmd_keygen(int argc, char **argv);
int tc_cmd_pack(int argc, char **argv);
int tc_cmd_sign(int argc, char **argv);
int tc_cmd_verify(int argc, char **argv);
int tc_cmd_inspect(int argc, char **argv);
int tc_cmd_unpack(int argc, char **argv);
int tc_cmd_revoke(int argc, char **argv);
int tc_cmd_sim(int argc, char **argv);
int tc_cmd_serve(int argc, char **argv);

/** What was being done when an rc arrived: decides its exit class. */
enum tc_cli_phase {
    TC_PHASE_OTHER = 0,  /**< nothing in particular: system errors are internal */
    TC_PHASE_IMAGE = 1,  /**< reading or parsing an image (or pack's input) */
    TC_PHASE_TRUST = 2,  /**< trust store, revocation list, policy, keys */
    TC_PHASE_TARGET = 3, /**< the target disk or an output file */
};

/* Map rc (0 or a negative errno) met in phase to an enum tc_exit code. */
int tc_cli_exit_code(int rc, enum tc_cli_phase phase);

/* "treecast: cmd: message\n" on stderr. */
void tc_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "treecast: cmd: warning: message\n" on stderr. */
void tc_cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Print err's message (or strerror(rc) when it has none) as an error and
 * return the exit code for rc in phase.
 */
int tc_cli_fail(const char *cmd, int rc, enum tc_cli_phase phase, const struct tc_err *err);
/* Print a usage error and the hint to --help; returns TC_EXIT_USAGE. */
int tc_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Report the option getopt_long() rejected (c is '?' or ':'; optstring must
 * start with ':'); returns TC_EXIT_USAGE.
 */
int tc_cli_bad_option(const char *cmd, char **argv, int c);

/* Parse an unsigned decimal in [min, max]; 0 or -EINVAL. */
int tc_opts_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parse a byte count with an optional K, M, G suffix (powers of 1024); 0 or -EINVAL. */
int tc_opts_size(const char *s, uint64_t *out);
/* Parse exactly 2*len hex digits into out; 0 or -EINVAL. */
int tc_opts_hex(const char *s, uint8_t *out, size_t len);
/* Parse "NAME@sha256:HEX" into name (TC_NAME_MAX + 1 bytes) and digest; 0 or -EINVAL. */
int tc_opts_pin(const char *s, char *name, uint8_t digest[TC_SHA256_LEN]);
/* Parse a --threads value (0 = one per online CPU) and clamp; 0 or -EINVAL. */
int tc_opts_threads(const char *s, unsigned *out);
/* Worker threads to use by default: usable CPUs, within [1, TC_CLI_THREADS_MAX]. */
unsigned tc_opts_default_threads(void);
/* "16.0 MiB" style size into buf. */
const char *tc_opts_human(uint64_t bytes, char *buf, size_t cap);

/* Read a whole file of at most max bytes into a malloc'd *buf. */
int tc_cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, struct tc_err *err);
/*
 * Write buf to path atomically (temporary file, fsync, rename, fsync of the
 * directory) with mode. Without force an existing path is not replaced
 * (-EEXIST). 0 or a negative errno with a message naming the file.
 */
int tc_cli_write_file(const char *path, const void *buf, size_t len, unsigned mode, int force,
                      struct tc_err *err);
/* fsync the directory that holds path (after a rename into it). */
int tc_cli_sync_dir(const char *path);
/* Load a private key file (PEM). */
int tc_cli_load_private_key(const char *path, struct tc_key **key, struct tc_err *err);
/* Current time, seconds since the epoch. */
int64_t tc_cli_now(void);

/** The image policy options shared by verify and unpack (one code path). */
struct tc_cli_policy {
    const char *trust_dir;             /**< --trust DIR (required) */
    unsigned min_signatures;           /**< --min-signatures K (default 1) */
    const char *revocations;           /**< --revocations FILE, or NULL */
    const char *name;                  /**< --name N, or NULL */
    const char *min_version;           /**< --min-version V, or NULL */
    const char *pin;                   /**< --pin NAME@sha256:HEX as given, or NULL */
    char pin_name[TC_NAME_MAX + 1];    /**< the pin's name */
    uint8_t pin_digest[TC_SHA256_LEN]; /**< the pin's digest */
};

/** getopt_long codes of the policy options (above any short option). */
enum tc_cli_policy_opt {
    TC_OPT_TRUST = 0x100,
    TC_OPT_MIN_SIGNATURES,
    TC_OPT_REVOCATIONS,
    TC_OPT_NAME,
    TC_OPT_MIN_VERSION,
    TC_OPT_PIN,
};

/** The policy options' entries, to put into a command's struct option table. */
/* clang-format off */
#define TC_CLI_POLICY_LONGOPTS                                                                     \
    {"trust", required_argument, NULL, TC_OPT_TRUST},                                              \
    {"min-signatures", required_argument, NULL, TC_OPT_MIN_SIGNATURES},                            \
    {"revocations", required_argument, NULL, TC_OPT_REVOCATIONS},                                  \
    {"name", required_argument, NULL, TC_OPT_NAME},                                                \
    {"min-version", required_argument, NULL, TC_OPT_MIN_VERSION},                                  \
    {"pin", required_argument, NULL, TC_OPT_PIN}
/* clang-format on */

/** Their --help text. */
#define TC_CLI_POLICY_HELP                                                                         \
    "  --trust DIR            trusted public keys: every *.pub / *.pem file in DIR\n"              \
    "  --min-signatures K     distinct trusted signatures required (default 1)\n"                  \
    "  --revocations FILE     a signed revocation list (.tcrl) made by `treecast revoke`\n"        \
    "  --name N               refuse an image not named N\n"                                       \
    "  --min-version V        refuse an image older than version V\n"                              \
    "  --pin NAME@sha256:HEX  accept only exactly this image\n"

void tc_cli_policy_init(struct tc_cli_policy *p);
/*
 * Take option c with argument arg if it is a policy option: 1 if taken, 0 if
 * not a policy option, or TC_EXIT_USAGE negated (-2) after a usage message.
 */
int tc_cli_policy_option(struct tc_cli_policy *p, const char *cmd, int c, const char *arg);
/* After option parsing: check that the required options are there; 0 or an exit code. */
int tc_cli_policy_ready(const struct tc_cli_policy *p, const char *cmd);
/*
 * The one policy decision of verify and unpack: load the trust store and the
 * revocation list, then tc_trust_check() the image with the clock and the
 * build time. Prints what failed and returns an exit code (0 = accepted); v
 * receives the verdict.
 */
int tc_cli_policy_check(const struct tc_cli_policy *p, const char *cmd, const struct tc_imgfile *f,
                        struct tc_verdict *v);

/*
 * An ordered parallel pipeline: items 0..count-1 are worked on by threads in
 * parallel (each in a slot of its own, at most slots at once) and handed to
 * the caller strictly in order by tc_pipe_next(). A slot comes back with
 * tc_pipe_release(), from any thread, possibly after the caller handed its
 * buffer on (to the disk writer). The caller owns the per-slot buffers.
 */
struct tc_pipe;

/* Start threads workers running work(ctx, seq, slot) on each item. */
int tc_pipe_start(struct tc_pipe **out, int (*work)(void *ctx, uint64_t seq, unsigned slot),
                  void *ctx, unsigned threads, unsigned slots, uint64_t count);
/*
 * Wait for the next item in order: *seq and *slot receive it and the return
 * value is the work's rc; 1 when all count items have been returned.
 */
int tc_pipe_next(struct tc_pipe *p, uint64_t *seq, unsigned *slot);
void tc_pipe_release(struct tc_pipe *p, unsigned slot);
/* Stop the workers (finishing the items they hold) and join them. */
void tc_pipe_stop(struct tc_pipe *p);
/* Free (after tc_pipe_stop and after every slot holder is done with it). */
void tc_pipe_free(struct tc_pipe *p);

/* Escape s as a JSON string (with quotes) to f. */
void tc_cli_json_string(FILE *f, const char *s);

#endif /* TREECAST_SERVER_CLI_H */
