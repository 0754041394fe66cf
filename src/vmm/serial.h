/* SPDX-License-Identifier: Apache-2.0 */
/* A 16550A-compatible UART (COM1) for the guest's console, on the port-I/O bus. */
#ifndef BULWARK_VMM_SERIAL_H
#define BULWARK_VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "vm.h"

#define SERIAL_RX_FIFO 64

struct serial {
	pthread_mutex_t lock;
	struct vm *vm;
	struct console *con;
	unsigned int irq;
	int irq_level;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_irq; /* THR-empty interrupt pending until IIR is read or THR written */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_len;
};

/* Prepares the UART; output goes to con, interrupts to `irq`. Cannot fail. */
void serial_init(struct serial *s, struct console *con, unsigned int irq);

/*
 * Resets the UART's registers and plugs it into vm's port bus at `port` (again
 * after a guest reset, with the new vm). Returns 0 or -errno (port range taken).
 */
int serial_attach(struct serial *s, struct vm *vm, uint16_t port)
	__attribute__((warn_unused_result));

/* Queues host input for the guest (console rx callback); bytes beyond the FIFO are dropped. */
void serial_rx(void *opaque, const uint8_t *buf, size_t len);

#endif
