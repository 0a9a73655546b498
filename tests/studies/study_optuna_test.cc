// The study API's pruning against Python Optuna itself (tests/studies/optuna_pruner_study.py),
// on Debian's python3-optuna 3.1 and Optuna 5.1 from PyPI (BUILD/optuna5-venv; label python):
// (1) successive-halving rungs of +-inf go through an SQLite store as Optuna writes and reads
//     them, and a later trial is pruned alike on either side (Optuna 5.1; 3.1 has a quirk);
// (2) with a HyperbandPruner the sampler sees every trial of the study, not only the trial's
//     bracket: Optuna 4.x / 5.x's samplers read study._get_trials, which its bracket study
//     (pruners._filter_study) does not filter; bracket ids and decisions equal Optuna 5.1's.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "samplers/pruners.h"
#include "samplers/random_sampler.h"
#include "storage/in_memory_storage.h"
#include "storage/sqlite_storage.h"
#include "studies/study.h"
#include "tests/test_util.h"

namespace mgr {
namespace {

using testing_util::Shell;
using testing_util::TempDir;

const double kInf = std::numeric_limits<double>::infinity();

// Runs optuna_pruner_study.py with `args` (and `input` on stdin); its JSON output.
Json RunPython(const std::string& python, const std::string& args, const std::string& input = "") {
  TempDir dir;
  const std::string in = dir.path() + "/in.json";
  testing_util::WriteFile(in, input);
  const std::string cmd = "'" + python + "' " + MGR_SOURCE_DIR +
                          "/tests/studies/optuna_pruner_study.py " + args + " < " + in;
  std::string out;
  if (Shell(cmd, &out) != 0) {
    ADD_FAILURE() << cmd << "\n" << out;
    return Json();
  }
  return Json::parse(out);
}

std::unique_ptr<Pruner> SuccessiveHalving() {
  SuccessiveHalvingPrunerOptions o;
  o.min_resource = 1;
  o.reduction_factor = 2;
  return std::make_unique<SuccessiveHalvingPruner>(o);
}

// A sampler that proposes 0.5 and records, per trial number, the COMPLETE / PRUNED trials
// of the first view it gets for that trial.
class ViewRecorder : public Sampler {
 public:
  std::string Name() const override { return "ViewRecorder"; }
  SearchSpace InferRelativeSearchSpace(const StudyView& study, const FrozenTrial& trial) override {
    Record(study, trial);
    return {};
  }
  double SampleIndependent(const StudyView& study, const FrozenTrial& trial,
                           const std::string& name, const Distribution& dist) override {
    Record(study, trial);
    return 0.5;
  }
  std::map<int64_t, std::vector<int64_t>> views;

