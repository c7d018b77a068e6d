# MQOTA_SANITIZE: the host build under sanitizers (scripts/sanitize.sh).
#   ""                  none (default)
#   address,undefined   AddressSanitizer (with LeakSanitizer) + UndefinedBehaviorSanitizer
#   thread              ThreadSanitizer
# Applies to every target of the host tree, device core included (its host
# build is what the unit tests run). Not to the sub-builds: the Cortex-M4
# build cannot run a sanitizer runtime, and the fuzzers bring their own
# (fuzz/CMakeLists.txt). scripts/sanitize.sh turns the sub-builds off.
# UBSan does not recover: a finding ends the process with a non-zero status,
# so the test that triggered it fails. scripts/sanitize.sh also sets
# MQOTA_WERROR=OFF: GCC's warnings misfire on instrumented code.
set(MQOTA_SANITIZE "" CACHE STRING "Host sanitizers: empty, address,undefined or thread")
set_property(CACHE MQOTA_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")

if(MQOTA_SANITIZE)
  if(NOT MQOTA_TARGET STREQUAL "host")
    message(FATAL_ERROR "MQOTA_SANITIZE is for the host build, not MQOTA_TARGET=${MQOTA_TARGET}")
  endif()
  if(NOT MQOTA_SANITIZE MATCHES "^(address,undefined|undefined,address|address|undefined|thread)$")
    message(FATAL_ERROR "MQOTA_SANITIZE must be empty, address,undefined or thread, "
                        "not '${MQOTA_SANITIZE}'")
  endif()
  set(_mqota_sanitize_flags -fsanitize=${MQOTA_SANITIZE} -fno-omit-frame-pointer)
  if(MQOTA_SANITIZE MATCHES "undefined")
    # Not vptr: it needs the typeinfo of every polymorphic class, and the
    # device core is built without RTTI on purpose (mqota_device_library), so
    # tests calling through RamFlash or NorFlashModel would not even link.
    list(APPEND _mqota_sanitize_flags -fno-sanitize=vptr -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_mqota_sanitize_flags})
  add_link_options(${_mqota_sanitize_flags})
  message(STATUS "mqota: host targets built with ${_mqota_sanitize_flags}")
endif()
