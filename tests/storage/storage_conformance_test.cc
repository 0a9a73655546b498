// One suite every Storage backend passes (like Optuna's tests/storages_tests/test_storages.py).
// Expected values are hand-computed from the contract in storage/storage.h and from Optuna's
// behaviour (trial numbering, template trials, compatibility, immutability).
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include "storage/in_memory_storage.h"
#include "storage/storage.h"
#include "tests/storage/storage_test_util.h"

namespace mgr {
namespace {

using testing_util::TempDir;

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Storage>(const std::string& dir)> make;
};

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<Backend> Backends() {
  std::vector<Backend> b;
  b.push_back({"InMemory", [](const std::string&) -> std::unique_ptr<Storage> {
                 return std::make_unique<InMemoryStorage>();
               }});
  b.push_back({"OpenMemoryUrl", [](const std::string&) -> std::unique_ptr<Storage> {
                 auto r = OpenStorage(":memory:");
                 EXPECT_TRUE(r.ok()) << r.status().ToString();
                 return std::move(r).value();
               }});

  b.push_back({"Sqlite", [](const std::string& dir) -> std::unique_ptr<Storage> {
                 auto r = OpenStorage("sqlite:///" + dir + "/conformance.db");
                 EXPECT_TRUE(r.ok()) << r.status().ToString();
                 return std::move(r).value();
               }});
#ifdef MGR_HAVE_POSTGRES
  // One database per test (named after its temporary directory) on the fixture's server.
  b.push_back({"Postgres", [](const std::string& dir) -> std::unique_ptr<Storage> {
                 std::string error;
                 const std::string url = testing_util::PostgresTestDatabase(
                     "conformance_" + std::to_string(std::hash<std::string>()(dir)), &error);
                 if (url.empty()) {
                   ADD_FAILURE() << error;
                   return std::make_unique<InMemoryStorage>();  // the test fails anyway
                 }
                 auto r = OpenStorage(url);
                 EXPECT_TRUE(r.ok()) << r.status().ToString();
                 return std::move(r).value();
               }});
#endif
  return b;
}

class StorageConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { storage_ = GetParam().make(dir_.path()); }
  std::unique_ptr<Storage> Reopen() { return GetParam().make(dir_.path()); }
  int64_t NewStudy(const std::string& name = "s",
                   std::vector<StudyDirection> d = {StudyDirection::kMinimize}) {
    auto r = storage_->CreateStudy(name, d);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }
  int64_t NewTrial(int64_t study, const FrozenTrial* tmpl = nullptr) {
    auto r = storage_->CreateTrial(study, tmpl);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }
  FrozenTrial Get(int64_t trial_id) {
    auto r = storage_->GetTrial(trial_id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FrozenTrial{};
  }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

Distribution F(double lo, double hi, bool log = false, std::optional<double> step = {}) {
  return FloatDistribution{lo, hi, log, step};
}
Distribution I(int64_t lo, int64_t hi, int64_t step = 1) {
  return IntDistribution{lo, hi, false, step};
}
Distribution C(std::vector<Json> choices) { return CategoricalDistribution{std::move(choices)}; }

// --- Studies -------------------------------------------------------------------------------

TEST_P(StorageConformanceTest, CreateStudyAndLookUp) {
  int64_t a = NewStudy("alpha", {StudyDirection::kMinimize});
  int64_t b = NewStudy("beta", {StudyDirection::kMaximize, StudyDirection::kMinimize});
  EXPECT_NE(a, b);
  EXPECT_EQ(*storage_->GetStudyId("alpha"), a);
  EXPECT_EQ(*storage_->GetStudyId("beta"), b);
  EXPECT_EQ(*storage_->GetStudyName(b), "beta");
  EXPECT_EQ(*storage_->GetStudyDirections(b),
            (std::vector<StudyDirection>{StudyDirection::kMaximize, StudyDirection::kMinimize}));
  auto missing = storage_->GetStudyId("gamma");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("gamma"), std::string::npos);
  EXPECT_EQ(storage_->GetStudyName(a + b + 100).status().code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, DuplicateStudyNameIsAlreadyExists) {
  NewStudy("dup");
  auto again = storage_->CreateStudy("dup", {StudyDirection::kMaximize});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("dup"), std::string::npos);
  // The failed call changed nothing.
  EXPECT_EQ(storage_->GetAllStudies()->size(), 1u);
  EXPECT_EQ(*storage_->GetStudyDirections(*storage_->GetStudyId("dup")),
            std::vector<StudyDirection>{StudyDirection::kMinimize});
}

TEST_P(StorageConformanceTest, NoDirectionsIsInvalid) {
  EXPECT_EQ(storage_->CreateStudy("x", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(storage_->GetAllStudies()->empty());
}

TEST_P(StorageConformanceTest, DeleteStudyRemovesItsTrials) {
  int64_t a = NewStudy("a");
  int64_t b = NewStudy("b");
  int64_t ta = NewTrial(a);
  ASSERT_TRUE(storage_->SetTrialParam(ta, "x", 0.5, F(0, 1)).ok());
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(ta, 1, 2.0).ok());
  ASSERT_TRUE(storage_->SetTrialUserAttr(ta, "k", "v").ok());
  ASSERT_TRUE(storage_->SetStudyUserAttr(a, "k", 1).ok());
  int64_t tb = NewTrial(b);
  ASSERT_TRUE(storage_->DeleteStudy(a).ok());
  EXPECT_EQ(storage_->GetStudyId("a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage_->GetTrial(ta).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(storage_->GetTrial(tb).ok());
  EXPECT_EQ(storage_->DeleteStudy(a).code(), StatusCode::kNotFound);
  // The name is free again and numbering restarts.
  int64_t a2 = NewStudy("a");
  EXPECT_EQ(Get(NewTrial(a2)).number, 0);
  EXPECT_EQ(storage_->GetAllStudies()->size(), 2u);
}

TEST_P(StorageConformanceTest, StudyAttrs) {
  int64_t s = NewStudy();
  ASSERT_TRUE(storage_->SetStudyUserAttr(s, "dataset", "fma_small").ok());
  ASSERT_TRUE(storage_->SetStudyUserAttr(s, "n", 3).ok());
  ASSERT_TRUE(storage_->SetStudyUserAttr(s, "n", Json::array({1, 2.5, "x"})).ok());  // overwrite
  ASSERT_TRUE(storage_->SetStudySystemAttr(s, "stage", Json{{"i", 2}, {"name", "lr"}}).ok());
  std::map<std::string, Json> user = *storage_->GetStudyUserAttrs(s);
  EXPECT_EQ(user.size(), 2u);
  EXPECT_EQ(user["dataset"], Json("fma_small"));
  EXPECT_EQ(user["n"], Json::array({1, 2.5, "x"}));
  std::map<std::string, Json> sys = *storage_->GetStudySystemAttrs(s);
  EXPECT_EQ(sys.size(), 1u);
  EXPECT_EQ(sys["stage"]["name"], "lr");
  EXPECT_EQ(storage_->SetStudyUserAttr(s + 99, "k", 1).code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, GetAllStudies) {
  int64_t a = NewStudy("a", {StudyDirection::kMaximize});
  int64_t b = NewStudy("b");
  ASSERT_TRUE(storage_->SetStudyUserAttr(a, "u", 1).ok());
  ASSERT_TRUE(storage_->SetStudySystemAttr(b, "s", "x").ok());
  NewTrial(a);
  NewTrial(a);
  NewTrial(a);
  auto all = *storage_->GetAllStudies();
  ASSERT_EQ(all.size(), 2u);
  std::map<std::string, StudySummary> by;
  for (auto& s : all) by[s.name] = s;
  EXPECT_EQ(by["a"].study_id, a);
  EXPECT_EQ(by["a"].n_trials, 3);
  EXPECT_EQ(by["a"].directions, std::vector<StudyDirection>{StudyDirection::kMaximize});
  EXPECT_EQ(by["a"].user_attrs.at("u"), Json(1));
  EXPECT_TRUE(by["a"].datetime_start.has_value());
  EXPECT_EQ(by["b"].n_trials, 0);
  EXPECT_FALSE(by["b"].datetime_start.has_value());
  EXPECT_EQ(by["b"].system_attrs.at("s"), Json("x"));
}

// --- Trials --------------------------------------------------------------------------------

TEST_P(StorageConformanceTest, TrialNumbersPerStudy) {
  int64_t a = NewStudy("a");
  int64_t b = NewStudy("b");
  std::set<int64_t> ids;
  for (int i = 0; i < 4; ++i) {
    int64_t ta = NewTrial(a);
    int64_t tb = NewTrial(b);
    ids.insert(ta);
    ids.insert(tb);
    EXPECT_EQ(Get(ta).number, i);
    EXPECT_EQ(Get(tb).number, i);
    EXPECT_EQ(*storage_->GetTrialIdFromNumber(a, i), ta);
  }
  EXPECT_EQ(ids.size(), 8u);  // ids are storage-wide
  EXPECT_EQ(storage_->GetTrialIdFromNumber(a, 4).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage_->CreateTrial(a + b + 10).status().code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, NewTrialIsRunningWithStart) {
  int64_t s = NewStudy();
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  FrozenTrial t = Get(NewTrial(s));
  auto after = std::chrono::system_clock::now() + std::chrono::seconds(1);
  EXPECT_EQ(t.state, TrialState::kRunning);
  ASSERT_TRUE(t.datetime_start.has_value());
  EXPECT_GE(*t.datetime_start, before);
  EXPECT_LE(*t.datetime_start, after);
  EXPECT_FALSE(t.datetime_complete.has_value());
  EXPECT_TRUE(t.values.empty());
  EXPECT_TRUE(t.params.empty());
  EXPECT_TRUE(t.intermediate_values.empty());
}

TEST_P(StorageConformanceTest, TemplateTrialCopiesEverything) {
  int64_t s = NewStudy("s", {StudyDirection::kMinimize, StudyDirection::kMaximize});
  NewTrial(s);
  FrozenTrial tmpl;
  tmpl.state = TrialState::kComplete;
  tmpl.values = {1.5, -kInf};
  tmpl.params = {{"lr", 0.01}, {"opt", 1.0}, {"layers", 4.0}};
  tmpl.distributions = {
      {"lr", F(1e-5, 0.1, true)}, {"opt", C({"adam", "sgd"})}, {"layers", I(2, 10, 2)}};
  tmpl.intermediate_values = {{0, 3.0}, {5, kNaN}, {7, kInf}};
  tmpl.user_attrs = {{"u", "x"}};
  tmpl.system_attrs = {{"fixed_params", Json{{"lr", 0.01}}}};
  auto start = ParseDatetime("2024-01-02 03:04:05.123456");
  auto end = ParseDatetime("2024-01-02 04:05:06.654321");
  tmpl.datetime_start = *start;
  tmpl.datetime_complete = *end;
  int64_t id = NewTrial(s, &tmpl);
  FrozenTrial t = Get(id);
  EXPECT_EQ(t.trial_id, id);
  EXPECT_EQ(t.number, 1);
  EXPECT_EQ(t.state, TrialState::kComplete);
  ASSERT_EQ(t.values.size(), 2u);
  EXPECT_EQ(t.values[0], 1.5);
  EXPECT_EQ(t.values[1], -kInf);
  EXPECT_EQ(t.params, tmpl.params);
  EXPECT_EQ(t.distributions, tmpl.distributions);
  ASSERT_EQ(t.intermediate_values.size(), 3u);
  EXPECT_EQ(t.intermediate_values[0], 3.0);
  EXPECT_TRUE(std::isnan(t.intermediate_values[5]));
  EXPECT_EQ(t.intermediate_values[7], kInf);
  EXPECT_EQ(t.user_attrs, tmpl.user_attrs);
  EXPECT_EQ(t.system_attrs, tmpl.system_attrs);
  EXPECT_EQ(t.datetime_start, *start);
  EXPECT_EQ(t.datetime_complete, *end);
}

TEST_P(StorageConformanceTest, WaitingTemplateAndClaim) {
  int64_t s = NewStudy();
  NewTrial(s);  // a running trial is never claimed
  FrozenTrial w;
  w.state = TrialState::kWaiting;
  w.params = {{"x", 3.0}};
  w.distributions = {{"x", I(0, 10)}};
  w.system_attrs = {{"fixed_params", Json{{"x", 3}}}};
  w.datetime_start = std::chrono::system_clock::now();  // ignored for WAITING
  int64_t w1 = NewTrial(s, &w);
  int64_t w2 = NewTrial(s, &w);
  FrozenTrial t1 = Get(w1);
  EXPECT_EQ(t1.state, TrialState::kWaiting);
  EXPECT_FALSE(t1.datetime_start.has_value());
  EXPECT_EQ(*storage_->CountTrials(s, {TrialState::kWaiting}), 2);

  auto c1 = storage_->ClaimWaitingTrial(s);
  ASSERT_TRUE(c1.ok());
  ASSERT_TRUE(c1->has_value());
  EXPECT_EQ(**c1, w1);  // oldest first
  FrozenTrial r1 = Get(w1);
  EXPECT_EQ(r1.state, TrialState::kRunning);
  EXPECT_TRUE(r1.datetime_start.has_value());
  EXPECT_EQ(r1.params.at("x"), 3.0);
  auto c2 = storage_->ClaimWaitingTrial(s);
  ASSERT_TRUE(c2.ok() && c2->has_value());
  EXPECT_EQ(**c2, w2);
  auto c3 = storage_->ClaimWaitingTrial(s);
  ASSERT_TRUE(c3.ok());
  EXPECT_FALSE(c3->has_value());
}

TEST_P(StorageConformanceTest, ClaimWaitingIsExclusiveAcrossThreads) {
  int64_t s = NewStudy();
  FrozenTrial w;
  w.state = TrialState::kWaiting;
  const int kWaiting = 40;
  std::set<int64_t> waiting;
  for (int i = 0; i < kWaiting; ++i) waiting.insert(NewTrial(s, &w));
  std::mutex mu;
  std::vector<int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (true) {
        auto c = storage_->ClaimWaitingTrial(s);
        ASSERT_TRUE(c.ok()) << c.status().ToString();
        if (!c->has_value()) return;
        std::lock_guard<std::mutex> l(mu);
        claimed.push_back(**c);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kWaiting));
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()), waiting);
  EXPECT_EQ(*storage_->CountTrials(s, {TrialState::kRunning}), kWaiting);
}

TEST_P(StorageConformanceTest, ConcurrentCreateTrialNumbers) {
  int64_t s = NewStudy();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(storage_->CreateTrial(s).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto all = *storage_->GetAllTrials(s);
  ASSERT_EQ(all.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(all[i].number, i);
}

TEST_P(StorageConformanceTest, ParamsAndDistributions) {
  int64_t s = NewStudy();
  int64_t t = NewTrial(s);
  ASSERT_TRUE(storage_->SetTrialParam(t, "lr", 1e-3, F(1e-5, 0.1, true)).ok());
  ASSERT_TRUE(storage_->SetTrialParam(t, "drop", 0.25, F(0, 0.5, false, 0.05)).ok());
  ASSERT_TRUE(storage_->SetTrialParam(t, "opt", 1, C({"adam", "sgd", nullptr, 2.5, true})).ok());
  ASSERT_TRUE(storage_->SetTrialParam(t, "layers", 6, I(2, 10, 2)).ok());
  FrozenTrial f = Get(t);
  EXPECT_EQ(f.params.size(), 4u);
  EXPECT_EQ(f.params["lr"], 1e-3);
  EXPECT_EQ(f.params["drop"], 0.25);
  EXPECT_EQ(f.Param("opt"), Json("sgd"));
  EXPECT_EQ(f.Param("layers"), Json(6));
  EXPECT_EQ(f.distributions["opt"], C({"adam", "sgd", nullptr, 2.5, true}));
  EXPECT_EQ(f.distributions["drop"], F(0, 0.5, false, 0.05));

  // Another trial may use a compatible distribution (other bounds) but not another kind.
  int64_t t2 = NewTrial(s);
  EXPECT_TRUE(storage_->SetTrialParam(t2, "lr", 0.5, F(0.1, 1.0)).ok());
  Status bad = storage_->SetTrialParam(t2, "opt", 0, C({"adam", "rmsprop"}));
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("opt"), std::string::npos);
  EXPECT_EQ(storage_->SetTrialParam(t2, "layers", 0.5, F(0, 1)).code(),
            StatusCode::kInvalidArgument);
  // Values outside the distribution.
  EXPECT_EQ(storage_->SetTrialParam(t2, "x", 11, I(0, 10)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(storage_->SetTrialParam(t2, "y", 2, C({"a", "b"})).code(),
            StatusCode::kInvalidArgument);
  // An invalid distribution.
  EXPECT_EQ(storage_->SetTrialParam(t2, "z", 1, F(2, 1)).code(), StatusCode::kInvalidArgument);
  FrozenTrial f2 = Get(t2);
  EXPECT_EQ(f2.params.size(), 1u);
  EXPECT_EQ(storage_->SetTrialParam(t + t2 + 100, "x", 0, I(0, 1)).code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, IntermediateValuesOverwriteAndNonFinite) {
  int64_t s = NewStudy();
  int64_t t = NewTrial(s);
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 0, 0.5).ok());
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 1, kInf).ok());
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 2, -kInf).ok());
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 3, kNaN).ok());
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 0, 0.25).ok());  // overwrite
  FrozenTrial f = Get(t);
  ASSERT_EQ(f.intermediate_values.size(), 4u);
  EXPECT_EQ(f.intermediate_values[0], 0.25);
  EXPECT_EQ(f.intermediate_values[1], kInf);
  EXPECT_EQ(f.intermediate_values[2], -kInf);
  EXPECT_TRUE(std::isnan(f.intermediate_values[3]));
  EXPECT_EQ(f.LastStep(), std::optional<int64_t>(3));
}

