// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the config parser (config_load_string) on arbitrary
 * text. On failure the message must be one bounded, terminated line.
 * fuzz-needs: userspace/config/config.c userspace/config/config_keys.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mxg_config cfg; /* large: keep it off the stack */
	char err[512];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	memset(err, 'x', sizeof(err));
	if (config_load_string("fuzz.conf", text, &cfg, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)))
			__builtin_trap(); /* unterminated message */
	} else if (cfg.rise == 0 || cfg.fall == 0) {
		__builtin_trap(); /* accepted a config without hysteresis */
	}
	config_free(&cfg);
	free(text);
	return 0;
}
