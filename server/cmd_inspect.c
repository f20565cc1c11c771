// SPDX-License-Identifier: MIT
/*
 * `treecast inspect`: what an image is, for people and (--json) for scripts.
 * Reads the header, manifest and signature block only; judges nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "treecast/chunk.h"
#include "treecast/imgfile.h"
#include "treecast/tctime.h"

static const char inspect_help[] =
    "Usage: treecast inspect [--json] [--chunks] IMAGE.tcimg\n"
    "\n"
    "Describe IMAGE.tcimg: name, version, pin, sizes, chunks by encoding, dates,\n"
    "signatures (key ids and algorithms), block-hash section and boot section.\n"
    "Checks the file's structure but no signature or chunk: use `treecast verify`\n"
    "for that.\n"
    "\n"
    "Options:\n"
    "  --json     one JSON object with stable keys (see docs/tools.md)\n"
    "  --chunks   also list every chunk: encoding, offset in the file, stored length\n"
    "  --help     this text\n";

static const char *const inspect_blob_names[TC_BOOT_BLOBS] = {"kernel", "initrd", "cmdline"};

/** Counts and totals derived from the manifest. */
struct inspect_sums {
    unsigned counts[3]; /**< chunks by encoding */
    int chunks;         /**< --chunks: list every chunk */
};

/**
 * Print a date, or "never".
 */
static const char *inspect_date(int64_t t, char buf[TC_RFC3339_LEN])
{
    if (t == TC_TIME_NEVER || tc_time_format(t, buf) < 0)
        snprintf(buf, TC_RFC3339_LEN, "never");
    return buf;
}

/**
 * Copy the cmdline blob into a NUL-terminated buffer (it is stored without NUL).
 */
static void inspect_cmdline(const struct tc_imgfile *f, char *buf, size_t cap)
{
    size_t len;
    const uint8_t *p = tc_imgfile_blob(f, TC_BOOT_CMDLINE, &len);

    buf[0] = '\0';
    if (!p)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
}

/**
 * The JSON form. Keys are stable; numbers are exact integers; dates RFC 3339
 * (not_after is null when the image never expires); digests lower-case hex.
 */
