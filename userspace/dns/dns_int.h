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
#define DNS_READ_BURST 16 /* datagrams read per wake-up (one recvmmsg), to stay fair */
#define DNS_DEFAULT_TIMEOUT_MS 2000
#define DNS_DEFAULT_ATTEMPTS 3
#define DNS_DEFAULT_MAX_SOCKETS 256 /* queries in flight at once */
/* A UDP socket carries at most this many attempts, each with its own ID,
 * and takes new ones only while it is young (dns_usock.c says why this
 * keeps RFC 5452's entropy). */
#define DNS_SOCK_USES 64
#define DNS_SOCK_FRESH_MS 1000
/* Requests kept for reuse: a request holds a whole MX set (20 KB), and
 * allocating one for each of 340 lookups a second (100,000 domains) cost
 * more in malloc's search of a fragmented heap than anything it does. */
#define DNS_SPARE_REQUESTS 64

enum q_state { Q_WAITING, Q_UDP, Q_TCP_CONNECTING, Q_TCP_WRITING, Q_TCP_READING };

/* A UDP socket of the pool (dns_usock.c). */
struct dns_usock {
	LIST_ENTRY(dns_usock) link; /* in dns_resolver.usocks */
	struct dns_resolver *r;
	int fd;
	uint64_t opened_ms;
	unsigned used; /* entries taken: attempts sent on it */
	unsigned live; /* attempts still waiting on it */
	bool reading;  /* in its read callback: closed after it */
	bool retired;  /* takes no new attempts */
	/* Entry i: the i-th attempt's ID, and the attempt while it waits
	 * (NULL after: an answer to it now is late, and dropped). */
	uint16_t id[DNS_SOCK_USES];
	struct dns_query *q[DNS_SOCK_USES];
};

/* One question (name, type); each attempt is sent from a UDP socket of the
 * pool (dns_usock.c), or over its own TCP connection. */
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
	bool has_slot;	      /* counted in the resolver's open sockets */
	bool waiting;	      /* on the resolver's waiting list */
	int fd;		      /* this attempt's TCP socket; -1 */
	struct dns_usock *us; /* this attempt's UDP socket, or NULL */
	unsigned us_slot;     /* its entry there */
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
	uint8_t *rbuf;		       /* DNS_READ_BURST x DNS_MSG_MAX */
	unsigned sock_uses;	       /* attempts a UDP socket carries */
	struct dns_usock *cur;	       /* the UDP socket new attempts take */
	LIST_HEAD(, dns_usock) usocks; /* every open one, cur included */
	/* getrandom's output, read 512 octets at a time (an attempt takes
	 * about 4): one system call per hundred queries instead of each. */
	uint8_t rnd[512];
	size_t rnd_left;
	/* Finished requests kept for the next ones (dns_request.c). */
	struct dns_request *spare[DNS_SPARE_REQUESTS];
	unsigned n_spare;
};

/* dns_query.c: the transport. */
int dns_query_new(struct dns_request *req, const ldns_rdf *name, ldns_rr_type type, int host,
		  unsigned hops);
void dns_query_free(struct dns_query *q);
/* Send this attempt over UDP, from the slot the query holds. */
void dns_query_send_udp(struct dns_query *q);
/* A datagram (len octets in wire) came on the socket of q's attempt with
 * its ID: check it, then answer, retry over TCP, or drop and count it. */
void dns_query_udp_answer(struct dns_query *q, uint8_t *wire, size_t len);
/* Does the answer in wire (len octets) answer this attempt of q, octet for
 * octet in the question (ID, QR, opcode, 0x20 case)? 0, or -EPROTO for a
 * forged or stray answer (counted by the caller). */
int dns_answer_matches(const struct dns_query *q, const uint8_t *wire, size_t len);
/* Give this attempt a new ID and a new case pattern (0 or -errno). On a
 * UDP socket (us), the ID is one no other attempt there had. */
int dns_query_randomize(struct dns_query *q, const struct dns_usock *us);
void dns_query_answered(struct dns_query *q, const ldns_pkt *pkt);
void dns_query_failed(struct dns_query *q);
void dns_query_close_socket(struct dns_query *q);

/* dns_usock.c: the pool of UDP sockets. */
/* A socket for q's next attempt (never avoid, the last one's), q given an
 * ID unique there and entered; 0 or -errno. */
int dns_usock_take(struct dns_query *q, struct dns_usock *avoid);
/* q's attempt on us (its entry slot) ended: late answers to it are
 * dropped; the socket closes once retired and idle. */
void dns_usock_leave(struct dns_usock *us, unsigned slot);
void dns_usock_close_all(struct dns_resolver *r);
/* Did an attempt on us have this ID? */
bool dns_usock_id_taken(const struct dns_usock *us, uint16_t id);

/* dns_resolver.c: random octets from getrandom, buffered; 0 or -EIO. */
int dns_random(struct dns_resolver *r, void *buf, size_t n);

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

/* ldns's packet of an answer that matched its query, without its
 * additional section (the wire's ARCOUNT is cleared); 0 or -EBADMSG. */
int dns_wire2pkt(ldns_pkt **pkt, uint8_t *wire, size_t len);

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
