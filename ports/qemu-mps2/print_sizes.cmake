# Prints one line of code and RAM size per file, and writes them to OUTPUT.
#   cmake -DSIZE=<arm-none-eabi-size> -DOUTPUT=<file> -DLABEL=<what>
#         -DFILES=<name>=<path>[;<name>=<path>...] -P print_sizes.cmake
# A static library counts the sum over its members (`size -t`, "(TOTALS)").
# With more than one file, a last line gives the sum: the device core's
# footprint before the linker drops unused sections (--gc-sections).
if(NOT SIZE OR NOT OUTPUT OR NOT LABEL)
  message(FATAL_ERROR "usage: cmake -DSIZE=size -DOUTPUT=file -DLABEL=what -DFILES=name=path;... "
                      "-P print_sizes.cmake")
endif()

set(report "")
set(sum_text 0)
set(sum_data 0)
set(sum_bss 0)
list(LENGTH FILES count)
foreach(entry IN LISTS FILES)
  string(REGEX MATCH "^([^=]+)=(.+)$" matched "${entry}")
  if(NOT matched)
    message(FATAL_ERROR "print_sizes: '${entry}' is not name=path")
  endif()
  set(name "${CMAKE_MATCH_1}")
  set(path "${CMAKE_MATCH_2}")
  execute_process(COMMAND ${SIZE} -t ${path} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "print_sizes: ${SIZE} failed on ${path}")
  endif()
  # Berkeley format; the last line holds the totals:
  #   text data bss dec hex filename
  string(STRIP "${out}" out)
  string(REGEX REPLACE ".*\n" "" last "${out}")
  string(REGEX MATCH "^ *([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+)" matched "${last}")
  if(NOT matched)
    message(FATAL_ERROR "print_sizes: cannot read '${last}' from ${SIZE} ${path}")
  endif()
  math(EXPR sum_text "${sum_text} + ${CMAKE_MATCH_1}")
  math(EXPR sum_data "${sum_data} + ${CMAKE_MATCH_2}")
  math(EXPR sum_bss "${sum_bss} + ${CMAKE_MATCH_3}")
  string(APPEND report
         "size ${LABEL} ${name}: text ${CMAKE_MATCH_1} data ${CMAKE_MATCH_2} bss ${CMAKE_MATCH_3}\n")
endforeach()
if(count GREATER 1)
  string(APPEND report "size ${LABEL} total: text ${sum_text} data ${sum_data} bss ${sum_bss}\n")
endif()
if(count EQUAL 0)
  set(report "size ${LABEL}: nothing to measure yet\n")
endif()

file(WRITE "${OUTPUT}" "${report}")
string(STRIP "${report}" report)
execute_process(COMMAND ${CMAKE_COMMAND} -E echo "${report}")
