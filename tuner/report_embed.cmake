# Build step (cmake -P): writes the chart library's minified source into a .cc file, so that
# `mgr-tune report` inlines it in every page and the page opens offline.
#   cmake -DINPUT=chart.min.js -DOUTPUT=report_chartjs.cc -P report_embed.cmake
file(READ "${INPUT}" js)
string(LENGTH "${js}" length)
if(length EQUAL 0)
  message(FATAL_ERROR "${INPUT} is empty")
endif()
# Raw string literals of at most 16 KiB (compilers cap one literal's length).
set(chunk 16000)
set(body "")
set(pos 0)
while(pos LESS length)
  string(SUBSTRING "${js}" ${pos} ${chunk} piece)
  string(FIND "${piece}" ")mgrjs\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )mgrjs\"")
  endif()
  string(APPEND body "    R\"mgrjs(${piece})mgrjs\",\n")
  math(EXPR pos "${pos} + ${chunk}")
endwhile()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by tuner/report_embed.cmake. Do not edit.\n"
  "#include <string>\n\n"
  "namespace mgr {\n\n"
  "const std::string& ChartJsSource() {\n"
  "  static const std::string* source = [] {\n"
  "    static const char* const kPieces[] = {\n${body}    };\n"
  "    auto* s = new std::string;\n"
  "    for (const char* p : kPieces) s->append(p);\n"
  "    return s;\n"
  "  }();\n"
  "  return *source;\n"
  "}\n\n"
  "}  // namespace mgr\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