TEST_P(StorageConformanceTest, StatesAndValues) {
  int64_t s = NewStudy("s", {StudyDirection::kMinimize, StudyDirection::kMaximize});
  int64_t c = NewTrial(s);
  int64_t p = NewTrial(s);
  int64_t f = NewTrial(s);
  int64_t r = NewTrial(s);
  ASSERT_TRUE(storage_->SetTrialStateValues(c, TrialState::kComplete, {kInf, -kInf}).ok());
  ASSERT_TRUE(storage_->SetTrialStateValues(p, TrialState::kPruned).ok());
  ASSERT_TRUE(storage_->SetTrialStateValues(f, TrialState::kFail).ok());
  FrozenTrial fc = Get(c);
  EXPECT_EQ(fc.state, TrialState::kComplete);
  EXPECT_EQ(fc.values, (std::vector<double>{kInf, -kInf}));
  ASSERT_TRUE(fc.datetime_complete.has_value());
  EXPECT_GE(*fc.datetime_complete, *fc.datetime_start);
  EXPECT_EQ(Get(p).state, TrialState::kPruned);
  EXPECT_TRUE(Get(p).values.empty());
  EXPECT_EQ(Get(f).state, TrialState::kFail);
  EXPECT_TRUE(Get(f).datetime_complete.has_value());
  // Rejected requests change nothing.
  EXPECT_EQ(storage_->SetTrialStateValues(r, TrialState::kComplete, {1.0}).code(),
            StatusCode::kInvalidArgument);  // one value for two objectives
  EXPECT_EQ(storage_->SetTrialStateValues(r, TrialState::kComplete, {kNaN, 1.0}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(storage_->SetTrialStateValues(r, TrialState::kComplete).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(storage_->SetTrialStateValues(r, TrialState::kRunning).code(),
            StatusCode::kFailedPrecondition);  // already running
  FrozenTrial fr = Get(r);
  EXPECT_EQ(fr.state, TrialState::kRunning);
  EXPECT_TRUE(fr.values.empty());
  EXPECT_FALSE(fr.datetime_complete.has_value());
  // A pruned trial may carry a value.
  ASSERT_TRUE(storage_->SetTrialStateValues(r, TrialState::kPruned, {2.0, 3.0}).ok());
  EXPECT_EQ(Get(r).values, (std::vector<double>{2.0, 3.0}));

  EXPECT_EQ(*storage_->CountTrials(s), 4);
  EXPECT_EQ(*storage_->CountTrials(s, {TrialState::kPruned}), 2);
  EXPECT_EQ(*storage_->CountTrials(s, {TrialState::kComplete, TrialState::kFail}), 2);
  auto pruned = *storage_->GetAllTrials(s, {TrialState::kPruned});
  ASSERT_EQ(pruned.size(), 2u);
  EXPECT_EQ(pruned[0].trial_id, p);
  EXPECT_EQ(pruned[1].trial_id, r);
}

TEST_P(StorageConformanceTest, WaitingToRunningThroughSetState) {
  int64_t s = NewStudy();
  FrozenTrial w;
  w.state = TrialState::kWaiting;
  int64_t t = NewTrial(s, &w);
  ASSERT_TRUE(storage_->SetTrialStateValues(t, TrialState::kRunning).ok());
  EXPECT_EQ(Get(t).state, TrialState::kRunning);
  EXPECT_TRUE(Get(t).datetime_start.has_value());
  EXPECT_FALSE(storage_->ClaimWaitingTrial(s)->has_value());
}

TEST_P(StorageConformanceTest, FinishedTrialsAreImmutable) {
  int64_t s = NewStudy();
  for (TrialState end : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail}) {
    int64_t t = NewTrial(s);
    ASSERT_TRUE(storage_->SetTrialParam(t, "x", 1, I(0, 3)).ok());
    ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 0, 1.0).ok());
    ASSERT_TRUE(storage_->SetTrialUserAttr(t, "u", 1).ok());
    ASSERT_TRUE(storage_
                    ->SetTrialStateValues(t, end,
                                          end == TrialState::kComplete ? std::vector<double>{4.0}
                                                                       : std::vector<double>{})
                    .ok());
    FrozenTrial before = Get(t);
    std::vector<Status> writes = {
        storage_->SetTrialParam(t, "x", 2, I(0, 3)),
        storage_->SetTrialParam(t, "y", 2, I(0, 3)),
        storage_->SetTrialIntermediateValue(t, 0, 9.0),
        storage_->SetTrialIntermediateValue(t, 1, 9.0),
        storage_->SetTrialStateValues(t, TrialState::kComplete, {5.0}),
        storage_->SetTrialStateValues(t, TrialState::kFail),
        storage_->SetTrialUserAttr(t, "u", 2),
        storage_->SetTrialSystemAttr(t, "s", 2),
        storage_->RecordHeartbeat(t),
    };
    for (size_t i = 0; i < writes.size(); ++i) {
      EXPECT_EQ(writes[i].code(), StatusCode::kFailedPrecondition)
          << i << " " << TrialStateName(end);
      EXPECT_NE(writes[i].message().find("trial " + std::to_string(t)), std::string::npos)
          << writes[i].message();
      EXPECT_NE(writes[i].message().find(TrialStateName(end)), std::string::npos);
    }
    FrozenTrial after = Get(t);
    EXPECT_EQ(after.state, before.state);
    EXPECT_EQ(after.values, before.values);
    EXPECT_EQ(after.params, before.params);
    EXPECT_EQ(after.intermediate_values, before.intermediate_values);
    EXPECT_EQ(after.user_attrs, before.user_attrs);
    EXPECT_EQ(after.system_attrs, before.system_attrs);
    EXPECT_EQ(after.datetime_complete, before.datetime_complete);
  }
}

