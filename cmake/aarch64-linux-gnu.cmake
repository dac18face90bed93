# Cross-compiling for 64-bit ARM with Debian's toolchain (g++-aarch64-linux-gnu)
# and arm64 libraries installed with multiarch (libhwy-dev:arm64,
# libgtest-dev:arm64); binaries run under qemu-user, which ctest and
# gtest_discover_tests call through CMAKE_CROSSCOMPILING_EMULATOR.
# scripts/test_arm.sh uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# The programs run with the multiarch arm64 loader and libraries
# (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu), those of the
# arm64 packages above. Not with -L /usr/aarch64-linux-gnu, the cross
# toolchain's own copy: its loader with libhwy's libc hung in pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
