// SPDX-License-Identifier: MIT
/*
 * os/ UDP sockets backend (include/treecast/udp.h): one non-blocking IPv4
 * socket, multicast tied to one interface, sendmmsg()/recvmmsg() batches.
 *
 * The receive ring (TC_UDP_RX_BATCH_MAX buffers of TC_UDP_DGRAM_MAX bytes
 * plus one byte to see truncation, and their control buffers) is allocated
 * at open; sending and receiving do not allocate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "treecast/udp.h"

/** Control buffer per received datagram: IP_PKTINFO and SO_RXQ_OVFL. */
#define RX_CMSG_LEN (CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(uint32_t)))
/** A received datagram longer than this was truncated (one spare byte). */
#define RX_BUF_LEN (TC_UDP_DGRAM_MAX + 1u)

struct tc_udp {
    int fd;                 /**< the socket */
    int ifindex;            /**< the multicast interface */
    char ifname[IFNAMSIZ];  /**< its name (messages) */
    uint16_t port;          /**< bound port */
    uint8_t *rx_bufs;       /**< TC_UDP_RX_BATCH_MAX x RX_BUF_LEN */
    uint8_t *rx_cmsg;       /**< TC_UDP_RX_BATCH_MAX x RX_CMSG_LEN */
    struct tc_udp_stats st; /**< counters */
};

/** An IPv4 socket address from a peer (host order in, network order out). */
static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    sa.sin_port = htons(port);
    return sa;
}

char *tc_udp_peer_str(char *buf, size_t cap, struct tc_proto_peer p)
{
    snprintf(buf, cap, "%u.%u.%u.%u:%u", p.addr >> 24, (p.addr >> 16) & 0xffu,
             (p.addr >> 8) & 0xffu, p.addr & 0xffu, p.port);
    return buf;
}

