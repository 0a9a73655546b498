// A minimal in-memory define-by-run study loop for the sampler benchmarks: the same
// calls the study API makes (relative space, SampleRelative, SampleIndependent).
#ifndef MGR_BENCH_SAMPLER_BENCH_UTIL_H_
#define MGR_BENCH_SAMPLER_BENCH_UTIL_H_

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "samplers/sampler.h"

namespace mgr {
namespace bench {

class BenchTrial {
 public:
  BenchTrial(Sampler& sampler, std::vector<FrozenTrial>& trials, StudyDirection direction)
      : sampler_(sampler), trials_(trials), direction_(direction) {
    FrozenTrial t;
    t.number = static_cast<int64_t>(trials.size());
    t.trial_id = t.number;
    t.state = TrialState::kRunning;
    trials_.push_back(t);
    StudyView view{{direction_}, trials_};
    view.set_trial_system_attr = [this](int64_t id, const std::string& key, const Json& value) {
      trials_.at(id).system_attrs[key] = value;  // trial_id == number == index here
    };
    space_ = sampler_.InferRelativeSearchSpace(view, trials_.back());
    relative_ = sampler_.SampleRelative(view, trials_.back(), space_);
  }

  double Suggest(const std::string& name, const Distribution& dist) {
    double v;
    auto r = relative_.find(name);
    auto s = space_.find(name);
    if (r != relative_.end() && s != space_.end() && s->second == dist) {
      v = r->second;
    } else {
      StudyView view{{direction_}, trials_};
      v = sampler_.SampleIndependent(view, trials_.back(), name, dist);
    }
    trials_.back().params[name] = v;
    trials_.back().distributions.emplace(name, dist);
    return v;
  }
  double Float(const std::string& name, double low, double high, bool log = false,
               std::optional<double> step = std::nullopt) {
    return Suggest(name, *MakeFloatDistribution(name, low, high, log, step));
  }
  int64_t Int(const std::string& name, int64_t low, int64_t high, bool log = false,
              int64_t step = 1) {
    return static_cast<int64_t>(Suggest(name, *MakeIntDistribution(name, low, high, log, step)));
  }
  int Categorical(const std::string& name, const std::vector<std::string>& choices) {
    std::vector<Json> c(choices.begin(), choices.end());
    return static_cast<int>(Suggest(name, *MakeCategoricalDistribution(name, c)));
  }
  void Complete(double value) {
    trials_.back().state = TrialState::kComplete;
    trials_.back().values = {value};
  }

 private:
  Sampler& sampler_;
  std::vector<FrozenTrial>& trials_;
  StudyDirection direction_;
  SearchSpace space_;
  std::map<std::string, double> relative_;
};

// Process CPU time in milliseconds: the machine is shared, so wall time is noisy.
inline double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Wall-clock time in milliseconds.
inline double WallMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Reads a command started with popen to its end and returns its standard output.
inline std::string FinishCommand(FILE* p) {
  std::string out;
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Runs a command and returns its standard output.
inline std::string RunCommand(const std::string& cmd) {
  return FinishCommand(popen(cmd.c_str(), "r"));
}

}  // namespace bench
}  // namespace mgr

#endif  // MGR_BENCH_SAMPLER_BENCH_UTIL_H_
