// What the user sees while a study runs.
//
// On a terminal: log lines scroll above a status block (one line per worker, then the
// stage summary) that is redrawn in place with ANSI escapes. Elsewhere (a pipe, a file):
// only the log lines, plain. Not thread-safe: use it from the event loop.
#ifndef MGR_TUNER_LIVE_DISPLAY_H_
#define MGR_TUNER_LIVE_DISPLAY_H_

#include <ostream>
#include <string>
#include <vector>

namespace mgr {

class LiveDisplay {
 public:
  // `out` must outlive the display. `interactive`: redraw in place (a terminal).
  LiveDisplay(std::ostream& out, bool interactive) : out_(out), interactive_(interactive) {}
  ~LiveDisplay() { Finish(); }

  bool interactive() const { return interactive_; }
  // A line that stays (a trial started, pruned, finished; a stage decision).
  void Log(const std::string& line);
  // Replaces the status block (interactive only; ignored otherwise) and redraws it.
  void SetStatus(std::vector<std::string> lines);
  // Erases the status block (before the final report).
  void Finish();

 private:
  void Erase();
  void Draw();

  std::ostream& out_;
  bool interactive_;
  std::vector<std::string> status_;
  size_t drawn_ = 0;  // status lines currently on screen
};

// A number with 4 significant digits, "-" for NaN.
std::string FormatValue(double value);

}  // namespace mgr

#endif  // MGR_TUNER_LIVE_DISPLAY_H_
