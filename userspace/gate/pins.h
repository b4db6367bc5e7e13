/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pin directory: the bpffs directory holding mxgate's maps and tc
 * program (pin_dir, /sys/fs/bpf/mxgate by default). One place to check it,
 * lock it while it changes, open what is pinned there and remove it.
 *
 * Layout: <pin_dir>/gate_addrs, domains, counters, responder, pass_nets,
 * passes (maps, pinned
 * by name by libbpf) and <pin_dir>/tc_prog (the program, so `mxgate unload`
 * can tell our tc filter from someone else's).
 */
#ifndef MXG_PINS_H
#define MXG_PINS_H

#include <stdbool.h>
#include <stddef.h>

/* Every file mxgate pins, by these indexes, NULL-terminated; what
 * pins_remove() unlinks. */
enum mxg_pin_id {
	MXG_PIN_GATE_MAP,
	MXG_PIN_DOMAINS_MAP,
	MXG_PIN_COUNTERS_MAP,
	MXG_PIN_RESPONDER_MAP,
	MXG_PIN_PASS_NETS_MAP,
	MXG_PIN_PASSES_MAP,
	MXG_PIN_TC_PROG,
	MXG_PIN__COUNT
};
extern const char *const mxg_pin_names[];

/* Descriptors of what is pinned; -1 where nothing is. */
struct mxg_pins {
	int gate_fd;
	int domains_fd;
	int counters_fd;
	int responder_fd;
	int prog_fd;
	int pass_nets_fd;
	int passes_fd;
};

/* Route libbpf's messages to log_debug(): our own errors say what failed
 * and what to do; libbpf's detail is for `-d`. */
void pins_libbpf_log_to_debug(void);

/* "<dir>/<name>" into buf; -ENAMETOOLONG if it does not fit. */
int pins_path(char *buf, size_t len, const char *dir, const char *name);

/* 0 if dir (or, when it does not exist yet, its parent) is on a bpf
 * filesystem; otherwise a negative errno and one line in err. */
int pins_check_bpffs(const char *dir, char *err, size_t errlen);

/* Lock dir against other mxgate processes changing it (flock on the
 * directory, waiting at most a few seconds). create: mkdir it first (mode
 * 0700), and refuse (-EPERM) a dir, or a parent of it on the bpffs, that
 * is not root's or is writable by others (a bpffs mounted without -o mode
 * is 1777). Returns the lock descriptor (>= 0) or a negative errno with err
 * filled. -ENOENT when !create and dir does not exist. */
int pins_lock(const char *dir, bool create, char *err, size_t errlen);
void pins_unlock(int lock_fd);

/* Open whatever is pinned in dir. Returns the number of objects found
 * (0 when dir holds none of ours or does not exist) or a negative errno. */
int pins_open(const char *dir, struct mxg_pins *p);
void pins_close(struct mxg_pins *p);
/* One pinned object by name: its descriptor or a negative errno. */
int pins_open_one(const char *dir, const char *name);

/* Unlink every pin of ours in dir and remove dir. A pin is ours when the
 * object has our name and type, not merely our file name (a pin called
 * "counters" in a shared directory may be anyone's). Missing pins are fine;
 * a directory holding files that are not ours, or a mount point, is left
 * (-ENOTEMPTY); a directory that is not on a bpffs is not touched
 * (-ENOTSUP). */
int pins_remove(const char *dir);

#endif
