#include "trainer/data/fma_metadata.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "storage/base/files.h"
#include "trainer/data/csv_reader.h"

namespace mgr {
namespace {

// Subsets nest: a track of rank r belongs to every subset of rank >= r.
int SubsetRank(const std::string& name) {
  if (name == "small") return 0;
  if (name == "medium") return 1;
  if (name == "large") return 2;
  return -1;
}

bool ParseTrackId(const std::string& s, int64_t* id) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *id = v;
  return true;
}

}  // namespace

const char* SplitName(Split s) {
  switch (s) {
    case Split::kTraining:
      return "training";
    case Split::kValidation:
      return "validation";
    case Split::kTest:
      return "test";
  }
  return "?";
}

bool ParseSplit(const std::string& word, Split* split) {
  for (Split s : {Split::kTraining, Split::kValidation, Split::kTest}) {
    if (word == SplitName(s)) {
      *split = s;
      return true;
    }
  }
  return false;
}

std::string FmaAudioPath(const std::string& audio_dir, int64_t track_id) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%06lld", static_cast<long long>(track_id));
  std::string name(digits);
  std::string dir = audio_dir;
  if (!dir.empty() && dir.back() != '/') dir.push_back('/');
  return dir + name.substr(0, 3) + "/" + name + ".mp3";
}

namespace {

Status CheckSubset(const FmaOptions& options) {
  if (SubsetRank(options.subset) >= 0) return Status::Ok();
  return Status::InvalidArgument("unknown FMA subset '" + options.subset +
                                 "' (expected small, medium or large)");
}

// LoadFmaIndex once the subset is known to be valid.
Result<FmaIndex> ReadFmaIndex(const FmaOptions& options, CsvReader* reader) {
  const std::string& path = options.metadata_csv;
  const int max_rank = SubsetRank(options.subset);
  // The three header lines: groups, names, track_id.
  std::vector<std::string> groups, names, third;
  Status status;
  if (!reader->Next(&groups, &status) || !reader->Next(&names, &status) ||
      !reader->Next(&third, &status)) {
    if (!status.ok()) return status;
    return Status::Corruption(path + ": expected three header lines (group, name, track_id)");
  }
  if (third.empty() || third[0] != "track_id") {
    return Status::Corruption(path + ":" + std::to_string(reader->record_line()) +
                              ": third header line should start with 'track_id'");
  }
  // Pandas writes the group only where it changes in some versions; carry it forward.
  std::string group;
  std::map<std::pair<std::string, std::string>, size_t> column;
  for (size_t i = 1; i < names.size(); ++i) {
    if (i < groups.size() && !groups[i].empty()) group = groups[i];
    column.emplace(std::make_pair(group, names[i]), i);
  }
  auto find = [&](const char* g, const char* n, size_t* index) -> Status {
    auto it = column.find({g, n});
    if (it == column.end()) {
      return Status::Corruption(path + ": missing column (" + g + ", " + n + ")");
    }
    *index = it->second;
    return Status::Ok();
  };
  size_t split_col, subset_col, genre_col;
  MGR_RETURN_IF_ERROR(find("set", "split", &split_col));
  MGR_RETURN_IF_ERROR(find("set", "subset", &subset_col));
  MGR_RETURN_IF_ERROR(find("track", "genre_top", &genre_col));
  const size_t needed = std::max({split_col, subset_col, genre_col}) + 1;

  FmaIndex index;
  std::set<int64_t> seen;
  std::vector<std::string> row;
  auto skip = [&](const std::string& what) {
    index.warnings.push_back(path + ":" + std::to_string(reader->record_line()) + ": " + what);
    ++index.rows_skipped;
  };
  while (reader->Next(&row, &status)) {
    if (row.size() == 1 && row[0].empty()) continue;  // blank line
    int64_t id;
    if (!ParseTrackId(row[0], &id)) {
      skip("bad track id '" + row[0] + "'");
      continue;
    }
    const std::string track = "track " + std::to_string(id);
    if (row.size() < needed) {
      skip(track + ": row has " + std::to_string(row.size()) + " fields, expected at least " +
           std::to_string(needed));
      continue;
    }
    const int rank = SubsetRank(row[subset_col]);
    if (rank < 0) {
      skip(track + ": unknown subset '" + row[subset_col] + "'");
      continue;
    }
    if (rank > max_rank) continue;  // not in the selected subset: not an error
    Track t;
    t.id = id;
    if (!ParseSplit(row[split_col], &t.split)) {
      skip(track + ": unknown split '" + row[split_col] + "'");
      continue;
    }
    t.genre = row[genre_col];
    if (t.genre.empty()) {
      skip(track + ": empty genre_top");
      continue;
    }
    if (!seen.insert(id).second) {
      skip(track + ": duplicate track id");
      continue;
    }
    t.audio_path = FmaAudioPath(options.audio_dir, id);
    if (!IsRegularFile(t.audio_path)) {
      skip(track + ": audio file " + t.audio_path + " not found");
      continue;
    }
    index.tracks.push_back(std::move(t));
  }
  if (!status.ok()) return status;
  if (index.tracks.empty()) {
    return Status::InvalidArgument(path + ": no usable track in subset '" + options.subset + "' (" +
                                   std::to_string(index.rows_skipped) + " rows skipped)");
  }
  std::set<std::string> genres;
  for (const Track& t : index.tracks) genres.insert(t.genre);
  index.classes.assign(genres.begin(), genres.end());
  for (Track& t : index.tracks) {
    t.label =
        static_cast<int>(std::lower_bound(index.classes.begin(), index.classes.end(), t.genre) -
                         index.classes.begin());
  }
  return index;
}

}  // namespace

Result<FmaIndex> LoadFmaIndex(const FmaOptions& options) {
  MGR_RETURN_IF_ERROR(CheckSubset(options));
  MGR_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader,
                       CsvReader::OpenFile(options.metadata_csv));
  return ReadFmaIndex(options, reader.get());
}

Result<FmaIndex> LoadFmaIndex(const FmaOptions& options, std::istream* in) {
  MGR_RETURN_IF_ERROR(CheckSubset(options));
  CsvReader reader(in, options.metadata_csv);
  return ReadFmaIndex(options, &reader);
}

}  // namespace mgr