int tc_udp_parse_peer(const char *s, struct tc_proto_peer *out)
{
    unsigned long v[4], port;
    const char *p = s;
    char *end;
    int i;

    for (i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v[i] = strtoul(p, &end, 10);
        if (v[i] > 255 || end - p > 3)
            return -EINVAL;
        p = end;
        if (i < 3) {
            if (*p != '.')
                return -EINVAL;
            p++;
        }
    }
    out->addr = (uint32_t)(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
    if (*p == '\0')
        return 0;
    if (*p != ':' || p[1] < '0' || p[1] > '9')
        return -EINVAL;
    port = strtoul(p + 1, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535)
        return -EINVAL;
    out->port = (uint16_t)port;
    return 0;
}

/** One interface ioctl on a scratch socket; -errno on failure. */
static int if_ioctl(int fd, unsigned long req, struct ifreq *ifr)
{
    return ioctl(fd, req, ifr) < 0 ? -errno : 0;
}

int tc_udp_iface(const char *name, struct tc_udp_iface *out, struct tc_err *err)
{
    struct ifreq ifr;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ)
        return tc_err_set(err, -EINVAL, "interface name '%s' is empty or too long",
                          name ? name : "");
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return tc_err_set(err, -errno, "socket: %s", strerror(errno));
    snprintf(out->name, sizeof(out->name), "%s", name);
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    rc = if_ioctl(fd, SIOCGIFINDEX, &ifr);
    if (rc < 0) {
        tc_err_set(err, -ENODEV, "no interface named %s", name);
        rc = -ENODEV;
        goto out;
    }
    out->index = ifr.ifr_ifindex;
    rc = if_ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc < 0) {
        tc_err_set(err, rc, "interface %s: flags: %s", name, strerror(-rc));
        goto out;
    }
    out->up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
    out->multicast = (ifr.ifr_flags & IFF_MULTICAST) != 0;
    rc = if_ioctl(fd, SIOCGIFMTU, &ifr);
    if (rc < 0) {
        tc_err_set(err, rc, "interface %s: MTU: %s", name, strerror(-rc));
        goto out;
    }
    out->mtu = (uint32_t)ifr.ifr_mtu;
    if (if_ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
        memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
    /* no IPv4 address is not an error here: the caller decides */
    if (if_ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
        out->addr = ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr);
        if (if_ioctl(fd, SIOCGIFNETMASK, &ifr) == 0)
            out->prefix = (uint32_t)__builtin_popcount(
                ((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr);
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/** Ask for a socket buffer of len bytes: the FORCE option as root, else the
 * plain one (capped by the sysctl maximum). */
static void set_buf(int fd, int force_opt, int opt, uint32_t len)
{
    int v = len > (uint32_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)len;

    if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

int tc_udp_open(struct tc_udp **out, const struct tc_udp_opts *o, struct tc_err *err)
{
    struct tc_udp_iface ifc;
    struct tc_udp *u;
    struct sockaddr_in sa;
    struct ip_mreqn mr;
    socklen_t salen = sizeof(sa);
    char pb[32];
    int one = 1, zero = 0, ttl, loop, rc;

    *out = NULL;
    rc = tc_udp_iface(o->iface, &ifc, err);
    if (rc < 0)
        return rc;
    u = calloc(1, sizeof(*u));
    if (!u)
        return tc_err_set(err, -ENOMEM, "out of memory for the UDP socket");
    u->fd = -1;
    u->ifindex = ifc.index;
    snprintf(u->ifname, sizeof(u->ifname), "%s", ifc.name);
    u->rx_bufs = malloc((size_t)TC_UDP_RX_BATCH_MAX * RX_BUF_LEN);
    u->rx_cmsg = malloc((size_t)TC_UDP_RX_BATCH_MAX * RX_CMSG_LEN);
    if (!u->rx_bufs || !u->rx_cmsg) {
        rc = tc_err_set(err, -ENOMEM, "out of memory for the UDP receive ring");
        goto err_free;
    }
    u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) {
        rc = tc_err_set(err, -errno, "socket: %s", strerror(errno));
        goto err_free;
    }
    set_buf(u->fd, SO_RCVBUFFORCE, SO_RCVBUF, o->rcvbuf ? o->rcvbuf : TC_UDP_SOCKBUF_DEFAULT);
    set_buf(u->fd, SO_SNDBUFFORCE, SO_SNDBUF, o->sndbuf ? o->sndbuf : TC_UDP_SOCKBUF_DEFAULT);
    (void)setsockopt(u->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
        /* only the groups this socket joined, not every group of the host */
        setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero)) < 0) {
        rc = tc_err_set(err, -errno, "socket options: %s", strerror(errno));
        goto err_free;
    }
    memset(&mr, 0, sizeof(mr));
    mr.imr_ifindex = ifc.index;
    ttl = o->mcast_ttl ? o->mcast_ttl : 1;
    loop = o->mcast_loop ? 1 : 0;
    if (setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0 ||
        setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0) {
        rc = tc_err_set(err, -errno, "interface %s: multicast options: %s", ifc.name,
                        strerror(errno));
        goto err_free;
    }
    sa = sin_of(o->bind_addr, o->port);
    if (bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        tc_udp_peer_str(pb, sizeof(pb), (struct tc_proto_peer){o->bind_addr, o->port});
        if (rc == -EADDRINUSE)
            tc_err_set(err, rc, "UDP %s is in use by another program", pb);
        else if (rc == -EADDRNOTAVAIL)
            tc_err_set(err, rc, "cannot bind UDP %s: the address is not on this machine", pb);
        else
            tc_err_set(err, rc, "cannot bind UDP %s: %s", pb, strerror(-rc));
        goto err_free;
    }
    if (getsockname(u->fd, (struct sockaddr *)&sa, &salen) < 0) {
        rc = tc_err_set(err, -errno, "getsockname: %s", strerror(errno));
        goto err_free;
    }
    u->port = ntohs(sa.sin_port);
    *out = u;
    return 0;

err_free:
    tc_udp_close(u);
    return rc;
}

void tc_udp_close(struct tc_udp *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    free(u->rx_bufs);
    free(u->rx_cmsg);
    free(u);
}

int tc_udp_fd(const struct tc_udp *u)
{
    return u->fd;
}

uint16_t tc_udp_port(const struct tc_udp *u)
{
    return u->port;
}

int tc_udp_group(struct tc_udp *u, int join, uint32_t group, struct tc_err *err)
{
    struct ip_mreqn mr;
    char pb[32];
    int rc;

    memset(&mr, 0, sizeof(mr));
    mr.imr_multiaddr.s_addr = htonl(group);
    mr.imr_ifindex = u->ifindex;
    if (setsockopt(u->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mr,
                   sizeof(mr)) == 0)
        return 0;
    rc = -errno;
    /* joined already / not joined: the wanted state holds */
    if ((join && rc == -EADDRINUSE) || (!join && rc == -EADDRNOTAVAIL))
        return 0;
    tc_udp_peer_str(pb, sizeof(pb), (struct tc_proto_peer){group, 0});
    pb[strlen(pb) - 2] = '\0'; /* drop ":0" */
    return tc_err_set(err, rc, "cannot %s multicast group %s on %s: %s", join ? "join" : "leave",
                      pb, u->ifname, strerror(-rc));
}

int tc_udp_check_route(struct tc_udp *u, uint32_t group, struct tc_err *err)
{
    struct tc_udp_iface ifc;
    struct sockaddr_in sa = sin_of(group, u->port ? u->port : TC_PROTO_PORT_DEFAULT);
    struct ip_mreqn mr;
    char pb[32];
    int fd, rc;

    tc_udp_peer_str(pb, sizeof(pb), (struct tc_proto_peer){group, 0});
    pb[strlen(pb) - 2] = '\0';
    if ((group >> 28) != 0xEu)
        return tc_err_set(err, -EINVAL, "%s is not a multicast address (224.0.0.0/4)", pb);
    rc = tc_udp_iface(u->ifname, &ifc, err);
    if (rc < 0)
        return rc;
    if (!ifc.up)
        return tc_err_set(err, -ENETDOWN, "interface %s is down: no multicast route to %s",
                          u->ifname, pb);
    if (!ifc.multicast)
        return tc_err_set(err, -ENETUNREACH,
                          "interface %s does not do multicast (no IFF_MULTICAST): no "
                          "multicast route to %s",
                          u->ifname, pb);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return tc_err_set(err, -errno, "socket: %s", strerror(errno));
    memset(&mr, 0, sizeof(mr));
    mr.imr_ifindex = u->ifindex;
    rc = 0;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        tc_err_set(err, rc, "no multicast route to %s through %s: %s", pb, u->ifname,
                   strerror(-rc));
    }
    close(fd);
    return rc;
}