TEST_P(StorageConformanceTest, TrialAttrs) {
  int64_t s = NewStudy();
  int64_t t = NewTrial(s);
  ASSERT_TRUE(storage_->SetTrialUserAttr(t, "note", "with \"quotes\" and ünïcode").ok());
  ASSERT_TRUE(storage_->SetTrialUserAttr(t, "arr", Json::array({1, nullptr, false})).ok());
  ASSERT_TRUE(storage_->SetTrialSystemAttr(t, "failed_trial", 3).ok());
  ASSERT_TRUE(storage_->SetTrialSystemAttr(t, "failed_trial", 4).ok());
  FrozenTrial f = Get(t);
  EXPECT_EQ(f.user_attrs.at("note"), Json("with \"quotes\" and ünïcode"));
  EXPECT_EQ(f.user_attrs.at("arr"), Json::array({1, nullptr, false}));
  EXPECT_EQ(f.system_attrs.size(), 1u);
  EXPECT_EQ(f.system_attrs.at("failed_trial"), Json(4));
}

// +-inf in attributes (a successive-halving rung, say) read back as numbers: the SQL
// backends store them as Python's json.dumps does (Infinity, -Infinity).
TEST_P(StorageConformanceTest, InfiniteAttrValues) {
  int64_t s = NewStudy();
  int64_t t = NewTrial(s);
  ASSERT_TRUE(storage_->SetTrialSystemAttr(t, "completed_rung_0", kInf).ok());
  ASSERT_TRUE(storage_->SetTrialUserAttr(t, "curve", Json{{"v", {1.5, -kInf}}}).ok());
  ASSERT_TRUE(storage_->SetStudyUserAttr(s, "bound", -kInf).ok());
  FrozenTrial f = Get(t);
  EXPECT_EQ(f.system_attrs.at("completed_rung_0"), Json(kInf));
  EXPECT_EQ(f.user_attrs.at("curve"), (Json{{"v", {1.5, -kInf}}}));
  Result<std::map<std::string, Json>> attrs = storage_->GetStudyUserAttrs(s);
  ASSERT_TRUE(attrs.ok()) << attrs.status().ToString();
  EXPECT_EQ(attrs->at("bound"), Json(-kInf));
}

