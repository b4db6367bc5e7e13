/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A netlink connection to nf_tables and atomic batches over it (libmnl +
 * libnftnl), for the nft gate backend. Each message carries NLM_F_ACK and
 * a description, so an error names the object that failed; the kernel
 * applies a batch completely or not at all.
 */
#ifndef MXG_NFT_BATCH_H
#define MXG_NFT_BATCH_H

#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct mnl_nlmsg_batch;
struct nlmsghdr;
struct nftnl_set;
struct mxg_ip;

#define NFT_BATCH_MAX_MSGS 64
#define NFT_BATCH_BYTES (128 * 1024) /* above our biggest round or pass_clients */

struct nft_conn {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

struct nft_batch {
	struct mnl_nlmsg_batch *b;
	char *buf;
	uint32_t seq_first; /* the batch-begin message */
	uint32_t seq_last;  /* the last message added */
	unsigned n;
	const char *what[NFT_BATCH_MAX_MSGS]; /* by seq - seq_first - 1 */
	int overflow;
	int pending; /* a message is being built */
};

/* Open a NETLINK_NETFILTER socket with a receive timeout. */
int nft_conn_open(struct nft_conn *c);
void nft_conn_close(struct nft_conn *c);

int nft_batch_start(struct nft_conn *c, struct nft_batch *b);
/* Header for the next message (NLM_F_ACK added); NULL when full. what
 * (static text) names the object in an error message. */
struct nlmsghdr *nft_batch_msg(struct nft_conn *c, struct nft_batch *b, uint16_t type,
			       uint16_t family, uint16_t flags, const char *what);
/* Close the batch, send it and wait for every acknowledgement. Returns 0
 * or the first negative errno, with "WHAT: strerror" in err. Frees b. */
int nft_batch_commit(struct nft_conn *c, struct nft_batch *b, char *err, size_t errlen);
/* The same without committing: the kernel checks every message (loading
 * the modules they need) and then drops the whole batch, as `nft -c`
 * does. On an error *failed is the index of the first failing message
 * in the order added (-1: the batch itself). Frees b. */
int nft_batch_check(struct nft_conn *c, struct nft_batch *b, int *failed, char *err, size_t errlen);
void nft_batch_free(struct nft_batch *b);

/*
 * Batches sent without waiting for the kernel's answer, on a socket of
 * their own (a blocking request on the other one must not read their
 * acknowledgements): the controller's loop sends, and reads the answers
 * when the socket is readable (nft_async_poll). A batch not answered
 * within NFT_REPLY_TIMEOUT_MS is given up (reported as -ETIMEDOUT); at
 * most NFT_PENDING_MAX are awaited, the oldest given up for a new one.
 */
#define NFT_PENDING_MAX 16
#define NFT_REPLY_TIMEOUT_MS 3000

struct nft_pending {
	uint32_t seq_first, seq_last;
	unsigned n;
	const char *what[NFT_BATCH_MAX_MSGS];
	const char *label; /* static text: what the batch was for */
	uint64_t sent_ms;
	int error; /* the first message's error, 0 so far */
	char text[160];
};

struct nft_async {
	struct nft_conn conn;
	struct nft_pending p[NFT_PENDING_MAX];
	unsigned n;
};

/* A batch answered (err 0) or failed (err < 0, text: "WHAT: strerror"). */
typedef void (*nft_async_done)(void *arg, const char *label, int err, const char *text);

/* The socket, non-blocking. 0 or negative errno. */
int nft_async_open(struct nft_async *a);
void nft_async_close(struct nft_async *a);
/* Close the batch (built on &a->conn) and send it; its answer comes to
 * nft_async_poll. 0, or a negative errno with the reason in err (the
 * send failed: nothing is pending). Frees b. */
int nft_batch_send(struct nft_async *a, struct nft_batch *b, const char *label, char *err,
		   size_t errlen);
/* Read every answer there is, never waiting, and give up the batches
 * older than NFT_REPLY_TIMEOUT_MS at now_ms: done for each batch that
 * finished. Returns the number still awaited. */
unsigned nft_async_poll(struct nft_async *a, uint64_t now_ms, nft_async_done done, void *arg);

/* Set elements, for the sets and maps of mxgate's own table and of the
 * administrator's: a set object naming table and name that carries
 * elements (NULL when out of memory; nftnl_set_free() it), an element
 * keyed by an address (4 or 16 octets) with optional data and timeout
 * (0 = none; the callers never write an element without one where the
 * set has timeouts), and the message of type NFT_MSG_NEWSETELEM (with
 * NLM_F_CREATE) or NFT_MSG_DELSETELEM with the set's elements (a
 * DELSETELEM without elements flushes the set). 0, -ENOMEM or -ENOSPC. */
struct nftnl_set *nft_elems_new(const char *table, const char *name);
int nft_elems_add_ip(struct nftnl_set *s, const struct mxg_ip *ip, const void *data,
		     uint32_t data_len, uint64_t timeout_ms);
int nft_batch_elems(struct nft_conn *c, struct nft_batch *b, uint16_t type, uint16_t family,
		    struct nftnl_set *s, const char *what);

struct nlmsghdr;
/* Read the kernel's replies to request seq (sent already): every message
 * of seq but the last goes to cb (may be NULL), which returns 0 to go on
 * or negative errno to stop with it. Ends with the ack's error (0 when
 * it succeeded) or 0 at the end of a dump; -ETIMEDOUT when the kernel is
 * silent longer than the socket's receive timeout. */
int nft_recv_replies(struct nft_conn *c, uint32_t seq,
		     int (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg);

/* Fetch one set's description (NFT_MSG_GETSET). 0, -ENOENT or -errno. */
int nft_get_set(struct nft_conn *c, uint16_t family, const char *table, const char *name,
		struct nftnl_set *out);

/* Sum of the packet counters of every rule in one chain (a dump). 0,
 * -ENOENT when the table or chain does not exist, or -errno. */
int nft_chain_packets(struct nft_conn *c, uint16_t family, const char *table, const char *chain,
		      uint64_t *packets);

#endif