int tc_udp_send(struct tc_udp *u, const struct tc_proto_dgram *d, size_t n)
{
    struct mmsghdr mm[TC_UDP_TX_BATCH_MAX];
    struct sockaddr_in sa[TC_UDP_TX_BATCH_MAX];
    struct iovec iov[TC_UDP_TX_BATCH_MAX];
    size_t i = 0, k, batch, sent = 0;
    int r;

    while (i < n) {
        batch = n - i < TC_UDP_TX_BATCH_MAX ? n - i : TC_UDP_TX_BATCH_MAX;
        memset(mm, 0, batch * sizeof(mm[0]));
        for (k = 0; k < batch; k++) {
            sa[k] = sin_of(d[i + k].to.addr, d[i + k].to.port);
            iov[k].iov_base = (void *)d[i + k].buf;
            iov[k].iov_len = d[i + k].len;
            mm[k].msg_hdr.msg_name = &sa[k];
            mm[k].msg_hdr.msg_namelen = sizeof(sa[k]);
            mm[k].msg_hdr.msg_iov = &iov[k];
            mm[k].msg_hdr.msg_iovlen = 1;
        }
        r = sendmmsg(u->fd, mm, (unsigned)batch, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                u->st.tx_again += n - i;
                break;
            }
            /* this datagram cannot go (an address the kernel refuses):
             * count it and go on with the rest */
            u->st.tx_errors++;
            i++;
            continue;
        }
        for (k = 0; k < (size_t)r; k++) {
            u->st.tx_bytes += d[i + k].len;
            u->st.tx_wire_bytes += d[i + k].len + TC_PROTO_WIRE_OVERHEAD;
        }
        u->st.tx_dgrams += (uint64_t)r;
        sent += (size_t)r;
        i += (size_t)r;
    }
    return (int)sent;
}

int tc_udp_recv(struct tc_udp *u, struct tc_udp_rx *rx, unsigned max)
{
    struct mmsghdr mm[TC_UDP_RX_BATCH_MAX];
    struct sockaddr_in sa[TC_UDP_RX_BATCH_MAX];
    struct iovec iov[TC_UDP_RX_BATCH_MAX];
    struct cmsghdr *c;
    unsigned k, n = 0;
    int r;

    if (max > TC_UDP_RX_BATCH_MAX)
        max = TC_UDP_RX_BATCH_MAX;
    if (max == 0)
        return 0;
    memset(mm, 0, max * sizeof(mm[0]));
    for (k = 0; k < max; k++) {
        iov[k].iov_base = u->rx_bufs + (size_t)k * RX_BUF_LEN;
        iov[k].iov_len = RX_BUF_LEN;
        mm[k].msg_hdr.msg_name = &sa[k];
        mm[k].msg_hdr.msg_namelen = sizeof(sa[k]);
        mm[k].msg_hdr.msg_iov = &iov[k];
        mm[k].msg_hdr.msg_iovlen = 1;
        mm[k].msg_hdr.msg_control = u->rx_cmsg + (size_t)k * RX_CMSG_LEN;
        mm[k].msg_hdr.msg_controllen = RX_CMSG_LEN;
    }
    do {
        r = recvmmsg(u->fd, mm, max, MSG_DONTWAIT, NULL);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (k = 0; k < (unsigned)r; k++) {
        struct msghdr *h = &mm[k].msg_hdr;

        if ((h->msg_flags & MSG_TRUNC) || mm[k].msg_len > TC_UDP_DGRAM_MAX) {
            u->st.rx_truncated++;
            continue;
        }
        rx[n].from.addr = ntohl(sa[k].sin_addr.s_addr);
        rx[n].from.port = ntohs(sa[k].sin_port);
        rx[n].to_addr = 0;
        for (c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;

                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                rx[n].to_addr = ntohl(pi.ipi_addr.s_addr);
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                uint32_t drops;

                memcpy(&drops, CMSG_DATA(c), sizeof(drops));
                u->st.rx_drops = drops;
            }
        }
        rx[n].buf = iov[k].iov_base;
        rx[n].len = mm[k].msg_len;
        u->st.rx_dgrams++;
        u->st.rx_bytes += mm[k].msg_len;
        n++;
    }
    return (int)n;
}

const struct tc_udp_stats *tc_udp_stats(const struct tc_udp *u)
{
    return &u->st;
}
