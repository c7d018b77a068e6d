// mqota::flash on the target: a RamFlash (and a FlashArea on it) written,
// read and erased by the same code the bootloader will run, with the
// FlashDevice contract checks (bounds, write alignment, sector alignment).
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "check.h"
#include "layers.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/flash_device.h"
#include "mqota/flash/ram_flash.h"

namespace mqota::selftest {
namespace {

using flash::FlashArea;
using flash::FlashErrc;
using flash::FlashGeometry;
using flash::FlashOp;
using flash::FlashStatus;
using flash::RamFlash;
using flash::SectorRun;

// Non-uniform on purpose (two 1 KiB sectors, then one 2 KiB sector), 8-byte
// program unit, erased value 0xFF.
constexpr SectorRun kSectors[] = {{2, 1024}, {1, 2048}};
constexpr FlashGeometry kGeometry{kSectors, 8, 0xFF};
constexpr uint32_t kDeviceBytes = 4096;

// The "chip": static, so the device itself stays small on the stack.
std::array<uint8_t, kDeviceBytes> g_storage;

bool AllEqual(std::span<const uint8_t> bytes, uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](uint8_t b) { return b == value; });
}

bool FailedWith(const FlashStatus& status, FlashErrc code, FlashOp op, uint32_t offset) {
  return !status.ok() && status.error().code == code && status.error().op == op &&
         status.error().offset == offset;
}

const char* GeometryIsValid() {
  MQOTA_EXPECT(kGeometry.IsValid());
  MQOTA_EXPECT(kGeometry.size_bytes() == kDeviceBytes);
  MQOTA_EXPECT(kGeometry.sector_count() == 3);
  const auto last = kGeometry.SectorContaining(Opaque(3000u));
  MQOTA_EXPECT(last.has_value() && last->index == 2 && last->offset_bytes == 2048);
  return nullptr;
}

const char* NewDeviceReadsErased() {
  g_storage.fill(0x5a);
  Clobber(g_storage.data());
  RamFlash device(kGeometry, g_storage);
  std::array<uint8_t, 64> out{};
  MQOTA_EXPECT(device.Read(Opaque(4000u), out).ok());
  MQOTA_EXPECT(AllEqual(out, 0xFF));
  return nullptr;
}

const char* WriteThenRead() {
  RamFlash device(kGeometry, g_storage);
  std::array<uint8_t, 24> data{};
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  MQOTA_EXPECT(device.Write(Opaque(1016u), data).ok());  // crosses a sector boundary
  std::array<uint8_t, 26> out{};
  MQOTA_EXPECT(device.Read(Opaque(1015u), out).ok());
  MQOTA_EXPECT(out[0] == 0xFF && out[25] == 0xFF);
  MQOTA_EXPECT(std::equal(data.begin(), data.end(), out.begin() + 1));
  return nullptr;
}

const char* EraseOneSector() {
  RamFlash device(kGeometry, g_storage);
  const std::array<uint8_t, 8> zeros{};
  MQOTA_EXPECT(device.Write(1016, zeros).ok());  // end of sector 0
  MQOTA_EXPECT(device.Write(1024, zeros).ok());  // start of sector 1
  MQOTA_EXPECT(device.Erase(Opaque(1024u), 1024).ok());
  MQOTA_EXPECT(AllEqual(device.contents().subspan(1016, 8), 0x00));
  MQOTA_EXPECT(AllEqual(device.contents().subspan(1024, 1024), 0xFF));
  return nullptr;
}

const char* ContractViolationsAreErrors() {
  RamFlash device(kGeometry, g_storage);
  const std::array<uint8_t, 8> data{};
  std::array<uint8_t, 8> out{};
  MQOTA_EXPECT(
      FailedWith(device.Write(Opaque(4u), data), FlashErrc::kMisaligned, FlashOp::kWrite, 4));
  MQOTA_EXPECT(FailedWith(device.Erase(Opaque(1024u), 2048), FlashErrc::kNotSectorAligned,
                          FlashOp::kErase, 1024));
  MQOTA_EXPECT(
      FailedWith(device.Read(Opaque(4092u), out), FlashErrc::kOutOfBounds, FlashOp::kRead, 4092));
  MQOTA_EXPECT(AllEqual(device.contents(), 0xFF));  // nothing was touched
  return nullptr;
}

const char* AreaOffsetsAreRelative() {
  RamFlash device(kGeometry, g_storage);
  const FlashArea slot(device, 2048, 2048);  // the 2 KiB sector
  MQOTA_EXPECT(slot.IsValid());
  const std::array<uint8_t, 8> data = {1, 2, 3, 4, 5, 6, 7, 8};
  MQOTA_EXPECT(slot.Write(Opaque(16u), data).ok());
  MQOTA_EXPECT(device.contents()[2048 + 16] == 1 && device.contents()[2048 + 23] == 8);
  MQOTA_EXPECT(
      FailedWith(slot.Write(Opaque(2048u), data), FlashErrc::kOutOfBounds, FlashOp::kWrite, 2048));
  const Result<bool, flash::FlashError> erased = slot.IsErased(0, 2048);
  MQOTA_EXPECT(erased.ok() && !*erased);
  MQOTA_EXPECT(slot.EraseAll().ok());
  const Result<bool, flash::FlashError> erased_now = slot.IsErased(0, 2048);
  MQOTA_EXPECT(erased_now.ok() && *erased_now);
  return nullptr;
}

constexpr Check kChecks[] = {
    {"geometry_is_valid", GeometryIsValid},
    {"new_device_reads_erased", NewDeviceReadsErased},
    {"write_then_read", WriteThenRead},
    {"erase_one_sector", EraseOneSector},
    {"contract_violations_are_errors", ContractViolationsAreErrors},
    {"area_offsets_are_relative", AreaOffsetsAreRelative},
};

}  // namespace

Layer FlashChecks() { return {"flash", kChecks}; }

}  // namespace mqota::selftest
