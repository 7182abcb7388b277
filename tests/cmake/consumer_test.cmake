# ctest driver: configures, builds and runs tests/cmake/consumer against gadgetrt, either
# through add_subdirectory (MODE=subdir) or through find_package after `cmake --install`
# of the outer build tree (MODE=package).
#
# cmake -DMODE=subdir|package -DGADGETRT_SOURCE_DIR=... -DGADGETRT_BINARY_DIR=... -DWORK_DIR=...
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
  file(GLOB_RECURSE cfg "${prefix}/*/gadgetrtConfig.cmake")
  file(GLOB_RECURSE pc "${prefix}/*/gadgetrt.pc")
  if(NOT cfg OR NOT pc OR NOT EXISTS "${prefix}/include/gadgetrt.h" OR NOT EXISTS "${prefix}/include/gadgetrt.hpp")
    message(FATAL_ERROR "install is incomplete: config='${cfg}' pc='${pc}'")
  endif()
  run("${CMAKE_COMMAND}" -S "${src}" -B "${bld}" ${gen_args} -DGADGETRT_MODE=package "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "subdir")
  run("${CMAKE_COMMAND}" -S "${src}" -B "${bld}" ${gen_args} -DGADGETRT_MODE=subdir "-DGADGETRT_SOURCE_DIR=${GADGETRT_SOURCE_DIR}")
else()
  message(FATAL_ERROR "MODE must be subdir or package")
endif()

run("${CMAKE_COMMAND}" --build "${bld}")
foreach(exe consumer_c consumer_cpp)
  run("${bld}/${exe}")
  message("${run_out}")
  if(NOT run_out MATCHES "gadgetrt [0-9]+\\.[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "${exe}: unexpected output '${run_out}'")
  endif()
endforeach()
message("OK: gadgetrt::gadgetrt via ${MODE}")