static void inspect_json(const struct tc_imgfile *f, const struct inspect_sums *s)
{
    const struct tc_manifest *m = f->manifest;
    char pin[TC_CLI_PIN_MAX], hex[2 * TC_SHA256_LEN + 1], date[TC_RFC3339_LEN];
    char cmdline[TC_BOOT_CMDLINE_MAX + 1];
    unsigned i;

    printf("{\n  \"file\": ");
    tc_cli_json_string(stdout, f->path);
    printf(",\n  \"file_size\": %llu,\n", (unsigned long long)f->layout.file_size);
    printf("  \"format_version\": %u,\n", m->format_version);
    printf("  \"name\": ");
    tc_cli_json_string(stdout, m->name);
    printf(",\n  \"version\": ");
    tc_cli_json_string(stdout, m->version);
    printf(",\n  \"pin\": ");
    tc_cli_json_string(stdout, tc_manifest_pin(m, pin, sizeof(pin)));
    printf(",\n  \"image_digest\": \"%s\",\n", tc_hex(hex, m->image_digest, TC_SHA256_LEN));
    printf("  \"raw_size\": %llu,\n", (unsigned long long)m->raw_size);
    printf("  \"chunk_size\": %u,\n", m->chunk_size);
    printf("  \"chunk_count\": %u,\n", m->chunk_count);
    printf("  \"seg_size\": %u,\n", m->seg_size);
    printf("  \"chunks\": {\"zero\": %u, \"raw\": %u, \"deflate\": %u},\n", s->counts[0],
           s->counts[1], s->counts[2]);
    printf("  \"stored_bytes\": %llu,\n", (unsigned long long)m->stored_chunk_bytes);
    printf("  \"payload_bytes\": %llu,\n", (unsigned long long)m->payload_len);
    printf("  \"manifest_bytes\": %zu,\n", m->len);
    printf("  \"ratio\": %.3f,\n",
           m->stored_chunk_bytes ? (double)m->raw_size / (double)m->stored_chunk_bytes : 0.0);
    printf("  \"created\": \"%s\",\n", inspect_date(m->created, date));
    if (m->not_after == TC_TIME_NEVER)
        printf("  \"not_after\": null,\n");
    else
        printf("  \"not_after\": \"%s\",\n", inspect_date(m->not_after, date));
    printf("  \"signatures\": [");
    for (i = 0; i < f->sigs.count; i++) {
        const struct tc_sig *sg = &f->sigs.sigs[i];
        printf("%s\n    {\"key_id\": \"%s\", \"alg\": ", i ? "," : "",
               tc_hex(hex, sg->key_id, TC_KEY_ID_LEN));
        tc_cli_json_string(stdout, tc_sig_alg_name((enum tc_sig_alg)sg->alg));
        printf(", \"len\": %u}", sg->len);
    }
    printf("%s],\n", f->sigs.count ? "\n  " : "");
    if (s->chunks) {
        printf("  \"chunk_list\": [");
        for (i = 0; i < m->chunk_count; i++) {
            const struct tc_manifest_chunk *c = &m->chunks[i];
            printf("%s\n    {\"index\": %u, \"enc\": \"%s\", \"offset\": %llu, "
                   "\"stored_len\": %u, \"raw_len\": %u, ",
                   i ? "," : "", i, tc_enc_name((enum tc_enc)c->enc),
                   (unsigned long long)(f->layout.payload_off + c->stored_off), c->stored_len,
                   tc_manifest_chunk_raw_len(m, i));
            printf("\"stored_sha256\": \"%s\", ", tc_hex(hex, c->stored_hash, TC_SHA256_LEN));
            printf("\"raw_sha256\": \"%s\", ", tc_hex(hex, c->raw_hash, TC_SHA256_LEN));
            if (m->list_hash)
                printf("\"list_sha256\": \"%s\"}",
                       tc_hex(hex, m->list_hash + (size_t)i * TC_MANIFEST_LIST_HASH_LEN,
                              TC_MANIFEST_LIST_HASH_LEN));
            else
                printf("\"list_sha256\": null}");
        }
        printf("\n  ],\n");
    }
    if (!m->has_boot) {
        printf("  \"boot\": null\n}\n");
        return;
    }
    printf("  \"boot\": {");
    for (i = 0; i < TC_BOOT_BLOBS; i++) {
        printf("%s\n    \"%s\": ", i ? "," : "", inspect_blob_names[i]);
        if (m->boot[i].len == 0) {
            printf("null");
            continue;
        }
        printf("{\"len\": %llu, \"sha256\": \"%s\"", (unsigned long long)m->boot[i].len,
               tc_hex(hex, m->boot[i].hash, TC_SHA256_LEN));
        if (i == TC_BOOT_CMDLINE) {
            inspect_cmdline(f, cmdline, sizeof(cmdline));
            printf(", \"text\": ");
            tc_cli_json_string(stdout, cmdline);
        }
        printf("}");
    }
    printf("\n  }\n}\n");
}

/**
 * The human form. The cmdline is printed with non-printable bytes escaped.
 */
