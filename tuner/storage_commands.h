// The storage commands of mgr-tune, named and shaped like Python Optuna's CLI
// (optuna/cli.py): studies, trials, best-trial, best-trials, create-study, delete-study,
// ask, tell, plus export (a CSV like Optuna's trials_dataframe) and copy-study
// (optuna.copy_study).
//
// Every command takes --storage URL (or the OPTUNA_STORAGE environment variable). Read-only
// commands never create a database. Arguments are checked before the storage is opened,
// so a bad argument writes nothing. Errors are one line on stderr and exit code 1; usage
// errors exit 2.
#ifndef MGR_TUNER_STORAGE_COMMANDS_H_
#define MGR_TUNER_STORAGE_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "storage/distribution.h"
#include "storage/base/status.h"
#include "storage/trial.h"
#include "tuner/commands.h"

namespace mgr {

// As RegisterStorageCommands (tuner/commands.h), writing to the given streams.
void RegisterStorageCommands(CLI::App& app, CommandRunner* run, std::ostream* out,
                             std::ostream* err);

// --- Helpers, exposed for tests ----------------------------------------------------------
// --search-space: a JSON object of name -> Optuna distribution JSON, in the given order.
// InvalidArgument naming the parameter when a distribution is malformed.
Result<std::vector<std::pair<std::string, Distribution>>> ParseSearchSpace(const std::string& text);

// The sampler config for `ask`: --sampler is a JSON config ({"type": "tpe", "seed": 1}) or an
// Optuna class name (TPESampler, RandomSampler, QMCSampler) with --sampler-kwargs JSON.
// Empty means Optuna's default, TPE. A config without "seed" gets `default_seed` (so that
// successive `ask` calls do not repeat one another).
Result<Json> SamplerConfigFromArgs(const std::string& sampler, const std::string& kwargs,
                                   uint64_t default_seed);

// --direction / --directions (lower-case, as Optuna's). Empty input gives an empty list.
Result<std::vector<StudyDirection>> ParseDirectionArgs(const std::string& direction,
                                                       const std::vector<std::string>& directions);

}  // namespace mgr

#endif  // MGR_TUNER_STORAGE_COMMANDS_H_