TEST_P(StorageConformanceTest, GetAllTrialsOrderedAndComplete) {
  int64_t s = NewStudy();
  int64_t other = NewStudy("other");
  for (int i = 0; i < 20; ++i) {
    int64_t t = NewTrial(s);
    NewTrial(other);
    ASSERT_TRUE(storage_->SetTrialParam(t, "x", i % 5, I(0, 4)).ok());
    for (int step = 0; step < 3; ++step) {
      ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, step, i * 10 + step).ok());
    }
    if (i % 2 == 0) {
      ASSERT_TRUE(storage_->SetTrialStateValues(t, TrialState::kComplete, {i * 1.0}).ok());
    }
  }
  auto all = *storage_->GetAllTrials(s);
  ASSERT_EQ(all.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(all[i].number, i);
    EXPECT_EQ(all[i].params.at("x"), i % 5);
    EXPECT_EQ(all[i].intermediate_values.size(), 3u);
    EXPECT_EQ(all[i].intermediate_values.at(2), i * 10 + 2);
    EXPECT_EQ(all[i].state, i % 2 == 0 ? TrialState::kComplete : TrialState::kRunning);
    if (i % 2 == 0) {
      EXPECT_EQ(all[i].values, std::vector<double>{i * 1.0});
    }
  }
  EXPECT_EQ(storage_->GetAllTrials(s + other + 10).status().code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, GetAllTrialsOfSmallAndLargeStudiesKeepsThemApart) {
  // A study holding most of the file and one holding little (the SQLite backend reads them
  // by different plans).
  int64_t big = NewStudy("big");
  int64_t small = NewStudy("small");
  auto fill = [&](int64_t study, int n, double tag) {
    for (int i = 0; i < n; ++i) {
      int64_t t = NewTrial(study);
      ASSERT_TRUE(storage_->SetTrialParam(t, "x", tag, F(0, 100)).ok());
      ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, i, tag).ok());
      ASSERT_TRUE(storage_->SetTrialUserAttr(t, "tag", tag).ok());
      ASSERT_TRUE(storage_->SetTrialSystemAttr(t, "i", i).ok());
      if (i % 3 == 0) {
        ASSERT_TRUE(storage_->SetTrialStateValues(t, TrialState::kComplete, {tag + i}).ok());
      }
    }
  };
  fill(big, 12, 1.0);
  fill(small, 3, 2.0);
  for (auto [study, n, tag] : {std::tuple<int64_t, int, double>{big, 12, 1.0},
                               std::tuple<int64_t, int, double>{small, 3, 2.0}}) {
    auto all = *storage_->GetAllTrials(study);
    ASSERT_EQ(all.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(all[i].params, (std::map<std::string, double>{{"x", tag}}));
      EXPECT_EQ(all[i].intermediate_values, (std::map<int64_t, double>{{i, tag}}));
      EXPECT_EQ(all[i].user_attrs.at("tag"), Json(tag));
      EXPECT_EQ(all[i].system_attrs.at("i"), Json(i));
      EXPECT_EQ(all[i].values, i % 3 == 0 ? std::vector<double>{tag + i} : std::vector<double>{});
    }
    auto complete = *storage_->GetAllTrials(study, {TrialState::kComplete});
    ASSERT_EQ(complete.size(), static_cast<size_t>((n + 2) / 3));
    for (const auto& t : complete) {
      EXPECT_EQ(t.number % 3, 0);
      EXPECT_EQ(t.intermediate_values.size(), 1u);
    }
  }
}

