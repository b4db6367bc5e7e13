// SPDX-License-Identifier: GPL-2.0-only
/*
 * A bounded SYN flood for the test network, to prove that a gated address
 * is no weaker under a flood than the MTA alone (SYN cookies):
 *
 *   synflood DST PORT COUNT SECONDS PPS SRC_NET/LEN
 *
 * Sends at most COUNT spoofed IPv4 SYNs to DST:PORT, at most PPS a second,
 * for at most SECONDS, with source addresses drawn from SRC_NET/LEN. Every
 * address must be in the documentation ranges the test network uses
 * (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24): anything else is
 * refused, so this never sends a packet beyond a test network. Needs
 * CAP_NET_RAW (run it inside the test namespaces). Prints "sent N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SYNFLOOD_MAX_COUNT 1000000 /* packets, whatever is asked */
#define SYNFLOOD_MAX_SECONDS 30

static int in_doc_range(uint32_t a /* host order */)
{
	return (a >> 8) == 0xc00002 /* 192.0.2 */ || (a >> 8) == 0xc63364 /* 198.51.100 */ ||
	       (a >> 8) == 0xcb0071 /* 203.0.113 */;
}

static uint16_t csum(const void *p, size_t len, uint32_t sum)
{
	const uint16_t *w = p;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct {
		struct iphdr ip;
		struct tcphdr tcp;
	} __attribute__((packed)) pkt;
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
		struct tcphdr tcp;
	} __attribute__((packed)) ph;
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct in_addr dst, net;
	unsigned long count, seconds, pps, sent = 0;
	uint32_t mask, base;
	uint64_t start, end;
	char *slash;
	int fd, len, port, one = 1;

	if (argc != 7) {
		fprintf(stderr, "usage: synflood DST PORT COUNT SECONDS PPS SRC_NET/LEN\n");
		return 2;
	}
	slash = strchr(argv[6], '/');
	if (!slash || inet_pton(AF_INET, argv[1], &dst) != 1)
		return fprintf(stderr, "synflood: bad address\n"), 2;
	*slash = '\0';
	len = atoi(slash + 1);
	port = atoi(argv[2]);
	count = strtoul(argv[3], NULL, 10);
	seconds = strtoul(argv[4], NULL, 10);
	pps = strtoul(argv[5], NULL, 10);
	if (inet_pton(AF_INET, argv[6], &net) != 1 || len < 24 || len > 32 || port <= 0 ||
	    port > 65535 || !pps)
		return fprintf(stderr, "synflood: bad arguments\n"), 2;
	mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	base = ntohl(net.s_addr) & mask;
	if (!in_doc_range(ntohl(dst.s_addr)) || !in_doc_range(base) || !in_doc_range(base | ~mask))
		return fprintf(stderr, "synflood: only test-network (documentation) addresses\n"),
		       2;
	if (count > SYNFLOOD_MAX_COUNT)
		count = SYNFLOOD_MAX_COUNT;
	if (seconds > SYNFLOOD_MAX_SECONDS)
		seconds = SYNFLOOD_MAX_SECONDS;

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		return fprintf(stderr, "synflood: raw socket: %s\n", strerror(errno)), 1;
	to.sin_addr = dst;
	start = now_ns();
	end = start + seconds * 1000000000ull;
	while (sent < count) {
		uint64_t t = now_ns();
		uint32_t r[2];

		if (t >= end)
			break;
		/* Paced: never ahead of PPS since the start. */
		if (sent * 1000000000ull / pps > t - start) {
			struct timespec ts = {0, 200000};

			nanosleep(&ts, NULL);
			continue;
		}
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			r[0] = (uint32_t)t, r[1] = (uint32_t)(t >> 17);
		memset(&pkt, 0, sizeof(pkt));
		pkt.ip.version = 4;
		pkt.ip.ihl = 5;
		pkt.ip.ttl = 64;
		pkt.ip.protocol = IPPROTO_TCP;
		pkt.ip.tot_len = htons(sizeof(pkt));
		pkt.ip.id = (uint16_t)r[1];
		pkt.ip.saddr = htonl(base | (r[0] & ~mask));
		pkt.ip.daddr = dst.s_addr;
		pkt.ip.check = csum(&pkt.ip, sizeof(pkt.ip), 0);
		pkt.tcp.source = htons((uint16_t)(1024 + (r[1] >> 16) % 60000));
		pkt.tcp.dest = htons((uint16_t)port);
		pkt.tcp.seq = r[1];
		pkt.tcp.doff = 5;
		pkt.tcp.syn = 1;
		pkt.tcp.window = htons(64240);
		ph.src = pkt.ip.saddr;
		ph.dst = pkt.ip.daddr;
		ph.zero = 0;
		ph.proto = IPPROTO_TCP;
		ph.len = htons(sizeof(pkt.tcp));
		ph.tcp = pkt.tcp;
		pkt.tcp.check = csum(&ph, sizeof(ph), 0);
		if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
		    errno != ENOBUFS && errno != EAGAIN)
			return fprintf(stderr, "synflood: sendto: %s\n", strerror(errno)), 1;
		sent++;
	}
	close(fd);
	printf("sent %lu\n", sent);
	return 0;
}
