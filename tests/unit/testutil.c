// SPDX-License-Identifier: MIT
/*
 * Unit test helpers; see testutil.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treecast/be.h"
#include "treecast/chunk.h"

void tu_prng_seed(struct tu_prng *p, uint64_t seed)
{
    p->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t tu_prng_next(struct tu_prng *p)
{
    p->s ^= p->s >> 12;
    p->s ^= p->s << 25;
    p->s ^= p->s >> 27;
    return p->s * 0x2545f4914f6cdd1dull;
}

void tu_prng_fill(struct tu_prng *p, uint8_t *buf, size_t len)
{
    while (len) {
        uint64_t v = tu_prng_next(p);
        size_t n = len < 8 ? len : 8;

        memcpy(buf, &v, n);
        buf += n;
        len -= n;
    }
}

static int prng_fill(void *ctx, uint8_t *buf, size_t len)
{
    tu_prng_fill(ctx, buf, len);
    return 0;
}

struct tc_rng tu_rng(struct tu_prng *p)
{
    struct tc_rng r = {.fill = prng_fill, .ctx = p};

    return r;
}

static void die(const char *what, const struct tc_err *e)
{
    fprintf(stderr, "testutil: %s: %s\n", what, e->msg);
    abort();
}

struct tc_key *tu_ec_key(uint64_t seed)
{
    struct tu_prng p;
    struct tc_rng r;
    struct tc_key *k;
    struct tc_err e = {0};

    tu_prng_seed(&p, seed);
    r = tu_rng(&p);
    if (tc_key_generate(&k, TC_KEY_ECDSA_P256, &r, &e))
        die("ec keygen", &e);
    return k;
}

struct tc_key *tu_rsa_key(void)
{
    struct tc_key *k;
    struct tc_err e = {0};

    if (tc_key_parse_private(&k, (const uint8_t *)tu_rsa3072_key_pem, strlen(tu_rsa3072_key_pem),
                             &e))
        die("rsa key", &e);
    return k;
}

size_t tu_pub_pem(const struct tc_key *k, char *buf, size_t cap)
{
    size_t n = 0;

    if (tc_key_write_public_pem(k, buf, cap, &n))
        abort();
    return n;
}

void tu_image_make(struct tu_image *img, const struct tu_image_opts *o)
{
    struct tc_manifest_params p = {
        .name = o->name ? o->name : "demo",
        .version = o->version ? o->version : "1.0",
        .chunk_size = o->chunk_size ? o->chunk_size : TC_CHUNK_SIZE_MIN,
        .created = o->created ? o->created : TU_CREATED,
        .not_after = o->not_after ? o->not_after : TU_NOT_AFTER,
    };
    struct tc_manifest_blob boot[TC_BOOT_BLOBS];
    struct tc_manifest_chunk *chunks;
    struct tu_prng prng;
    struct tc_err e = {0};
    uint32_t count, i;
    size_t boot_len = 0;

    memset(img, 0, sizeof(*img));
    p.raw_size = o->raw_size ? o->raw_size : 5 * (uint64_t)p.chunk_size + p.chunk_size / 2;
    count = (uint32_t)((p.raw_size + p.chunk_size - 1) / p.chunk_size);
    img->raw_size = p.raw_size;
    img->raw = calloc(1, p.raw_size);
    chunks = calloc(count, sizeof(*chunks));
    if (o->boot)
        boot_len = 3000 + 2000 + 40;
    img->payload = malloc(p.raw_size + boot_len + 1);
    if (!img->raw || !chunks || !img->payload)
        abort();
    tu_prng_seed(&prng, o->seed + 1);
    for (i = 0; i < count; i++) {
        uint8_t *raw = img->raw + (uint64_t)i * p.chunk_size;
        uint64_t left = p.raw_size - (uint64_t)i * p.chunk_size;
        uint32_t len = left < p.chunk_size ? (uint32_t)left : p.chunk_size;
        enum tc_enc enc;
        size_t stored;

        if (i % 3 == 1) {
            tu_prng_fill(&prng, raw, len);
        } else if (i % 3 == 2) {
            uint32_t j;

            for (j = 0; j < len; j++)
                raw[j] = (uint8_t)("treecast chunk text "[j % 20] + (j / 4096) % 3);
        }
        if (tc_chunk_encode(raw, len, TC_CHUNK_LEVEL_DEFAULT, img->payload + img->payload_len, &enc,
                            &stored, &e))
            die("encode", &e);
        chunks[i].enc = (uint8_t)enc;
        chunks[i].stored_len = (uint32_t)stored;
        tc_sha256(img->payload + img->payload_len, stored, chunks[i].stored_hash);
        tc_sha256(raw, len, chunks[i].raw_hash);
        img->payload_len += stored;
    }
    if (o->boot) {
        static const size_t lens[TC_BOOT_BLOBS] = {3000, 2000, 40};

        for (i = 0; i < TC_BOOT_BLOBS; i++) {
            uint8_t *b = img->payload + img->payload_len;

            if (i == TC_BOOT_CMDLINE)
                memcpy(b, "root=/dev/sda1 console=ttyS0,115200 quiet", lens[i]);
            else
                tu_prng_fill(&prng, b, lens[i]);
            boot[i].len = lens[i];
            tc_sha256(b, lens[i], boot[i].hash);
            img->payload_len += lens[i];
        }
    }
    if (tc_manifest_build(&p, chunks, count, o->boot ? boot : NULL, &img->m, &e))
        die("manifest build", &e);
    free(chunks);
}

void tu_image_free(struct tu_image *img)
{
    free(img->raw);
    free(img->payload);
    tc_manifest_free(img->m);
    memset(img, 0, sizeof(*img));
}

uint8_t *tu_tcimg(const struct tu_image *img, const struct tc_sigblock *sb, size_t *len)
{
    struct tc_sigblock empty = {0};
    struct tc_tcimg_layout l = {0};
    size_t sb_len;
    uint8_t *buf;

    if (!sb)
        sb = &empty;
    l.manifest_off = TC_TCIMG_HEADER_LEN;
    l.manifest_len = img->m->len;
    l.payload_off = l.manifest_off + l.manifest_len;
    l.payload_len = img->payload_len;
    l.sigblock_off = l.payload_off + l.payload_len;
    l.sigblock_len = tc_sigblock_size(sb);
    l.file_size = l.sigblock_off + l.sigblock_len + TC_TCIMG_TRAILER_LEN;
    buf = malloc(l.file_size);
    if (!buf)
        abort();
    tc_tcimg_header_put(buf, &l);
    memcpy(buf + l.manifest_off, img->m->bytes, img->m->len);
    memcpy(buf + l.payload_off, img->payload, img->payload_len);
    if (tc_sigblock_serialize(sb, buf + l.sigblock_off, l.sigblock_len, &sb_len))
        abort();
    tc_tcimg_trailer_put(buf + l.sigblock_off + l.sigblock_len, &l);
    *len = l.file_size;
    return buf;
}

void tu_sign(struct tc_sigblock *sb, const struct tc_key *key, const struct tc_manifest *m,
             uint64_t seed)
{
    uint8_t digest[TC_SHA256_LEN];
    struct tu_prng p;
    struct tc_rng r;
    struct tc_err e = {0};

    tu_prng_seed(&p, seed);
    r = tu_rng(&p);
    tc_sig_digest(TC_DOMAIN_MANIFEST, m->bytes, m->len, digest);
    if (tc_sigblock_add(sb, key, &r, digest, &e) < 0)
        die("sign", &e);
}

/* Test keys, generated once with mbedTLS by a throwaway program. */
const char tu_rsa3072_key_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIG4wIBAAKCAYEA1+R/LsynUhHXO3Ea/HB4mGElVwgdFFhHtPCWfuXuhNMkKhGD\n"
    "fKK1dLUYt94jRxgioyRwwy4xgk6E+cYXq2UMHb3oNYI42lkdLSn8Q8kq0LYaWELI\n"
    "XXtrsxvltaqso2WDUW6lwD8dnRYtf67id1LPsH0FGvBvUlZF62ddtn3KC0i0xQwC\n"
    "1XvhxdgFWhp14jdNQFbqWeCF2QgZUzvByH+hBcTDdxFBKRNGbx5j77ThQvCIHyqF\n"
    "UW4sa/Hb7E1MuB31Mdq7UPhfSuDWsnUikI4SLczCcnEQ7gXXwa2VmWel+o9XE353\n"
    "ayWpUijxpvvozpxAeiaqk8rU5MYx1Ud7iu/fQw+Rnv0VWNa/2Eu3JHTuRqI8h6C5\n"
    "dKK2KMnsA5iLCtzZ+76FxrEP0e3u5IHUq8UucvkXdohhjizzDf0I0DtN2Yc72z1Q\n"
    "aKsf2uTAAr5euXq6nyHEcWFg5iRWWF++R2LfXegnymPkUi2kcRp7f7r6UrzeDRuE\n"
    "g2xjnr0cCZq5cS/tAgMBAAECggGABKjxXX/8MOoNgIJfj/6DJ9zZmrrkL8smWb+O\n"
    "AWAH/t901XX1Jdn4OzQ+e+zZoOr33RgdWU/UWz5DzLAL1OlUh97QazlBQ2Xu2omg\n"
    "YOaFG/tWRGdFSQ6ag5jw+Mkd5VVSA+O0xFpzEpqG3GLuD0p0YlhB0DP2NIDZYlb5\n"
    "P5tlop/iNlTySbaHvXFnz4BTNju12T3sXIjGCCoj1ndWJomqCYRr/f8GGPN0ztNe\n"
    "hQRyjp3qU5aOHp9sv4lj/cIptgQAJk8B32CVYQNYjQFiwdX8JYC2p3c0uU2NBrkZ\n"
    "FWXqUhztx66ghh8AytzhgdtBALpeFkxy9V/OCt8iOiwhNsLHd+Jq5u3gbkB8alPe\n"
    "PJfPm+7AUmMCDZOYt6uX3zr0p8UGoBhiDTltJlAx24odOzjuB3TeKkUC34mD/ihT\n"
    "CBQi+f81vXe4ddOr0Z0jVBlD1MJPYzplim75yFW87R0hXPfT/u2DFutbzmGKg52K\n"
    "29pZjODvijrxY5ZtZ2b/FY/F7AyRAoHBAO+VfX8nfYWeVhwHkBADfM2FR6VB46c0\n"
    "8t5/QetnhBkzxUSWhKhwc3RE+v6l9G600OEdCz0AKJvlsOwK+iSZwQq5dauZmhGh\n"
    "uu1QrSqbwQhUEATyOs347Hn8wkEpAFZeara8Tnga+o+HhcGTHRAcEO2fFZ2IGOH6\n"
    "qvVW3/SYxlleZea7aenTp1WB0nA+HPL5zrx8BmonOhd55xYmw6Ju/fDXlypm7Zcp\n"
    "wrW3y/BBH6F/i2k3V+4qEAI6UHiuPekksQKBwQDmr3Bzyzm0mY2o2nhL5R4xcqiK\n"
    "OEQ+TksaJNDK2cWcD4FZkAD7d8VfJgbXffW0fJcgDR6zLOz6+1wp4mML4b3iF/vi\n"
    "1uv8QSjIucG63IiLgAfmJDZ8+4D5aUYky4bF/DbQhX/ux9fOYUCSR9eYIfWIFbao\n"
    "uZ5ehOuLAt+giDut6WRwPTRR6BvjH2fd1CpOFh8UE6YzaVifut7x+z3bjnellj1j\n"
    "5lTl7uSViXqR1gv+/BEkvxk6hQ/DOg/bgpJV/f0CgcAszAjhI6MmvspfB1L6i4xk\n"
    "aU1SKxXEB/R5gdXzjDF4/OMfxf0b+Zq83MEJqEIiCREdZm7ZgxQUwkfoesz21wDv\n"
    "XmoQIfJa5aCsCu+2DdV0FzO/mQNBzA97Z7VytZXokFLnxCHv9ytuduqdnUJL5tOL\n"
    "erlx8Sal6lbY9Nt/QqmjwDDRia1uGTMqm9GbRyHmlKsBNzeD1b3Y8eQxkiH2V0aI\n"
    "J+eN+BzorNhJXgp169dcPRr2G3EHiTnhEMJHLl1JIKECgcEAhSFupoT8covDw1UB\n"
    "49sAh80CE3LRf5uzoAzrKoZvktcn8UY4Kug+UeEiRa795AGbPfYUZ5df1KDH2aw7\n"
    "ORo4eYkZ5xnd6yC3ps/9TBgF/WwQIvN3Nr32+vmUb5u91fjusXy6DlXq58Icf89S\n"
    "TwwaJUVSuyEUkrvnK7ymzoCQ4Jc3TccksLhhj7wKN21AVPxTR0Tnv/fmG5i/Hau/\n"
    "UTxxNHD2UPcWu/QYm2xR/mQnXCqgwjI/HxS3uhWCHU7HoTUJAoHAc4QotfHDmv22\n"
    "/DVwaMd7PJnFZWhi1AF6DOz1BYEdriKtZJVsBQ46uZErjQ9A/BIv5otXrNawK/2B\n"
    "MM7pEzQYnNI5lLP9TKZrd4eTNhA7BRLDeeELAOoNPUgzdK8zUY2WI5M8Vsk7ZPG3\n"
    "R5hT97DB6fe/11/JXxzfPGV8E9PvFGfLsHoP0OoZQ9WeFKpPsYzbHYU+jCOabOJC\n"
    "0FyNtHO8oraZIMjXEEK+/yhO4cVaqXpMRvj24w4ir2uWm5vLYYta\n"
    "-----END RSA PRIVATE KEY-----\n";