TEST_P(StorageConformanceTest, GetTrialsAfterReturnsNewerAndIncludedTrials) {
  int64_t s = NewStudy();
  int64_t other = NewStudy("other");
  std::vector<int64_t> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(NewTrial(s));
    NewTrial(other);  // interleaved ids of another study are never returned
    ASSERT_TRUE(storage_->SetTrialIntermediateValue(ids.back(), 0, i).ok());
  }
  ASSERT_TRUE(storage_->SetTrialStateValues(ids[1], TrialState::kComplete, {1.0}).ok());
  auto got = *storage_->GetTrialsAfter(s, ids[4], {ids[3], ids[1]});
  ASSERT_EQ(got.size(), 5u);
  const std::vector<int64_t> numbers = {1, 3, 5, 6, 7};
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].number, numbers[i]);
    EXPECT_EQ(got[i].intermediate_values.at(0), numbers[i]);
  }
  EXPECT_EQ(got[0].values, std::vector<double>{1.0});
  EXPECT_EQ(got[0].state, TrialState::kComplete);
  EXPECT_TRUE(storage_->GetTrialsAfter(s, ids.back(), {})->empty());
  EXPECT_EQ(storage_->GetTrialsAfter(s, -1, {})->size(), 8u);
  EXPECT_EQ(storage_->GetTrialsAfter(s + other + 10, -1, {}).status().code(),
            StatusCode::kNotFound);
}

