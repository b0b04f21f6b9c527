# The layers' include rules, enforced by the build: each library target gets a folder of stub
# headers, searched before every other include path, in which every header the layer must not
# include stops the build with #error. So `#include <openssl/sha.h>` in card/ or
# `#include "pkcs11/module.h"` in crypto/ fails to compile (ARCHITECTURE.md, "Layers").

# System header folders that belong to one layer each.
set(JPKI_OPENSSL_HEADERS /usr/include/openssl /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openssl)
set(JPKI_PCSC_HEADERS /usr/include/PCSC)

# jpki_forbid(TARGET [SYSTEM dir...] [PROJECT folder...]): TARGET's sources may include no header
# under the system folders (as <name/header.h> relative to their parent) nor any header of the
# project folders (as "folder/header.h").
function(jpki_forbid target)
  cmake_parse_arguments(ARG "" "" "SYSTEM;PROJECT" ${ARGN})
  set(stubs ${CMAKE_BINARY_DIR}/forbidden-headers/${target})
  file(REMOVE_RECURSE ${stubs})
  foreach(dir IN LISTS ARG_SYSTEM)
    if(NOT IS_DIRECTORY ${dir})
      continue()
    endif()
    get_filename_component(name ${dir} NAME)
    file(GLOB headers RELATIVE ${dir} ${dir}/*.h)
    foreach(h IN LISTS headers)
      file(WRITE ${stubs}/${name}/${h} "#error \"${target} must not include <${name}/${h}> (see ARCHITECTURE.md)\"\n")
    endforeach()
  endforeach()
  foreach(folder IN LISTS ARG_PROJECT)
    file(GLOB headers CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/${folder} ${CMAKE_SOURCE_DIR}/${folder}/*.h)
    foreach(h IN LISTS headers)
      file(WRITE ${stubs}/${folder}/${h} "#error \"${target} must not include ${folder}/${h} (see ARCHITECTURE.md)\"\n")
    endforeach()
  endforeach()
  target_include_directories(${target} BEFORE PRIVATE ${stubs})
endfunction()

# A test that the rule holds: compiling `#include HEADER` with TARGET's include paths must fail.
function(jpki_layer_test target header)
  string(MAKE_C_IDENTIFIER ${header} id)
  set(probe ${CMAKE_BINARY_DIR}/forbidden-headers/probe_${target}_${id}.cpp)
  file(WRITE ${probe} "#include ${header}\n")
  add_test(NAME "build: ${target} cannot include ${header}"
    COMMAND ${CMAKE_CXX_COMPILER} -std=c++17 -fsyntax-only
            "-I$<JOIN:$<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>,;-I>" ${probe}
    COMMAND_EXPAND_LISTS)
  set_tests_properties("build: ${target} cannot include ${header}" PROPERTIES WILL_FAIL TRUE LABELS unit)
endfunction()
