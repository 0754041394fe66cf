// SPDX-License-Identifier: Apache-2.0
/* The VMM's end of the control protocol: pause, resume, power button, stop, status, events. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"
#include "vcpu.h"

static void detach_client(struct control *c)
{
	if (c->client_h.fd >= 0) {
		evloop_del(c->loop, &c->client_h);
		close(c->client_h.fd);
		c->client_h.fd = -1;
	}
}

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Caller holds c->lock. Fills reply (after the status word) and returns its length. */
static int handle(struct control *c, const struct ctl_hdr *h, uint8_t *reply, uint32_t *rlen)
{
	struct vm *vm = c->vm;

	*rlen = 0;
	if (h->len != 0)
		return -EINVAL; /* no request of version 1 carries a payload */
	if (!vm)
		return -EAGAIN; /* between a guest reset and the new VM */
	switch (h->type) {
	case CTL_PING: {
		struct ctl_status st = {
			.state = __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE) ? CTL_STATE_PAUSED :
										  CTL_STATE_RUNNING,
			.ncpus = vm->ncpus,
			.memory = vm->mem_size,
			.uptime_ns = util_now_ns() - c->t0_ns,
		};

		if (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_STOP_NONE)
			st.state = CTL_STATE_STOPPING;
		memcpy(reply, &st, sizeof(st));
		*rlen = sizeof(st);
		return 0;
	}
	case CTL_PAUSE:
		return vcpu_pause_all(vm);
	case CTL_RESUME:
		vcpu_resume_all(vm);
		return 0;
	case CTL_POWER_BUTTON:
		return platform_power_button(c->plat);
	case CTL_STOP:
		vm_request_stop(vm, VM_STOP_SIGNAL);
		return 0;
	case CTL_STATS: {
		struct ctl_stats s = { 0 };
		struct timespec ts;

		for (unsigned int i = 0; i < vm->ncpus; i++) {
			s.exits += __atomic_load_n(&vm->vcpus[i].exits, __ATOMIC_RELAXED);
			s.pio_exits += __atomic_load_n(&vm->vcpus[i].pio_exits, __ATOMIC_RELAXED);
			s.mmio_exits += __atomic_load_n(&vm->vcpus[i].mmio_exits, __ATOMIC_RELAXED);
		}
		if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
			s.cpu_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		s.rss_bytes = rss_bytes();
		/* on_client runs on the I/O thread, the devices' only counter writer. */
		if (c->devs) {
			struct virtio_io_stats io;

			devices_io_stats(c->devs, &io);
			s.blk_reads = io.blk_reads;
			s.blk_writes = io.blk_writes;
			s.blk_read_bytes = io.blk_read_bytes;
			s.blk_write_bytes = io.blk_write_bytes;
			s.net_rx_frames = io.net_rx_frames;
			s.net_tx_frames = io.net_tx_frames;
			s.net_rx_bytes = io.net_rx_bytes;
			s.net_tx_bytes = io.net_tx_bytes;
			s.vsock_rx_bytes = io.vsock_rx_bytes;
			s.vsock_tx_bytes = io.vsock_tx_bytes;
		}
		memcpy(reply, &s, sizeof(s));
		*rlen = sizeof(s);
		return 0;
	}
	default:
		return -EOPNOTSUPP;
	}
}

static void on_client(struct evloop_handler *hd, uint32_t events)
{
	struct control *c = (struct control *)((char *)hd - offsetof(struct control, client_h));
	uint8_t payload[CTL_MAX_PAYLOAD], reply[CTL_MAX_PAYLOAD];
	struct ctl_hdr h;
	int fds[CTL_MAX_FDS];
	unsigned int nfds;
	uint32_t rlen;
	int32_t status;
	int ret;

	(void)events;
	pthread_mutex_lock(&c->lock);
	ret = ctl_recv(hd->fd, &h, payload, fds, &nfds);
	if (ret < 0) {
		/* The daemon went away, or spoke garbage: drop it; the guest keeps running. */
		if (ret != -EAGAIN && ret != -EINTR)
			detach_client(c);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]); /* no request of version 1 passes descriptors */
	status = handle(c, &h, reply + sizeof(status), &rlen);
	memcpy(reply, &status, sizeof(status));
	if (ctl_send(hd->fd, CTL_REPLY, h.seq, reply, (uint32_t)sizeof(status) + rlen, NULL, 0) < 0)
		detach_client(c);
	pthread_mutex_unlock(&c->lock);
}

