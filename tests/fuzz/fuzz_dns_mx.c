// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: a DNS answer (wire format, as any server or spoofer
 * may send it) to the MX set (dns_parse_mx_answer, ldns_wire2pkt inside).
 * fuzz-needs: userspace/dns/dns_parse.c
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mx_set set; /* large: keep it off the stack */

	memset(&set, 0, sizeof(set));
	if (dns_parse_mx_answer(data, size, "example.test", &set) == 0) {
		if (set.n_hosts > MXG_MX_MAX_HOSTS)
			__builtin_trap();
		for (size_t i = 0; i < set.n_hosts; i++) {
			if (!memchr(set.hosts[i].name, '\0', sizeof(set.hosts[i].name)))
				__builtin_trap();
			if (i && set.hosts[i - 1].pref > set.hosts[i].pref)
				__builtin_trap(); /* dns.h: sorted by preference */
		}
	}
	if (!memchr(set.error, '\0', sizeof(set.error)))
		__builtin_trap();
	return 0;
}
