# Cross toolchain for the device core on an Arm Cortex-M4 with FPU (the
# `cortex-m4` flavour, see the top-level CMakeLists.txt):
#
#   cmake -S . -B build-cross -G Ninja -DMQOTA_TARGET=cortex-m4 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-cortex-m4.cmake
#
# Debian's gcc-arm-none-eabi + libnewlib-arm-none-eabi +
# libstdc++-arm-none-eabi-dev (headers only). libstdc++-arm-none-eabi-newlib
# (libstdc++.a, 1.5 GB) is deliberately not needed: C++ is compiled with
# arm-none-eabi-g++ but linked with arm-none-eabi-gcc, so code that needs any
# part of the C++ runtime (operator new/delete, the unwinder, __cxa_*) fails
# the link instead of silently growing the image.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

# No executable can run (or even link without a linker script) at configure
# time, so compiler checks build static libraries only.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

find_program(MQOTA_ARM_NONE_EABI_GCC arm-none-eabi-gcc)
if(NOT MQOTA_ARM_NONE_EABI_GCC)
  message(FATAL_ERROR "arm-none-eabi-gcc not found (Debian: apt-get install gcc-arm-none-eabi "
                      "libnewlib-arm-none-eabi libstdc++-arm-none-eabi-dev)")
endif()
get_filename_component(_mqota_arm_bin "${MQOTA_ARM_NONE_EABI_GCC}" DIRECTORY)
set(_mqota_arm "${_mqota_arm_bin}/arm-none-eabi-")

set(CMAKE_C_COMPILER "${_mqota_arm}gcc")
set(CMAKE_CXX_COMPILER "${_mqota_arm}g++")
set(CMAKE_ASM_COMPILER "${_mqota_arm}gcc")
set(CMAKE_AR "${_mqota_arm}ar" CACHE FILEPATH "arm-none-eabi ar")
set(CMAKE_RANLIB "${_mqota_arm}ranlib" CACHE FILEPATH "arm-none-eabi ranlib")
# CMAKE_NM feeds cmake/check_device_symbols.cmake; CMAKE_SIZE the size reports.
set(CMAKE_NM "${_mqota_arm}nm" CACHE FILEPATH "arm-none-eabi nm")
set(CMAKE_OBJCOPY "${_mqota_arm}objcopy" CACHE FILEPATH "arm-none-eabi objcopy")
set(CMAKE_OBJDUMP "${_mqota_arm}objdump" CACHE FILEPATH "arm-none-eabi objdump")
set(CMAKE_SIZE "${_mqota_arm}size" CACHE FILEPATH "arm-none-eabi size")

# GCC picks the thumb/v7e-m+fp/hard multilib of newlib from these flags, so they
# go to the link as well (<FLAGS> below).
set(MQOTA_CORTEX_M4_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${MQOTA_CORTEX_M4_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT
    "${MQOTA_CORTEX_M4_CPU_FLAGS} -fno-exceptions -fno-rtti -fno-threadsafe-statics \
-fno-use-cxa-atexit -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${MQOTA_CORTEX_M4_CPU_FLAGS}")

# Firmware is judged by its size: the optimised build types optimise for it.
# (Cache defaults, not *_INIT: CMake appends its own -O2 after *_INIT.)
foreach(lang C CXX)
  set(CMAKE_${lang}_FLAGS_RELEASE "-Os -DNDEBUG" CACHE STRING "Release flags (size)")
  set(CMAKE_${lang}_FLAGS_RELWITHDEBINFO "-Os -g -DNDEBUG" CACHE STRING "RelWithDebInfo flags (size)")
endforeach()

# nano.specs: newlib-nano; nosys.specs: stub syscalls; -nostartfiles: the port
# brings its own vector table and startup (ports/qemu-mps2/startup.cpp), which
# also means no crtbegin, hence no __dso_handle: -fno-use-cxa-atexit above.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -nostartfiles -Wl,--gc-sections")

# Link C++ executables with the C driver: it adds no libstdc++/libsupc++.
set(CMAKE_CXX_LINK_EXECUTABLE
    "<CMAKE_C_COMPILER> <FLAGS> <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")

# Host programs (python, qemu, ...) from the host; libraries and headers only
# from the cross sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
