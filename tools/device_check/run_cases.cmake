# Runs cmake/check_device_symbols.cmake on each fixture library and checks its
# verdict (see CMakeLists.txt for the cases).
#   cmake -DNM=nm -DCHECKER=check_device_symbols.cmake -DCASES_FILE=cases.cmake
#         -P run_cases.cmake
# Prints `ok <case>: ...` or `FAIL <case>: ...` per case; fails if any failed.
cmake_policy(VERSION 3.25)
if(NOT NM OR NOT CHECKER OR NOT CASES_FILE)
  message(FATAL_ERROR "usage: cmake -DNM=nm -DCHECKER=file -DCASES_FILE=file -P run_cases.cmake")
endif()
include(${CASES_FILE})

set(failures 0)
foreach(entry IN LISTS CASES)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 name)
  list(GET fields 1 expect)
  list(GET fields 2 symbol)
  list(GET fields 3 library)

  # The fixture must really hold what its case claims, or a "pass" proves
  # nothing: its undefined symbols, as the checker sees them.
  execute_process(COMMAND ${NM} -u -C ${library} OUTPUT_VARIABLE undefined RESULT_VARIABLE nm_rc)
  execute_process(COMMAND ${CMAKE_COMMAND} -DNM=${NM} -DLIBRARY=${library} -P ${CHECKER}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  # CMake wraps a message at spaces: compare with whitespace folded.
  string(REGEX REPLACE "[ \t\r\n]+" " " verdict "${out}${err}")
  string(FIND "${verdict}" "Device code must not use the heap, exceptions or RTTI" rejected_pos)

  set(why "")
  if(NOT nm_rc EQUAL 0)
    set(why "${NM} failed on ${library}")
  elseif(expect STREQUAL "pass")
    if(NOT rc EQUAL 0)
      set(why "the checker rejected clean code:\n${verdict}")
    endif()
  elseif(expect STREQUAL "fail")
    string(FIND "${undefined}" "${symbol}" has_symbol)
    string(FIND "${verdict}" "${symbol}" named_pos)
    if(has_symbol EQUAL -1)
      set(why "the fixture does not reference '${symbol}' (nm -u: ${undefined}); fix the fixture")
    elseif(rc EQUAL 0)
      set(why "the checker accepted a library that references '${symbol}'")
    elseif(rejected_pos EQUAL -1 OR named_pos EQUAL -1)
      set(why "the checker failed, but not by naming '${symbol}':\n${verdict}")
    endif()
  else()
    set(why "unknown expectation '${expect}'")
  endif()

  if(why STREQUAL "")
    if(expect STREQUAL "pass")
      message(STATUS "ok ${name}: accepted")
    else()
      message(STATUS "ok ${name}: rejected, names '${symbol}'")
    endif()
  else()
    message(STATUS "FAIL ${name}: ${why}")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()

list(LENGTH CASES count)
if(count EQUAL 0)
  message(FATAL_ERROR "no cases in ${CASES_FILE}")
endif()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} of ${count} device-check cases failed")
endif()
message(STATUS "device_check: ${count} cases, all as expected")
