# ctest driver for the example agent: runs it on two copies of demo.wasm and checks that
# each prints exactly its 5 ticks, in order, as JSON lines prefixed by the gadget name.
# Usage: cmake -DAGENT=<agent> -DGADGET=<demo.wasm> -P check_agent.cmake
if(NOT EXISTS "${GADGET}")
  message(FATAL_ERROR "missing test gadget ${GADGET} (run tests/gadgets/go/build.sh)")
endif()
execute_process(
  COMMAND "${AGENT}" --count 5 --timeout-ms 20000 "${GADGET}" "${GADGET}"
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT 50)
message("agent exit: ${rc}\n--- stdout\n${out}--- stderr\n${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "agent failed (exit ${rc})")
endif()

string(REGEX REPLACE "\n$" "" trimmed "${out}")
string(REPLACE "\n" ";" lines "${trimmed}")
list(LENGTH lines n)
if(NOT n EQUAL 10)
  message(FATAL_ERROR "expected 10 lines, got ${n}")
endif()
foreach(name "demo#1" "demo#2")
  set(expect 1)
  foreach(line IN LISTS lines)
    string(FIND "${line}" "${name} " pos)
    if(pos EQUAL 0)
      set(want "${name} {\"message\":\"hello from wasm #${expect}\",\"seq\":${expect}}") # IG JSON: keys sorted
      if(NOT line STREQUAL want)
        message(FATAL_ERROR "line '${line}', expected '${want}'")
      endif()
      math(EXPR expect "${expect} + 1")
    endif()
  endforeach()
  if(NOT expect EQUAL 6)
    math(EXPR got "${expect} - 1")
    message(FATAL_ERROR "${name}: ${got} events, expected 5")
  endif()
endforeach()
message("OK: 10 JSON lines, 5 per gadget, in order")
