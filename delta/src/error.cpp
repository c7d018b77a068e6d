#include "mqota/delta/error.h"

namespace mqota::delta {

const char* Describe(DeltaErrc code) {
  switch (code) {
    case DeltaErrc::kBadMagic: return "not an mqota delta patch (bad magic)";
    case DeltaErrc::kBadFormat: return "delta patch format version not supported";
    case DeltaErrc::kBadHeader: return "delta patch header is corrupt or inconsistent";
    case DeltaErrc::kGeometry: return "delta patch blocks do not fit the flash slot's sectors";
    case DeltaErrc::kBadCheckpoint: return "resume checkpoint does not fit this patch";
    case DeltaErrc::kCorrupt: return "delta patch block is malformed";
    case DeltaErrc::kBlockMismatch: return "delta patch block decoded to the wrong bytes";
    case DeltaErrc::kSourceMismatch: return "source image is not the one the patch was made from";
    case DeltaErrc::kTargetMismatch: return "applied image does not match the patch's target";
    case DeltaErrc::kTrailingBytes: return "delta patch has bytes after its last block";
    case DeltaErrc::kFinished: return "delta decoder is not applying a patch";
    case DeltaErrc::kFlash: return "flash operation failed while applying a delta patch";
  }
  return "unknown delta error";
}

}  // namespace mqota::delta
