# Fails when a device-side library references the heap, C++ exceptions or RTTI.
# Run as: cmake -DNM=<nm> -DLIBRARY=<lib.a> -P check_device_symbols.cmake
#
# Why symbols, not just flags: -fno-exceptions stops `throw` from compiling, but
# a call to a throwing standard-library function (std::vector::at, a
# std::string) or a deleting destructor still links operator new/delete,
# malloc and the unwinder. Undefined symbols show exactly that.
if(NOT NM OR NOT LIBRARY)
  message(FATAL_ERROR "usage: cmake -DNM=nm -DLIBRARY=lib.a -P check_device_symbols.cmake")
endif()
execute_process(COMMAND ${NM} -u -C ${LIBRARY} OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()
set(forbidden
  "malloc" "calloc" "realloc" "free" "_sbrk"
  "operator new" "operator delete"
  "__cxa_throw" "__cxa_allocate_exception" "__cxa_begin_catch" "__cxa_rethrow"
  "__gxx_personality_v0" "_Unwind_Resume"
  "typeinfo for" "vtable for __cxxabiv1::" "__dynamic_cast"
  "__cxa_guard_acquire" "__cxa_atexit"
  "std::__throw_")
set(found "")
string(REPLACE "\n" ";" lines "${undefined}")
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  # "member.cpp.o:" lines name archive members, not symbols: a source file
  # called free_list.cpp must not read as a reference to free().
  if(line MATCHES ":$")
    continue()
  endif()
  string(REGEX REPLACE "^U " "" symbol "${line}")
  foreach(bad IN LISTS forbidden)
    string(FIND "${symbol}" "${bad}" pos)
    if(pos EQUAL 0)
      list(APPEND found "${symbol}")
    endif()
  endforeach()
endforeach()
if(found)
  list(REMOVE_DUPLICATES found)
  list(JOIN found "\n  " lines)
  message(FATAL_ERROR "${LIBRARY} is device-side code but references:\n  ${lines}\n"
                      "Device code must not use the heap, exceptions or RTTI.")
endif()
