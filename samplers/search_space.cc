#include "samplers/search_space.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace mgr {

TransformedBounds TransformBounds(const Distribution& dist) {
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (f->log) return {std::log(f->low), std::log(f->high)};
    if (f->step) return {f->low - 0.5 * *f->step, f->high + 0.5 * *f->step};
    return {f->low, f->high};
  }
  if (auto* i = std::get_if<IntDistribution>(&dist)) {
    double lo = static_cast<double>(i->low) - 0.5 * static_cast<double>(i->step);
    double hi = static_cast<double>(i->high) + 0.5 * static_cast<double>(i->step);
    if (i->log) return {std::log(lo), std::log(hi)};
    return {lo, hi};
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  return {0.0, static_cast<double>(c.choices.size())};
}

double Untransform(const Distribution& dist, double x) {
  if (auto* f = std::get_if<FloatDistribution>(&dist)) {
    if (f->low == f->high) return f->low;
    if (f->step) {
      double v = std::round((x - f->low) / *f->step) * *f->step + f->low;
      return std::clamp(v, f->low, f->high);
    }
    double v = f->log ? std::exp(x) : x;
    // Optuna keeps continuous samples in [low, high).
    return std::clamp(v, f->low, std::nextafter(f->high, f->low));
  }
  if (auto* i = std::get_if<IntDistribution>(&dist)) {
    double v = i->log ? std::exp(x) : x;
    double lo = static_cast<double>(i->low), hi = static_cast<double>(i->high);
    double st = static_cast<double>(i->step);
    return std::clamp(std::round((v - lo) / st) * st + lo, lo, hi);
  }
  const auto& c = std::get<CategoricalDistribution>(dist);
  double n = static_cast<double>(c.choices.size());
  return std::clamp(std::floor(x), 0.0, n - 1.0);
}

namespace {

bool Included(const FrozenTrial& t, bool include_pruned) {
  return t.state == TrialState::kComplete || (include_pruned && t.state == TrialState::kPruned);
}

}  // namespace

SearchSpace IntersectionSearchSpace(const std::vector<FrozenTrial>& trials, bool include_pruned) {
  SearchSpace space;
  bool first = true;
  for (const FrozenTrial& t : trials) {
    if (!Included(t, include_pruned)) continue;
    if (first) {
      space = t.distributions;
      first = false;
      continue;
    }
    for (auto it = space.begin(); it != space.end();) {
      auto d = t.distributions.find(it->first);
      if (d == t.distributions.end() || !(d->second == it->second)) {
        it = space.erase(it);
      } else {
        ++it;
      }
    }
  }
  return space;
}

std::vector<SearchSpace> GroupDecomposedSearchSpace(const std::vector<FrozenTrial>& trials,
                                                    bool include_pruned) {
  // Mirrors optuna.search_space._SearchSpaceGroup.add_distributions.
  std::vector<SearchSpace> groups;
  for (const FrozenTrial& t : trials) {
    if (!Included(t, include_pruned)) continue;
    std::set<std::string> keys;
    for (const auto& [name, d] : t.distributions) keys.insert(name);
    std::vector<SearchSpace> next;
    for (const SearchSpace& g : groups) {
      SearchSpace in, out;
      for (const auto& [name, d] : g) {
        if (keys.count(name)) {
          in.emplace(name, d);
        } else {
          out.emplace(name, d);
        }
      }
      for (const auto& [name, d] : g) keys.erase(name);
      next.push_back(std::move(in));
      next.push_back(std::move(out));
    }
    SearchSpace rest;
    for (const std::string& name : keys) rest.emplace(name, t.distributions.at(name));
    next.push_back(std::move(rest));
    groups.clear();
    for (auto& g : next) {
      if (!g.empty()) groups.push_back(std::move(g));
    }
  }
  return groups;
}

}  // namespace mgr
