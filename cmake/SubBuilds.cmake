# The host build drives the other two flavours as sub-builds of the same
# sources, so one `cmake --build build` keeps all three current and CTest can
# run what they produce. Both are required: a machine without the tools fails
# here with a clear message instead of silently skipping the checks
# (scripts/test.sh installs them). MQOTA_CROSS=OFF / MQOTA_FUZZ=OFF opt out.
include(ExternalProject)

option(MQOTA_CROSS "Build the device core for Cortex-M4 and run it on QEMU" ON)
option(MQOTA_FUZZ "Build the libFuzzer targets with clang" ON)

if(MQOTA_CROSS)
  find_program(MQOTA_ARM_GCC arm-none-eabi-gcc)
  find_program(MQOTA_QEMU_ARM qemu-system-arm)
  if(NOT MQOTA_ARM_GCC OR NOT MQOTA_QEMU_ARM)
    message(FATAL_ERROR "arm-none-eabi-gcc and qemu-system-arm are needed for the Cortex-M4 "
                        "build (scripts/install-deps.sh installs them), or pass -DMQOTA_CROSS=OFF")
  endif()
  set(MQOTA_CORTEX_M4_DIR ${CMAKE_BINARY_DIR}/cortex-m4)
  ExternalProject_Add(cortex_m4
    SOURCE_DIR ${MQOTA_SOURCE_DIR}
    BINARY_DIR ${MQOTA_CORTEX_M4_DIR}
    CMAKE_ARGS -DMQOTA_TARGET=cortex-m4
               -DCMAKE_TOOLCHAIN_FILE=${MQOTA_SOURCE_DIR}/cmake/toolchain-cortex-m4.cmake
               -DCMAKE_BUILD_TYPE=MinSizeRel
               -DMQOTA_WERROR=${MQOTA_WERROR}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)
  add_test(NAME cortex_m4.selftest_on_qemu
    COMMAND ${MQOTA_SOURCE_DIR}/ports/qemu-mps2/run-on-qemu.sh ${MQOTA_QEMU_ARM}
            ${MQOTA_CORTEX_M4_DIR}/ports/qemu-mps2/mqota-selftest.elf)
  set_tests_properties(cortex_m4.selftest_on_qemu PROPERTIES LABELS "cross" TIMEOUT 60)
endif()

if(MQOTA_FUZZ)
  find_program(MQOTA_CLANGXX NAMES clang++-14 clang++)
  find_program(MQOTA_CLANG NAMES clang-14 clang)
  if(NOT MQOTA_CLANGXX OR NOT MQOTA_CLANG)
    message(FATAL_ERROR "clang is needed for the fuzz targets (scripts/install-deps.sh installs "
                        "it), or pass -DMQOTA_FUZZ=OFF")
  endif()
  set(MQOTA_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
  ExternalProject_Add(fuzzers
    SOURCE_DIR ${MQOTA_SOURCE_DIR}
    BINARY_DIR ${MQOTA_FUZZ_DIR}
    CMAKE_ARGS -DMQOTA_TARGET=fuzz
               -DCMAKE_C_COMPILER=${MQOTA_CLANG}
               -DCMAKE_CXX_COMPILER=${MQOTA_CLANGXX}
               -DCMAKE_BUILD_TYPE=RelWithDebInfo
               -DMQOTA_WERROR=${MQOTA_WERROR}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)
  # Each fuzz target runs briefly in the default suite; fuzz/README.md has the
  # command for a long run.
  foreach(target image_parser json_reader chunk_decoder request_handler api_body delta_decoder)
    add_test(NAME fuzz.${target}.short
      COMMAND ${MQOTA_SOURCE_DIR}/fuzz/run.sh ${MQOTA_FUZZ_DIR}/bin/fuzz_${target}
              ${MQOTA_SOURCE_DIR}/fuzz/${target}/corpus 10)
    set_tests_properties(fuzz.${target}.short PROPERTIES LABELS "fuzz" TIMEOUT 120)
  endforeach()
endif()
