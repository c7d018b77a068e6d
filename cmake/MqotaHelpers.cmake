# Helpers shared by every folder of the tree.

# Warnings every mqota target compiles with.
function(mqota_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wimplicit-fallthrough)
  if(MQOTA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# A library of the device-side core (flash, image, boot, agent): built without
# exceptions and RTTI, and checked after every build for references to the heap,
# exceptions or RTTI (see cmake/check_device_symbols.cmake). A violation fails
# the build, in every flavour, host and Cortex-M4 alike.
function(mqota_device_library name)
  add_library(${name} STATIC ${ARGN})
  mqota_warnings(${name})
  target_compile_options(${name} PRIVATE -fno-exceptions -fno-rtti -fno-threadsafe-statics)
  if(MQOTA_TARGET STREQUAL "fuzz")
    return()  # sanitizer instrumentation adds runtime references of its own
  endif()
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIBRARY=$<TARGET_FILE:${name}>
            -P ${MQOTA_SOURCE_DIR}/cmake/check_device_symbols.cmake
    COMMENT "Checking ${name} for heap, exception and RTTI references"
    VERBATIM)
endfunction()

# A GoogleTest executable registered with CTest, test by test.
#   mqota_add_gtest(name source... LIBS lib... [LABELS label...] [PREFIX prefix])
# PREFIX goes before every CTest name (e.g. "fleet." for fleet.Waves.Parse).
function(mqota_add_gtest name)
  cmake_parse_arguments(ARG "" "PREFIX" "LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  mqota_warnings(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    MQOTA_VECTORS_DIR="${MQOTA_SOURCE_DIR}/tests/vectors/imgtool"
    MQOTA_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  # Tests whose name contains "Long" (exhaustive matrices) carry the label
  # `long` instead of `unit`, so the default run (ctest -LE long) skips them
  # and `ctest -L long` runs them.
  # One label per test: gtest_discover_tests (CMake 3.25) cannot carry a list
  # of labels. "unit" unless the caller says otherwise (e.g. "integration").
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 TEST_FILTER "-*Long*"
                       TEST_PREFIX "${ARG_PREFIX}"
                       TEST_LIST ${name}_default_tests PROPERTIES LABELS "${labels}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 TEST_FILTER "*Long*"
                       TEST_PREFIX "${ARG_PREFIX}"
                       TEST_LIST ${name}_long_tests PROPERTIES LABELS "long" TIMEOUT 3600)
endfunction()