const char tu_rsa2048_key_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpQIBAAKCAQEA0wSUviTQBw8Ccn94wHEzBdLMd51gdPyTxHmJrh2yY/6Ujdyy\n"
    "ZPt/N2JUurpM2ck7+SIF0anp6P7Z3SgshCrb/CL764FY0gOvfvY4sjErkrXrCCmh\n"
    "s4yA7hhhmLfLZafO/xBew8h0YfalO4vNCTCgVDuYc4aPoK5afNiolz4GICZoBU6g\n"
    "TMVw3m3Bj49ktTL3TRSm5QxOrz9Gkn+SRmBZraqQV3T6cZ31FxxVqkD/C4AjQlIH\n"
    "zn8h6e4hAyzdUt2049VokdsAiXWGw3kLEuLo88+Z4hw2RvQ4kviaogswST6iy3Mv\n"
    "ELEky+MILwmFPompMRD9qyG9UDLqKf0vikWPuQIDAQABAoIBAANBbPAM2yUr7wKh\n"
    "z9TPcK7Hnhe/ie26hdpNC7nWQ6dor2I+6oVFuHE8ANWlESsQM6IrPoHwSEESSX2X\n"
    "F8ft1CYGl79kgZPMso6K/iK8Daskrlyz+iAuH0EZ7cuKFMb1OOuh4exmvjdSs4ez\n"
    "9Cf1PZjL48hVTG4ssnQYCmw6IAsRgjroUIMVaX8vyxPLMk9UGhcugfzxznL4Q1tY\n"
    "H3ZIEdsn4832Ej7+8EN4uOwktJ5TqLCjc6rvUuoVOac6wqQJkZxE81US3E4La5T5\n"
    "Hs2BPUZMe4/EpAzREw37Y1vvkA4pGDSO87sKxnoymtvEheTqvGDVAN2bU6tSWKks\n"
    "j7uyxPkCgYEA+lYv1eb1oCtDRjbt+4weo0z6475l7b86JmrDGfHA5xlWeGYIBPa9\n"
    "h1odVO1pNe72vU5JdlN1z53RfApRgpk2mSsrsDLJJZXVlXYllqJF/IZEjnVHiqvU\n"
    "i3FzRslqz7oEYKEn+gmARQkv1VAt8kcjc4fprQDvAGrZjxDYGyYe+S0CgYEA18qu\n"
    "a42oX4y7+UK8edBiVL0h5bkyi8iE9E0JQsejiiuSg8n1oPk/XBag+EO1vcKo/fgM\n"
    "cMWaVgR5etpRmfj5GrLs6pKe9plBSyklBqaIHddCt+kLgbBCRO3b++HPzUXxHuHq\n"
    "7AJ65ttQhDowGTKJZ3ilqEQQO/WgDQJnHBKy8D0CgYEA6BvTfJQJuHmEhezWWX7A\n"
    "xY7RrSpTXc4Jf6dLwJl7z4qZt0Z7NwcEEiSGv8Dk5UHs+vdEe/bEbD0bB9SVYO7o\n"
    "RbpWZqegAz5a65rBHVrWY16m4CNzsurBRo1pYf/NDk+eUW37IAWBLgFnnXQbNeGp\n"
    "yCwDiQotkAiCMflfNkTxQP0CgYEAiS+RM08be6M83XpP2CFiYfzbT/As8jDIVYek\n"
    "G5BPp8eLnb0HKw9J+IFqVGq3X6whQ1QulIMLWyP9Ft00g26E7zRQ6c/Mv3kuyVme\n"
    "8FturYnsIH9HkWs8thWBhOBJ+3Y7lCaL8v6go6NJzMYxTdOTBvTsW8zphTTiS2L7\n"
    "qh05JQECgYEAw+kmV7thZHqnqJjT5ziI408N9LW1N9Vd0lY6mPMMCAoKoq9Td6JE\n"
    "iVqGVII2oU6UQtmvWKWrPH7Iuz+iVsZoV7tTMhDr82qJvradpIjwKnk6dx7WvibK\n"
    "dsRcygpv0yFWhlhg+f0CsMmk+vVWDbkx2EcVxV2BLh0Z9eqW7pZhWnI=\n"
    "-----END RSA PRIVATE KEY-----\n";

