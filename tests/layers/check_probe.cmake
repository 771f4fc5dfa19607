# Builds the probe ALLOWED, which must compile, then FORBIDDEN, which must
# fail because HEADER is not found from where it stands.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${ALLOWED}
  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "the probe with an allowed include does not compile:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${FORBIDDEN}
  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(code EQUAL 0)
  message(FATAL_ERROR "${HEADER} was included from a layer below it")
endif()
string(FIND "${out}" "${HEADER}: No such file" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the probe failed, but not for want of ${HEADER}:\n${out}")
endif()
message(STATUS "${HEADER} is out of reach, as it should be")
