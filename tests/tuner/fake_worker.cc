// A protocol-speaking stand-in for `mgr-train worker SPEC.json` (docs/worker-protocol.md)
// without libtorch: it "trains" by sleeping and reports a synthetic loss curve.
//
// hparams it reads (all optional):
//   max_epochs (default 3), sleep_per_epoch (seconds, default 0), lr (default 1e-3)
//   sleep_test: seconds the test evaluation takes (with evaluate_test; default 0)
//   quality: added to the loss (default: |log10(lr) + 2.5|, so lr near 3e-3 is best)
//   fail_at_epoch: prints an error event and exits 1 at that epoch (every attempt)
//   oom_at_epoch: the same with an error of kind oom (out of memory)
//   crash_at_epoch: aborts at that epoch, once per checkpoint dir (a retry then resumes)
//   crash_loses_checkpoint: the crash also deletes the checkpoint folder (as if the retry
//     ran on a host that cannot see it)
//   spec_error: exits 2 with an error event of kind spec
//   hang: after `started`, ignores stdin and signals and sleeps forever
//   noise: before `started`, writes a line that is not an event and a malformed `epoch`
//   seed_effect: e (default 0): quality += e * seed (the spec's), and the test accuracy is
//     0.75 + e * seed, the test macro F1 0.7 - e * seed (so the lowest seed has the best
//     validation loss and the highest the best test accuracy)
//   monitor: "val_loss" or "val_track_loss": the final event names it and its best value
//     (without it, the final event has best_val_loss only, as workers before `monitor`).
//     val_track_loss(epoch) = val_loss(epoch) - 3 * seed_effect * seed, so with seed_effect
//     the highest seed has the lowest track loss.
// MGR_FAKE_FAIL_SEED=<s> in the environment: a run with spec seed s fails at its first
// epoch (an error event, exit 1).
// val_loss(epoch) = 0.5 + quality + 1 / epoch. A checkpoint (the epoch reached) is written
// to checkpoint_dir/fake_checkpoint.json after every epoch; a restart resumes after it.
// If MGR_FAKE_LOG names a file, one JSON line per run is appended to it: pid, trial,
// cuda (CUDA_VISIBLE_DEVICES or null), start/end (ns since the epoch), resumed_from, exit,
// seed, hparams.
// `fake_worker prepare --data X` appends {"prepare": X} to MGR_FAKE_LOG and exits 0 (3, with
// a message on stderr, when MGR_FAKE_PREPARE_FAIL is set).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "trainer/protocol/worker_protocol.h"

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace mgr {
namespace {

volatile sig_atomic_t g_signal = 0;
void OnSignal(int) { g_signal = 1; }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Emit(const Json& j) {
  std::string line = j.dump() + "\n";
  fwrite(line.data(), 1, line.size(), stdout);
  fflush(stdout);
}

Json g_log = Json::object();
void AppendLog(const Json& j) {
  const char* path = std::getenv("MGR_FAKE_LOG");
  if (path == nullptr || *path == '\0') return;
  std::string line = j.dump() + "\n";
  FILE* f = fopen(path, "a");
  if (f == nullptr) return;
  fwrite(line.data(), 1, line.size(), f);
  fclose(f);
}

int Finish(int code) {
  g_log["end"] = NowNs();
  g_log["exit"] = code;
  AppendLog(g_log);
  return code;
}

// Waits up to `seconds` for a command on stdin; returns kCommandPrune, kCommandStop,
// "signal", "eof" or "".
std::string WaitForCommand(double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  static std::string buffer;
  while (true) {
    if (g_signal) return "signal";
    size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      std::string cmd = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (cmd == kCommandPrune || cmd == kCommandStop) return cmd;
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left < 0) left = 0;
    pollfd p{0, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) {
      char chunk[256];
      ssize_t n = read(0, chunk, sizeof(chunk));
      if (n <= 0) return "eof";
      buffer.append(chunk, n);
      continue;
    }
    if (r == 0 || left == 0) return "";
  }
}

int Run(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "prepare") {
    AppendLog({{"prepare", argc >= 4 ? argv[3] : ""}});
    if (std::getenv("MGR_FAKE_PREPARE_FAIL") != nullptr) {
      std::cerr << "fake_worker: cannot write the clip cache" << std::endl;
      return 3;
    }
    return 0;
  }
  if (argc != 3 || std::string(argv[1]) != "worker") {
    std::cerr << "usage: fake_worker worker SPEC.json | prepare --data X\n";
    return kExitBadSpec;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  g_log["pid"] = getpid();
  g_log["ppid"] = getppid();
  g_log["start"] = NowNs();
  const char* cuda = std::getenv("CUDA_VISIBLE_DEVICES");
  g_log["cuda"] = cuda ? Json(cuda) : Json();
  std::ifstream in(argv[2]);
  Json spec = Json::parse(in, nullptr, false);
  if (spec.is_discarded()) {
    Emit({{kEventKey, kEventError},
          {kFieldKind, kErrorKindSpec},
          {kFieldMessage, "spec is not JSON"}});
    return Finish(kExitBadSpec);
  }
  g_log["trial"] = spec["trial"];
  g_log["seed"] = spec.value("seed", Json());
  g_log["hparams"] = spec["hparams"];
  const Json& h = spec["hparams"];
  if (h.contains("spec_error")) {
    std::cerr << "fake_worker: bad hparam spec_error\n";
    Emit({{kEventKey, kEventError},
          {kFieldKind, kErrorKindSpec},
          {kFieldMessage, "hparams.spec_error: unknown hyperparameter"}});
    return Finish(kExitBadSpec);
  }
  const int max_epochs = h.value("max_epochs", 3);
  const double sleep = h.value("sleep_per_epoch", 0.0);
  const double lr = h.value("lr", 1e-3);
  const double seed_effect = h.value("seed_effect", 0.0) * spec.value("seed", 0);
  const double quality = h.value("quality", std::fabs(std::log10(lr) + 2.5)) + seed_effect;
  const char* fail_seed = std::getenv("MGR_FAKE_FAIL_SEED");
  const bool seed_fails = fail_seed != nullptr && *fail_seed != '\0' &&
                          std::string(fail_seed) == std::to_string(spec.value("seed", int64_t{0}));
  const int fail_at = h.value("fail_at_epoch", -1);
  const int oom_at = h.value("oom_at_epoch", -1);
  const int crash_at = h.value("crash_at_epoch", -1);
  const fs::path ckdir = spec.value("checkpoint_dir", "");
  fs::create_directories(ckdir);
  const fs::path ckpt = ckdir / "fake_checkpoint.json";
  int start_epoch = 0;
  double best = INFINITY;
  if (fs::exists(ckpt)) {
    std::ifstream c(ckpt);
    Json j = Json::parse(c, nullptr, false);
    if (!j.is_discarded()) {
      start_epoch = j.value("epoch", 0);
      best = j.value("best", INFINITY);
    }
  }
  if (h.value("noise", false)) {
    std::string noise = "fake_worker: not an event\n";
    fwrite(noise.data(), 1, noise.size(), stdout);
    Emit({{kEventKey, kEventEpoch}, {kFieldEpoch, "one"}});
  }
  g_log["resumed_from"] = start_epoch;
  g_log["evaluate_test"] = spec.value("evaluate_test", false);
  Emit({{kEventKey, kEventStarted},
        {kFieldPid, getpid()},
        {kFieldDevice, cuda && *cuda ? "cuda" : "cpu"},
        {kFieldThreads, spec.value("threads", 1)},
        {kFieldResumedFromEpoch, start_epoch},
        {kFieldMaxEpochs, max_epochs},
        {kFieldTrainClips, 80},
        {kFieldValClips, 10}});
  std::cerr << "fake_worker: trial " << spec["trial"].dump() << " from epoch " << start_epoch
            << std::endl;
  if (h.value("hang", false)) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  int best_epoch = 0;
  for (int epoch = start_epoch + 1; epoch <= max_epochs; ++epoch) {
    std::string cmd = WaitForCommand(sleep);
    if (!cmd.empty()) {
      std::string reason = cmd == "eof" ? kStopReasonStop : cmd;
      Emit({{kEventKey, kEventStopped}, {kFieldReason, reason}, {kFieldEpoch, epoch - 1}});
      return Finish(kExitStopped);
    }
    if (epoch == fail_at || seed_fails) {
      std::cerr << "fake_worker: failing at epoch " << epoch << " as asked\n";
      Emit({{kEventKey, kEventError},
            {kFieldKind, kErrorKindInternal},
            {kFieldMessage, "fail_at_epoch reached"}});
      return Finish(kExitFailed);
    }
    if (epoch == oom_at) {
      Emit({{kEventKey, kEventError},
            {kFieldKind, kErrorKindOom},
            {kFieldMessage,
             "out of memory on cuda:0 at batch_size " + std::to_string(h.value("batch_size", 0))}});
      return Finish(kExitFailed);
    }
    // The marker sits beside the checkpoint folder, which crash_loses_checkpoint removes.
    const fs::path crashed = ckdir.string() + ".crashed";
    if (epoch == crash_at && !fs::exists(crashed)) {
      std::ofstream(crashed) << "1";
      if (h.value("crash_loses_checkpoint", false)) fs::remove_all(ckdir);
      std::cerr << "fake_worker: crashing at epoch " << epoch << std::endl;
      g_log["end"] = NowNs();
      g_log["exit"] = "abort";
      AppendLog(g_log);
      abort();
    }
    const double val = 0.5 + quality + 1.0 / epoch;
    if (val < best) {
      best = val;
      best_epoch = epoch;
    }
    Emit({{kEventKey, kEventEpoch},
          {kFieldEpoch, epoch},
          {kFieldMaxEpochs, max_epochs},
          {kFieldTrainLoss, val - 0.1},
          {kFieldTrainAccuracy, 0.5},
          {kFieldValLoss, val},
          {kFieldValAccuracy, 1.0 / (1.0 + val)},
          {kFieldValMacroF1, 0.9 / (1.0 + val)},
          {kFieldValTrackLoss, val - 3.0 * seed_effect},
          {kFieldSeconds, sleep}});
    std::ofstream(ckpt.string() + ".tmp") << Json{{"epoch", epoch}, {"best", best}}.dump();
    fs::rename(ckpt.string() + ".tmp", ckpt);
  }
  Json final = {{kEventKey, kEventFinal},
                {kFieldEpochsRun, max_epochs},
                {kFieldBestEpoch, best_epoch},
                {kFieldBestValLoss, best},
                {kFieldStoppedEarly, false}};
  if (h.contains("monitor")) {
    const std::string monitor = h["monitor"];
    final[kFieldMonitor] = monitor;
    final[kFieldBestMonitored] = monitor == kFieldValTrackLoss ? best - 3.0 * seed_effect : best;
  }
  if (spec.value("evaluate_test", false)) {
    std::this_thread::sleep_for(std::chrono::duration<double>(h.value("sleep_test", 0.0)));
    final[kFieldTest] = {{kTestLoss, best},
                         {kTestAccuracy, 0.75 + seed_effect},
                         {kTestMacroF1, 0.7 - seed_effect},
                         {kTestPrecision, {0.8, 0.7}},
                         {kTestRecall, {0.75, 0.65}},
                         {kTestConfusion, {{3, 1}, {1, 3}}},
                         {kTestClasses, {"Rock", "Pop"}}};
  }
  if (spec.contains("export_dir") && spec["export_dir"].is_string()) {
    fs::path dir = spec["export_dir"].get<std::string>();
    fs::create_directories(dir);
    std::ofstream(dir / "model.pt") << "fake model";
    final[kFieldModelPath] = (dir / "model.pt").string();
  }
  Emit(final);
  return Finish(kExitComplete);
}

}  // namespace
}  // namespace mgr

int main(int argc, char** argv) { return mgr::Run(argc, argv); }
