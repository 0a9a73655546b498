// Python's text for values: what repr(), str(), json.dumps() and str(timedelta) print, so
// that mgr-tune's listings match Python Optuna's CLI byte for byte (tuner/output_format.h
// arranges these values into tables, JSON, CSV and YAML).
//
// Values are JSON values standing for the Python values they load as: null is None,
// true is True, an array a list (or a tuple when asked), an object a dict.
#ifndef MGR_TUNER_PYTHON_TEXT_H_
#define MGR_TUNER_PYTHON_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/trial.h"

namespace mgr {

// repr(float): "0.1", "100.0", "1e-05", "1.5e+16", "inf", "-inf", "nan".
std::string PythonFloatRepr(double v);
// repr() of the Python value a JSON value loads as: 'a', 1, 0.5, None, True, [1, 2],
// {'k': 'v'}. `tuple` prints a top-level array as a tuple: ('MINIMIZE',).
std::string PythonRepr(const Json& v, bool tuple = false);
// str(): a string is itself, everything else its repr.
std::string PythonStr(const Json& v, bool tuple = false);
// Appends repr(s) of a str: single quotes unless the text has ' and no ".
void AppendPythonStringRepr(const std::string& s, std::string* out);

// json.dumps(v) with Python's defaults (ensure_ascii, allow_nan, ", " / ": ").
std::string PythonJsonDumps(const Json& v);
void AppendPythonJson(const Json& v, std::string* out);
// Appends json.dumps(s) of a str (ensure_ascii: non-ASCII as \uXXXX escapes).
void AppendJsonString(const std::string& s, std::string* out);

// str(datetime.timedelta(microseconds=us)): "0:00:01.500000", "2 days, 1:00:00".
std::string PythonTimedeltaStr(int64_t microseconds);
// Optuna CLI's datetime text, "%Y-%m-%d %H:%M:%S" (microseconds dropped, not rounded).
std::string CliDatetime(TimePoint t);

// len(s) in Python: the number of code points of UTF-8 text (table column widths).
size_t CodePointCount(const std::string& s);

}  // namespace mgr

#endif  // MGR_TUNER_PYTHON_TEXT_H_
