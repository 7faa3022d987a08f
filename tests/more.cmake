# C API, install and Python binding tests (issue 9). Included by tests/CMakeLists.txt.

# C API unit test, compiled as C and linked against the shared library (its exports).
add_executable(capi_test ${CMAKE_CURRENT_SOURCE_DIR}/capi/capi_test.c)
set_target_properties(capi_test PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(capi_test PRIVATE -Wall -Wextra -Werror)
target_link_libraries(capi_test PRIVATE shmring::shmring)
add_test(NAME CApi.test COMMAND capi_test)
set_tests_properties(CApi.test PROPERTIES LABELS unit TIMEOUT 60)

# The C demo: producer and consumer in C, across processes.
add_executable(shmring_c_demo ${CMAKE_CURRENT_SOURCE_DIR}/capi/shmring_c_demo.c)
set_target_properties(shmring_c_demo PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(shmring_c_demo PRIVATE -Wall -Wextra -Werror)
target_link_libraries(shmring_c_demo PRIVATE shmring::shmring)
add_test(NAME CApi.demo_cross_process
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/capi/demo_test.sh $<TARGET_FILE:shmring_c_demo>)
set_tests_properties(CApi.demo_cross_process PROPERTIES LABELS unit TIMEOUT 60)

# Exactly the C and C++ API of tests/capi/exports.golden is exported, versioned, with its SONAME.
add_test(NAME CApi.exports
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/capi/check_exports.sh $<TARGET_FILE:shmring::shmring>
          ${CMAKE_CURRENT_SOURCE_DIR}/capi/exports.golden)
set_tests_properties(CApi.exports PROPERTIES LABELS unit TIMEOUT 60)

# A C++ peer for the binding tests (the C++ API, linked statically).
add_executable(shmring_cxx_peer ${CMAKE_CURRENT_SOURCE_DIR}/capi/cxx_peer.cc)
target_link_libraries(shmring_cxx_peer PRIVATE shmring::shmring_static)

# cmake --install into a temporary prefix; build an outside project against it.
add_test(NAME install.consumer_project
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/install_test.sh ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR}
          ${CMAKE_CURRENT_SOURCE_DIR}/install/consumer)
set_tests_properties(install.consumer_project PROPERTIES LABELS install TIMEOUT 600 RUN_SERIAL ON)

# The binding tests need python3 (scripts/deps.sh installs it): without it, fail at
# configure time rather than silently drop them.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(FATAL_ERROR "SHMRING_TESTS=ON needs python3 for the Python binding tests (Python.unittest): "
                      "apt-get install python3 (scripts/deps.sh does), or configure with -DSHMRING_TESTS=OFF")
endif()
add_test(NAME Python.unittest
  COMMAND ${Python3_EXECUTABLE} -m unittest discover -v -s tests
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python)
set_tests_properties(Python.unittest PROPERTIES LABELS bindings TIMEOUT 300 ENVIRONMENT
    "SHMRING_LIBRARY=$<TARGET_FILE:shmring::shmring>;SHMRING_C_DEMO=$<TARGET_FILE:shmring_c_demo>;SHMRING_CXX_PEER=$<TARGET_FILE:shmring_cxx_peer>;PYTHONDONTWRITEBYTECODE=1")

add_test(NAME readme_snippets
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/readme_snippets_test.sh ${PROJECT_SOURCE_DIR}/README.md
          ${PROJECT_SOURCE_DIR}/libshmring/include $<TARGET_FILE:shmring> ${PROJECT_SOURCE_DIR}/bindings/python)
set_tests_properties(readme_snippets PROPERTIES LABELS bindings)
