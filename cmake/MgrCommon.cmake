# Shared compile settings for every mgr-tune target.
add_library(mgr_warnings INTERFACE)
target_compile_options(mgr_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
option(MGR_WERROR "Treat warnings in mgr-tune's own targets as errors (tools/test.sh sets it)" OFF)
if(MGR_WERROR)
  target_compile_options(mgr_warnings INTERFACE -Werror)
endif()

if(MGR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's instrumentation makes -Wmaybe-uninitialized report false positives (in <regex>).
    target_compile_options(mgr_warnings INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()

find_program(MGR_CCACHE ccache)
if(MGR_CCACHE)
  # Shared across build directories and friendly to precompiled headers.
  # CCACHE_BASEDIR: paths inside the checkout hash as relative ones, so a fresh clone in
  # another folder (CI's) reuses what an earlier build compiled.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_NOHASHDIR=1
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime ${MGR_CCACHE})
endif()

# mgr_add_test(NAME name SOURCES a.cc b.cc LIBS lib1 lib2 [LABELS one_label] [TIMEOUT s]
#              [FIXTURES fixture...] [ENVIRONMENT VAR=value...])
# One GoogleTest executable, registered with ctest test by test. FIXTURES names ctest
# fixtures every test requires (e.g. postgres_server, which starts a scratch server).
function(mgr_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;FIXTURES;ENVIRONMENT" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main mgr_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    MGR_SOURCE_DIR="${PROJECT_SOURCE_DIR}" MGR_BINARY_DIR="${PROJECT_BINARY_DIR}"
    MGR_PYTHON="${MGR_PYTHON}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  # gtest_discover_tests writes these pairs unquoted: an empty or multi-word value would
  # shift every pair after it (hence one label, and none given means no LABELS pair).
  set(extra)
  if(T_LABELS)
    list(APPEND extra LABELS "${T_LABELS}")
  endif()
  if(T_FIXTURES)
    list(APPEND extra FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
  if(T_ENVIRONMENT)
    list(APPEND extra ENVIRONMENT "${T_ENVIRONMENT}")
  endif()
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 120
    PROPERTIES TIMEOUT ${T_TIMEOUT} ${extra})
endfunction()

# mgr_add_server_fixture(NAME fixture SCRIPT tools/x.sh DIR dir LABEL label)
# A ctest fixture around a scratch server: `SCRIPT start DIR` before the first test that
# requires it (FIXTURES in mgr_add_test, or FIXTURES_REQUIRED), `SCRIPT stop DIR` after the
# last. A failed start fails every test that needs the server: none of them skips.
function(mgr_add_server_fixture)
  cmake_parse_arguments(F "" "NAME;SCRIPT;DIR;LABEL" "" ${ARGN})
  add_test(NAME ${F_NAME}_start COMMAND ${PROJECT_SOURCE_DIR}/${F_SCRIPT} start ${F_DIR})
  add_test(NAME ${F_NAME}_stop COMMAND ${PROJECT_SOURCE_DIR}/${F_SCRIPT} stop ${F_DIR})
  set_tests_properties(${F_NAME}_start PROPERTIES FIXTURES_SETUP ${F_NAME} LABELS ${F_LABEL})
  set_tests_properties(${F_NAME}_stop PROPERTIES FIXTURES_CLEANUP ${F_NAME} LABELS ${F_LABEL})
endfunction()

# mgr_use_torch_pch(target): reuse trainer/features' precompiled <torch/torch.h>.
function(mgr_use_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM mgr_features)
endfunction()

# --- fuzzing (tools/fuzz.sh) ---------------------------------------------------------------
option(MGR_FUZZ "Build the fuzz targets as libFuzzer binaries (clang; see tools/fuzz.sh)" OFF)
if(MGR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MGR_FUZZ needs clang (configure with CXX=clang++-14)")
  endif()
  # Coverage feedback and the sanitizers in every library a target links, not just in it.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# mgr_add_fuzz_target(NAME name SOURCES a.cc LIBS lib1 CORPUS dir [DICT file])
# A target defining LLVMFuzzerTestOneInput. A normal build links it with
# tests/fuzz_replay_main.cc; with MGR_FUZZ it is a libFuzzer binary. Either way ctest runs it
# once on every file of the seed corpus (test <name>, label "fuzz"), and tools/fuzz.sh finds
# it through <build>/fuzz/<name>.txt (binary, corpus, dictionary).
function(mgr_add_fuzz_target)
  cmake_parse_arguments(F "" "NAME;CORPUS;DICT" "SOURCES;LIBS" ${ARGN})
  get_filename_component(corpus "${F_CORPUS}" ABSOLUTE)
  set(dict "")
  if(F_DICT)
    get_filename_component(dict "${F_DICT}" ABSOLUTE)
  endif()
  if(MGR_FUZZ)
    add_executable(${F_NAME} ${F_SOURCES})
    target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
    set(replay -runs=0)  # libFuzzer runs the corpus, then stops
  else()
    add_executable(${F_NAME} ${F_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz_replay_main.cc)
    set(replay)
  endif()
  target_link_libraries(${F_NAME} PRIVATE ${F_LIBS} mgr_warnings)
  add_test(NAME ${F_NAME} COMMAND ${F_NAME} ${replay} ${corpus})
  set_tests_properties(${F_NAME} PROPERTIES LABELS fuzz TIMEOUT 300)
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/fuzz/${F_NAME}.txt
       CONTENT "$<TARGET_FILE:${F_NAME}>\n${corpus}\n${dict}\n")
  if(NOT TARGET mgr_fuzz_targets)
    add_custom_target(mgr_fuzz_targets)
  endif()
  add_dependencies(mgr_fuzz_targets ${F_NAME})
endfunction()
