/* SPDX-License-Identifier: MIT */
/*
 * os/ UDP sockets backend of the seeder (`treecast serve`) and of
 * treecast-agent's kernel-sockets mode: one non-blocking IPv4 UDP socket
 * bound to a port (and optionally an address), tied to one interface for
 * multicast (IP_MULTICAST_IF, IP_ADD_MEMBERSHIP with the interface's index),
 * large socket buffers, batched send (sendmmsg) and receive (recvmmsg).
 *
 * Addresses are struct tc_proto_peer (host byte order) as the cores use
 * them. Errors name the interface, address and port and the system error.
 */
#ifndef TREECAST_UDP_H
#define TREECAST_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/proto.h"

/** Datagrams received by one tc_udp_recv(), at most. */
#define TC_UDP_RX_BATCH_MAX 64u
/** Datagrams sent by one sendmmsg(); longer batches are split. */
#define TC_UDP_TX_BATCH_MAX 64u
/** Largest datagram received, bytes (a 9000-byte MTU less IP and UDP headers). */
#define TC_UDP_DGRAM_MAX 8972u
/** Socket buffer asked for when opts leave it 0, bytes (SO_RCVBUFFORCE as
 * root, else SO_RCVBUF and what net.core.rmem_max allows). */
#define TC_UDP_SOCKBUF_DEFAULT (32u * 1024 * 1024)

/** What an interface is (tc_udp_iface()). */
struct tc_udp_iface {
    char name[16];   /**< interface name (IFNAMSIZ) */
    int index;       /**< ifindex */
    uint32_t addr;   /**< its first IPv4 address, host order (0: none) */
    uint32_t prefix; /**< that address's prefix length */
    uint8_t mac[6];  /**< hardware address (zero for loopback) */
    uint32_t mtu;    /**< link MTU, bytes */
    int up;          /**< IFF_UP and IFF_RUNNING */
    int multicast;   /**< IFF_MULTICAST */
};

/** Socket options. */
struct tc_udp_opts {
    const char *iface;  /**< interface for multicast (required) */
    uint32_t bind_addr; /**< address to bind, host order (0: INADDR_ANY) */
    uint16_t port;      /**< port to bind (0: an ephemeral port) */
    uint32_t rcvbuf;    /**< receive buffer, bytes (0: TC_UDP_SOCKBUF_DEFAULT) */
    uint32_t sndbuf;    /**< send buffer, bytes (0: TC_UDP_SOCKBUF_DEFAULT) */
    uint8_t mcast_ttl;  /**< multicast TTL (0: 1, stay on the link) */
    int mcast_loop;     /**< IP_MULTICAST_LOOP (default off) */
};

/** One received datagram of a batch; buf points into the socket's own
 * receive ring and is valid until the next tc_udp_recv(). */
struct tc_udp_rx {
    struct tc_proto_peer from; /**< sender */
    uint32_t to_addr;          /**< destination address (IP_PKTINFO), host order:
                                    the group for multicast */
    const uint8_t *buf;        /**< the datagram */
    size_t len;                /**< its length, bytes (truncated ones are dropped) */
};

/** Counters. */
struct tc_udp_stats {
    uint64_t rx_dgrams;     /**< datagrams received */
    uint64_t rx_bytes;      /**< their UDP payload bytes */
    uint64_t rx_truncated;  /**< dropped: longer than TC_UDP_DGRAM_MAX */
    uint64_t rx_drops;      /**< the kernel's SO_RXQ_OVFL count (socket buffer overflows) */
    uint64_t tx_dgrams;     /**< datagrams the kernel accepted */
    uint64_t tx_bytes;      /**< their UDP payload bytes */
    uint64_t tx_wire_bytes; /**< ... plus TC_PROTO_WIRE_OVERHEAD each (Ethernet
                                 framing, IP and UDP headers) */
    uint64_t tx_again;      /**< datagrams not sent: socket buffer full (EAGAIN) */
    uint64_t tx_errors;     /**< datagrams not sent: other errors */
};

struct tc_udp;

/*
 * Describe interface name: -ENODEV (message names it) if there is none.
 */
int tc_udp_iface(const char *name, struct tc_udp_iface *out, struct tc_err *err);

/*
 * Open, bind and configure the socket. Errors: a missing interface
 * (-ENODEV), an address or port in use (-EADDRINUSE: "198.18.0.1:4000 is
 * in use by another program"), no permission.
 */
int tc_udp_open(struct tc_udp **out, const struct tc_udp_opts *o, struct tc_err *err);

/* Close and free (NULL allowed). */
void tc_udp_close(struct tc_udp *u);

/* The socket's file descriptor (for poll). */
int tc_udp_fd(const struct tc_udp *u);

/* The bound port (useful with port 0). */
uint16_t tc_udp_port(const struct tc_udp *u);

/*
 * Join (join = 1) or leave a multicast group on the socket's interface.
 * Joining again is harmless (the kernel's EADDRINUSE is treated as success),
 * so a receiver may re-join after silence (IGMP snooping can lose joins).
 */
int tc_udp_group(struct tc_udp *u, int join, uint32_t group, struct tc_err *err);

/*
 * Check that multicast to group can leave through the interface (a route
 * lookup with IP_MULTICAST_IF set: connect() on a scratch socket). -ENETUNREACH
 * with a message naming the group and interface when it cannot.
 */
int tc_udp_check_route(struct tc_udp *u, uint32_t group, struct tc_err *err);

/*
 * Send n datagrams with sendmmsg() in batches of TC_UDP_TX_BATCH_MAX.
 * Returns how many the kernel accepted; never blocks. A full socket buffer
 * (EAGAIN, ENOBUFS) stops the batch: the rest count in tx_again. A datagram
 * refused for another reason (an unreachable address) counts in tx_errors
 * and the rest of the batch is still sent.
 */
int tc_udp_send(struct tc_udp *u, const struct tc_proto_dgram *d, size_t n);

/*
 * Receive up to max (<= TC_UDP_RX_BATCH_MAX) datagrams with one recvmmsg();
 * never blocks. Returns the count (0 when none is waiting) or a negative
 * errno for a broken socket.
 */
int tc_udp_recv(struct tc_udp *u, struct tc_udp_rx *rx, unsigned max);

/* Counters so far. */
const struct tc_udp_stats *tc_udp_stats(const struct tc_udp *u);

/* "198.18.0.1:4000" into buf (at least 22 bytes). */
char *tc_udp_peer_str(char *buf, size_t cap, struct tc_proto_peer p);

/* Parse "A.B.C.D" or "A.B.C.D:PORT" (port kept when absent). -EINVAL if malformed. */
int tc_udp_parse_peer(const char *s, struct tc_proto_peer *out);

#endif /* TREECAST_UDP_H */
