/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's end of the control protocol (src/common/ctl.h): a SOCK_SEQPACKET socket that
 * bulwarkd connects to, for pause/resume/power-button/stop/status and events. It listens
 * on a path, so a restarted daemon can attach again to a domain that kept running.
 */
#ifndef BULWARK_VMM_CONTROL_H
#define BULWARK_VMM_CONTROL_H

#include <pthread.h>
#include <stdint.h>

#include "devices.h"
#include "evloop.h"
#include "platform.h"
#include "vm.h"

struct control {
	pthread_mutex_t lock;
	struct evloop *loop;
	char *path;
	struct evloop_handler accept_h;
	struct evloop_handler client_h; /* fd -1 when no daemon is attached */
	struct vm *vm; /* NULL between a reset's teardown and the new VM */
	struct platform *plat;
	const struct devices *devs; /* with vm: read on the I/O thread, where they change */
	uint64_t t0_ns;
	/* vCPU threads post events lock-free; the I/O thread sends them. */
	struct evloop_handler event_h; /* an eventfd */
	uint64_t guest_init_us; /* 0: nothing to send */
};

/*
 * Creates the control socket at path (which must not exist) and watches it on
 * loop. Returns 0 or -errno with one line in err.
 */
int control_open(struct control *c, const char *path, struct evloop *loop, uint64_t t0_ns,
		 char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Points the control plane at the running VM, its platform and its devices (or NULLs
 * while there is none). devs must stay valid until the next control_attach.
 */
void control_attach(struct control *c, struct vm *vm, struct platform *plat,
		    const struct devices *devs);

/*
 * Called from a vCPU thread when the guest's init starts: queues a CTL_EV_GUEST_INIT
 * event for the daemon without taking any lock (a pause may hold the control lock
 * while waiting for this very vCPU). opaque is the struct control.
 */
void control_post_guest_init(void *opaque, uint64_t us);

/* Closes the sockets and removes the socket file. Safe on an unopened control. */
void control_close(struct control *c);

#endif