const char tu_rsa2048_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0wSUviTQBw8Ccn94wHEz\n"
    "BdLMd51gdPyTxHmJrh2yY/6UjdyyZPt/N2JUurpM2ck7+SIF0anp6P7Z3SgshCrb\n"
    "/CL764FY0gOvfvY4sjErkrXrCCmhs4yA7hhhmLfLZafO/xBew8h0YfalO4vNCTCg\n"
    "VDuYc4aPoK5afNiolz4GICZoBU6gTMVw3m3Bj49ktTL3TRSm5QxOrz9Gkn+SRmBZ\n"
    "raqQV3T6cZ31FxxVqkD/C4AjQlIHzn8h6e4hAyzdUt2049VokdsAiXWGw3kLEuLo\n"
    "88+Z4hw2RvQ4kviaogswST6iy3MvELEky+MILwmFPompMRD9qyG9UDLqKf0vikWP\n"
    "uQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

const char tu_p384_pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAExO4bgReSRGvdf98mfZ+KAYmRGttyd0fU\n"
                               "D9lPMG8NwTwmLZb28HqORxiwH8qxN9TWjy9uogBbwvn0lse2EtNRCNdjNenlIcuF\n"
                               "CHnuJPAL/ZKOWR+FVIQamp+Kpxm4DUti\n"
                               "-----END PUBLIC KEY-----\n";

const char tu_p384_key_pem[] = "-----BEGIN EC PRIVATE KEY-----\n"
                               "MIGkAgEBBDC8UvcgYLhkyvNNZnjNnwLUhb7A1hjOoFJ5fknagpWcHFsu6oGs+A98\n"
                               "TSGvgyNKYT2gBwYFK4EEACKhZANiAATE7huBF5JEa91/3yZ9n4oBiZEa23J3R9QP\n"
                               "2U8wbw3BPCYtlvbweo5HGLAfyrE31NaPL26iAFvC+fSWx7YS01EI12M16eUhy4UI\n"
                               "ee4k8Av9ko5ZH4VUhBqan4qnGbgNS2I=\n"
                               "-----END EC PRIVATE KEY-----\n";