 private:
  void Record(const StudyView& study, const FrozenTrial& trial) {
    if (views.count(trial.number)) return;
    std::vector<int64_t>& v = views[trial.number];
    for (const FrozenTrial& t : study.trials) {
      if (t.state == TrialState::kComplete || t.state == TrialState::kPruned) {
        v.push_back(t.number);
      }
    }
  }
};

class StudyOptunaTest : public ::testing::TestWithParam<const char*> {
 protected:
  // The interpreter of this parameter: Debian's (python3-optuna 3.1) or the Optuna 5 venv.
  std::string Python() {
    if (std::string(GetParam()) == "debian") return MGR_PYTHON;
    return testing_util::OptunaVenvPython("5.1.0");
  }
};

// In a store Optuna created, our trials 0 and 1 record rung 0 as -inf (kept) and +inf (pruned: +inf
// is not within the best half of {-inf, +inf}). Optuna reads both as floats from the store's
// "-Infinity" / "Infinity"; then a trial reporting 5.0 (pruned: worse than -inf) and one reporting
// -inf (kept: ties the best) are judged by Optuna on that store and by a fresh Study here on a copy
// made before Optuna touched it: the same decisions. Without the rung values (stored as null, as
// Json::dump() writes infinities) both would be kept here.
TEST_P(StudyOptunaTest, InfiniteRungsRoundTripThroughOptuna) {
  const std::string python = Python();
  ASSERT_FALSE(python.empty()) << "tools/optuna_venv.sh failed (PyPI reachable?)";
  TempDir dir;
  const std::string ours = dir.path() + "/ours.db", copy = dir.path() + "/copy.db";
  // The store is created by this Optuna, so that its schema is one it opens (3.1 does not
  // open the v3.2 schema of our new files).
  ASSERT_TRUE(RunPython(python, "create sqlite:///" + ours + " rungs").is_object());
  {
    auto storage = SqliteStorage::Open(ours);
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    auto study = Study::CreateOrLoad(std::shared_ptr<Storage>(std::move(*storage)), "rungs", {},
                                     std::make_unique<RandomSampler>(0), SuccessiveHalving());
    ASSERT_TRUE(study.ok()) << study.status().ToString();
    for (double v : {-kInf, kInf}) {
      Result<Trial> t = (*study)->Ask();
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      ASSERT_TRUE((*study)->Report(t->id(), 1, v).ok());
      Result<bool> prune = (*study)->ShouldPrune(t->id());
      ASSERT_TRUE(prune.ok()) << prune.status().ToString();
      EXPECT_EQ(*prune, v > 0);
      ASSERT_TRUE((*study)
                      ->Tell(t->id(), *prune ? TrialState::kPruned : TrialState::kComplete,
                             *prune ? std::vector<double>{} : std::vector<double>{v})
                      .ok());
    }
  }
  std::filesystem::copy_file(ours, copy);

  const Json py = RunPython(python, "rungs sqlite:///" + ours + " rungs");
  ASSERT_TRUE(py.is_object());
  EXPECT_EQ(py["attrs"], (Json{{0, "completed_rung_0", "-inf", "float"},
                               {1, "completed_rung_0", "inf", "float"}}))
      << py["version"];
  EXPECT_EQ(py["raw"],
            (Json{{0, "completed_rung_0", "-Infinity"}, {1, "completed_rung_0", "Infinity"}}));
  // Optuna 3.1 counts the judged trial's own new rung among the competitors (its cached
  // storage updates the trial list it already read), so it keeps 5.0; Optuna 4.x / 5.x (and
  // this pruner) do not. Decisions are compared with Optuna 5's only.
  const bool optuna5 = std::string(GetParam()) == "optuna5";
  if (optuna5) {
    EXPECT_EQ(py["decisions"], (Json{true, false}));
  }

  // Ours on the copy, with a fresh pruner that knows the rungs from the store only.
  auto storage = SqliteStorage::Open(copy);
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  auto study = Study::Load(std::shared_ptr<Storage>(std::move(*storage)), "rungs",
                           std::make_unique<RandomSampler>(0), SuccessiveHalving());
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  Json decisions = Json::array();
  for (double v : {5.0, -kInf}) {
    Result<Trial> t = (*study)->Ask();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE((*study)->Report(t->id(), 1, v).ok());
    Result<bool> prune = (*study)->ShouldPrune(t->id());
    ASSERT_TRUE(prune.ok()) << prune.status().ToString();
    decisions.push_back(*prune);
    ASSERT_TRUE((*study)
                    ->Tell(t->id(), *prune ? TrialState::kPruned : TrialState::kComplete,
                           *prune ? std::vector<double>{} : std::vector<double>{v})
                    .ok());
  }
  EXPECT_EQ(decisions, (Json{true, false}));
  if (optuna5) {
    EXPECT_EQ(decisions, py["decisions"]);
  }

  // And the rungs Optuna wrote on its side, read here: trial 3's -inf.
  auto theirs = SqliteStorage::Open(ours);
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  auto all = (*theirs)->GetAllTrials(*(*theirs)->GetStudyId("rungs"));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[2].system_attrs.at("completed_rung_0"), Json(5.0));
  EXPECT_EQ((*all)[3].system_attrs.at("completed_rung_0"), Json(-kInf));
}

// 24 trials of 9 steps with values that depend on the trial's number only (so that both
// sides run the same study whatever their samplers propose), HyperbandPruner(1, 9, 3) with
// three brackets: every trial's sampler view holds every finished trial before it, as the
// TPESampler of Optuna 5.1 reads them, across brackets; bracket ids and every pruning
// decision are Optuna's.
TEST(StudyOptunaHyperbandTest, SamplerSeesEveryBracketAsOptuna5) {
  const std::string python = testing_util::OptunaVenvPython("5.1.0");
  ASSERT_FALSE(python.empty()) << "tools/optuna_venv.sh failed (PyPI reachable?)";
  const std::string name = "hyperband-views";
  Json values = Json::array();
  for (int n = 0; n < 24; ++n) {
    Json curve = Json::array();
    for (int s = 1; s <= 9; ++s) curve.push_back((n * 37 % 23) / 10.0 + 1.0 / s);
    values.push_back(curve);
  }
  const Json py =
      RunPython(python, "hyperband_views", Json{{"study_name", name}, {"values", values}}.dump());
  ASSERT_TRUE(py.is_object());

  HyperbandPrunerOptions o;
  o.max_resource = 9;
  auto pruner = std::make_unique<HyperbandPruner>(o);
  const HyperbandPruner* hyperband = pruner.get();
  auto sampler = std::make_unique<ViewRecorder>();
  ViewRecorder* recorder = sampler.get();
  auto study = Study::CreateOrLoad(std::make_shared<InMemoryStorage>(), name, {},
                                   std::move(sampler), std::move(pruner));
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  Json decisions = Json::array();
  for (const Json& curve : values) {
    Result<Trial> t = (*study)->Ask();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE(t->SuggestFloat("x", 0.0, 1.0).ok());
    Json mine = Json::array();
    bool pruned = false;
    for (size_t s = 0; s < curve.size() && !pruned; ++s) {
      ASSERT_TRUE(t->Report(curve[s].get<double>(), static_cast<int64_t>(s + 1)).ok());
      Result<bool> prune = t->ShouldPrune();
      ASSERT_TRUE(prune.ok()) << prune.status().ToString();
      pruned = *prune;
      mine.push_back(pruned);
    }
    ASSERT_TRUE(
        (*study)
            ->Tell(t->id(), pruned ? TrialState::kPruned : TrialState::kComplete,
                   pruned ? std::vector<double>{} : std::vector<double>{curve.back().get<double>()})
            .ok());
    decisions.push_back(mine);
  }
  EXPECT_EQ(decisions, py["decisions"]);

  Json brackets = Json::array(), views = Json::array();
  std::set<int64_t> distinct;
  for (int64_t n = 0; n < 24; ++n) {
    brackets.push_back(hyperband->BracketId(name, n));
    distinct.insert(hyperband->BracketId(name, n));
    views.push_back(recorder->views.at(n));
  }
  EXPECT_EQ(brackets, py["brackets"]);
  EXPECT_EQ(distinct.size(), 3u);  // so that a filtered view would differ
  EXPECT_EQ(views, py["views"]);
  // Every trial saw all the trials before it (one worker: all finished).
  for (int64_t n = 0; n < 24; ++n) EXPECT_EQ(views[n].size(), static_cast<size_t>(n)) << n;
}

INSTANTIATE_TEST_SUITE_P(Optuna, StudyOptunaTest, ::testing::Values("debian", "optuna5"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace mgr
