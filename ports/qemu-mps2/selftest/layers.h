// One function per checked layer; each lives in <layer>_checks.cpp.
// Adding a layer: write the file, declare its function here, list it in
// kLayers in main.cpp, and add the file (and the layer's library) in
// ../CMakeLists.txt.
#pragma once

#include "check.h"

namespace mqota::selftest {

Layer PortChecks();   // this port's startup: .data, .bss, constructors, FPU
Layer BaseChecks();   // mqota::base: Result, MQOTA_TRY, little-endian access
Layer FlashChecks();  // mqota::flash: RamFlash, FlashArea
Layer ImageChecks();  // mqota::image: an imgtool image parsed and validated
Layer BootChecks();   // mqota::boot: upgrades, reverts and rejects on a RamFlash
Layer DeltaChecks();  // mqota::delta: the host's patch applied, resumed, refused

}  // namespace mqota::selftest
