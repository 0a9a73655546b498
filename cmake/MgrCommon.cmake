# Shared compile settings for every mgr-tune target.
add_library(mgr_warnings INTERFACE)
target_compile_options(mgr_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

if(MGR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

find_program(MGR_CCACHE ccache)
if(MGR_CCACHE)
  # Shared across build directories and friendly to precompiled headers.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_NOHASHDIR=1
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime ${MGR_CCACHE})
endif()

# mgr_add_test(NAME name SOURCES a.cc b.cc LIBS lib1 lib2 [LABELS l])
# One GoogleTest executable, registered with ctest test by test.
function(mgr_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main mgr_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    MGR_SOURCE_DIR="${PROJECT_SOURCE_DIR}" MGR_BINARY_DIR="${PROJECT_BINARY_DIR}"
    MGR_PYTHON="${MGR_PYTHON}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 120
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()