static void inspect_text(const struct tc_imgfile *f, const struct inspect_sums *s)
{
    const struct tc_manifest *m = f->manifest;
    char pin[TC_CLI_PIN_MAX], hex[2 * TC_SHA256_LEN + 1], date[TC_RFC3339_LEN], hs[2][32];
    char cmdline[TC_BOOT_CMDLINE_MAX + 1];
    unsigned i;

    printf("%s\n", f->path);
    printf("  name        %s\n", m->name);
    printf("  version     %s\n", m->version);
    printf("  pin         %s\n", tc_manifest_pin(m, pin, sizeof(pin)));
    printf("  raw size    %llu bytes (%s)\n", (unsigned long long)m->raw_size,
           tc_opts_human(m->raw_size, hs[0], sizeof(hs[0])));
    printf("  chunks      %u of %s: %u zero, %u raw, %u deflate\n", m->chunk_count,
           tc_opts_human(m->chunk_size, hs[1], sizeof(hs[1])), s->counts[0], s->counts[1],
           s->counts[2]);
    printf("  stored      %llu bytes (%s), ratio %.2f\n", (unsigned long long)m->stored_chunk_bytes,
           tc_opts_human(m->stored_chunk_bytes, hs[0], sizeof(hs[0])),
           m->stored_chunk_bytes ? (double)m->raw_size / (double)m->stored_chunk_bytes : 0.0);
    printf("  file        %llu bytes (manifest %zu)\n", (unsigned long long)f->layout.file_size,
           m->len);
    printf("  created     %s\n", inspect_date(m->created, date));
    printf("  not after   %s\n", inspect_date(m->not_after, date));
    printf("  signatures  %u%s\n", f->sigs.count, f->sigs.count ? "" : " (unsigned)");
    for (i = 0; i < f->sigs.count; i++)
        printf("    %s  %s\n", tc_hex(hex, f->sigs.sigs[i].key_id, TC_KEY_ID_LEN),
               tc_sig_alg_name((enum tc_sig_alg)f->sigs.sigs[i].alg));
    if (s->chunks) {
        printf("  chunk list  index  encoding  file offset  stored bytes  raw SHA-256\n");
        for (i = 0; i < m->chunk_count; i++) {
            const struct tc_manifest_chunk *c = &m->chunks[i];
            printf("    %9u  %-8s  %11llu  %12u  %.16s..\n", i, tc_enc_name((enum tc_enc)c->enc),
                   (unsigned long long)(f->layout.payload_off + c->stored_off), c->stored_len,
                   tc_hex(hex, c->raw_hash, TC_SHA256_LEN));
        }
    }
    if (m->seg_size)
        printf("  block hashes seg_size %u\n", m->seg_size);
    else
        printf("  block hashes none\n");
    if (!m->has_boot) {
        printf("  boot        none\n");
        return;
    }
    printf("  boot\n");
    for (i = 0; i < TC_BOOT_BLOBS; i++) {
        if (m->boot[i].len == 0) {
            printf("    %-8s none\n", inspect_blob_names[i]);
            continue;
        }
        printf("    %-8s %llu bytes, sha256 %s\n", inspect_blob_names[i],
               (unsigned long long)m->boot[i].len, tc_hex(hex, m->boot[i].hash, TC_SHA256_LEN));
    }
    if (m->boot[TC_BOOT_CMDLINE].len) {
        const unsigned char *p;
        inspect_cmdline(f, cmdline, sizeof(cmdline));
        p = (const unsigned char *)cmdline;
        printf("    text     ");
        for (; *p; p++) {
            if (*p >= 0x20 && *p < 0x7f)
                putchar(*p);
            else
                printf("\\x%02x", *p);
        }
        putchar('\n');
    }
}

/**
 * `treecast inspect`.
 */
int tc_cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"chunks", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "inspect";
    struct tc_imgfile *f = NULL;
    struct inspect_sums s;
    struct tc_err err;
    int json = 0, chunks = 0, c, rc;
    uint32_t i;

    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'c':
            chunks = 1;
            break;
        case 'h':
            fputs(inspect_help, stdout);
            return TC_EXIT_OK;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if (argc - optind != 1)
        return tc_cli_usage(cmd, "expected one IMAGE.tcimg, got %d arguments", argc - optind);
    tc_err_clear(&err);
    rc = tc_imgfile_open(&f, argv[optind], 0, &err);
    if (rc < 0)
        return tc_cli_fail(cmd, rc, TC_PHASE_IMAGE, &err);
    memset(&s, 0, sizeof(s));
    s.chunks = chunks;
    for (i = 0; i < f->manifest->chunk_count; i++)
        s.counts[f->manifest->chunks[i].enc < 3 ? f->manifest->chunks[i].enc : 0]++;
    if (json)
        inspect_json(f, &s);
    else
        inspect_text(f, &s);
    tc_imgfile_close(f);
    return TC_EXIT_OK;
}
