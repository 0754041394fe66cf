// SPDX-License-Identifier: Apache-2.0
/* A 16550A-compatible UART (COM1) for the guest's console, on the port-I/O bus. */
#include "serial.h"

#include <string.h>

#include "bus.h"

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* Caller holds s->lock. */
static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_len)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_irq)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

/* Caller holds s->lock. On a PC the UART's interrupt output is gated by OUT2. */
static void update_irq(struct serial *s)
{
	int level = !(iir(s) & IIR_NONE) && (s->mcr & MCR_OUT2);

	if (!s->vm)
		return;
	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, s->irq, level);
	}
}

static uint8_t msr(const struct serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback wiring, which Linux's 8250 probe checks. */
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static uint64_t serial_read(void *opaque, uint64_t off, unsigned int size)
{
	struct serial *s = opaque;
	uint8_t v = 0xff;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_len--;
		} else {
			v = 0;
		}
		break;
	case IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case IIR_FCR:
		v = iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt (16550 datasheet). */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_irq = false;
		break;
	case LCR:
		v = s->lcr;
		break;
	case MCR:
		v = s->mcr;
		break;
	case LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
		break;
	case MSR:
		v = msr(s);
		break;
	case SCR:
		v = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	(void)size;
	return v;
}

static void serial_write(void *opaque, uint64_t off, uint64_t value, unsigned int size)
{
	struct serial *s = opaque;
	uint8_t v = (uint8_t)value;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else {
			if (!(s->mcr & MCR_LOOP))
				console_write(s->con, &v, 1);
			/* Transmission is instant, so THR is empty again at once. */
			s->thr_irq = true;
		}
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRI with an empty THR raises the interrupt at once. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_irq = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		s->fcr = v & (FCR_ENABLE | 0xc0);
		if (v & FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	(void)size;
}

static const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

void serial_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len && s->rx_len < SERIAL_RX_FIFO; i++) {
		s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_FIFO] = buf[i];
		s->rx_len++;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_init(struct serial *s, struct console *con, unsigned int irq)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->con = con;
	s->irq = irq;
}

int serial_attach(struct serial *s, struct vm *vm, uint16_t port)
{
	pthread_mutex_lock(&s->lock);
	s->vm = vm;
	s->ier = s->scr = s->dll = s->dlm = s->fcr = 0;
	s->irq_level = 0;
	s->thr_irq = false;
	s->rx_len = s->rx_head = 0;
	s->mcr = MCR_OUT2;
	s->lcr = 0x03; /* 8N1 */
	pthread_mutex_unlock(&s->lock);
	return bus_register(&vm->pio, port, 8, &serial_ops, s, "com1");
}
