// MixNet from the tuned nets (issue #13): a MixNet study's `encoders` name the NNET1 and
// NNET2 studies (or exported models) whose encoders it builds on. ResolveEncoders turns them
// into hyperparameters: each source's encoder architecture and input settings under
// MixNet's names, and, when asked, the paths of their trained weights and the freeze switch.
#ifndef MGR_STUDIES_ENCODERS_H_
#define MGR_STUDIES_ENCODERS_H_

#include <map>
#include <string>

#include "storage/base/status.h"
#include "studies/study_file.h"

namespace mgr {

struct ImportedEncoders {
  std::map<std::string, Json> hparams;  // to join the MixNet study's `fixed`
  Json record;  // per branch: source, family, imported values, weights path (user attr "imported")
};

// Reads the sources of `mixnet.encoders` (which must be set). A {"study": F} source must be
// finished (every stage decided; FailedPrecondition naming F and the first undecided stage
// otherwise): its final incumbent (F's `fixed` plus what its stages chose) is imported, and
// its weights are F's exported model (<run_dir>/final/model) or, without one, the incumbent
// trial's checkpoint. A {"model": P} source is an exported model: its model.json's hparams.
// The audio branch takes conv_*, pool_*, the waveform augmentation and batch_norm (as
// audio_batch_norm) from an nnet1; the feature branch takes feature, n_mfcc, n_mels,
// normalization, res_*, aug_spec_* and batch_norm (as feature_batch_norm) from an nnet2;
// never a head (dense_*, dropout*) nor optimiser settings. Both sources' sample_rate and
// clip_samples must agree; they are imported where they differ from the MixNet's dataset.
// A name imported and also in the MixNet's `fixed` is an error naming both. Reads stores and
// files only; writes nothing.
Result<ImportedEncoders> ResolveEncoders(const StudyFile& mixnet);

}  // namespace mgr

#endif  // MGR_STUDIES_ENCODERS_H_
