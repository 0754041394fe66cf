// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: a guest's arbitrary port I/O against the emulated platform (UART,
 * PCI configuration mechanism, ACPI and i8042 ports, boot timer) and host console input,
 * without KVM: each input is a sequence of 8-byte operations.
 */
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "console.h"
#include "pci.h"
#include "platform.h"
#include "serial.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t ports[] = { 0x3f8, 0xcf8, 0xcfc, 0x600, 0x64, 0x440, 0x80 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct console con;
	static struct serial com1;
	static struct platform plat;
	static struct pci_bus pci;

	memset(&vm, 0, sizeof(vm));
	vm.kvm_fd = vm.vm_fd = vm.mem_fd = vm.stop_efd = -1; /* no KVM: IRQ lines fail quietly */
	bus_init(&vm.pio);
	memset(&con, 0, sizeof(con));
	pthread_mutex_init(&con.lock, NULL);
	con.out_fd = con.listen_fd = -1;
	serial_init(&com1, &con, 4);
	if (serial_attach(&com1, &vm, 0x3f8) || platform_init(&plat, &vm) || pci_init(&pci, &vm))
		__builtin_trap();

	for (; size >= 8; data += 8, size -= 8) {
		uint16_t port = (uint16_t)(ports[data[0] % (sizeof(ports) / sizeof(ports[0]))] +
					   (data[1] & 7));
		unsigned int len = 1U << (data[2] & 3); /* 1, 2, 4 or 8: the bus must refuse 8 */
		uint64_t v = 0;
		uint8_t out[8];

		memcpy(&v, data + 4, 4);
		if (data[3] & 1)
			bus_write(&vm.pio, port, &v, len);
		else
			bus_read(&vm.pio, port, out, len);
		if ((data[3] & 6) == 6)
			serial_rx(&com1, data + 4, 4);
	}
	bus_destroy(&vm.pio);
	pthread_mutex_destroy(&con.lock);
	return 0;
}
