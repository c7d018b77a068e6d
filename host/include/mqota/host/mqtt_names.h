// Names that end up inside MQTT topics and broker files: client ids (device
// ids, the server's id), board names and the topic prefix.
//
// A device id is a certificate's CN, and with use_identity_as_username the
// broker's username for that device, which the ACL file names on a `user`
// line and puts in a topic level ("<prefix>/<board>/OTAImage/<id>/..."). So it
// must be one safe topic level and one safe ACL token: printable ASCII with no
// space, no '/', '+' or '#', 1..64 characters; and no ':', which separates an
// id from its board on the command line (`--device ID:BOARD`).
#pragma once

#include <string>

namespace mqota::host {

inline constexpr size_t kMaxClientIdBytes = 64;

// Throws UsageError "<what> '<id>' ...: <rule>" when `id` is not a valid
// client id (see above). `what` is e.g. "device id".
void CheckClientId(const std::string& id, const std::string& what);

// A board name is one topic level by the same rule (it is a level of every
// topic of that board, and a token in the ACL file).
void CheckBoardName(const std::string& board);

// A topic prefix: one or more levels of the same characters, separated by
// single '/', no '/' at either end. Throws UsageError otherwise.
void CheckTopicPrefix(const std::string& prefix);

}  // namespace mqota::host
