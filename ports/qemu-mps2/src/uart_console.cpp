#include <cstdint>

#include "mqota/qemu_mps2/console.h"

namespace mqota::qemu_mps2 {
namespace {

// CMSDK APB UART registers (ARM DDI 0479, "APB UART").
struct CmsdkUart {
  uint32_t data;       // +0x00 write: transmit one byte
  uint32_t state;      // +0x04 bit 0: transmit buffer full
  uint32_t ctrl;       // +0x08 bit 0: transmit enable
  uint32_t intstatus;  // +0x0c
  uint32_t bauddiv;    // +0x10 must be >= 16 or QEMU ignores the UART
};
constexpr uintptr_t kUart0Base = 0x40004000;
constexpr uint32_t kStateTxFull = 1u << 0;
constexpr uint32_t kCtrlTxEnable = 1u << 0;

volatile CmsdkUart& Uart0() { return *reinterpret_cast<volatile CmsdkUart*>(kUart0Base); }

void PutChar(char c) {
  volatile CmsdkUart& uart = Uart0();
  while ((uart.state & kStateTxFull) != 0) {
  }
  uart.data = static_cast<uint8_t>(c);
}

}  // namespace

void ConsoleInit() {
  volatile CmsdkUart& uart = Uart0();
  uart.bauddiv = 16;
  uart.ctrl = kCtrlTxEnable;
}

void ConsoleWrite(const char* text) {
  for (; *text != '\0'; ++text) PutChar(*text);
}

void ConsoleWriteDec(uint32_t value) {
  char digits[10];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (count > 0) PutChar(digits[--count]);
}

void ConsoleWriteHex(uint32_t value) {
  ConsoleWrite("0x");
  for (int shift = 28; shift >= 0; shift -= 4) {
    PutChar("0123456789abcdef"[(value >> shift) & 0xf]);
  }
}

}  // namespace mqota::qemu_mps2
