/*
 * lwIP configuration for treecast-agent.
 *
 * lwIP runs without an OS layer (NO_SYS=1, raw API only), single-threaded in
 * the agent's main loop, over an AF_PACKET socket: IPv4, ARP, DHCP (the agent's
 * own client), IGMP (multicast groups, with the NIC filter programmed by the
 * netif driver), ICMP echo (so that an operator can ping a node) and UDP.  No
 * TCP, no DNS, no sockets or netconn.
 *
 * Every pool below is allocated statically, once: the hot path does not
 * allocate, and the total is part of the agent's memory budget.  Pool sizes
 * are counts; sizes in bytes say so in their comment.
 *
 * This file is also read by scripts/fetch-deps when it builds liblwip.a, so a
 * change here rebuilds lwIP.
 */
#ifndef TC_LWIPOPTS_H
#define TC_LWIPOPTS_H

/*
 * lwip/arch.h defines LITTLE_ENDIAN/BIG_ENDIAN itself when they are missing;
 * glibc and musl define them again (differently spelt) in <endian.h>, which
 * any later system header may pull in, and the redefinition is a warning.
 * This file is read before lwip/arch.h, so take the C library's definitions.
 */
#include <endian.h>

/* --- system layer ------------------------------------------------------ */
#define NO_SYS 1               /* no threads, no mailboxes: raw API only */
#define SYS_LIGHTWEIGHT_PROT 0 /* single-threaded: nothing to protect */
#define LWIP_TIMERS 1          /* sys_check_timeouts() from the main loop */
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0

/* --- memory ------------------------------------------------------------ */
#define MEM_LIBC_MALLOC 0 /* lwIP's own heap, allocated statically */
#define MEMP_MEM_MALLOC 0 /* pools, allocated statically */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (1024 * 1024) /* bytes of heap for transmitted PBUF_RAM packets */
#define MEMP_NUM_PBUF 64       /* PBUF_REF/ROM headers (zero-copy sends) */
#define PBUF_POOL_SIZE 512     /* received frames held at once */
#define PBUF_POOL_BUFSIZE 1536 /* bytes per pool buffer (1514-byte frame); jumbo frames chain */
#define MEMP_NUM_UDP_PCB 8     /* protocol socket, DHCP client, spare */
#define MEMP_NUM_IGMP_GROUP 8  /* joined multicast groups, all-systems included */
#define MEMP_NUM_ARP_QUEUE 32  /* packets queued while ARP resolves */

/* --- network interface ------------------------------------------------- */
#define LWIP_SINGLE_NETIF 1 /* one NIC, behind one AF_PACKET socket */
#define LWIP_HAVE_LOOPIF 0
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_NETIF_STATUS_CALLBACK 1 /* address up/down (DHCP bound) */
#define LWIP_NETIF_LINK_CALLBACK 1   /* carrier up/down */
#define LWIP_NETIF_HOSTNAME 1        /* DHCP option 12, for the operator's logs */
#define ETH_PAD_SIZE 0

/* --- protocols --------------------------------------------------------- */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ARP_TABLE_SIZE 64 /* seeder, parent, children (fan-out up to 32), gateway */
#define ARP_QUEUEING 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 0
#define LWIP_DNS 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 1
#define LWIP_MULTICAST_TX_OPTIONS 1 /* choose the netif and TTL of multicast sends */

/*
 * Fragments: the protocol sizes every datagram to the path MTU, so nothing
 * legitimate is fragmented; reassembly would only give a forger a buffer to
 * fill.
 */
#define IP_REASSEMBLY 0
#define IP_FRAG 0

/* DHCP: the agent's own client, with no ARP probe of the offered address (it
 * costs seconds per boot and the DHCP server of a PXE network owns the pool). */
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_DHCP_CHECK_LINK_UP 1
#define LWIP_DHCP_GET_NTP_SRV 0
#define LWIP_DHCP_BOOTP_FILE 0

/* --- checks and statistics --------------------------------------------- */
#define LWIP_STATS 0
/* LWIP_NOASSERT stays undefined: lwIP's assertions stay on (arch/cc.h). */

#endif /* TC_LWIPOPTS_H */
