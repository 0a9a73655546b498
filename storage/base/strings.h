// Small text helpers every layer uses.
#ifndef MGR_STORAGE_BASE_STRINGS_H_
#define MGR_STORAGE_BASE_STRINGS_H_

#include <string>
#include <string_view>

namespace mgr {

bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

// A duration for people, rounded to the second: "42s", "3m05s", "1h02m"; "?" for a
// negative or non-finite value.
std::string FormatDuration(double seconds);

}  // namespace mgr

#endif  // MGR_STORAGE_BASE_STRINGS_H_