// --- Heartbeats ------------------------------------------------------------------------------

TEST_P(StorageConformanceTest, FailStaleTrials) {
  int64_t s = NewStudy();
  int64_t beating = NewTrial(s);
  int64_t silent = NewTrial(s);  // never recorded a heartbeat: never stale
  int64_t done = NewTrial(s);
  ASSERT_TRUE(storage_->RecordHeartbeat(beating).ok());
  ASSERT_TRUE(storage_->RecordHeartbeat(done).ok());
  ASSERT_TRUE(storage_->SetTrialStateValues(done, TrialState::kComplete, {1.0}).ok());
  EXPECT_TRUE(storage_->FailStaleTrials(s, std::chrono::seconds(3600))->empty());
  EXPECT_EQ(Get(beating).state, TrialState::kRunning);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto failed = storage_->FailStaleTrials(s, std::chrono::seconds(0));
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(*failed, std::vector<int64_t>{beating});
  EXPECT_EQ(Get(beating).state, TrialState::kFail);
  EXPECT_TRUE(Get(beating).datetime_complete.has_value());
  EXPECT_EQ(Get(silent).state, TrialState::kRunning);
  EXPECT_EQ(Get(done).state, TrialState::kComplete);
  EXPECT_TRUE(storage_->FailStaleTrials(s, std::chrono::seconds(0))->empty());
}

TEST_P(StorageConformanceTest, FailStaleTrialsExactlyOnceAcrossThreads) {
  int64_t s = NewStudy();
  std::set<int64_t> stale;
  for (int i = 0; i < 30; ++i) {
    int64_t t = NewTrial(s);
    ASSERT_TRUE(storage_->RecordHeartbeat(t).ok());
    stale.insert(t);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::mutex mu;
  std::vector<int64_t> failed;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      auto r = storage_->FailStaleTrials(s, std::chrono::seconds(0));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::lock_guard<std::mutex> l(mu);
      failed.insert(failed.end(), r->begin(), r->end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.size(), stale.size());
  EXPECT_EQ(std::set<int64_t>(failed.begin(), failed.end()), stale);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StorageConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace mgr
