#include "tuner/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "storage/base/atomic_file.h"
#include "storage/base/strings.h"
#include "tuner/run_report.h"

namespace mgr {
namespace {

// Trials drawn at most per stage where one line per trial would bury the picture (and the
// page's size): the learning curves and the parallel coordinates. The best trial is always
// among them; the page says when some were left out.
constexpr size_t kMaxCurves = 60;
constexpr size_t kMaxParallel = 200;
// "Near a bound": within this fraction of the searched range (log scale for log params).
constexpr double kNearBound = 0.1;

double Seconds(const std::optional<TimePoint>& t) {
  if (!t) return NAN;
  return std::chrono::duration<double>(t->time_since_epoch()).count();
}

// A number for the page: 6 significant digits (the store's values are cross-checked
// against it), "-" for NaN.
std::string Num(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Dumps JSON for the page; invalid UTF-8 (any string in a store) becomes U+FFFD instead of
// an exception.
std::string Dump(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

// JSON inside <script>: "</" would end the element.
std::string ScriptJson(const Json& j) {
  std::string s = Dump(j);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string JsonText(const Json& v) { return v.is_string() ? v.get<std::string>() : Dump(v); }

std::vector<ReportEpoch> ParseEpochs(const Json& list) {
  std::vector<ReportEpoch> out;
  if (!list.is_array()) return out;
  for (const Json& e : list) {
    if (!e.is_object()) continue;
    ReportEpoch r;
    const double epoch = NumberOr(e, "epoch");
    // Out-of-range numbers (a hand-edited store) count as absent rather than overflow an int.
    r.epoch = std::abs(epoch) < 1e9 ? static_cast<int>(epoch) : static_cast<int>(out.size()) + 1;
    r.train_loss = NumberOr(e, "train_loss");
    r.train_accuracy = NumberOr(e, "train_accuracy");
    r.val_loss = NumberOr(e, "val_loss");
    r.val_accuracy = NumberOr(e, "val_accuracy");
    r.val_macro_f1 = NumberOr(e, "val_macro_f1");
    r.seconds = NumberOr(e, "seconds");
    out.push_back(r);
  }
  return out;
}

std::string AttrString(const std::map<std::string, Json>& attrs, const char* key) {
  auto it = attrs.find(key);
  if (it == attrs.end() || it->second.is_null()) return "";
  return JsonText(it->second);
}

}  // namespace

Result<ReportData> ReadReportData(Storage& storage, const std::vector<std::string>& names) {
  ReportData data;
  data.generated_at = Seconds(std::chrono::system_clock::now());
  std::set<std::string> playbooks;
  for (const std::string& name : names) {
    Result<int64_t> id = storage.GetStudyId(name);
    if (!id.ok()) return id.status().WithContext("study '" + name + "'");
    ReportStage stage;
    stage.study_name = name;
    MGR_ASSIGN_OR_RETURN(auto directions, storage.GetStudyDirections(*id));
    if (!directions.empty()) stage.direction = directions[0];
    MGR_ASSIGN_OR_RETURN(auto attrs, storage.GetStudyUserAttrs(*id));
    stage.stage = attrs.count("stage") ? JsonText(attrs["stage"]) : name;
    if (attrs.count("playbook")) playbooks.insert(JsonText(attrs["playbook"]));
    if (attrs.count("budget") && attrs["budget"].is_number_integer())
      stage.budget = attrs["budget"].get<int64_t>();
    if (attrs.count("decision")) stage.decision = attrs["decision"];
    if (attrs.count("incumbent")) stage.incumbent = attrs["incumbent"];
    if (attrs.count("final_result")) {
      stage.final_result = attrs["final_result"];
      data.final_result = stage.final_result;
    }
    MGR_ASSIGN_OR_RETURN(auto trials, storage.GetAllTrials(*id));
    for (const FrozenTrial& t : trials) {
      ReportTrial r;
      r.number = t.number;
      r.state = t.state;
      if (!t.values.empty()) r.value = t.values[0];
      for (const auto& [p, d] : t.distributions) {
        if (!t.params.count(p)) continue;
        r.params[p] = ToExternal(d, t.params.at(p));
        if (!IsSingle(d)) stage.distributions.emplace(p, d);
      }
      r.intermediate = t.intermediate_values;
      auto epochs = t.user_attrs.find("epochs");
      if (epochs != t.user_attrs.end()) r.epochs = ParseEpochs(epochs->second);
      auto hparams = t.user_attrs.find("hparams");
      if (hparams != t.user_attrs.end()) {
        r.hparams = hparams->second;
        const double m = NumberOr(hparams->second, "max_epochs");
        if (m > 0 && m < 1e9) r.max_epochs = static_cast<int>(m);
      }
      r.start = Seconds(t.datetime_start);
      r.end = Seconds(t.datetime_complete);
      r.worker = AttrString(t.user_attrs, "worker");
      if (r.worker.empty()) r.worker = AttrString(t.system_attrs, "worker");
      r.fail_reason = AttrString(t.user_attrs, "fail_reason");
      r.reused_from = AttrString(t.user_attrs, "reused_from");
      if (r.state == TrialState::kComplete && std::isfinite(r.value) &&
          (stage.best < 0 || Better(stage.direction, r.value, stage.trials[stage.best].value))) {
        stage.best = static_cast<int>(stage.trials.size());
      }
      stage.trials.push_back(std::move(r));
    }
    stage.importance = PedAnovaImportance(trials, stage.direction, stage.distributions);
    data.stages.push_back(std::move(stage));
  }
  if (playbooks.size() == 1) {
    data.title = *playbooks.begin();
  } else {
    for (const std::string& n : names) data.title += (data.title.empty() ? "" : ", ") + n;
  }
  return data;
}

namespace {

// --- the page --------------------------------------------------------------------------

const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"};
constexpr char kBestColor[] = "#d62728";
constexpr char kOtherColor[] = "rgba(31,119,180,0.35)";

class Page {
 public:
  // Adds a <canvas> for a Chart.js config and returns its markup.
  std::string Chart(Json config, const std::string& caption, int height = 300) {
    const size_t i = charts_.size();
    config["options"]["animation"] = false;
    config["options"]["maintainAspectRatio"] = false;
    config["options"]["plugins"]["title"] = {{"display", true}, {"text", caption}};
    charts_.push_back(std::move(config));
    return "<div class=\"chart\" style=\"height:" + std::to_string(height) +
           "px\"><canvas id=\"chart-" + std::to_string(i) + "\" data-caption=\"" + Escape(caption) +
           "\"></canvas></div>\n";
  }
  const Json& charts() const { return charts_; }

 private:
  Json charts_ = Json::array();
};

Json Point(double x, double y) { return Json{{"x", x}, {"y", y}}; }

Json Axis(const std::string& title, const char* type = "linear") {
  return Json{{"type", type}, {"title", {{"display", true}, {"text", title}}}};
}

// An axis of whole numbers (trial numbers, epochs): no ticks between them.
Json CountAxis(const std::string& title) {
  Json axis = Axis(title);
  axis["ticks"] = {{"precision", 0}};
  return axis;
}

// The value a trial reached: its objective, else its last intermediate value.
double ReachedValue(const ReportTrial& t) {
  if (std::isfinite(t.value)) return t.value;
  if (!t.intermediate.empty()) return t.intermediate.rbegin()->second;
  return NAN;
}

// Which trials get their own line: all, or the best and an even spread of the rest.
std::vector<size_t> Spread(const ReportStage& s, size_t limit) {
  std::vector<size_t> out;
  const size_t n = s.trials.size();
  if (n <= limit) {
    for (size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (size_t k = 0; k < limit - 1; ++k) out.push_back(k * n / (limit - 1));
  if (s.best >= 0) out.push_back(static_cast<size_t>(s.best));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool Diverged(const ReportTrial& t) {
  std::string r = t.fail_reason;
  std::transform(r.begin(), r.end(), r.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (r.find("nan") != std::string::npos || r.find("diverg") != std::string::npos ||
      r.find("non-finite") != std::string::npos)
    return true;
  for (const ReportEpoch& e : t.epochs) {
    if (std::isinf(e.train_loss) || std::isinf(e.val_loss)) return true;
  }
  return false;
}

// The epoch where the trial's objective was best, in the study's direction: from the epochs
// attr when the objective is one of its metrics, else from the intermediate values (the
// orchestrator reports step = epoch). 0: none.
int BestEpoch(const ReportTrial& t, const std::string& objective, StudyDirection direction) {
  int best = 0;
  double best_v = NAN;
  auto consider = [&](int epoch, double v) {
    if (!std::isfinite(v)) return;
    if (std::isnan(best_v) || Better(direction, v, best_v)) best = epoch, best_v = v;
  };
  if (!t.epochs.empty() && objective != "objective") {
    for (const ReportEpoch& e : t.epochs) {
      double v = objective == "val_loss"         ? e.val_loss
                 : objective == "val_accuracy"   ? e.val_accuracy
                 : objective == "val_macro_f1"   ? e.val_macro_f1
                 : objective == "train_loss"     ? e.train_loss
                 : objective == "train_accuracy" ? e.train_accuracy
                                                 : NAN;
      consider(e.epoch, v);
    }
    if (best > 0) return best;
  }
  for (const auto& [step, v] : t.intermediate) consider(static_cast<int>(step), v);
  return best;
}

double EpochMetric(const ReportEpoch& e, int which) {
  switch (which) {
    case 0:
      return e.train_loss;
    case 1:
      return e.val_loss;
    case 2:
      return e.train_accuracy;
    default:
      return e.val_accuracy;
  }
}

// "accepted", "rejected", or "pending" while the stage runs.
std::string DecisionWord(const ReportStage& s) {
  if (!s.decision.is_object()) return "pending";
  return s.decision.value("accepted", false) ? "accepted" : "rejected";
}

std::string DecisionHtml(const ReportStage& s) {
  const Json& d = s.decision;
  if (!d.is_object()) return "<p class=\"decision pending\">Decision: pending</p>\n";
  const bool accepted = d.value("accepted", false);
  std::string h = std::string("<p class=\"decision ") + (accepted ? "accepted" : "rejected") +
                  "\"><b>Decision: " + (accepted ? "accepted" : "rejected") + "</b>";
  const double best = NumberOr(d, "best_value"), inc = NumberOr(d, "incumbent_value");
  if (std::isfinite(best)) h += "; best " + Num(best);
  if (d.contains("best_trial_number") && d["best_trial_number"].is_number_integer() &&
      d["best_trial_number"].get<int64_t>() >= 0)
    h += " (trial #" + std::to_string(d["best_trial_number"].get<int64_t>()) + ")";
  if (std::isfinite(inc)) h += ", incumbent " + Num(inc);
  if (std::isfinite(best) && std::isfinite(inc)) h += ", difference " + Num(best - inc);
  const double req = NumberOr(d, "required_improvement");
  if (std::isfinite(req)) h += ", required improvement " + Num(req);
  if (d.contains("changes") && d["changes"].is_object() && !d["changes"].empty()) {
    h += "; changes:";
    for (const auto& [k, v] : d["changes"].items())
      h += " " + Escape(k) + "=" + Escape(v.is_number_float() ? Num(v.get<double>()) : Dump(v));
  }
  h += "</p>\n";
  if (d.contains("summary") && d["summary"].is_string())
    h += "<p class=\"summary\">" + Escape(d["summary"].get<std::string>()) + "</p>\n";
  return h;
}

// The objective of the stage's trials in order, the best so far, and the incumbent the
// stage had to beat.
std::string HistoryChart(Page& page, const ReportStage& s, const std::string& objective) {
  Json complete = Json::array(), pruned = Json::array(), best_line = Json::array();
  double best = NAN;
  for (const ReportTrial& t : s.trials) {
    if (t.state == TrialState::kComplete && std::isfinite(t.value)) {
      complete.push_back(Point(t.number, t.value));
      if (std::isnan(best) || Better(s.direction, t.value, best)) best = t.value;
      best_line.push_back(Point(t.number, best));
    } else if (t.state == TrialState::kPruned && std::isfinite(ReachedValue(t))) {
      pruned.push_back(Point(t.number, ReachedValue(t)));
    }
  }
  Json datasets = Json::array();
  datasets.push_back({{"type", "scatter"},
                      {"label", "complete"},
                      {"data", complete},
                      {"backgroundColor", kPalette[0]}});
  datasets.push_back({{"type", "scatter"},
                      {"label", "pruned (last value)"},
                      {"data", pruned},
                      {"pointStyle", "crossRot"},
                      {"radius", 5},
                      {"borderColor", "#999"}});
  datasets.push_back({{"type", "line"},
                      {"label", "best so far"},
                      {"data", best_line},
                      {"stepped", true},
                      {"pointRadius", 0},
                      {"borderColor", kBestColor}});
  double incumbent = NumberOr(s.decision, "incumbent_value");
  if (std::isfinite(incumbent) && !s.trials.empty()) {
    datasets.push_back({{"type", "line"},
                        {"label", "incumbent before the stage"},
                        {"data", {Point(0, incumbent), Point(s.trials.back().number, incumbent)}},
                        {"borderDash", {6, 4}},
                        {"pointRadius", 0},
                        {"borderColor", "#2ca02c"}});
  }
  Json config = {{"type", "scatter"},
                 {"data", {{"datasets", datasets}}},
                 {"options", {{"scales", {{"x", CountAxis("trial")}, {"y", Axis(objective)}}}}}};
  return page.Chart(config, s.stage + ": optimization history");
}

std::string CurveCharts(Page& page, const ReportStage& s, const std::string& objective) {
  const std::vector<size_t> shown = Spread(s, kMaxCurves);
  bool any_epochs = false;
  for (const ReportTrial& t : s.trials) any_epochs = any_epochs || !t.epochs.empty();
  std::string html;
  if (shown.size() < s.trials.size()) {
    html += "<p class=\"note\">Learning curves of " + std::to_string(shown.size()) + " of " +
            std::to_string(s.trials.size()) + " trials (the best and an even spread).</p>\n";
  }
  struct Kind {
    const char* title;
    int train, val;  // EpochMetric indices
  };
  // Without epochs in the store: the objective per step.
  const std::vector<Kind> kinds = any_epochs ? std::vector<Kind>{{"loss", 0, 1}, {"accuracy", 2, 3}}
                                             : std::vector<Kind>{{nullptr, -1, -1}};
  for (const Kind& k : kinds) {
    Json datasets = Json::array(), stops = Json::array();
    for (size_t i : shown) {
      const ReportTrial& t = s.trials[i];
      const bool best = static_cast<int>(i) == s.best;
      const std::string color = best ? kBestColor : kOtherColor;
      auto line = [&](const std::string& label, Json data, bool dashed) {
        Json d = {{"type", "line"},
                  {"label", label},
                  {"data", std::move(data)},
                  {"borderColor", color},
                  {"backgroundColor", color},
                  {"borderWidth", best ? 3 : 1},
                  {"pointRadius", best ? 2 : 0},
                  {"order", best ? 0 : 1}};
        if (dashed) d["borderDash"] = {4, 3};
        datasets.push_back(std::move(d));
      };
      Json last;
      if (k.title) {
        Json train = Json::array(), val = Json::array();
        for (const ReportEpoch& e : t.epochs) {
          train.push_back(Point(e.epoch, EpochMetric(e, k.train)));
          val.push_back(Point(e.epoch, EpochMetric(e, k.val)));
        }
        if (t.epochs.empty()) continue;
        last = val.back();
        const std::string name = "#" + std::to_string(t.number) + (best ? " (best)" : "");
        line(name + " train", std::move(train), true);
        line(name + " val", std::move(val), false);
      } else {
        Json data = Json::array();
        for (const auto& [step, v] : t.intermediate) data.push_back(Point(step, v));
        if (data.empty()) continue;
        last = data.back();
        line("#" + std::to_string(t.number) + (best ? " (best)" : ""), std::move(data), false);
      }
      if (t.state == TrialState::kPruned) stops.push_back(last);
    }
    datasets.push_back({{"type", "scatter"},
                        {"label", "pruned: stopped here"},
                        {"data", stops},
                        {"pointStyle", "crossRot"},
                        {"radius", 7},
                        {"borderWidth", 2},
                        {"borderColor", "#000"},
                        {"order", -1}});
    const std::string y = k.title ? k.title : objective;
    Json config = {{"type", "line"},
                   {"data", {{"datasets", datasets}}},
                   {"options",
                    {{"parsing", true},
                     {"plugins", {{"legend", {{"display", false}}}}},
                     {"scales", {{"x", CountAxis("epoch")}, {"y", Axis(y)}}}}}};
    html +=
        page.Chart(config, s.stage + ": learning curves, " +
                               (k.title ? std::string("train (dashed) and validation ") + k.title
                                        : objective + " per epoch") +
                               " (best trial in red, x: pruned)");
  }
  return html;
}

// A numeric parameter's search range; nullopt for a categorical one.
struct Range {
  double low, high;
  bool log;
};

std::optional<Range> NumericRange(const Distribution& d) {
  if (const auto* f = std::get_if<FloatDistribution>(&d)) return Range{f->low, f->high, f->log};
  if (const auto* i = std::get_if<IntDistribution>(&d)) {
    return Range{static_cast<double>(i->low), static_cast<double>(i->high), i->log};
  }
  return std::nullopt;
}

// Normalized position of a parameter value in its range (log scale for log params).
double Position(const Distribution& d, const Json& v) {
  const std::optional<Range> r = NumericRange(d);
  if (!r || !v.is_number()) return NAN;
  auto t = [&](double x) { return r->log ? std::log(x) : x; };
  return r->high > r->low ? (t(v.get<double>()) - t(r->low)) / (t(r->high) - t(r->low)) : 0.5;
}

std::string ParamCharts(Page& page, const ReportStage& s, const std::string& objective) {
  std::string html;
  std::vector<size_t> ranked;  // COMPLETE trials, best first
  for (size_t i = 0; i < s.trials.size(); ++i) {
    if (s.trials[i].state == TrialState::kComplete && std::isfinite(s.trials[i].value))
      ranked.push_back(i);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
    return Better(s.direction, s.trials[a].value, s.trials[b].value);
  });
  const size_t top = std::max<size_t>(1, (ranked.size() + 9) / 10);
  for (const auto& [name, dist] : s.distributions) {
    const auto* cat = std::get_if<CategoricalDistribution>(&dist);
    Json pts = Json::array(), best_pts = Json::array();
    int near_low = 0, near_high = 0, counted = 0;
    for (size_t r = 0; r < ranked.size(); ++r) {
      const ReportTrial& t = s.trials[ranked[r]];
      auto p = t.params.find(name);
      if (p == t.params.end()) continue;
      Json x = p->second;
      if (cat) x = JsonText(p->second);
      (r < top ? best_pts : pts).push_back(Json{{"x", x}, {"y", t.value}});
      if (r < top && !cat) {
        const double pos = Position(dist, p->second);
        ++counted;
        near_low += pos <= kNearBound;
        near_high += pos >= 1 - kNearBound;
      }
    }
    Json datasets = Json::array();
    datasets.push_back({{"label", "trials"}, {"data", pts}, {"backgroundColor", kOtherColor}});
    datasets.push_back(
        {{"label", "best 10%"}, {"data", best_pts}, {"backgroundColor", kBestColor}});
    Json x_axis;
    if (cat) {
      Json labels = Json::array();
      for (const Json& c : cat->choices) labels.push_back(JsonText(c));
      x_axis = Axis(name, "category");
      x_axis["labels"] = labels;
      x_axis["offset"] = true;  // the first and last choice off the plot's edges
    } else {
      const Range r = *NumericRange(dist);
      x_axis = Axis(name, r.log ? "logarithmic" : "linear");
      // The search space's bounds near the axis's ends, drawn as dashed lines.
      x_axis["min"] =
          r.log ? r.low / std::pow(r.high / r.low, 0.03) : r.low - 0.03 * (r.high - r.low);
      x_axis["max"] =
          r.log ? r.high * std::pow(r.high / r.low, 0.03) : r.high + 0.03 * (r.high - r.low);
      double ymin = NAN, ymax = NAN;
      for (size_t i : ranked) {
        ymin = std::isnan(ymin) ? s.trials[i].value : std::min(ymin, s.trials[i].value);
        ymax = std::isnan(ymax) ? s.trials[i].value : std::max(ymax, s.trials[i].value);
      }
      for (double bound : {r.low, r.high}) {
        if (std::isnan(ymin)) break;
        datasets.push_back({{"type", "line"},
                            {"label", "search-space bound"},
                            {"data", {Point(bound, ymin), Point(bound, ymax)}},
                            {"borderColor", "#555"},
                            {"borderDash", {5, 4}},
                            {"pointRadius", 0}});
      }
    }
    const std::string bounds = DistributionToString(dist);
    Json config = {{"type", "scatter"},
                   {"data", {{"datasets", datasets}}},
                   {"options", {{"scales", {{"x", x_axis}, {"y", Axis(objective)}}}}}};
    html +=
        page.Chart(config, s.stage + ": " + objective + " vs " + name + " (" + bounds + ")", 260);
    if (counted > 0 && (near_low * 2 > counted || near_high * 2 > counted)) {
      html += "<p class=\"warning\" data-param=\"" + Escape(name) +
              "\">Warning: " + std::to_string(std::max(near_low, near_high)) + " of the best " +
              std::to_string(counted) + " trials have " + Escape(name) + " within " +
              std::to_string(static_cast<int>(kNearBound * 100)) + "% of its " +
              (near_low >= near_high ? "lower" : "upper") + " bound (" + Escape(bounds) +
              "): widen the search space there.</p>\n";
    }
  }
  return html;
}

std::string EpochCheck(Page& page, const ReportStage& s, const std::string& objective) {
  Json best_pts = Json::array(), max_pts = Json::array(), run_pts = Json::array();
  int late = 0, early = 0, counted = 0;
  for (const ReportTrial& t : s.trials) {
    if (t.state != TrialState::kComplete) continue;
    const int best = BestEpoch(t, objective, s.direction);
    if (best <= 0) continue;
    const int run = t.epochs.empty() ? static_cast<int>(t.intermediate.size())
                                     : static_cast<int>(t.epochs.size());
    best_pts.push_back(Point(t.number, best));
    run_pts.push_back(Point(t.number, run));
    if (t.max_epochs > 0) max_pts.push_back(Point(t.number, t.max_epochs));
    const int limit = t.max_epochs > 0 ? t.max_epochs : run;
    ++counted;
    late += best >= limit - std::max(1, limit / 10) + 1;
    early += best * 2 <= limit;
  }
  if (counted == 0) return "";
  Json datasets = Json::array();
  datasets.push_back(
      {{"label", "best epoch"}, {"data", best_pts}, {"backgroundColor", kPalette[0]}});
  datasets.push_back({{"label", "epochs run"},
                      {"data", run_pts},
                      {"pointStyle", "rect"},
                      {"radius", 5},
                      {"backgroundColor", "rgba(0,0,0,0)"},
                      {"borderColor", "#777"}});
  int top = 0;
  for (const Json& p : max_pts) top = std::max(top, p["y"].get<int>());
  for (const Json& p : run_pts) top = std::max(top, p["y"].get<int>());
  if (!max_pts.empty()) {
    datasets.push_back({{"label", "max_epochs"},
                        {"data", max_pts},
                        {"pointStyle", "line"},
                        {"radius", 10},
                        {"borderWidth", 2},
                        {"borderColor", kBestColor}});
  }
  Json y_axis = CountAxis("epoch");
  y_axis["min"] = 0;
  y_axis["max"] = top + 1;  // max_epochs below the plot's top edge, where it shows
  Json config = {{"type", "scatter"},
                 {"data", {{"datasets", datasets}}},
                 {"options", {{"scales", {{"x", CountAxis("trial")}, {"y", y_axis}}}}}};
  std::string html = page.Chart(config, s.stage + ": best epoch vs max_epochs", 240);
  html += "<p class=\"check\">Best epoch in the last 10% of the epochs: " + std::to_string(late) +
          " of " + std::to_string(counted) + " complete trials";
  if (late * 2 > counted) html += " &mdash; <b>train longer</b> (raise max_epochs)";
  html += "; in the first half: " + std::to_string(early);
  if (early * 2 > counted) html += " &mdash; <b>train shorter</b> (epochs are wasted)";
  html += ".</p>\n";
  return html;
}

std::string StateCounts(const ReportStage& s) {
  int complete = 0, pruned = 0, failed = 0, running = 0, waiting = 0, diverged = 0;
  for (const ReportTrial& t : s.trials) {
    complete += t.state == TrialState::kComplete;
    pruned += t.state == TrialState::kPruned;
    failed += t.state == TrialState::kFail;
    running += t.state == TrialState::kRunning;
    waiting += t.state == TrialState::kWaiting;
    diverged += t.state == TrialState::kFail && Diverged(t);
  }
  const double n = static_cast<double>(s.trials.size());
  auto pct = [n](int k) { return n > 0 ? Num(std::round(1000.0 * k / n) / 10) + "%" : "-"; };
  return "<p class=\"check\">" + std::to_string(s.trials.size()) + " trials" +
         (s.budget > 0 ? " (budget " + std::to_string(s.budget) + ")" : "") + ": " +
         std::to_string(complete) + " complete, " + std::to_string(pruned) + " pruned, " +
         "<span class=\"failed\" data-failed=\"" + std::to_string(failed) + "\">" +
         std::to_string(failed) + " failed (" + pct(failed) + ")</span>, of which " +
         std::to_string(diverged) + " diverged (" + pct(diverged) + "), " +
         std::to_string(running) + " running, " + std::to_string(waiting) + " waiting.</p>\n";
}

std::string ParallelAndImportance(Page& page, const ReportStage& s, const std::string& objective) {
  if (s.distributions.empty()) return "";
  std::vector<size_t> ranked;
  for (size_t i = 0; i < s.trials.size(); ++i) {
    if (s.trials[i].state == TrialState::kComplete && std::isfinite(s.trials[i].value))
      ranked.push_back(i);
  }
  std::string html;
  if (!ranked.empty()) {
    std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
      return Better(s.direction, s.trials[a].value, s.trials[b].value);
    });
    if (ranked.size() > kMaxParallel) {
      html += "<p class=\"note\">Parallel coordinates of the best " + std::to_string(kMaxParallel) +
              " of " + std::to_string(ranked.size()) + " complete trials.</p>\n";
      ranked.resize(kMaxParallel);
    }
    double lo = s.trials[ranked.back()].value, hi = s.trials[ranked.front()].value;
    if (lo > hi) std::swap(lo, hi);
    Json labels = Json::array();
    for (const auto& [name, d] : s.distributions) labels.push_back(name);
    labels.push_back(objective);
    Json datasets = Json::array();
    // Drawn worst first so that the best lines lie on top.
    for (auto it = ranked.rbegin(); it != ranked.rend(); ++it) {
      const ReportTrial& t = s.trials[*it];
      Json ys = Json::array();
      for (const auto& [name, d] : s.distributions) {
        auto p = t.params.find(name);
        double y = NAN;
        if (p != t.params.end()) {
          if (const auto* c = std::get_if<CategoricalDistribution>(&d)) {
            auto at = std::find(c->choices.begin(), c->choices.end(), p->second);
            const double n = static_cast<double>(c->choices.size());
            y = n > 1 ? (at - c->choices.begin()) / (n - 1) : 0.5;
          } else {
            y = Position(d, p->second);
          }
        }
        ys.push_back(y);
      }
      ys.push_back(hi > lo ? (t.value - lo) / (hi - lo) : 0.5);
      // Colour by rank: the best red, the worst pale blue.
      const double q = ranked.size() > 1 ? 1.0 - static_cast<double>(it - ranked.rbegin()) /
                                                     static_cast<double>(ranked.size() - 1)
                                         : 0.0;
      char color[48];
      std::snprintf(color, sizeof color, "rgba(%d,%d,%d,%.2f)", static_cast<int>(214 * (1 - q)),
                    static_cast<int>(39 + 80 * q), static_cast<int>(40 + 140 * q), 0.9 - 0.6 * q);
      datasets.push_back({{"label", "#" + std::to_string(t.number)},
                          {"data", ys},
                          {"borderColor", color},
                          {"pointRadius", 2},
                          {"borderWidth", *it == static_cast<size_t>(s.best) ? 3 : 1}});
    }
    Json y_axis = Axis("position in the search space (0: low, 1: high)");
    y_axis["min"] = 0;
    y_axis["max"] = 1;
    Json config = {{"type", "line"},
                   {"data", {{"labels", labels}, {"datasets", datasets}}},
                   {"options",
                    {{"plugins", {{"legend", {{"display", false}}}}},
                     {"scales", {{"x", {{"type", "category"}}}, {"y", y_axis}}}}}};
    html += page.Chart(config, s.stage + ": parallel coordinates (log params on a log scale; " +
                                   objective + " scaled to its range; best in red)");
  }
  Json labels = Json::array(), values = Json::array();
  std::string table =
      "<table class=\"importance\"><tr><th>parameter</th><th>importance (PED-ANOVA)</th></tr>";
  for (const ParamImportance& p : s.importance) {
    labels.push_back(p.name);
    values.push_back(p.importance);
    table +=
        "<tr><td>" + Escape(p.name) + "</td><td class=\"num\">" + Num(p.importance) + "</td></tr>";
  }
  table += "</table>\n";
  Json config = {
      {"type", "bar"},
      {"data",
       {{"labels", labels},
        {"datasets",
         {{{"label", "importance"}, {"data", values}, {"backgroundColor", kPalette[0]}}}}}},
      {"options", {{"indexAxis", "y"}, {"plugins", {{"legend", {{"display", false}}}}}}}};
  html += page.Chart(config, s.stage + ": hyperparameter importance (PED-ANOVA)",
                     80 + 30 * static_cast<int>(s.importance.size()));
  return html + table;
}

// The validation accuracy of each stage's best trial at its best epoch (the paper's
// figure 12); the objective when the store has no epochs.
std::string WinnersChart(Page& page, const ReportData& data) {
  Json labels = Json::array(), acc = Json::array(), obj = Json::array();
  bool any_acc = false;
  std::string table = "<table class=\"winners\"><tr><th>stage</th><th>best trial</th><th>" +
                      Escape(data.objective) + "</th><th>val_accuracy</th><th>decision</th></tr>";
  for (const ReportStage& s : data.stages) {
    if (s.best < 0) continue;
    const ReportTrial& t = s.trials[s.best];
    const int epoch = BestEpoch(t, data.objective, s.direction);
    double a = NAN;
    for (const ReportEpoch& e : t.epochs) {
      if (e.epoch == epoch) a = e.val_accuracy;
    }
    if (std::isnan(a) && !t.epochs.empty()) a = t.epochs.back().val_accuracy;
    any_acc = any_acc || std::isfinite(a);
    labels.push_back(s.stage + " #" + std::to_string(t.number));
    acc.push_back(a);
    obj.push_back(t.value);
    table += "<tr><td>" + Escape(s.stage) + "</td><td>#" + std::to_string(t.number) +
             "</td><td class=\"num\">" + Num(t.value) + "</td><td class=\"num\">" + Num(a) +
             "</td><td>" + DecisionWord(s) + "</td></tr>";
  }
  table += "</table>\n";
  if (labels.empty()) return "";
  Json datasets = Json::array();
  if (any_acc) {
    datasets.push_back(
        {{"label", "validation accuracy"}, {"data", acc}, {"backgroundColor", kPalette[2]}});
  } else {
    datasets.push_back(
        {{"label", data.objective}, {"data", obj}, {"backgroundColor", kPalette[0]}});
  }
  Json config = {{"type", "bar"}, {"data", {{"labels", labels}, {"datasets", datasets}}}};
  if (any_acc) config["options"]["scales"]["y"] = {{"min", 0}, {"max", 1}};
  return page.Chart(config, any_acc ? "Stage winners: validation accuracy"
                                    : "Stage winners: " + data.objective) +
         table;
}

// Final training over several seeds (study file `final`): each seed's test metrics and
// their spread; the tables below are the best seed's (by the validation loss that kept its
// weights, `selected_by`). Empty without.
std::string SeedsHtml(const Json& result) {
  if (!result.is_object() || !result.contains("seeds") || !result["seeds"].is_array()) return "";
  const Json& final = result.value("final", Json::object());
  const SeedSelection by = ReadSeedSelection(result);
  std::string html = "<h3>Final training: " + std::to_string(result["seeds"].size()) +
                     " seeds, max_epochs " + Escape(JsonText(final.value("max_epochs", Json()))) +
                     ", patience " + Escape(JsonText(final.value("patience", Json()))) +
                     "</h3>\n<table class=\"seeds\"><tr><th>seed</th><th>test accuracy</th>"
                     "<th>macro F1</th><th>loss</th><th>best " +
                     Escape(by.metric) + "</th><th>epochs run</th></tr>";
  for (const Json& r : result["seeds"]) {
    if (!r.is_object()) continue;
    const Json test = r.value("test", Json::object());
    html += "<tr><td>" + Escape(JsonText(r.value("seed", Json()))) + "</td>";
    if (r.contains("error")) {
      html += "<td colspan=\"5\" class=\"warning\">failed: " + Escape(JsonText(r["error"])) +
              "</td></tr>";
      continue;
    }
    html += "<td class=\"num\">" + Num(NumberOr(test, "accuracy")) + "</td><td class=\"num\">" +
            Num(NumberOr(test, "macro_f1")) + "</td><td class=\"num\">" +
            Num(NumberOr(test, "loss")) + "</td><td class=\"num\">" + Num(NumberOr(r, by.field)) +
            "</td><td class=\"num\">" + Num(NumberOr(r, "epochs_run")) + "</td></tr>";
  }
  const Json summary = result.value("summary", Json::object());
  html += "<tr class=\"spread\"><th>mean &plusmn; std</th>";
  for (const char* key : {"accuracy", "macro_f1", "loss"}) {
    const Json m = summary.is_object() ? summary.value(key, Json::object()) : Json::object();
    html += "<td class=\"num\">" + Num(NumberOr(m, "mean")) + " &plusmn; " +
            Num(NumberOr(m, "std")) + "</td>";
  }
  html += "<td></td><td></td></tr></table>\n<p>Best seed by " + Escape(by.metric) +
          " (validation, not test): " + Escape(JsonText(result.value("best_seed", Json()))) +
          "; its test figures follow.</p>\n";
  return html;
}

// The confusion matrix (a heatmap) and per-class scores of one test evaluation; `what`
// prefixes the headings.
std::string SplitDetailsHtml(const Json& test, const std::vector<std::string>& classes,
                             const std::string& what) {
  std::string html;
  auto cls = [&](size_t i) { return i < classes.size() ? classes[i] : std::to_string(i); };
  auto list = [&](const char* key) {
    std::vector<double> v;
    if (test.contains(key) && test[key].is_array()) {
      for (const Json& x : test[key]) v.push_back(x.is_number() ? x.get<double>() : NAN);
    }
    return v;
  };
  const std::vector<double> precision = list("precision"), recall = list("recall");
  std::vector<double> f1 = list("f1");
  if (f1.empty()) {
    for (size_t i = 0; i < std::min(precision.size(), recall.size()); ++i) {
      const double d = precision[i] + recall[i];
      f1.push_back(d > 0 ? 2 * precision[i] * recall[i] / d : 0.0);
    }
  }
  if (test.contains("confusion") && test["confusion"].is_array()) {
    const Json& m = test["confusion"];
    html += "<h3>" + what + (what.empty() ? "Confusion" : "confusion") +
            " matrix (rows: true class, columns: predicted)</h3>\n"
            "<table class=\"confusion\"><tr><th></th>";
    for (size_t c = 0; c < m.size(); ++c) html += "<th>" + Escape(cls(c)) + "</th>";
    html += "</tr>";
    for (size_t r = 0; r < m.size(); ++r) {
      double total = 0;
      if (m[r].is_array()) {
        for (const Json& x : m[r]) total += x.is_number() ? x.get<double>() : 0;
      }
      html += "<tr><th>" + Escape(cls(r)) + "</th>";
      if (m[r].is_array()) {
        for (size_t c = 0; c < m[r].size(); ++c) {
          const double v = m[r][c].is_number() ? m[r][c].get<double>() : 0;
          const double share = total > 0 ? v / total : 0;
          char style[96];
          std::snprintf(style, sizeof style, "background:rgba(%s,%.3f);color:%s",
                        r == c ? "44,160,44" : "214,39,40", share, share > 0.6 ? "#fff" : "#000");
          html += "<td class=\"num\" style=\"" + std::string(style) + "\">" + Num(v) + "</td>";
        }
      }
      html += "</tr>";
    }
    html += "</table>\n";
  }
  if (!precision.empty() || !recall.empty()) {
    html += "<h3>" + what + (what.empty() ? "Per" : "per") +
            " class</h3>\n<table class=\"per-class\"><tr><th>class</th><th>precision</th>"
            "<th>recall</th><th>F1</th></tr>";
    const size_t n = std::max(precision.size(), recall.size());
    for (size_t i = 0; i < n; ++i) {
      html += "<tr><td>" + Escape(cls(i)) + "</td><td class=\"num\">" +
              Num(i < precision.size() ? precision[i] : NAN) + "</td><td class=\"num\">" +
              Num(i < recall.size() ? recall[i] : NAN) + "</td><td class=\"num\">" +
              Num(i < f1.size() ? f1[i] : NAN) + "</td></tr>";
    }
    html += "</table>\n";
  }
  return html;
}

std::string FinalModel(const ReportData& data) {
  std::string html = "<section id=\"final\"><h2>Final model</h2>\n";
  // The incumbent configuration: the last stage's stored incumbent.
  Json incumbent;
  for (const ReportStage& s : data.stages) {
    if (s.incumbent.is_object()) incumbent = s.incumbent;
  }
  if (incumbent.is_object()) {
    html += "<p>Incumbent: stage " + Escape(JsonText(incumbent.value("stage", Json("")))) +
            ", trial #" + Escape(JsonText(incumbent.value("trial_number", Json(-1)))) + ", " +
            Escape(data.objective) + " " + Num(NumberOr(incumbent, "value")) + "</p>\n";
    const Json chosen = incumbent.value("hparams", Json::object());
    // The whole configuration is the incumbent trial's `hparams` attr; the incumbent
    // itself holds only what the stages chose.
    Json full = chosen;
    const std::string stage = JsonText(incumbent.value("stage", Json("")));
    const Json number = incumbent.value("trial_number", Json(-1));
    for (const ReportStage& s : data.stages) {
      if (s.stage != stage) continue;
      for (const ReportTrial& t : s.trials) {
        if (number.is_number_integer() && t.number == number.get<int64_t>() &&
            t.hparams.is_object())
          full = t.hparams;
      }
    }
    if (full.is_object() && !full.empty()) {
      html +=
          "<table class=\"config\"><tr><th>hyperparameter</th><th>value</th>"
          "<th>chosen by a stage</th></tr>";
      for (const auto& [k, v] : full.items()) {
        const bool tuned = chosen.is_object() && chosen.contains(k);
        html += "<tr><td>" + Escape(k) + "</td><td>" + Escape(Dump(v)) + "</td><td>" +
                (tuned ? "yes" : "") + "</td></tr>";
      }
      html += "</table>\n";
    }
  }
  const Json* test = nullptr;
  if (data.final_result.is_object() && data.final_result.contains("test") &&
      data.final_result["test"].is_object())
    test = &data.final_result["test"];
  if (!test) {
    html +=
        "<p class=\"note\">No test evaluation in the store yet (the study's last stage "
        "stores it as its user attr final_result when the playbook ends).</p>\n</section>\n";
    return html;
  }
  html += SeedsHtml(data.final_result);
  // The paper's figure (one window from the middle of each track) and, when the worker
  // computed it, the track-level one (the mean logits of all its windows).
  const Json* track =
      test->contains("track") && (*test)["track"].is_object() ? &(*test)["track"] : nullptr;
  html +=
      "<table class=\"test\"><tr><th></th><th>test accuracy</th><th>macro F1</th><th>loss</th>"
      "</tr><tr><th>midpoint window</th><td class=\"num\" id=\"test-accuracy\">" +
      Num(NumberOr(*test, "accuracy")) + "</td><td class=\"num\" id=\"test-macro-f1\">" +
      Num(NumberOr(*test, "macro_f1")) + "</td><td class=\"num\" id=\"test-loss\">" +
      Num(NumberOr(*test, "loss")) + "</td></tr>";
  if (track) {
    html += "<tr><th>track level</th><td class=\"num\" id=\"test-track-accuracy\">" +
            Num(NumberOr(*track, "accuracy")) +
            "</td><td class=\"num\" id=\"test-track-macro-f1\">" +
            Num(NumberOr(*track, "macro_f1")) + "</td><td class=\"num\" id=\"test-track-loss\">" +
            Num(NumberOr(*track, "loss")) + "</td></tr>";
  }
  html += "</table>\n";
  std::vector<std::string> classes;
  if (test->contains("classes") && (*test)["classes"].is_array()) {
    for (const Json& c : (*test)["classes"]) classes.push_back(JsonText(c));
  }
  html += SplitDetailsHtml(*test, classes, track ? "Midpoint window: " : "");
  if (track) html += SplitDetailsHtml(*track, classes, "Track level: ");
  if (data.final_result.contains("model_path") && data.final_result["model_path"].is_string())
    html += "<p>Exported model: <code>" +
            Escape(data.final_result["model_path"].get<std::string>()) + "</code></p>\n";
  return html + "</section>\n";
}

// Trials as bars from start to end, one row per worker. The store names the worker when the
// orchestrator recorded it (trial attr `worker`); otherwise each trial takes the first row
// free when it started, which is how many ran at once, not which GPU ran them.
std::string Timeline(Page& page, const ReportData& data) {
  struct Bar {
    double start, end;
    std::string worker, label;
    size_t stage;
    TrialState state;
  };
  std::vector<Bar> bars;
  double t0 = NAN, now = data.generated_at;
  bool named = false;
  for (size_t si = 0; si < data.stages.size(); ++si) {
    for (const ReportTrial& t : data.stages[si].trials) {
      // A trial that copied a known result ran nowhere (docs/playbook.md).
      if (!std::isfinite(t.start) || !t.reused_from.empty()) continue;
      bars.push_back({t.start, std::isfinite(t.end) ? t.end : now, t.worker,
                      data.stages[si].stage + " #" + std::to_string(t.number), si, t.state});
      named = named || !t.worker.empty();
      t0 = std::isnan(t0) ? t.start : std::min(t0, t.start);
    }
  }
  if (bars.empty()) return "";
  std::stable_sort(bars.begin(), bars.end(),
                   [](const Bar& a, const Bar& b) { return a.start < b.start; });
  if (!named) {
    std::vector<double> free_at;
    for (Bar& b : bars) {
      size_t lane = 0;
      while (lane < free_at.size() && free_at[lane] > b.start) ++lane;
      if (lane == free_at.size()) free_at.push_back(0);
      free_at[lane] = b.end;
      b.worker = "lane " + std::to_string(lane);
    }
  }
  std::vector<std::string> rows;
  for (const Bar& b : bars) {
    if (std::find(rows.begin(), rows.end(), b.worker) == rows.end()) rows.push_back(b.worker);
  }
  std::sort(rows.begin(), rows.end());
  // One dataset per stage (its colour); a bar is {y: row, x: [start, end]} in seconds.
  Json datasets = Json::array();
  std::map<std::string, double> busy;
  double span = 0;
  for (size_t si = 0; si < data.stages.size(); ++si) {
    Json pts = Json::array();
    for (const Bar& b : bars) {
      if (b.stage != si) continue;
      pts.push_back({{"y", b.worker}, {"x", {b.start - t0, b.end - t0}}});
      busy[b.worker] += b.end - b.start;
      span = std::max(span, b.end - t0);
    }
    datasets.push_back({{"label", data.stages[si].stage},
                        {"data", pts},
                        {"backgroundColor", kPalette[si % 10]},
                        {"borderSkipped", false},
                        {"barPercentage", 0.8}});
  }
  Json y_axis = {{"type", "category"}, {"labels", rows}, {"ticks", {{"autoSkip", false}}}};
  Json config = {
      {"type", "bar"},
      {"data", {{"datasets", datasets}}},
      {"options",
       {{"indexAxis", "y"},
        {"grouped", false},  // a row is a worker, not a group of stages
        {"parsing", {{"xAxisKey", "x"}, {"yAxisKey", "y"}}},
        {"scales", {{"x", Axis("seconds since the first trial started")}, {"y", y_axis}}}}}};
  std::string html = page.Chart(
      config,
      std::string("Timeline of trials per ") + (named ? "worker" : "lane (trials running at once)"),
      120 + 36 * static_cast<int>(rows.size()));
  html += "<table class=\"busy\"><tr><th>" + std::string(named ? "worker" : "lane") +
          "</th><th>trials' time</th><th>busy</th></tr>";
  for (const std::string& r : rows) {
    html += "<tr><td>" + Escape(r) + "</td><td>" + FormatDuration(busy[r]) +
            "</td><td class=\"num\">" +
            (span > 0 ? Num(std::round(1000 * busy[r] / span) / 10) : "-") + "%</td></tr>";
  }
  html += "</table>\n";
  if (!named) {
    html +=
        "<p class=\"note\">The store does not say which worker ran a trial: rows are lanes "
        "of trials that ran at the same time.</p>\n";
  }
  return html;
}

std::string Summary(const ReportData& data) {
  std::string h =
      "<table class=\"summary\"><tr><th>stage</th><th>study</th><th>trials</th><th>complete</th>"
      "<th>pruned</th><th>failed</th><th>best " +
      Escape(data.objective) + "</th><th>decision</th></tr>";
  for (const ReportStage& s : data.stages) {
    int c = 0, p = 0, f = 0;
    for (const ReportTrial& t : s.trials) {
      c += t.state == TrialState::kComplete;
      p += t.state == TrialState::kPruned;
      f += t.state == TrialState::kFail;
    }
    const std::string decision = DecisionWord(s);
    h += "<tr data-study=\"" + Escape(s.study_name) + "\"><td>" + Escape(s.stage) + "</td><td>" +
         Escape(s.study_name) + "</td><td class=\"num n-trials\">" +
         std::to_string(s.trials.size()) + "</td><td class=\"num\">" + std::to_string(c) +
         "</td><td class=\"num\">" + std::to_string(p) + "</td><td class=\"num\">" +
         std::to_string(f) + "</td><td class=\"num best\">" +
         (s.best >= 0
              ? Num(s.trials[s.best].value) + " (#" + std::to_string(s.trials[s.best].number) + ")"
              : "-") +
         "</td><td>" + decision + "</td></tr>";
  }
  return h + "</table>\n";
}

constexpr char kStyle[] = R"css(
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;margin-top:2em}
.chart{position:relative;width:100%;margin:1em 0}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ddd;padding:3px 8px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.warning{background:#fff3cd;border-left:4px solid #e0a800;padding:.4em .8em}
.decision.accepted b{color:#2ca02c} .decision.rejected b{color:#d62728}
.note{color:#666;font-size:90%} .meta{color:#666}
#mgr-errors{color:#d62728}
)css";

// Runs before anything else on the page: every script error and console.error lands in
// #mgr-errors (and body[data-errors]), which the browser test reads with --dump-dom.
constexpr char kErrorHook[] = R"js(
window.mgrErrors = [];
function mgrRecord(message) {
  window.mgrErrors.push(String(message));
  var list = document.getElementById('mgr-errors');
  if (list) { var li = document.createElement('li'); li.textContent = String(message); list.appendChild(li); }
  if (document.body) document.body.setAttribute('data-errors', String(window.mgrErrors.length));
}
window.addEventListener('error', function (e) { mgrRecord(e.message || 'error'); });
window.addEventListener('unhandledrejection', function (e) { mgrRecord(e.reason); });
(function () {
  var original = console.error;
  console.error = function () { mgrRecord(Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
})();
)js";

// Draws every chart; after its first draw a canvas gets data-points (points in its data)
// and data-painted (pixels that are not blank), which the browser test checks.
constexpr char kDraw[] = R"js(
(function () {
  for (var i = 0; i < window.mgrErrors.length; ++i) {
    var li = document.createElement('li'); li.textContent = window.mgrErrors[i];
    document.getElementById('mgr-errors').appendChild(li);
  }
  document.body.setAttribute('data-errors', String(window.mgrErrors.length));
  var configs = JSON.parse(document.getElementById('mgr-charts').textContent);
  var marker = {
    id: 'mgrDrawn',
    afterRender: function (chart) {
      var c = chart.canvas;
      if (c.hasAttribute('data-painted')) return;
      var points = 0;
      chart.data.datasets.forEach(function (d) { points += d.data.length; });
      var painted = 0;  // a hidden canvas has no pixels to read
      if (c.width > 0 && c.height > 0) {
        var px = chart.ctx.getImageData(0, 0, c.width, c.height).data;
        for (var k = 3; k < px.length; k += 4) if (px[k] !== 0) ++painted;
      }
      c.setAttribute('data-points', String(points));
      c.setAttribute('data-painted', String(painted));
    }
  };
  configs.forEach(function (config, i) {
    try {
      config.plugins = [marker];
      new Chart(document.getElementById('chart-' + i), config);
    } catch (e) {
      mgrRecord('chart ' + i + ': ' + e);
    }
  });
  document.body.setAttribute('data-charts', String(configs.length));
})();
)js";

}  // namespace

std::string RenderReportHtml(const ReportData& data) {
  Page page;
  std::string body;
  body += "<h1>" + Escape(data.title) + "</h1>\n<p class=\"meta\">mgr-tune report, written " +
          (std::isfinite(data.generated_at)
               ? Escape(FormatDatetime(TimePoint(std::chrono::duration_cast<TimePoint::duration>(
                                           std::chrono::duration<double>(data.generated_at))))
                            .substr(0, 19)) +
                     " UTC"
               : std::string("-")) +
          "; objective: " + Escape(data.objective) + ".</p>\n<ul id=\"mgr-errors\"></ul>\n";
  body += Summary(data);
  for (size_t i = 0; i < data.stages.size(); ++i) {
    const ReportStage& s = data.stages[i];
    body += "<section class=\"stage\" id=\"stage-" + std::to_string(i) + "\"><h2>Stage " +
            std::to_string(i) + ": " + Escape(s.stage) + "</h2>\n";
    body += DecisionHtml(s);
    body += StateCounts(s);
    if (s.trials.empty()) {
      body += "<p class=\"note\">No trials yet.</p>\n</section>\n";
      continue;
    }
    body += HistoryChart(page, s, data.objective);
    body += CurveCharts(page, s, data.objective);
    body += "<h3>Playbook checks</h3>\n";
    body += ParamCharts(page, s, data.objective);
    body += EpochCheck(page, s, data.objective);
    body += "<h3>Parallel coordinates and importance</h3>\n";
    body += ParallelAndImportance(page, s, data.objective);
    body += "</section>\n";
  }
  const std::string winners = WinnersChart(page, data);
  if (!winners.empty())
    body += "<section id=\"winners\"><h2>Stage winners</h2>\n" + winners + "</section>\n";
  body += FinalModel(data);
  const std::string timeline = Timeline(page, data);
  if (!timeline.empty())
    body += "<section id=\"timeline\"><h2>Timeline</h2>\n" + timeline + "</section>\n";

  std::string html;
  const std::string& chartjs = ChartJsSource();
  html.reserve(chartjs.size() + body.size() + 4096);
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>";
  html += Escape(data.title) + " - mgr-tune report</title>\n<style>";
  html += kStyle;
  html += "</style>\n<script>";
  html += kErrorHook;
  html += "</script>\n<script>";
  html += chartjs;
  html += "</script>\n</head>\n<body>\n";
  html += body;
  html += "<script type=\"application/json\" id=\"mgr-charts\">";
  html += ScriptJson(page.charts());
  html += "</script>\n<script>";
  html += kDraw;
  html += "</script>\n</body></html>\n";
  return html;
}

Status WriteReport(Storage& storage, const std::vector<std::string>& study_names,
                   const std::string& path, const std::string& objective) {
  MGR_ASSIGN_OR_RETURN(ReportData data, ReadReportData(storage, study_names));
  data.objective = objective;
  return WriteFileAtomically(path, RenderReportHtml(data));
}

Result<std::string> WriteStudyReport(Storage& storage, const StudyFile& study,
                                     const std::string& path) {
  std::vector<std::string> names;
  for (size_t i = 0; i < study.stages.size(); ++i) {
    Result<int64_t> id = storage.GetStudyId(study.StageStudyName(i));
    if (id.ok()) {
      names.push_back(study.StageStudyName(i));
    } else if (id.status().code() != StatusCode::kNotFound) {
      return id.status();
    }
  }
  if (names.empty()) {
    return Status::NotFound("study " + study.name + " has not started (" +
                            DescribeStorageUrl(study.storage_url) + ")");
  }
  const std::string out = path.empty() ? study.run_dir + "/report.html" : path;
  MGR_RETURN_IF_ERROR(WriteReport(storage, names, out, study.objective_metric));
  return out;
}

}  // namespace mgr
