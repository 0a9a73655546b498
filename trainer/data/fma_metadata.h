// FMA metadata: which tracks of fma_metadata/tracks.csv belong to a subset, their split,
// genre label and audio file.
//
// tracks.csv has three header lines (column group, column name, `track_id`) and RFC 4180
// fields with commas and newlines inside quotes. Columns are found by (group, name):
// (set, split), (set, subset), (track, genre_top); never by position.
#ifndef MGR_TRAINER_DATA_FMA_METADATA_H_
#define MGR_TRAINER_DATA_FMA_METADATA_H_

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "storage/base/status.h"

namespace mgr {

enum class Split { kTraining, kValidation, kTest };

// "training", "validation", "test" (FMA's words).
const char* SplitName(Split s);
// Inverse of SplitName; false for any other word.
bool ParseSplit(const std::string& word, Split* split);

struct Track {
  int64_t id = 0;
  Split split = Split::kTraining;
  std::string genre;       // genre_top
  int label = 0;           // index into FmaIndex::classes (alphabetical)
  std::string audio_path;  // <audio_dir>/<3 digits>/<6 digits>.mp3
};

struct FmaOptions {
  std::string metadata_csv;      // .../fma_metadata/tracks.csv
  std::string audio_dir;         // .../fma_small
  std::string subset = "small";  // small < medium < large (nested)
};

struct FmaIndex {
  std::vector<std::string> classes;  // alphabetical genre names
  std::vector<Track> tracks;         // in file order
  int64_t rows_skipped = 0;
  std::vector<std::string> warnings;  // one line per skipped row/track, naming it
};

// Reads the metadata and keeps the rows of `options.subset` (and the smaller subsets it
// contains) whose split and genre are valid and whose audio file exists. Unusable rows are
// skipped, counted and described in `warnings` ("tracks.csv:123: track 98765: ...").
// Fails (NotFound, InvalidArgument, Corruption) only when the file as a whole is unusable:
// missing, malformed CSV, a missing column, an unknown subset name, no usable track.
Result<FmaIndex> LoadFmaIndex(const FmaOptions& options);
// The same, reading the CSV from `in` instead of `options.metadata_csv` (which still names it
// in messages). Lets the fuzz target parse from memory.
Result<FmaIndex> LoadFmaIndex(const FmaOptions& options, std::istream* in);

// <audio_dir>/<first 3 of 6 digits>/<6 digits>.mp3, e.g. fma_small/000/000002.mp3.
std::string FmaAudioPath(const std::string& audio_dir, int64_t track_id);

}  // namespace mgr

#endif  // MGR_TRAINER_DATA_FMA_METADATA_H_
