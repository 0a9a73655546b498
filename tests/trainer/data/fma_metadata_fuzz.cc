// Fuzz target: tracks.csv (trainer/data/csv_reader.h, trainer/data/fma_metadata.h).
// The input is the file's bytes. Checks, besides the sanitizers:
// - CsvReader: records that parse survive a write (every field quoted) and a re-read unchanged;
// - LoadFmaIndex: an index it returns is consistent (sorted unique classes, labels pointing
//   at their genre, unique ids, one warning per skipped row).
// Audio files exist for track ids 0..199 (in a temporary folder), so rows can be kept.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "trainer/data/csv_reader.h"
#include "trainer/data/fma_metadata.h"

namespace {

namespace fs = std::filesystem;

constexpr int64_t kTracksWithAudio = 200;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fma_metadata_fuzz: %s\n", what);
  std::abort();
}

std::string& AudioDir() {
  static std::string dir;
  return dir;
}

void RemoveAudioDir() {
  std::error_code ec;
  fs::remove_all(AudioDir(), ec);
}

std::vector<std::vector<std::string>> ReadAll(const std::string& text, bool* ok) {
  std::istringstream in(text);
  mgr::CsvReader reader(&in, "tracks.csv");
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields;
  mgr::Status status;
  while (reader.Next(&fields, &status)) records.push_back(fields);
  *ok = status.ok();
  return records;
}

std::string WriteQuoted(const std::vector<std::vector<std::string>>& records) {
  std::string out;
  for (const auto& record : records) {
    for (size_t i = 0; i < record.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      for (char c : record[i]) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += '\n';
  }
  return out;
}

void CheckIndex(const mgr::FmaIndex& index) {
  Check(!index.tracks.empty(), "an index without tracks was returned");
  Check(static_cast<int64_t>(index.warnings.size()) == index.rows_skipped,
        "rows_skipped differs from the number of warnings");
  for (size_t i = 1; i < index.classes.size(); ++i) {
    Check(index.classes[i - 1] < index.classes[i], "classes not sorted and unique");
  }
  std::set<int64_t> ids;
  for (const auto& t : index.tracks) {
    Check(ids.insert(t.id).second, "duplicate track id in the index");
    Check(t.label >= 0 && t.label < static_cast<int>(index.classes.size()), "label out of range");
    Check(index.classes[t.label] == t.genre, "label does not name the track's genre");
    Check(t.id >= 0 && t.id < kTracksWithAudio, "a track without an audio file was kept");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  std::string dir = (fs::temp_directory_path() / "mgr-fma-fuzz-XXXXXX").string();
  Check(mkdtemp(dir.data()) != nullptr, "cannot create a temporary folder");
  AudioDir() = dir;
  std::atexit(RemoveAudioDir);
  for (int64_t id = 0; id < kTracksWithAudio; ++id) {
    const std::string path = mgr::FmaAudioPath(dir, id);
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << "mp3";
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  bool ok = false;
  const auto records = ReadAll(text, &ok);
  if (ok) {
    bool again_ok = false;
    const auto again = ReadAll(WriteQuoted(records), &again_ok);
    Check(again_ok, "quoted re-write of parsed records does not parse");
    Check(again == records, "quoted re-write of parsed records reads differently");
  }

  for (const char* subset : {"small", "large"}) {
    mgr::FmaOptions options;
    options.metadata_csv = "tracks.csv";
    options.audio_dir = AudioDir();
    options.subset = subset;
    std::istringstream in(text);
    auto index = mgr::LoadFmaIndex(options, &in);
    if (index.ok()) CheckIndex(*index);
  }
  return 0;
}
