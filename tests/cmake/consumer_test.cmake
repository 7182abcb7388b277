# ctest driver: configures, builds and runs tests/cmake/consumer against gadgetrt, either
# through add_subdirectory (MODE=subdir) or through find_package after `cmake --install`
# of the outer build tree (MODE=package); MODE=pkgconfig installs everything (library,
# headers, .pc, tools) and builds plain `cc` programs (and the README's C example) with
# `pkg-config --cflags --libs gadgetrt`.
#
# cmake -DMODE=subdir|package|pkgconfig -DGADGETRT_SOURCE_DIR=... -DGADGETRT_BINARY_DIR=... -DWORK_DIR=...
#       [-DGENERATOR=...] [-DC_COMPILER=...] [-DCXX_COMPILER=...] -P consumer_test.cmake
cmake_minimum_required(VERSION 3.21)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "command failed (${rc}): ${cmd}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(gen_args)
if(GENERATOR)
  list(APPEND gen_args -G "${GENERATOR}")
endif()
if(C_COMPILER)
  list(APPEND gen_args "-DCMAKE_C_COMPILER=${C_COMPILER}")
endif()
if(CXX_COMPILER)
  list(APPEND gen_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()

set(src "${GADGETRT_SOURCE_DIR}/tests/cmake/consumer")
set(bld "${WORK_DIR}/build")

if(MODE STREQUAL "package")
  set(prefix "${WORK_DIR}/prefix")
  foreach(component runtime development)
    run("${CMAKE_COMMAND}" --install "${GADGETRT_BINARY_DIR}" --prefix "${prefix}" --component ${component})
  endforeach()
  # The library is installed under its SONAME, with the development link next to it.
  file(GLOB_RECURSE devlink LIST_DIRECTORIES false "${prefix}/*/libgadgetrt.so")
  if(NOT devlink OR NOT IS_SYMLINK "${devlink}")
    message(FATAL_ERROR "install: libgadgetrt.so missing or not a link: '${devlink}'")
  endif()
  file(READ_SYMLINK "${devlink}" soname_file)
  if(NOT soname_file MATCHES "^libgadgetrt\\.so\\.[0-9.]+$")
    message(FATAL_ERROR "install: libgadgetrt.so points to '${soname_file}', not libgadgetrt.so.<version>")
  endif()
  file(GLOB_RECURSE cfg "${prefix}/*/gadgetrtConfig.cmake")
  file(GLOB_RECURSE pc "${prefix}/*/gadgetrt.pc")
  if(NOT cfg OR NOT pc OR NOT EXISTS "${prefix}/include/gadgetrt.h" OR NOT EXISTS "${prefix}/include/gadgetrt.hpp")
    message(FATAL_ERROR "install is incomplete: config='${cfg}' pc='${pc}'")
  endif()
  run("${CMAKE_COMMAND}" -S "${src}" -B "${bld}" ${gen_args} -DGADGETRT_MODE=package "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "pkgconfig")
  # `cmake --install` (every component) into a private prefix, then consumers built the
  # Makefile way: `cc app.c $(pkg-config --cflags --libs gadgetrt)`, run without
  # LD_LIBRARY_PATH (the .pc's rpath finds the installed library).
  set(prefix "${WORK_DIR}/prefix")
  run("${CMAKE_COMMAND}" --install "${GADGETRT_BINARY_DIR}" --prefix "${prefix}")
  foreach(tool gadgetrt-run gadgetrt-pack)
    if(NOT EXISTS "${prefix}/bin/${tool}")
      message(FATAL_ERROR "install: ${prefix}/bin/${tool} missing")
    endif()
    run("${prefix}/bin/${tool}" --help)
  endforeach()
  find_program(PKG_CONFIG pkg-config REQUIRED)
  file(GLOB_RECURSE pc "${prefix}/*/gadgetrt.pc")
  get_filename_component(pcdir "${pc}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} "${pcdir}")
  unset(ENV{LD_LIBRARY_PATH})
  run("${PKG_CONFIG}" --cflags --libs gadgetrt)
  string(STRIP "${run_out}" pc_flags)
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  if(NOT C_COMPILER)
    set(C_COMPILER cc)
  endif()
  file(WRITE "${WORK_DIR}/version.c" [=[
#include <gadgetrt.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    printf("gadgetrt %s abi %u\n", grt_version(), grt_abi_version());
    return strcmp(grt_error_code_name(GRT_ERR_NOT_FOUND), "NOT_FOUND") != 0;
}
]=])
  run("${C_COMPILER}" -o "${WORK_DIR}/version" "${WORK_DIR}/version.c" ${pc_flags})
  run("${WORK_DIR}/version")
  message("${run_out}")
  if(NOT run_out MATCHES "gadgetrt [0-9]+\\.[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "version: unexpected output '${run_out}'")
  endif()
  # The README's C example, exactly as written there, built the same way.
  file(READ "${GADGETRT_SOURCE_DIR}/README.md" readme)
  string(FIND "${readme}" "```c\n" begin)
  if(begin EQUAL -1)
    message(FATAL_ERROR "README.md has no C example")
  endif()
  math(EXPR begin "${begin} + 5")
  string(SUBSTRING "${readme}" ${begin} -1 rest)
  string(FIND "${rest}" "```" end)
  string(SUBSTRING "${rest}" 0 ${end} example)
  file(WRITE "${WORK_DIR}/readme_example.c" "${example}")
  run("${C_COMPILER}" -Wall -Werror -o "${WORK_DIR}/readme_example" "${WORK_DIR}/readme_example.c" ${pc_flags})
  # It runs the bundled trace_open image (eBPF: root) from the repository root.
  if(EXISTS "${GADGETRT_SOURCE_DIR}/examples/gadgets/out/trace_open.tar")
    execute_process(COMMAND "${WORK_DIR}/readme_example" WORKING_DIRECTORY "${GADGETRT_SOURCE_DIR}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "README example failed (${rc}):\n${out}\n${err}")
    endif()
    message("README example ran: ${rc}")
  else()
    message("README example built; not run (examples/gadgets/out/trace_open.tar missing)")
  endif()
  message("OK: gadgetrt via pkg-config")
  return()
elseif(MODE STREQUAL "subdir")
  run("${CMAKE_COMMAND}" -S "${src}" -B "${bld}" ${gen_args} -DGADGETRT_MODE=subdir "-DGADGETRT_SOURCE_DIR=${GADGETRT_SOURCE_DIR}")
else()
  message(FATAL_ERROR "MODE must be subdir, package or pkgconfig")
endif()

run("${CMAKE_COMMAND}" --build "${bld}")
find_program(READELF readelf REQUIRED)
foreach(exe consumer_c consumer_cpp)
  # The executable records the SONAME (libgadgetrt.so.<version>), not a path or the dev link.
  run("${READELF}" -d "${bld}/${exe}")
  if(NOT run_out MATCHES "NEEDED[^\n]*\\[libgadgetrt\\.so\\.[0-9.]+\\]")
    message(FATAL_ERROR "${exe}: does not record libgadgetrt's SONAME:\n${run_out}")
  endif()
  run("${bld}/${exe}")
  message("${run_out}")
  if(NOT run_out MATCHES "gadgetrt [0-9]+\\.[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "${exe}: unexpected output '${run_out}'")
  endif()
endforeach()
message("OK: gadgetrt::gadgetrt via ${MODE}")
