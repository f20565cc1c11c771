// SPDX-License-Identifier: MIT
/*
 * `treecast serve` HTTP status endpoint on libmicrohttpd in external epoll
 * mode: no thread of its own. The main loop polls tc_serve_http_fd() and
 * calls tc_serve_http_run() when it is readable or its timeout passed, so the
 * handlers read the seeder core from the main thread, between two core
 * calls. We make the listening socket ourselves to report exactly why it
 * cannot be bound. Endpoints: GET /api/v1/session, /api/v1/nodes, /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve.h"

/** Backlog of the listening socket, connections. */
#define HTTP_LISTEN_BACKLOG 16

/** The endpoint. */
struct tc_serve_http {
    struct MHD_Daemon *d; /**< the daemon (owns the listening socket once started) */
    struct tc_serve *sv;  /**< what it reports */
    int epoll_fd;         /**< the daemon's epoll descriptor, to poll */
};

/** One page: renders its body into f. */
struct http_page {
    const char *url;                              /**< exact path */
    const char *type;                             /**< Content-Type */
    void (*render)(struct tc_serve *sv, FILE *f); /**< the body */
};

/**
 * /api/v1/session body.
 */
static void render_session(struct tc_serve *sv, FILE *f)
{
    tc_serve_json_session(sv, f, 0);
    fputc('\n', f);
}

/**
 * /api/v1/nodes body.
 */
static void render_nodes(struct tc_serve *sv, FILE *f)
{
    tc_serve_json_nodes(sv, f);
    fputc('\n', f);
}

static const struct http_page http_pages[] = {
    {"/api/v1/session", "application/json", render_session},
    {"/api/v1/nodes", "application/json", render_nodes},
    {"/metrics", "text/plain; version=0.0.4; charset=utf-8", tc_serve_metrics},
};

/**
 * Queue a response with a malloc'd body (MHD frees it) or a static text.
 */
static enum MHD_Result http_reply(struct MHD_Connection *c, unsigned code, const char *type,
                                  char *body, size_t len, int owned)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, body,
                                        owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/**
 * The request handler: GET (or HEAD) of a known page, else 404 / 405.
 */
static enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    static char not_found[] = "not found: try /api/v1/session, /api/v1/nodes or /metrics\n";
    static char not_allowed[] = "only GET is served\n";
    struct tc_serve_http *h = cls;
    char *body = NULL;
    size_t len = 0, i;
    FILE *f;

    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        /* first call: headers only; answer on the next one */
        *con_cls = h;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* a body is read and ignored */
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
                          sizeof(not_allowed) - 1, 0);
    for (i = 0; i < sizeof(http_pages) / sizeof(http_pages[0]); i++) {
        if (strcmp(url, http_pages[i].url) != 0)
            continue;
        f = open_memstream(&body, &len);
        if (!f)
            return MHD_NO;
        http_pages[i].render(h->sv, f);
        if (fclose(f) != 0) {
            free(body);
            return MHD_NO;
        }
        return http_reply(c, MHD_HTTP_OK, http_pages[i].type, body, len, 1);
    }
    return http_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1, 0);
}

/**
 * Start the endpoint on addr:port.
 */
int tc_serve_http_start(struct tc_serve_http **out, struct tc_serve *sv, uint32_t addr,
                        uint16_t port, struct tc_err *err)
{
    const union MHD_DaemonInfo *info;
    struct tc_serve_http *h;
    struct sockaddr_in sa;
    char where[32];
    int fd, one = 1, rc;

    *out = NULL;
    tc_udp_peer_str(where, sizeof(where), (struct tc_proto_peer){addr, port});
    h = calloc(1, sizeof(*h));
    if (!h)
        return tc_err_set(err, -ENOMEM, "out of memory for the HTTP endpoint");
    h->sv = sv;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        tc_err_set(err, rc, "HTTP %s: socket: %s", where, strerror(-rc));
        goto err_free;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    sa.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
        rc = -errno;
        if (rc == -EADDRINUSE)
            tc_err_set(err, rc, "HTTP %s is in use by another program", where);
        else if (rc == -EADDRNOTAVAIL)
            tc_err_set(err, rc, "cannot listen on HTTP %s: the address is not on this machine",
                       where);
        else
            tc_err_set(err, rc, "cannot listen on HTTP %s: %s", where, strerror(-rc));
        goto err_close;
    }
    h->d = MHD_start_daemon(MHD_USE_EPOLL, port, NULL, NULL, http_handler, h,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)TC_SERVE_HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)TC_SERVE_HTTP_IDLE_S, MHD_OPTION_END);
    if (!h->d) {
        rc = tc_err_set(err, -EIO, "HTTP %s: libmicrohttpd did not start", where);
        goto err_close;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        MHD_stop_daemon(h->d);
        rc = tc_err_set(err, -EIO, "HTTP %s: libmicrohttpd has no epoll descriptor", where);
        goto err_close;
    }
    h->epoll_fd = info->epoll_fd;
    *out = h;
    return 0;

err_close:
    close(fd);
err_free:
    free(h);
    return rc;
}

/**
 * The descriptor to poll.
 */
int tc_serve_http_fd(const struct tc_serve_http *h)
{
    return h->epoll_fd;
}

/**
 * The daemon's own timeout (idle connections), ms; -1 for none.
 */
int64_t tc_serve_http_timeout_ms(const struct tc_serve_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(h->d, &ms) != MHD_YES)
        return -1;
    return ms > INT64_MAX ? INT64_MAX : (int64_t)ms;
}

/**
 * Serve what is ready.
 */
void tc_serve_http_run(struct tc_serve_http *h)
{
    (void)MHD_run(h->d);
}

/**
 * Stop; MHD closes the listening socket it was given.
 */
void tc_serve_http_stop(struct tc_serve_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