static void on_accept(struct evloop_handler *hd, uint32_t events)
{
	struct control *c = (struct control *)((char *)hd - offsetof(struct control, accept_h));
	int fd = accept4(hd->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	/* The newest connection wins: a restarted daemon replaces a dead one. */
	detach_client(c);
	c->client_h.fd = fd;
	if (evloop_add(c->loop, &c->client_h, EPOLLIN) < 0) {
		close(fd);
		c->client_h.fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
}

void control_post_guest_init(void *opaque, uint64_t us)
{
	struct control *c = opaque;
	uint64_t one = 1;

	if (c->event_h.fd < 0)
		return;
	__atomic_store_n(&c->guest_init_us, us ? us : 1, __ATOMIC_RELEASE);
	(void)!write(c->event_h.fd, &one, sizeof(one));
}

static void on_event(struct evloop_handler *hd, uint32_t events)
{
	struct control *c = (struct control *)((char *)hd - offsetof(struct control, event_h));
	uint64_t n;
	struct ctl_event ev = { .kind = CTL_EV_GUEST_INIT };

	(void)events;
	if (read(hd->fd, &n, sizeof(n)) != sizeof(n))
		return;
	ev.arg = __atomic_exchange_n(&c->guest_init_us, 0, __ATOMIC_ACQ_REL);
	if (!ev.arg)
		return;
	pthread_mutex_lock(&c->lock);
	/* Best effort: a daemon that attaches later asks with CTL_PING instead. */
	if (c->client_h.fd >= 0 &&
	    ctl_send(c->client_h.fd, CTL_EVENT, 0, &ev, sizeof(ev), NULL, 0) < 0 && errno != EAGAIN)
		detach_client(c);
	pthread_mutex_unlock(&c->lock);
}

int control_open(struct control *c, const char *path, struct evloop *loop, uint64_t t0_ns,
		 char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->loop = loop;
	c->t0_ns = t0_ns;
	c->accept_h.fd = c->client_h.fd = c->event_h.fd = -1;
	c->accept_h.cb = on_accept;
	c->client_h.cb = on_client;
	c->event_h.cb = on_event;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	c->path = strdup(path);
	c->accept_h.fd = fd;
	c->event_h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!c->path || c->event_h.fd < 0 || evloop_add(loop, &c->accept_h, EPOLLIN) < 0 ||
	    evloop_add(loop, &c->event_h, EPOLLIN) < 0) {
		snprintf(err, errlen, "control socket: setup failed");
		return -ENOMEM;
	}
	return 0;
}

void control_attach(struct control *c, struct vm *vm, struct platform *plat,
		    const struct devices *devs)
{
	if (c->accept_h.cb == NULL)
		return; /* never opened */
	pthread_mutex_lock(&c->lock);
	c->vm = vm;
	c->plat = plat;
	c->devs = devs;
	pthread_mutex_unlock(&c->lock);
}

void control_close(struct control *c)
{
	if (c->accept_h.cb == NULL)
		return;
	detach_client(c);
	if (c->accept_h.fd >= 0) {
		evloop_del(c->loop, &c->accept_h);
		close(c->accept_h.fd);
	}
	if (c->event_h.fd >= 0) {
		evloop_del(c->loop, &c->event_h);
		close(c->event_h.fd);
	}
	if (c->path)
		unlink(c->path);
	free(c->path);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}
