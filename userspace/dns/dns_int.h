/* SPDX-License-Identifier: GPL-2.0-only */
/* Between the files of the DNS module (resolver, query transport, TCP
 * fallback, request assembly, packet reading): not a public interface. */
#ifndef MXG_DNS_INT_H
#define MXG_DNS_INT_H

#include <ldns/ldns.h>
#include <sys/queue.h>

#include "dns.h"

#define DNS_CNAME_HOPS 8  /* CNAME links followed per name */
#define DNS_MSG_MAX 65535 /* largest DNS message, UDP or TCP */
#define DNS_HDR_LEN 12	  /* fixed DNS header */
#define DNS_READ_BURST 16 /* datagrams read per wake-up, to stay fair */
#define DNS_DEFAULT_TIMEOUT_MS 2000
#define DNS_DEFAULT_ATTEMPTS 3
#define DNS_DEFAULT_MAX_SOCKETS 256 /* sockets open at once, UDP and TCP */
/* Requests kept for reuse: a request holds a whole MX set (20 KB), and
 * allocating one for each of 340 lookups a second (100,000 domains) cost
 * more in malloc's search of a fragmented heap than anything it does. */
#define DNS_SPARE_REQUESTS 64

enum q_state { Q_WAITING, Q_UDP, Q_TCP_CONNECTING, Q_TCP_WRITING, Q_TCP_READING };

/* One question (name, type), asked over one socket per attempt. */
struct dns_query {
	LIST_ENTRY(dns_query) link;  /* in dns_request.queries */
	TAILQ_ENTRY(dns_query) wait; /* in dns_resolver.waiting, while waiting */
	struct dns_request *req;
	struct ev_timer timer; /* the attempt's timeout */
	ldns_rdf *qname;       /* as asked; the wire carries it 0x20-mixed */
	ldns_rr_type type;
	int host; /* index into req->set.hosts; -1 for the MX query */
	unsigned hops;
	unsigned attempt;
	enum q_state state;
	bool has_slot; /* counted in the resolver's open sockets */
	bool waiting;  /* on the resolver's waiting list */
	int fd;	       /* this attempt's socket, UDP or TCP; -1 */
	/* This attempt's query with 2 octets of TCP length in front: a fresh
	 * ID and a fresh 0x20 case pattern each attempt. */
	uint8_t *wire;
	size_t wire_len;
	size_t question_len; /* qname + type + class, from DNS_HDR_LEN */
	size_t tcp_pos;	     /* bytes sent, or bytes of the answer read */
	uint8_t tcp_len[2];  /* the answer's length prefix */
	uint8_t *tcp_answer; /* allocated once the length is known */
	char err[160];	     /* the last problem seen, for the final error */
};

/* One dns_resolve_mx call: the MX query, then A and AAAA of every host. */
struct dns_request {
	LIST_ENTRY(dns_request) link; /* in dns_resolver.reqs */
	struct dns_resolver *r;
	mx_resolve_cb cb;
	void *arg;
	struct ev_timer done_timer; /* deliver from a clean stack */
	LIST_HEAD(, dns_query) queries;
	size_t pending;
	uint32_t ttl;
	bool mx_only;				 /* dns_resolve_mx_only: no host queries */
	uint8_t fam_status[MXG_MX_MAX_HOSTS][2]; /* enum mx_status of A, AAAA */
	struct mx_set set;
};

struct dns_resolver {
	struct ev_loop *loop;
	struct sockaddr_storage server;
	socklen_t server_len;
	char server_str[MXG_ADDRSTRLEN + 8];
	unsigned timeout_ms;
	unsigned attempts;
	unsigned max_sockets;
	unsigned open_sockets;		 /* queries holding a slot */
	bool refused;			 /* ICMP port unreachable seen: nothing listens there */
	TAILQ_HEAD(, dns_query) waiting; /* for a socket slot, first come first served */
	struct ev_timer dispatch_timer;	 /* starts waiting queries from a clean stack */
	LIST_HEAD(, dns_request) reqs;
	struct dns_stats stats;
	uint8_t *rbuf; /* DNS_MSG_MAX */
	/* Finished requests kept for the next ones (dns_request.c). */
	struct dns_request *spare[DNS_SPARE_REQUESTS];
	unsigned n_spare;
};

/* dns_query.c: the transport. */
int dns_query_new(struct dns_request *req, const ldns_rdf *name, ldns_rr_type type, int host,
		  unsigned hops);
void dns_query_free(struct dns_query *q);
/* Open this attempt's socket and send (UDP), from the slot the query holds. */
void dns_query_send_udp(struct dns_query *q);
/* Does the answer in wire (len octets) answer this attempt of q, octet for
 * octet in the question (ID, QR, opcode, 0x20 case)? 0, or -EPROTO for a
 * forged or stray answer (counted by the caller). */
int dns_answer_matches(const struct dns_query *q, const uint8_t *wire, size_t len);
/* Give this attempt a new ID and a new case pattern (0 or -errno). */
int dns_query_randomize(struct dns_query *q);
void dns_query_answered(struct dns_query *q, const ldns_pkt *pkt);
void dns_query_failed(struct dns_query *q);
void dns_query_close_socket(struct dns_query *q);

/* dns_tcp.c: the TCP retry after a truncated UDP answer. */
void dns_query_start_tcp(struct dns_query *q);

/* dns_resolver.c: socket slots, bounded by max_sockets. */
/* Take a slot now (true) or queue q until one frees (false). */
bool dns_slot_take(struct dns_query *q);
/* Leave the slot or the waiting list (query_free). */
void dns_slot_release(struct dns_query *q);

/* dns_request.c: what an answer means for the request. */
void dns_request_answered(struct dns_query *q, const ldns_pkt *pkt);
void dns_request_failed(struct dns_query *q);
/* One query of req ended (freed): finish the request after the last. */
void dns_request_query_done(struct dns_request *req);
void dns_request_free(struct dns_request *req);
/* The spare requests, when the resolver goes. */
void dns_request_spares_free(struct dns_resolver *r);

/* Read an MX answer into set (status, hosts without addresses, ttl_s
 * unclamped: the MX TTL, or the SOA minimum of a negative answer). */
int dns_mx_from_pkt(const ldns_pkt *pkt, const char *domain, struct mx_set *set);

/*
 * Read the A or AAAA answer for qname into h (deduplicated, bounded),
 * following CNAMEs inside the answer. *ttl is lowered to the TTLs used.
 * *chain_end is set (caller frees) when the chain ends at another name
 * without records of the type, so the caller may ask for that name.
 * Returns the number of addresses added.
 */
size_t dns_addrs_from_pkt(const ldns_pkt *pkt, const ldns_rdf *qname, ldns_rr_type type,
			  struct mx_host *h, uint32_t *ttl, ldns_rdf **chain_end);

/* "Mx1.Example.Test." -> "mx1.example.test"; root -> "". 0 or -ENAMETOOLONG. */
int dns_name_str(const ldns_rdf *name, char *buf, size_t len);

#endif
